/*
 * db_restore.c - a snapshot's dump onto a cluster (see db_restore.h).
 */
#include "engine/db_restore.h"

#include "catalog/catalog.h"
#include "catalog/dest.h"
#include "common/confine.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/mem.h"
#include "engine/db_dump.h"
#include "engine/db_info.h"
#include "engine/dump_fifo.h"
#include "engine/dump_rebuild.h"
#include "engine/pg_tools.h"
#include "scanner/pg_session.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room for pg_restore's arguments: connection, jobs, two fixed flags, two for owners, two for
 * --clean, the dump directory and the terminating NULL. */
#define PG_RESTORE_ARGS_MAX 12

typedef struct db_restore_job {
	const db_restore_options *options;
	dest *d;
	store *objects;
	catalog_snapshot snap;
	db_info facts;    /* what the backup recorded about the database */
	char *dir;        /* the dump directory being written */
	int dir_fd;       /* that directory, opened once: every file is created below it */
	bool dir_is_temp;
	char *target_db;
	pg_session *target;
	catalog_dump_file *files; /* the snapshot's dump files, kept while FIFOs serve them */
	size_t file_count;
	dump_fifo_server *fifos;  /* large files served to pg_restore (NULL: all written) */
} db_restore_job;

/* A dump file's name comes from the catalog: one plain file name, nothing else. */
static int check_dump_file_name(const char *name)
{
	if (name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strlen(name) > NAME_MAX)
		return st_error_set(ST_ERR_CORRUPT, "catalog names a dump file '%s' that is not a plain file name", name);
	return 0;
}

static dump_rebuild_ctx rebuild_ctx(const db_restore_job *job)
{
	return (dump_rebuild_ctx){.objects = job->objects, .cat = dest_catalog(job->d), .scratch_fd = job->dir_fd,
				  .scratch_dir = job->dir};
}

