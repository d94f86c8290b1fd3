/*
 * restore_container.h - the files of an AiiDA 2.x snapshot, restored as a disk-objectstore
 * container: <target>/container with the config.json the backup recorded (same container_id),
 * loose/, packs/, duplicates/, sandbox/ and a packs.idx in disk-objectstore's schema.
 *
 * Every distinct content of the snapshot's files is written once, named by the sha256 of its
 * bytes (computed as they stream out of the store, each piece checked against its XXH3-128
 * hash first): appended uncompressed to packs/0, packs/1, ... (a new pack once one reaches the
 * container's pack_size_target) and listed in packs.idx, or, with loose, written as a loose
 * object (through sandbox/, then renamed into loose/). The restored database's
 * repository_metadata keys are those sha256 digests, which the backup checked. Every name is
 * created below the target root without following a link (common/confine.h); the container
 * must not exist yet (or be empty). One syncfs at the end makes it durable.
 */
#ifndef STRATA_ENGINE_RESTORE_CONTAINER_H
#define STRATA_ENGINE_RESTORE_CONTAINER_H

#include "catalog/catalog.h"
#include "catalog/dest.h"
#include "engine/restore.h"

/* Restores snapshot snap (its container field set) of destination d into options->target_root.
 * A recorded config.json that is not valid is ST_ERR_CORRUPT; an existing, non-empty container
 * ST_ERR_TARGET. out->nodes counts the snapshot's nodes, out->files and out->bytes the objects
 * written and their size. */
int restore_container_run(dest *d, const catalog_snapshot *snap, const restore_options *options, restore_result *out);

#endif
