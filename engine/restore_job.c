/*
 * restore_job.c - files and database of a snapshot, in parallel (see restore_job.h).
 */
#include "engine/restore_job.h"

#include "engine/aiida_profile.h"
#include "engine/restore_container.h"

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

int restore_profile_check(const restore_profile_target *t)
{
	if (t->name == NULL)
		return 0;
	if (t->to_dsn == NULL || t->target_root == NULL)
		return st_error_set(ST_ERR_USAGE, "--to-profile needs --to-dsn and --to-repository");
	if (t->name[0] == '\0')
		return st_error_set(ST_ERR_USAGE, "--to-profile needs a name");
	bool exists = false;
	char *path = NULL;
	int rc = aiida_profile_exists(t->config_dir, t->name, &exists, &path);
	if (rc == 0 && exists && !t->force)
		rc = st_error_set(ST_ERR_TARGET, "profile '%s' already exists in '%s' (--force replaces it)", t->name, path);
	free(path);
	return rc;
}

int restore_profile_add(const restore_profile_target *t, const char *record, int64_t snapshot_id, char *out_path,
			size_t out_cap)
{
	st_json *like = NULL;
	if (record != NULL && st_json_parse(&like, record, "profile record") != 0)
		st_error_clear();
	pg_dsn_parts parts;
	char repository[PATH_MAX];
	char *path = NULL;
	int rc = pg_dsn_parts_get(t->to_dsn, &parts);
	if (rc == 0 && realpath(t->target_root, repository) == NULL)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to resolve '%s'", t->target_root);
	aiida_profile_entry entry = {.name = t->name, .like = like, .host = parts.host, .port = parts.port,
				     .user = parts.user, .password = parts.password, .database = parts.dbname,
				     .repository = repository};
	if (rc == 0)
		rc = aiida_profile_add(t->config_dir, &entry, t->force, &path);
	if (rc == 0) {
		const char *format = st_json_string_value(st_json_get(like, "format"));
		const char *was = st_json_string_value(st_json_get(like, "name"));
		snprintf(out_path, out_cap, "%s", path);
		st_log_note("added profile '%s' to '%s': database '%s' as user '%s' on '%s', repository '%s'",
			    t->name, path, parts.dbname ? parts.dbname : "", parts.user ? parts.user : "",
			    parts.host ? parts.host : "localhost", repository);
		if (like == NULL)
			st_log_note("snapshot %lld records no AiiDA profile (taken with --dsn): '%s' is a minimal AiiDA 2.x "
				    "entry; add its broker settings (verdi profile setup) before running processes",
				    (long long)snapshot_id, t->name);
		else
			st_log_note("profile '%s' is in the format of profile '%s' (AiiDA %s) and keeps its other settings "
				    "(broker, options): check them before running processes",
				    t->name, was ? was : "?", format ? format : "?");
		if (parts.password == NULL)
			st_log_note("no password was given in --to-dsn: if the server asks for one, set it in profile "
				    "'%s' of '%s' (%s)",
				    t->name, path,
				    format && strcmp(format, "1.x") == 0 ? "AIIDADB_PASS" : "database_password");
	}
	free(path);
	pg_dsn_parts_release(&parts);
	st_json_free(like);
	return rc;
}

typedef struct refs_report {
	const restore_job_options *options;
	int64_t snapshot_id;
	container_filler *filler; /* opened at the first reference the container lacks */
} refs_report;

static int report_missing(void *ctx, const char *uuid, const char *key, bool *out_resolved)
{
	refs_report *report = ctx;
	int64_t from = 0;
	*out_resolved = false;
	int rc = 0;
	if (report->filler == NULL)
		rc = restore_container_filler_open(&report->filler, report->options->dest_path, report->snapshot_id,
						   report->options->target_root);
	if (rc == 0)
		rc = restore_container_fill(report->filler, uuid, key, out_resolved, &from);
	if (rc == 0 && *out_resolved)
		st_log_note("restore: node %s references object %s, which snapshot %lld lacks: filled from snapshot %lld",
			    uuid, key, (long long)report->snapshot_id, (long long)from);
	else if (rc == 0)
		st_log_warn("restore: node %s references object %s, which snapshot %lld lacks (its backup left the node"
			    " for a later one, as it does when an object is missing from the container or damaged)",
			    uuid, key, (long long)report->snapshot_id);
	return rc;
}

/* The restored database against the restored container (restore_job.h). */
static int check_refs(const restore_job_options *o, int64_t snapshot_id, restore_job_result *out)
{
	char *dir = st_sprintf("%s/container", o->target_root);
	refs_report report = {.options = o, .snapshot_id = snapshot_id};
	int rc = container_refs_check(o->to_dsn, dir, report_missing, &report, &out->refs);
	if (rc != 0)
		st_error_prefix("checking the restored database's object keys against '%s'", dir);
	if (report.filler != NULL) {
		st_error saved;
		st_error_save(&saved);
		int close_rc = restore_container_filler_close(report.filler);
		rc = rc != 0 ? st_error_restore(&saved) : close_rc;
	}
	out->checked_refs = rc == 0;
	free(dir);
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
	const restore_profile_target profile = {.name = o->to_profile, .to_dsn = o->to_dsn, .target_root = o->target_root,
						.config_dir = o->config_dir, .force = o->force};
	int rc = restore_profile_check(&profile);
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
	if (rc == 0 && info.container && want_files && o->to_dsn != NULL)
		rc = check_refs(o, info.id, out);
	if (rc == 0 && o->to_profile != NULL)
		rc = restore_profile_add(&profile, info.profile, info.id, out->profile_path, sizeof out->profile_path);
	out->added_profile = rc == 0 && o->to_profile != NULL;
	free(info.profile);
	return rc;
}
