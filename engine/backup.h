/*
 * backup.h - the backup job: one consistent, incremental snapshot of a repository.
 *
 * Order of work: take the destination's lock; discard what a killed run left (its pending
 * snapshot and unsealed packs - its sealed packs are kept and reused, and the result says how
 * much they hold; packs are sealed by size and by time, so a killed run loses only its last
 * seconds of work); open the database at
 * one exported snapshot; select the nodes to back up; run the pipeline over them; then, in one
 * catalog transaction, mark vanished nodes deleted and make the snapshot complete. Before
 * that commit the new snapshot does not exist.
 *
 * Node selection: every node with an id above the last snapshot's watermark (catches imports
 * with old ctimes), every node whose ctime is within `overlap` of the last snapshot's database
 * time (catches transactions that committed late with ids below the watermark), less the
 * nodes the catalog holds - unless the node's mtime moved since the version held was read
 * (nodes whose mtime is within `overlap` of that time are selected too): files may still be
 * added to a node that is not sealed (a running CalcJob), and the dump of this snapshot
 * references them. Such a node's tree is read and compared with the digest of the one held; only
 * when it differs are its files read, and its new version replaces the held one from this
 * snapshot on (earlier snapshots keep theirs). Sealed nodes are not left out: their mtime also
 * moves on changes of extras, which the comparison finds unchanged without reading a file, and
 * a node sealed since the last backup may have had files added before it was sealed. The database dump (db_dump.h) runs at the same snapshot while the
 * files are read; --files-only and --database-only limit a backup to one side. The ids at or
 * below the watermark are reconciled range by range (reconcile.h: aggregates per id range,
 * exact lists only where they differ) - or, with full_scan, id by id: missing nodes are added,
 * vanished ones marked deleted. When the database's content did not change since the previous
 * snapshot with files was complete for it (scan_db_info.data_version), nothing is reconciled.
 *
 * The caller sees the work in progress through a callback with a struct of counters and the
 * phase the backup is in (backup_progress), never the pipeline's own state; an interrupted run
 * that was found is reported through its own callback; other notices go to the log
 * (common/log.h).
 */
#ifndef STRATA_ENGINE_BACKUP_H
#define STRATA_ENGINE_BACKUP_H

#include "engine/db_dump.h"

#include <stdbool.h>
#include <stdint.h>

/* Concurrent readers when io_threads is 0: this many per compressing job, at most the max. */
#define BACKUP_IO_THREADS_PER_JOB 32
#define BACKUP_IO_THREADS_MAX 128
/* zstd level when compression_level is 0. */
#define BACKUP_COMPRESSION_LEVEL_DEFAULT 3
/* The ctime window (seconds) before the last snapshot's database time that the cli asks for:
 * generous, as transactions that commit late add nodes below the watermark. */
#define BACKUP_OVERLAP_DEFAULT 3600
/* The progress callback runs this often. */
#define BACKUP_PROGRESS_INTERVAL_MS 500

/* What a backup is doing, in the order a backup goes through them; the phases of the files
 * (the first three) change back and forth while a pack is sealed. */
typedef enum backup_phase {
	BACKUP_PHASE_READING,      /* reading the new nodes' files (compressing and writing too) */
	BACKUP_PHASE_COMPRESSING,  /* every file read: compressing and writing what is left */
	BACKUP_PHASE_SEALING,      /* making a pack durable (fsync) */
	BACKUP_PHASE_DUMPING,      /* waiting for pg_dump */
	BACKUP_PHASE_STORING_DUMP, /* storing the dump's files */
	BACKUP_PHASE_COMMITTING,   /* the transaction that makes the snapshot complete */
	BACKUP_PHASE_DONE,         /* the snapshot is complete (the last call) */
	BACKUP_PHASE_END           /* not a phase: their number, for tables indexed by phase */
} backup_phase;

/* What a running backup has done so far, for a progress display. */
typedef struct backup_progress {
	backup_phase phase;
	int64_t nodes_done;       /* nodes read */
	int64_t nodes_expected;   /* estimate: nodes of the database less nodes of the catalog */
	int64_t files_read;
	int64_t bytes_read;
	int64_t bytes_done;       /* bytes read and settled: appended to a pack (compressed), or
				   * found held already; what a percentage and an ETA should follow */
	int64_t bytes_expected;   /* estimate of the files' bytes (bytes_read scaled by the nodes
				   * left; exact once every file was read) */
	int64_t objects_new;
	int64_t stored_bytes;     /* bytes appended to packs */
	double seconds;           /* since the backup started */
} backup_progress;

/* Where a backup's time goes: the steps of its main thread, one after the other, so that they
 * add up to about the whole run. pg_dump runs beside the files (from "start" on): what is left
 * of it after them is "dump_wait". */
