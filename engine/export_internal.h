/*
 * export_internal.h - the parts of strata export (export.h): the archive's entries, one at a
 * time, for the two passes that export makes over them (the manifest, then the archive).
 *
 * Both passes see the same entries in the same order: a folder before everything below it,
 * and everything below a folder before the folder's next sibling (stock tar sets a folder's
 * mtime once it has left it).
 */
#ifndef STRATA_ENGINE_EXPORT_INTERNAL_H
#define STRATA_ENGINE_EXPORT_INTERNAL_H

#include "catalog/catalog.h"
#include "common/hash.h"

#include <stdint.h>

/* One entry of the archive, borrowed for the call that hands it over. */
typedef struct export_item {
	const char *name;                 /* its name in the archive */
	catalog_entry_type type;
	uint32_t mode;                    /* permission bits */
	int64_t mtime_ns;
	uint64_t size;                    /* files */
	st_hash hash;                     /* files: XXH3-128 of the content */
	const char *target;               /* links */
	const catalog_tree_entry *stored; /* a file of the snapshot's tree: its content is in the store */
	const char *disk;                 /* otherwise: a file on disk that holds the content */
} export_item;

typedef int (*export_visit_fn)(void *ctx, const export_item *item);

/* Calls fn for every entry of repository/ as restore (restore.h) writes it for AiiDA 1.x
 * snapshot_id: repository, repository/node, each shard folder node/xx and node/xx/yy that holds
 * a node folder, each node folder and its entries, straight from the catalog (nodes in uuid
 * order, memory for one node at a time). Folders above the node folders get the mode and mtime
 * restore gives them (catalog_folder_as_of); one the catalog has no record of (an older
 * backup's) gets 0755 and default_mtime_ns. Trees and folder records are checked as restore
 * checks them (ST_ERR_CORRUPT). Stops at fn's first non-zero return, which it returns. */
int export_tree_each(catalog *cat, int64_t snapshot_id, int64_t default_mtime_ns, export_visit_fn fn, void *ctx);

#endif
