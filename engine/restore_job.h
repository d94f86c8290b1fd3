/*
 * restore_job.h - strata restore as one job: a snapshot's files, its database, or both at once.
 *
 * Resolves the snapshot (an id or RESTORE_LATEST), refuses a side the snapshot does not hold
 * (ST_ERR_NOTFOUND: "snapshot N holds no database (it was taken with --files-only)"), then
 * runs the files restore (restore.h) and the database restore (db_restore.h); when both are
 * asked for they run in parallel, the files in a second thread. The first error wins, the
 * database's before the files'; the database restore's notes go to the log (common/log.h).
 *
 * Of an AiiDA 2.x snapshot restored with its database, the restored database must never
 * reference an object the restored container lacks: once both are written, every key of every
 * node's repository_metadata is looked up in the container (container_refs.h). A backup leaves a
 * node whose object was missing or damaged for the next run, but its database dump still holds
 * that node: each such reference is a warning (st_log_warn) naming node, key and snapshot, and
 * counted in refs.missing. A files-only or database-only restore has nothing to check against.
 */
#ifndef STRATA_ENGINE_RESTORE_JOB_H
#define STRATA_ENGINE_RESTORE_JOB_H

#include "engine/db_restore.h"
#include "engine/restore.h"
#include "scanner/container_refs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct restore_job_options {
	const char *dest_path;
	int64_t snapshot_id;      /* or RESTORE_LATEST */
	int jobs;                 /* parallelism of each side; 0: number of cores */
	/* Files: restored when target_root is set. */
	const char *target_root;
	bool force;
	bool loose;               /* AiiDA 2.x: loose objects instead of packs */
	/* A selection of files (restore.h): files only, never with a database restore. */
	const char *const *nodes;
	size_t node_count;
	const char *const *paths;
	size_t path_count;
	/* Database: restored when to_dsn or dump_dir is set (see db_restore.h). */
	const char *to_dsn;
	const char *dump_dir;
	bool clean;
	bool keep_owners;
	/* A working AiiDA profile entry for the restored database and files, added to config.json
	 * (aiida_profile.h) once both are restored; needs to_dsn and target_root. An existing
	 * profile of that name is refused before anything is restored, unless force. */
	const char *to_profile;
	const char *config_dir;   /* NULL: through AIIDA_PATH */
} restore_job_options;

typedef struct restore_job_result {
	int64_t snapshot_id;      /* the snapshot restored (latest resolved) */
	bool restored_files;
	bool restored_database;
	restore_result files;     /* when restored_files */
	db_restore_result database; /* when restored_database */
	bool added_profile;
	char profile_path[4096];  /* the config.json written, when added_profile */
	/* An AiiDA 2.x snapshot restored with its database (to_dsn and target_root): every key of
	 * the restored database's repository_metadata looked up in the restored container; each
	 * one it lacks is a warning naming node and key (refs.missing > 0: the restore completed
	 * with warnings). */
	bool checked_refs;
	container_refs_result refs;
} restore_job_result;

/* --to-profile: a working AiiDA profile entry for a restored database and repository. */
typedef struct restore_profile_target {
	const char *name;         /* NULL: no profile */
	const char *to_dsn;
	const char *target_root;
	const char *config_dir;   /* NULL: through AIIDA_PATH */
	bool force;               /* replace a profile of that name */
} restore_profile_target;

/* Before anything is restored: the name needs to_dsn and target_root (ST_ERR_USAGE) and must be
 * free (ST_ERR_TARGET) unless force. 0 when name is NULL. */
int restore_profile_check(const restore_profile_target *target);

/* Adds the entry to config.json (aiida_profile_add) in the format of record (the profile record
 * a snapshot keeps, JSON, or NULL: a minimal 2.x entry), pointing at to_dsn and target_root;
 * the notes name snapshot_id. out_path receives the config.json written. */
int restore_profile_add(const restore_profile_target *target, const char *record, int64_t snapshot_id,
			char *out_path, size_t out_cap);

/* ST_ERR_USAGE when options ask for neither side. */
int restore_job_run(const restore_job_options *options, restore_job_result *out);

#endif