typedef enum backup_timing {
	BACKUP_TIME_OPEN,       /* lock the destination, clean up after a killed run, open the database snapshot */
	BACKUP_TIME_RECONCILE,  /* find the deleted and late nodes (reconcile.h) */
	BACKUP_TIME_START,      /* start pg_dump, create the pending snapshot */
	BACKUP_TIME_FILES,      /* select the new nodes, read, hash, compress and store their files */
	BACKUP_TIME_FOLDERS,    /* record the folders above the node folders */
	BACKUP_TIME_DUMP_WAIT,  /* wait for pg_dump */
	BACKUP_TIME_DUMP_STORE, /* store the dump's files (deltas against the last snapshot's) */
	BACKUP_TIME_COMMIT,     /* the transaction that makes the snapshot complete */
	BACKUP_TIME_END         /* not a step: their number */
} backup_timing;

/* The step's name in JSON and -v output ("open", "reconcile", ...). */
const char *backup_timing_name(backup_timing step);

struct backup_result;

typedef struct backup_options {
	const char *dest_path;
	const char *dsn;
	const char *repository;   /* the source root: holds repository/node/ (1.x) or container/ (2.x) */
	const char *profile_name; /* the AiiDA profile backed up, or NULL (--dsn/--repository) */
	const char *profile_json; /* its non-secret record (aiida_profile_describe), kept in the snapshot */
	int jobs;                 /* compressing threads (0: number of cores); I/O threads derive from it */
	int io_threads;           /* 0: BACKUP_IO_THREADS_PER_JOB per job, at most BACKUP_IO_THREADS_MAX */
	bool full_scan;
	bool adopt;               /* accept a database other than the destination's as its source */
	bool files_only;          /* no database dump */
	bool database_only;       /* no file scan */
	int64_t overlap_seconds;
	int64_t ctime_from_us;    /* also select nodes created since then (0: no such bound);
				   * backup --config's rounds start here */
	int64_t lock_wait_seconds; /* 0: fail at once when another run holds the lock; <0: no limit */
	int compression_level;    /* 0: BACKUP_COMPRESSION_LEVEL_DEFAULT */
	/* Called every BACKUP_PROGRESS_INTERVAL_MS and at once when the phase changes, from the
	 * files' pipeline to the commit, from any thread but never twice at once; the last call
	 * says BACKUP_PHASE_DONE (only when the backup succeeds). May be NULL. */
	void (*progress)(void *ctx, const backup_progress *progress);
	void *progress_ctx;
	/* Called once, before any new work, when the work of an interrupted run was found (and
	 * its sealed packs kept): the discarded_snapshots, removed_packs and kept_* fields of
	 * found are set, the others are not yet. May be NULL. */
	void (*interrupted)(void *ctx, const struct backup_result *found);
	void *interrupted_ctx;
} backup_options;

typedef struct backup_result {
	int64_t snapshot_id;
	int64_t nodes_selected;  /* rows the selection returned */
	int64_t nodes_new;       /* node versions added */
	int64_t nodes_deleted;
	int64_t nodes_reread;    /* held without a folder that exists now, read again (--full-scan) */
	int64_t nodes_rechecked; /* held, whose mtime moved since their version was read: compared */
	int64_t nodes_unchanged; /* of those, the ones whose tree is the one held (not read) */
	int64_t nodes_changed;   /* of those, the ones read again: a new version replaces the held one */
	int64_t nodes_withdrawn; /* of those, the ones left (in nodes_left): their held version ended */
	int64_t nodes_total;
	int64_t files_total;
	int64_t bytes_total;
	int64_t files_read;
	int64_t bytes_read;
	int64_t objects_new;
	int64_t bytes_new;
	int64_t stored_bytes;
	int64_t packs_new;
	int64_t special_files_skipped; /* fifos, sockets, devices in the folders read: not stored */
	int64_t nodes_left;            /* left out: a file vanished or changed while being read; the
					* next run reads them again */
	int discarded_snapshots; /* pending snapshots of killed runs */
	int removed_packs;       /* their unsealed packs */
	int64_t kept_packs;      /* their sealed packs, kept: this run does not store again */
	int64_t kept_objects;    /* the objects in them */
	int64_t kept_bytes;      /* those objects' raw bytes */
	bool database_unchanged; /* the database is as the previous snapshot with files saw it: no
				  * reconciliation needed (not with full_scan) */
	bool reconciled;         /* ids were compared: of ranges that differ, or all (full_scan) */
	int64_t reconcile_ranges_compared; /* id ranges whose aggregates were compared */
	int64_t reconcile_ranges_listed;   /* id ranges listed exactly on both sides */
	int64_t reconcile_ids_listed;      /* ids those listings returned */
	bool has_files;
	bool has_database;
	db_dump_stats db;        /* when has_database */
	double step_seconds[BACKUP_TIME_END]; /* by backup_timing; 0 for a step not taken */
	double seconds;
} backup_result;

int backup_run(const backup_options *options, backup_result *out);

#endif
