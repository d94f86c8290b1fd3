/*
 * restore_job.c - files and database of a snapshot, in parallel (see restore_job.h).
 */
#include "engine/restore_job.h"

#include "common/error.h"

#include <pthread.h>
#include <string.h>

/* The files side, run in its own thread when the database is restored too. */
typedef struct files_side {
	restore_options options;
	restore_result *result;
	int rc;
	st_error error;
} files_side;

static void *run_files(void *arg)
{
	files_side *side = arg;
	side->rc = restore_run(&side->options, side->result);
	if (side->rc != 0)
		st_error_save(&side->error);
	return NULL;
}

static int check_sides(const restore_snapshot_info *info, bool want_files, bool want_db)
{
	if (want_db && !info->has_database)
		return st_error_set(ST_ERR_NOTFOUND, "snapshot %lld holds no database (it was taken with --files-only)",
				    (long long)info->id);
	if (want_files && !info->has_files)
		return st_error_set(ST_ERR_NOTFOUND, "snapshot %lld holds no files (it was taken with --database-only)",
				    (long long)info->id);
	return 0;
}

int restore_job_run(const restore_job_options *o, restore_job_result *out)
{
	memset(out, 0, sizeof *out);
	bool want_files = o->target_root != NULL;
	bool want_db = o->to_dsn != NULL || o->dump_dir != NULL;
	if (!want_files && !want_db)
		return st_error_set(ST_ERR_USAGE, "nothing to restore: no target repository, database or dump directory");
	restore_snapshot_info info;
	int rc = restore_resolve_snapshot(o->dest_path, o->snapshot_id, &info);
	if (rc == 0)
		rc = check_sides(&info, want_files, want_db);
	if (rc != 0)
		return rc;
	out->snapshot_id = info.id;

	files_side files = {
		.options = {.dest_path = o->dest_path, .snapshot_id = info.id, .target_root = o->target_root,
			    .jobs = o->jobs, .force = o->force},
		.result = &out->files,
	};
	pthread_t thread;
	bool threaded = false;
	if (want_files && want_db) {
		int err = pthread_create(&thread, NULL, run_files, &files);
		if (err != 0)
			return st_error_set_errno(ST_ERR_GENERIC, err, "unable to start the files restore");
		threaded = true;
	} else if (want_files) {
		run_files(&files);
	}
	int db_rc = 0;
	st_error db_error;
	if (want_db) {
		db_restore_options db = {.dest_path = o->dest_path, .snapshot_id = info.id, .to_dsn = o->to_dsn,
					 .dump_dir = o->dump_dir, .jobs = o->jobs, .clean = o->clean,
					 .keep_owners = o->keep_owners};
		db_rc = db_restore_run(&db, &out->database);
		st_error_save(&db_error);
	}
	if (threaded)
		pthread_join(thread, NULL);
	if (db_rc != 0)
		return st_error_restore(&db_error);
	if (files.rc != 0)
		return st_error_restore(&files.error);
	out->restored_files = want_files;
	out->restored_database = want_db;
	return 0;
}
