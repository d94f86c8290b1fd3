/*
 * restore_job.c - files and database of a snapshot, in parallel (see restore_job.h).
 */
#include "engine/restore_job.h"

#include "engine/aiida_profile.h"

#include "common/error.h"
#include "common/log.h"
#include "common/mem.h"
#include "scanner/pg_session.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Before anything is restored: --to-profile needs both sides, and a free name. */
static int check_profile_target(const restore_job_options *o)
{
	if (o->to_profile == NULL)
		return 0;
	if (o->to_dsn == NULL || o->target_root == NULL)
		return st_error_set(ST_ERR_USAGE, "--to-profile needs --to-dsn and --to-repository");
	if (o->to_profile[0] == '\0')
		return st_error_set(ST_ERR_USAGE, "--to-profile needs a name");
	bool exists = false;
	char *path = NULL;
	int rc = aiida_profile_exists(o->config_dir, o->to_profile, &exists, &path);
	if (rc == 0 && exists && !o->force)
		rc = st_error_set(ST_ERR_TARGET, "profile '%s' already exists in '%s' (--force replaces it)", o->to_profile,
				  path);
	free(path);
	return rc;
}

/* The new profile entry, in the format of the profile the snapshot was taken from. */
static int add_profile(const restore_job_options *o, const restore_snapshot_info *info, restore_job_result *out)
{
	st_json *like = NULL;
	if (info->profile != NULL && st_json_parse(&like, info->profile, "profile record") != 0)
		st_error_clear();
	pg_dsn_parts parts;
	char repository[PATH_MAX];
	char *path = NULL;
	int rc = pg_dsn_parts_get(o->to_dsn, &parts);
	if (rc == 0 && realpath(o->target_root, repository) == NULL)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to resolve '%s'", o->target_root);
	aiida_profile_entry entry = {.name = o->to_profile, .like = like, .host = parts.host, .port = parts.port,
				     .user = parts.user, .password = parts.password, .database = parts.dbname,
				     .repository = repository};
	if (rc == 0)
		rc = aiida_profile_add(o->config_dir, &entry, o->force, &path);
	if (rc == 0) {
		const char *format = st_json_string_value(st_json_get(like, "format"));
		const char *was = st_json_string_value(st_json_get(like, "name"));
		out->added_profile = true;
		snprintf(out->profile_path, sizeof out->profile_path, "%s", path);
		st_log_note("added profile '%s' to '%s': database '%s' as user '%s' on '%s', repository '%s'",
			    o->to_profile, path, parts.dbname ? parts.dbname : "", parts.user ? parts.user : "",
			    parts.host ? parts.host : "localhost", repository);
		if (like == NULL)
			st_log_note("snapshot %lld records no AiiDA profile (taken with --dsn): '%s' is a minimal AiiDA 2.x "
				    "entry; add its broker settings (verdi profile setup) before running processes",
				    (long long)info->id, o->to_profile);
		else
			st_log_note("profile '%s' is in the format of profile '%s' (AiiDA %s) and keeps its other settings "
				    "(broker, options): check them before running processes",
				    o->to_profile, was ? was : "?", format ? format : "?");
		if (parts.password == NULL)
			st_log_note("no password was given in --to-dsn: if the server asks for one, set it in profile "
				    "'%s' of '%s' (%s)",
				    o->to_profile, path,
				    format && strcmp(format, "1.x") == 0 ? "AIIDADB_PASS" : "database_password");
	}
	free(path);
	pg_dsn_parts_release(&parts);
	st_json_free(like);
	return rc;
}

int restore_job_run(const restore_job_options *o, restore_job_result *out)
{
	memset(out, 0, sizeof *out);
	bool want_files = o->target_root != NULL;
	bool want_db = o->to_dsn != NULL || o->dump_dir != NULL;
	if (!want_files && !want_db)
		return st_error_set(ST_ERR_USAGE, "nothing to restore: no target repository, database or dump directory");
	if ((o->node_count > 0 || o->path_count > 0) && (want_db || !want_files))
		return st_error_set(ST_ERR_USAGE, "a selection (--node, --path, --nodes-from) restores files only: it needs "
						  "--to-repository and excludes a database restore");
	restore_snapshot_info info;
	int rc = check_profile_target(o);
	if (rc == 0)
		rc = restore_resolve_snapshot(o->dest_path, o->snapshot_id, &info);
	else
		return rc;
	if (rc == 0)
		rc = check_sides(&info, want_files, want_db);
	if (rc != 0) {
		free(info.profile);
		return rc;
	}
	out->snapshot_id = info.id;

	files_side files = {
		.options = {.dest_path = o->dest_path, .snapshot_id = info.id, .target_root = o->target_root,
			    .jobs = o->jobs, .force = o->force, .loose = o->loose, .nodes = o->nodes, .node_count = o->node_count,
			    .paths = o->paths, .path_count = o->path_count},
		.result = &out->files,
	};
	pthread_t thread;
	bool threaded = false;
	if (want_files && want_db) {
		int err = pthread_create(&thread, NULL, run_files, &files);
		if (err != 0) {
			free(info.profile);
			return st_error_set_errno(ST_ERR_GENERIC, err, "unable to start the files restore");
		}
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
		rc = st_error_restore(&db_error);
	else if (files.rc != 0)
		rc = st_error_restore(&files.error);
	if (rc == 0) {
		out->restored_files = want_files;
		out->restored_database = want_db;
	}
	if (rc == 0 && o->to_profile != NULL)
		rc = add_profile(o, &info, out);
	free(info.profile);
	return rc;
}
