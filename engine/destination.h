/*
 * destination.h - the jobs on a destination as a whole: create one, list its snapshots.
 *
 * The entry points of `strata init` and `strata snapshots`; check, backup and restore have
 * their own (check.h, backup.h, restore_job.h).
 */
#ifndef STRATA_ENGINE_DESTINATION_H
#define STRATA_ENGINE_DESTINATION_H

#include "catalog/catalog.h"

#include <stddef.h>

/* Creates a destination in dest_path, a new or empty directory (see dest.h). */
int destination_init(const char *dest_path);

/* The complete snapshots of the destination, oldest first (free with
 * catalog_snapshot_list_free). */
int destination_snapshots(const char *dest_path, catalog_snapshot **out, size_t *out_count);

#endif