static int write_dump_file(db_restore_job *job, const catalog_dump_file *file)
{
	int fd = -1;
	int rc = st_confine_create_file(&fd, job->dir_fd, file->name, 0600, 0, job->dir);
	if (rc != 0)
		return rc;
	char *what = st_sprintf("%s/%s", job->dir, file->name);
	const dump_rebuild_ctx rebuild = rebuild_ctx(job);
	rc = dump_rebuild_to_fd(&rebuild, file, fd, what);
	if (close(fd) != 0 && rc == 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to write '%s'", what);
	free(what);
	return rc;
}

/* The FIFO server's preparer (another thread; this one waits for pg_restore meanwhile). */
static int prepare_delta(void *ctx, const catalog_dump_file *file, int *out_basis, int *out_delta)
{
	const db_restore_job *job = ctx;
	char *what = st_sprintf("%s/%s", job->dir, file->name);
	const dump_rebuild_ctx rebuild = rebuild_ctx(job);
	int rc = dump_rebuild_prepare(&rebuild, file, out_basis, out_delta, what);
	free(what);
	return rc;
}

/* Opens the dump directory once: the one the user named (--dump-dir, empty or new) or a new
 * temporary one. */
static int open_dump_dir(db_restore_job *job)
{
	const char *wanted = job->options->dump_dir;
	if (wanted != NULL) {
		bool exists = false, empty = false;
		if (st_dir_state(wanted, &exists, &empty) != 0)
			return st_error_reclassify(ST_ERR_TARGET);
		if (exists && !empty)
			return st_error_set(ST_ERR_TARGET, "dump directory '%s' is not empty", wanted);
		job->dir = st_strdup(wanted);
		return st_confine_root_open(&job->dir_fd, wanted, 0700);
	}
	int rc = st_make_temp_dir(&job->dir, "strata-restore");
	if (rc != 0)
		return rc;
	job->dir_is_temp = true;
	job->dir_fd = open(job->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (job->dir_fd < 0)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to open '%s'", job->dir);
	return 0;
}

/* Writes the dump directory; when pg_restore is to read it and nobody else will (a temporary
 * directory), the large files become FIFOs served while pg_restore runs (see dump_fifo.h). */
static int write_dump_dir(db_restore_job *job)
{
	int rc = open_dump_dir(job);
	if (rc == 0)
		rc = catalog_dump_files_of(dest_catalog(job->d), job->snap.id, &job->files, &job->file_count);
	if (rc == 0 && job->dir_is_temp && job->options->to_dsn != NULL)
		job->fifos = dump_fifo_server_new(job->objects, prepare_delta, job);
	for (size_t i = 0; i < job->file_count && rc == 0; i++) {
		const catalog_dump_file *file = &job->files[i];
		if ((rc = check_dump_file_name(file->name)) != 0)
			break;
		if (job->fifos != NULL && dump_fifo_wanted(file))
			rc = dump_fifo_server_add(job->fifos, job->dir_fd, job->dir, file);
		else
			rc = write_dump_file(job, file);
	}
	if (rc == 0 && job->fifos != NULL)
		st_log_note("%zu large dump files go to pg_restore through named pipes, served as it reads them",
			    dump_fifo_server_count(job->fifos));
	return rc;
}

/* Runs pg_restore with the FIFOs served; a failed writer's error (naming its file) wins over
 * pg_restore's, which it caused by killing pg_restore. */
static int run_pg_restore_served(db_restore_job *job, const pg_tool *tool, const char *const *args, const char *password)
{
	if (job->fifos == NULL)
		return pg_tool_run(tool, args, password, NULL);
	int rc = dump_fifo_server_begin(job->fifos);
	if (rc != 0)
		return rc;
	rc = pg_tool_run_watched(tool, args, password, NULL, dump_fifo_server_set_reader, job->fifos);
	st_error restore_error;
	st_error_save(&restore_error);
	bool failed = false;
	int served = dump_fifo_server_end(job->fifos, &failed);
	if (failed)
		return served;
	if (rc != 0)
		return st_error_restore(&restore_error);
	return served;
}

/* Connects to the target database, creating it when it does not exist. */
static int open_target(db_restore_job *job, db_restore_result *out)
{
	int rc = pg_dsn_dbname(job->options->to_dsn, &job->target_db);
	if (rc != 0)
		return rc;
	if (pg_session_open(&job->target, job->options->to_dsn, NULL) == 0)
		return 0;
	if (strstr(st_error_message(), "does not exist") == NULL)
		return st_error_code();
	pg_session *admin = NULL;
	if ((rc = pg_session_open(&admin, job->options->to_dsn, "postgres")) != 0)
		return rc;
	char *name = pg_quote_identifier(admin, job->target_db);
	char *sql = st_sprintf("CREATE DATABASE %s", name);
	st_log_note("creating database '%s' on the target cluster", job->target_db);
	rc = pg_session_exec(admin, sql);
	if (rc != 0) {
		/* The server's reason follows the last ": " of the message. */
		const char *colon = strrchr(st_error_message(), ':');
		const char *start = colon ? colon + 1 : st_error_message();
		char *reason = st_strdup(start + strspn(start, " "));
		rc = st_error_set(ST_ERR_DATABASE,
				  "unable to create database '%s' on the target cluster: %s (create it first, or use a role with CREATEDB)",
				  job->target_db, reason);
		free(reason);
	}
	free(sql);
	free(name);
	pg_session_close(admin);
	if (rc == 0) {
		out->created_database = true;
		rc = pg_session_open(&job->target, job->options->to_dsn, NULL);
	}
	return rc;
}

static int check_target_empty(db_restore_job *job)
{
	int64_t tables = 0;
	int rc = pg_session_count_tables(job->target, &tables);
	if (rc == 0 && tables > 0 && !job->options->clean)
		rc = st_error_set(ST_ERR_TARGET, "target database '%s' already holds %lld tables (use --clean to replace them)",
				  job->target_db, (long long)tables);
	return rc;
}

/* With --keep-owners: every owner named in the dump must exist on the target. */
static int check_owners(db_restore_job *job, const pg_tool *tool)
{
	char *listing = NULL;
	const char *args[] = {"--list", job->dir, NULL};
	int rc = pg_tool_run(tool, args, NULL, &listing);
	for (char *save = NULL, *line = rc == 0 && listing ? strtok_r(listing, "\n", &save) : NULL; line && rc == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == ';')
			continue;
		const char *owner = strrchr(line, ' ');
		if (owner == NULL || owner[1] == '-' || owner[1] == '\0')
			continue;
		char *quoted = pg_quote_literal(job->target, owner + 1);
		char *sql = st_sprintf("SELECT 1 FROM pg_roles WHERE rolname = %s", quoted);
		char *found = NULL;
		rc = pg_session_query_text(job->target, sql, &found);
		if (rc == 0 && found == NULL)
			rc = st_error_set(ST_ERR_DATABASE,
					  "role '%s' owns objects in the dump but does not exist on the target cluster: create it, or restore without --keep-owners",
					  owner + 1);
		free(found);
		free(sql);
		free(quoted);
	}
	free(listing);
	return rc;
}

static int run_pg_restore(db_restore_job *job)
{
	pg_tool tool;
	char *dsn = NULL, *password = NULL, *dbname = NULL, *user = NULL;
	int rc = pg_tool_find(&tool, "pg_restore", pg_session_server_major(job->target));
	if (rc == 0)
		rc = pg_dsn_split(job->options->to_dsn, &dsn, &password, &dbname);
	if (rc == 0 && job->options->keep_owners)
		rc = check_owners(job, &tool);
	if (rc == 0 && !job->options->keep_owners && pg_session_query_text(job->target, "SELECT current_user", &user) == 0)
		st_log_note("restored objects will belong to role '%s' (the target connection's); --keep-owners keeps the dump's owners",
			    user ? user : "?");
	if (rc == 0) {
		char *dbarg = st_sprintf("--dbname=%s", dsn);
		char *jobs = st_sprintf("--jobs=%d", job->options->jobs > 0 ? job->options->jobs : 1);
		const char *args[PG_RESTORE_ARGS_MAX];
		int n = 0;
		args[n++] = dbarg;
		args[n++] = jobs;
		args[n++] = "--exit-on-error";
		args[n++] = "--no-password";
		if (!job->options->keep_owners) {
			args[n++] = "--no-owner";
			args[n++] = "--no-privileges";
		}
		if (job->options->clean) {
			args[n++] = "--clean";
			args[n++] = "--if-exists";
		}
		args[n++] = job->dir;
		args[n] = NULL;
		rc = run_pg_restore_served(job, &tool, args, password);
		free(dbarg);
		free(jobs);
	}
	free(dsn);
	free(password);
	free(dbname);
	free(user);
	return rc;
}

/* Compares every table's row count and the schema version with the snapshot's record. */
static int verify(db_restore_job *job, db_restore_result *out)
{
	int rc = 0;
	for (size_t i = 0; i < job->facts.table_count && rc == 0; i++) {
		const pg_table_rows *t = &job->facts.tables[i];
		char *schema_q = pg_quote_identifier(job->target, t->schema);
		char *table_q = pg_quote_identifier(job->target, t->table);
		char *sql = st_sprintf("SELECT count(*) FROM %s.%s", schema_q, table_q);
		char *count = NULL;
		rc = pg_session_query_text(job->target, sql, &count);
		if (rc == 0 && count != NULL && strtoll(count, NULL, 10) != t->rows)
			rc = st_error_set(ST_ERR_CORRUPT,
					  "verification failed: table '%s.%s' has %s rows, the snapshot recorded %lld", t->schema,
					  t->table, count, (long long)t->rows);
		if (rc == 0) {
			out->tables++;
			out->rows += t->rows;
		}
		free(schema_q);
		free(table_q);
		free(sql);
		free(count);
	}
	char *schema = NULL;
	if (rc == 0)
		rc = pg_session_schema_version(job->target, &schema);
	if (rc == 0 && strcmp(schema ? schema : "", out->schema_version) != 0)
		rc = st_error_set(ST_ERR_CORRUPT, "verification failed: schema version is '%s', the snapshot recorded '%s'",
				  schema ? schema : "", out->schema_version);
	free(schema);
	out->verified = rc == 0;
	if (rc == 0)
		st_log_note("verified: %lld tables, %lld rows, every row count matches the snapshot; schema version %s",
			    (long long)out->tables, (long long)out->rows, out->schema_version[0] ? out->schema_version : "(none)");
	return rc;
}

/* Marks the restored database as this destination's (a comment on the database: pg_dump does
 * not copy it, so only this database carries it), so that backing it up into the same
 * destination continues the history. Only the owner may comment: elsewhere it is a warning. */
static void mark_restored(db_restore_job *job, db_restore_result *out)
{
	char *id = NULL;
	if (catalog_meta_get(dest_catalog(job->d), "destination_id", &id) != 0 || id == NULL) {
		st_error_clear();
		free(id);
		return;
	}
	char *text = st_sprintf(DB_RESTORE_MARK_PREFIX "%s snapshot %lld", id, (long long)job->snap.id);
	char *name = pg_quote_identifier(job->target, job->target_db);
	char *literal = pg_quote_literal(job->target, text);
	char *sql = st_sprintf("COMMENT ON DATABASE %s IS %s", name, literal);
	if (pg_session_exec(job->target, sql) == 0) {
		out->marked = true;
	} else {
		st_log_warn("unable to mark database '%s' as restored by strata (%s): its first backup into this "
			    "destination needs --adopt", job->target_db, st_error_message());
		st_error_clear();
	}
	free(sql);
	free(literal);
	free(name);
	free(text);
	free(id);
}

static int open_snapshot(db_restore_job *job, db_restore_result *out)
{
	int rc = dest_open(&job->d, job->options->dest_path, DEST_READ);
	if (rc == 0)
		rc = catalog_snapshot_get(dest_catalog(job->d), job->options->snapshot_id, &job->snap);
	if (rc == 0 && !job->snap.has_database)
		rc = st_error_set(ST_ERR_NOTFOUND, "snapshot %lld holds no database (it was taken with --files-only)",
				  (long long)job->snap.id);
	if (rc == 0)
		rc = db_info_parse(&job->facts, job->snap.db_info, job->snap.id);
	if (rc == 0)
		rc = store_open(&job->objects, job->d, NULL);
	if (rc == 0) {
		const db_info *facts = &job->facts;
		snprintf(out->schema_version, sizeof out->schema_version, "%s", facts->schema_version ? facts->schema_version : "");
		snprintf(out->server_version, sizeof out->server_version, "%s", facts->server_version ? facts->server_version : "");
		st_log_note("snapshot %lld: database '%s' from PostgreSQL %s, AiiDA schema version %s", (long long)job->snap.id,
			    facts->database ? facts->database : "", out->server_version,
			    out->schema_version[0] ? out->schema_version : "(none)");
	}
	return rc;
}

/* A failed restore removes the database it created, so a retry starts clean. */
static void drop_created_database(db_restore_job *job)
{
	st_error saved;
	st_error_save(&saved);
	pg_session_close(job->target);
	job->target = NULL;
	pg_session *admin = NULL;
	if (pg_session_open(&admin, job->options->to_dsn, "postgres") == 0) {
		char *name = pg_quote_identifier(admin, job->target_db);
		char *sql = st_sprintf("DROP DATABASE IF EXISTS %s", name);
		pg_session_exec(admin, sql);
		free(sql);
		free(name);
		pg_session_close(admin);
	}
	st_error_restore(&saved);
}

int db_restore_run(const db_restore_options *options, db_restore_result *out)
{
	double started = st_now_seconds();
	db_restore_job job = {.options = options, .dir_fd = -1};
	memset(out, 0, sizeof *out);
	int rc = options->to_dsn != NULL ? pg_dsn_check(options->to_dsn) : 0;
	if (rc == 0)
		rc = open_snapshot(&job, out);
	if (rc == 0 && options->to_dsn != NULL)
		rc = open_target(&job, out);
	if (rc == 0 && options->to_dsn != NULL)
		rc = check_target_empty(&job);
	if (rc == 0)
		rc = write_dump_dir(&job);
	if (rc == 0 && options->to_dsn == NULL)
		st_log_note("wrote the pg_dump directory '%s' (stock pg_restore reads it)", job.dir);
	if (rc == 0 && options->to_dsn != NULL)
		rc = run_pg_restore(&job);
	if (rc == 0 && options->to_dsn != NULL)
		rc = verify(&job, out);
	if (rc == 0 && options->to_dsn != NULL)
		mark_restored(&job, out);
	out->seconds = st_now_seconds() - started;
	if (job.fifos != NULL) {
		bool failed = false;
		st_error saved;
		st_error_save(&saved);
		dump_fifo_server_end(job.fifos, &failed);
		st_error_restore(&saved);
		dump_fifo_server_free(job.fifos);
	}
	if (rc != 0 && out->created_database)
		drop_created_database(&job);
	catalog_dump_files_free(job.files, job.file_count);
	if (job.dir_fd >= 0)
		close(job.dir_fd);
	if (job.dir_is_temp)
		st_remove_tree(job.dir);
	free(job.dir);
	free(job.target_db);
	pg_session_close(job.target);
	store_free(job.objects);
	db_info_release(&job.facts);
	catalog_snapshot_release(&job.snap);
	dest_close(job.d);
	return rc;
}

int db_restore_dump_dir(const db_restore_options *options, db_restore_result *out)
{
	double started = st_now_seconds();
	db_restore_job job = {.options = options, .dir_fd = -1};
	memset(out, 0, sizeof *out);
	if (options->to_dsn == NULL || options->dump_dir == NULL)
		return st_error_set(ST_ERR_USAGE, "restoring a dump directory needs a target database and the directory");
	job.dir = st_strdup(options->dump_dir);
	int rc = pg_dsn_check(options->to_dsn);
	if (rc == 0 && options->facts != NULL)
		rc = db_info_parse(&job.facts, options->facts, options->snapshot_id);
	if (rc == 0 && job.facts.schema_version != NULL)
		snprintf(out->schema_version, sizeof out->schema_version, "%s", job.facts.schema_version);
	if (rc == 0)
		rc = open_target(&job, out);
	if (rc == 0)
		rc = check_target_empty(&job);
	if (rc == 0)
		rc = run_pg_restore(&job);
	if (rc == 0 && options->facts != NULL)
		rc = verify(&job, out);
	out->seconds = st_now_seconds() - started;
	if (rc != 0 && out->created_database)
		drop_created_database(&job);
	free(job.dir);
	free(job.target_db);
	pg_session_close(job.target);
	db_info_release(&job.facts);
	return rc;
}
