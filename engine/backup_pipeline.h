/*
 * backup_pipeline.h - the concurrent part of a backup: read, hash, dedup, compress, pack.
 *
 * Stages, joined by bounded queues, each one step of a store put (store.h):
 *   1. many I/O workers: take one node's tree each from the source (scanner/source.h), read
 *      its files in the source's order, and put them with store_put (hash, chunk, claim); I/O
 *      concurrency is what pays on a cold repository, so there are many of these;
 *   2. a few compressors (one per core): store_object_encode;
 *   3. one writer: store_append, store_seal when a pack is full or has been open for the
 *      store's seal interval - also while no new object arrives (a timed wait on its queue) -
 *      inside the catalog transaction, and streams node versions into the pending snapshot.
 * File data in flight is bounded by a byte budget, so memory does not grow with the
 * repository. Any stage's error stops every stage and becomes the pipeline's error.
 */
#ifndef STRATA_ENGINE_BACKUP_PIPELINE_H
#define STRATA_ENGINE_BACKUP_PIPELINE_H

#include "catalog/dest.h"
#include "scanner/source.h"
#include "store/store.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct backup_pipeline backup_pipeline;

typedef struct pipeline_config {
	dest *destination;       /* its catalog is used by the writer thread only */
	store *objects;          /* the writer thread appends and seals */
	int64_t snapshot_id;     /* the pending snapshot */
	source *source;          /* the files, read concurrently by the I/O workers */
	int io_threads;
	int cpu_threads;
	/* Called from a pipeline thread when readers_done or sealing (pipeline_stats) changes, so
	 * that a display can follow at once; may be NULL. */
	void (*changed)(void *ctx);
	void *changed_ctx;
} pipeline_config;

/* Counters, updated while the pipeline runs; the backup job reads them for its progress
 * callback (backup.h), which is how the caller sees them. What was stored is counted by the
 * store (store_get_stats). */
typedef struct pipeline_stats {
	atomic_llong nodes_done;
	atomic_llong nodes_with_folder;
	atomic_llong files_read;  /* files opened and read */
	atomic_llong bytes_read;
	atomic_llong entries;     /* files, directories and links recorded */
	atomic_llong special_skipped; /* fifos, sockets, devices left out of the trees read */
	atomic_llong nodes_left;      /* nodes a file of which vanished or changed while being read */
	atomic_llong nodes_rechecked; /* held nodes submitted with pipeline_submit_held */
	atomic_llong nodes_unchanged; /* of those, the ones whose tree was the one held: not read */
	atomic_llong nodes_replaced;  /* of those, the ones read again: a new version replaces the held one */
	atomic_llong nodes_withdrawn; /* of those, the ones left (nodes_left): the held version ended */
	atomic_llong replaced_files;  /* what the ended versions (replaced, withdrawn) held */
	atomic_llong replaced_bytes;
	atomic_llong bytes_done;  /* bytes read that are settled: appended to a pack, or held
				   * already (a duplicate) */
	atomic_bool readers_done; /* every node was read: compressing and writing are left */
	atomic_bool sealing;      /* the writer is making a pack durable */
} pipeline_stats;

int pipeline_start(backup_pipeline **out, const pipeline_config *config, pipeline_stats *stats);

/* Queues one node; blocks while the pipeline is busy. Fails once any stage has failed. */
int pipeline_submit(backup_pipeline *pipeline, const scan_node *node);

/* Queues a node the catalog holds a current version of (held: its state) whose mtime moved: its
 * tree is read and compared with the held digest (scan_tree_digest); an equal tree is not read
 * (nodes_unchanged), another one is read and its version replaces the held one in the snapshot
 * (nodes_replaced). A node left while being read ends the held version without a new one
 * (nodes_withdrawn), so that the next run's reconciliation reads it, as it reads any node left. */
int pipeline_submit_held(backup_pipeline *pipeline, const scan_node *node, const catalog_node_state *held);

/* Waits for every queued node, seals and registers the last pack, commits the writer's work,
 * and frees the pipeline. Returns the first error of any stage. */
int pipeline_finish(backup_pipeline *pipeline);

/* Stops every stage and frees the pipeline (an unsealed pack stays with the store, which
 * abandons it when freed). */
void pipeline_abort(backup_pipeline *pipeline);

#endif
