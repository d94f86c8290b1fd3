/*
 * prune.h - the prune job: give back the space that only forgotten snapshots use.
 *
 * Under the destination's exclusive lock (a backup meanwhile fails with ST_ERR_LOCKED or waits
 * with --wait), in one catalog transaction:
 *   1. every dump file of a kept snapshot stored as a delta against a forgotten snapshot's
 *      version is rebuilt and stored again as a full copy (dump_rebuild.h);
 *   2. the live set is marked: what the complete snapshots use (catalog_prune_mark);
 *   3. packs without a live object are dropped; partly used packs are rewritten, most unused
 *      first, until at most max_unused of the packs that stay is unused (store_prune_plan);
 *      the live objects are read back, checked and copied into new packs, which are sealed;
 *   4. the catalog forgets the garbage rows and points the moved objects at their new packs:
 *      the commit is the one moment the destination changes.
 * Only then are the old pack files deleted (store_remove_orphans), and a run killed at any
 * earlier moment leaves only unreferenced new packs, which the next prune (or backup) deletes
 * before it starts. A failed run (ENOSPC, EIO, SIGINT) rolls back and deletes what it wrote,
 * so the destination is as it was. Old packs that cannot be deleted after the commit are a
 * warning (packs_left_behind): the next run deletes them.
 */
#ifndef STRATA_ENGINE_PRUNE_H
#define STRATA_ENGINE_PRUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* restic's default: rewrite until at most 10% of the destination is unused. */
#define PRUNE_DEFAULT_MAX_UNUSED 0.10

typedef struct prune_options {
	const char *dest_path;
	double max_unused;    /* fraction of the destination left unused (0..1) */
	bool dry_run;         /* decide and report, change nothing (no lock taken) */
	int64_t wait_seconds; /* for the lock, as dest_open_wait */
	const int64_t *assume_forgotten; /* a dry run: count these snapshots as forgotten too */
	size_t assume_forgotten_count;
} prune_options;

typedef struct prune_result {
	int64_t packs;            /* before */
	uint64_t total_bytes;     /* pack bytes before */
	int64_t packs_deleted;    /* held only garbage */
	int64_t packs_rewritten;
	int64_t packs_written;    /* new packs the rewrite filled */
	int64_t objects_repacked;
	uint64_t bytes_repacked;
	int64_t objects_removed;
	int64_t node_versions_removed;
	int64_t entries_removed;
	int64_t dump_files_removed;
	int64_t folder_records_removed;
	int64_t dump_files_rebased; /* kept deltas whose basis was forgotten, now full copies */
	uint64_t bytes_rebased;     /* their size */
	uint64_t freed_bytes;       /* pack bytes given back (a dry run: would give back) */
	uint64_t unused_after;      /* unused bytes left in the packs kept as they are */
	int orphans_removed;        /* pack files of earlier killed runs */
	bool packs_left_behind;     /* done, but old pack files could not be deleted (a warning) */
	double seconds;
} prune_result;

int prune_run(const prune_options *options, prune_result *out);

#endif
