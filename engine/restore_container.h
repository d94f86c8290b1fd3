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

/* Filling a restored container: an object the restored database references but snapshot
 * snapshot_id lacks (its backup left the node for a later one) is content that another
 * snapshot of the destination may hold, in a later version of that node. Objects are named by
 * the sha256 of their content, and the catalog records XXH3-128 hashes, not container keys:
 * each file of the node in every other snapshot that holds the node (newest first; each content
 * once) is streamed out of the store, and the first whose sha256 is the key is written as a
 * loose object into <target_root>/container. The filler opens the destination for reading. */
typedef struct container_filler container_filler;

int restore_container_filler_open(container_filler **out, const char *dest_path, int64_t snapshot_id,
				  const char *target_root);

/* *out_filled true (and *out_snapshot the snapshot it came from) when key of node uuid is now a
 * loose object of the container. */
int restore_container_fill(container_filler *f, const char *uuid, const char *key, bool *out_filled,
			   int64_t *out_snapshot);

/* Makes what was filled durable (syncfs) and frees f (which may be NULL, or half-opened). */
int restore_container_filler_close(container_filler *f);

#endif
