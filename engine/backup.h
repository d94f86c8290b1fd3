/*
 * backup.h - the backup job: one consistent, incremental snapshot of a repository.
 *
 * Order of work: take the destination's lock; discard what a killed run left (its pending
 * snapshot and unsealed packs - its sealed packs are kept and reused); open the database at
 * one exported snapshot; select the nodes to back up; run the pipeline over them; then, in one
 * catalog transaction, mark vanished nodes deleted and make the snapshot complete. Before
 * that commit the new snapshot does not exist.
 *
 * Node selection: every node with an id above the last snapshot's watermark (catches imports
 * with old ctimes), every node whose ctime is within `overlap` of the last snapshot's database
 * time (catches transactions that committed late with ids below the watermark), less the
 * nodes the catalog holds. The database dump (db_dump.h) runs at the same snapshot while the
 * files are read; --files-only and --database-only limit a backup to one side. When the number of nodes at or below the watermark differs between
 * the database and the catalog - or with full_scan - every id is reconciled: missing nodes are
 * added, vanished ones marked deleted.
 */
#ifndef STRATA_ENGINE_BACKUP_H
#define STRATA_ENGINE_BACKUP_H

#include "engine/backup_pipeline.h"
#include "engine/db_dump.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct backup_options {
	const char *dest_path;
	const char *dsn;
	const char *repository;   /* the source root: holds repository/node/ (1.x) or container/ (2.x) */
	int jobs;                 /* compressing threads; I/O threads derive from it */
	int io_threads;           /* 0: 32 per job, at most 128 */
	bool full_scan;
	bool files_only;          /* no database dump */
	bool database_only;       /* no file scan */
	int64_t overlap_seconds;
	int compression_level;
	/* Called about twice a second from another thread while the pipeline runs; may be NULL.
	 * nodes_expected estimates the nodes to read (database nodes less catalog nodes). */
	void (*progress)(void *ctx, const pipeline_stats *stats, int64_t nodes_expected);
	void *progress_ctx;
} backup_options;

typedef struct backup_result {
	int64_t snapshot_id;
	int64_t nodes_selected;  /* rows the selection returned */
	int64_t nodes_new;       /* node versions added */
	int64_t nodes_deleted;
	int64_t nodes_reread;    /* held without a folder that exists now, read again (--full-scan) */
	int64_t nodes_total;
	int64_t files_total;
	int64_t bytes_total;
	int64_t files_read;
	int64_t bytes_read;
	int64_t objects_new;
	int64_t bytes_new;
	int64_t stored_bytes;
	int64_t packs_new;
	int discarded_snapshots; /* pending snapshots of killed runs */
	int removed_packs;       /* their unsealed packs */
	bool reconciled;         /* every id was compared */
	bool has_files;
	bool has_database;
	db_dump_stats db;        /* when has_database */
	double seconds;
} backup_result;

int backup_run(const backup_options *options, backup_result *out);

#endif
