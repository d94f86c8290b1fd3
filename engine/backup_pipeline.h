/*
 * backup_pipeline.h - the concurrent part of a backup: read, hash, dedup, compress, pack.
 *
 * Stages, joined by bounded queues:
 *   1. many I/O workers: walk one node folder each, read its files in inode order, hash them
 *      (XXH3-128), and claim new content with dedup; I/O concurrency is what pays on a cold
 *      repository, so there are many of these;
 *   2. a few compressors (one per core): zstd, or raw where it does not pay;
 *   3. one writer: appends objects to pack files, seals a pack (fsync) before its objects
 *      enter the catalog, and streams node versions into the pending snapshot.
 * File data in flight is bounded by a byte budget, so memory does not grow with the
 * repository. Any stage's error stops every stage and becomes the pipeline's error.
 */
#ifndef STRATA_ENGINE_BACKUP_PIPELINE_H
#define STRATA_ENGINE_BACKUP_PIPELINE_H

#include "catalog/dest.h"
#include "scanner/source_db.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct backup_pipeline backup_pipeline;

typedef struct pipeline_config {
	dest *destination;       /* its catalog is used by the writer thread only */
	catalog **dedup_readers; /* more connections, for dedup lookups */
	int dedup_reader_count;
	int64_t snapshot_id;     /* the pending snapshot */
	const char *repository;  /* the directory that holds node/ */
	int io_threads;
	int cpu_threads;
	int compression_level;
} pipeline_config;

/* Counters, updated while the pipeline runs; the backup job reads them for its progress
 * callback (backup.h), which is how the caller sees them. */
typedef struct pipeline_stats {
	atomic_llong nodes_done;
	atomic_llong nodes_with_folder;
	atomic_llong files_read;  /* files opened and read */
	atomic_llong bytes_read;
	atomic_llong entries;     /* files, directories and links recorded */
	atomic_llong objects_new;
	atomic_llong bytes_new;   /* raw size of new objects */
	atomic_llong stored_bytes; /* bytes appended to packs */
	atomic_llong packs_sealed;
} pipeline_stats;

int pipeline_start(backup_pipeline **out, const pipeline_config *config, pipeline_stats *stats);

/* Queues one node; blocks while the pipeline is busy. Fails once any stage has failed. */
int pipeline_submit(backup_pipeline *pipeline, const scan_node *node);

/* Waits for every queued node, seals and registers the last pack, commits the writer's work,
 * and frees the pipeline. Returns the first error of any stage. */
int pipeline_finish(backup_pipeline *pipeline);

/* Stops every stage, abandons the open pack, and frees the pipeline. */
void pipeline_abort(backup_pipeline *pipeline);

#endif
