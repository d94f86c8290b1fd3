/*
 * cmd_restore.c - strata restore: files, database, or both at once (in parallel).
 */
#include "cli/commands.h"
#include "cli/output.h"

#include "common/error.h"
#include "engine/db_restore.h"
#include "engine/restore.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const char help[] =
	"usage: strata restore --dest DIR [--snapshot ID|latest] [--to-repository DIR] [--to-dsn DSN]\n"
	"                      [--dump-dir DIR] [OPTIONS]\n"
	"\n"
	"Restores a snapshot: its node folders into DIR/repository/node/... (--to-repository), its\n"
	"database onto a PostgreSQL cluster (--to-dsn), or both at once, in parallel. Files come\n"
	"back byte for byte with modes, mtimes, symlinks (as links), empty files and folders, each\n"
	"checked against its hash as it is written; nothing is written outside DIR.\n"
	"The database named by --to-dsn is created when it does not exist; the dump is restored\n"
	"with pg_restore --jobs=N, then every table's row count and the AiiDA schema version are\n"
	"checked against the snapshot.\n"
	"\n"
	"  --dest DIR             the destination (default: $STRATA_DEST)\n"
	"  --snapshot ID|latest   which snapshot (default: latest)\n"
	"  --to-repository DIR    the new repository root; must be empty or absent\n"
	"  --to-dsn DSN           the target database (connection string or URI)\n"
	"  --dump-dir DIR         also (or, without --to-dsn, only) write the plain pg_dump directory\n"
	"                         that stock pg_restore reads\n"
	"  --clean                replace the tables of a target database that already has some\n"
	"  --keep-owners          keep the dump's owners and privileges (the roles must exist);\n"
	"                         by default objects belong to the target connection's role\n"
	"  --force                write into a non-empty --to-repository, replacing files\n"
	"  --jobs N               parallelism (default: number of cores)\n"
	"  --json                 print the result as one JSON document\n"
	"  -v, --verbose          print progress notes and a summary even when not on a terminal\n"
	"  -h, --help             show this help\n";

typedef struct restore_request {
	restore_options files;
	db_restore_options db;
	bool want_files;
	bool want_db;
	bool json;
	bool verbose;
} restore_request;

typedef struct file_thread {
	const restore_options *options;
	restore_result result;
	int rc;
	st_error error;
} file_thread;

static void *run_files(void *arg)
{
	file_thread *t = arg;
	t->rc = restore_run(t->options, &t->result);
	if (t->rc != 0)
		st_error_save(&t->error);
	return NULL;
}

static void say_line(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "strata: %s\n", line);
}

static int parse(restore_request *req, int argc, char **argv)
{
	static const struct option options[] = {
		{"dest", required_argument, NULL, 'd'},          {"snapshot", required_argument, NULL, 's'},
		{"to-repository", required_argument, NULL, 't'}, {"to-dsn", required_argument, NULL, 'D'},
		{"dump-dir", required_argument, NULL, 'O'},      {"clean", no_argument, NULL, 'c'},
		{"keep-owners", no_argument, NULL, 'k'},         {"force", no_argument, NULL, 'f'},
		{"jobs", required_argument, NULL, 'j'},          {"json", no_argument, NULL, 'J'},
		{"verbose", no_argument, NULL, 'v'},             {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long long n = 0;
	int c, rc = 0;
	req->files.snapshot_id = RESTORE_LATEST;
	while (rc == 0 && (c = cli_getopt(argc, argv, "restore", options)) != -1) {
		switch (c) {
		case 'd': req->files.dest_path = optarg; break;
		case 's':
			if (strcmp(optarg, "latest") != 0) {
				rc = cli_parse_int("--snapshot", optarg, 1, INT64_MAX, &n);
				req->files.snapshot_id = n;
			}
			break;
		case 't': req->files.target_root = optarg; break;
		case 'D': req->db.to_dsn = optarg; break;
		case 'O': req->db.dump_dir = optarg; break;
		case 'c': req->db.clean = true; break;
		case 'k': req->db.keep_owners = true; break;
		case 'f': req->files.force = true; break;
		case 'j': rc = cli_parse_int("--jobs", optarg, 1, 256, &n); req->files.jobs = req->db.jobs = (int)n; break;
		case 'J': req->json = true; break;
		case 'v': req->verbose = true; break;
		case 'h': cli_print_help(help); return 1;
		default: return ST_ERR_USAGE;
		}
	}
	if (rc != 0)
		return rc;
	if (optind < argc)
		return st_error_set(ST_ERR_USAGE, "strata restore: unexpected argument '%s'", argv[optind]);
	if ((rc = cli_require_dest(&req->files.dest_path, "restore")) != 0)
		return rc;
	req->want_files = req->files.target_root != NULL;
	req->want_db = req->db.to_dsn != NULL || req->db.dump_dir != NULL;
	if (!req->want_files && !req->want_db)
		return cli_missing("restore", "--to-repository, --to-dsn or --dump-dir");
	req->db.dest_path = req->files.dest_path;
	return 0;
}

static void print_result(const restore_request *req, const restore_result *f, const db_restore_result *db, int64_t id)
{
	char size[32];
	if (req->json) {
		printf("{\"snapshot\": %lld", (long long)id);
		if (req->want_files)
			printf(", \"files\": {\"nodes\": %lld, \"folders\": %lld, \"files\": %lld, \"directories\": %lld,"
			       " \"symlinks\": %lld, \"bytes\": %lld, \"seconds\": %.3f}",
			       (long long)f->nodes, (long long)f->folders, (long long)f->files, (long long)f->directories,
			       (long long)f->symlinks, (long long)f->bytes, f->seconds);
		if (req->want_db) {
			printf(", \"database\": {\"schema_version\": ");
			out_json_string(stdout, db->schema_version);
			printf(", \"tables\": %lld, \"rows\": %lld, \"created_database\": %s, \"verified\": %s, \"seconds\": %.3f}",
			       (long long)db->tables, (long long)db->rows, db->created_database ? "true" : "false",
			       db->verified ? "true" : "false", db->seconds);
		}
		printf("}\n");
		return;
	}
	if (!cli_human_output(req->verbose))
		return;
	if (req->want_files)
		printf("restored snapshot %lld: %lld nodes (%lld folders), %lld files, %lld symlinks, %s in %.1f s into '%s'\n",
		       (long long)id, (long long)f->nodes, (long long)f->folders, (long long)f->files, (long long)f->symlinks,
		       out_size(size, sizeof size, f->bytes), f->seconds, req->files.target_root);
	if (req->want_db && req->db.to_dsn != NULL)
		printf("restored database of snapshot %lld: %lld tables, %lld rows, schema version %s, verified, in %.1f s\n",
		       (long long)id, (long long)db->tables, (long long)db->rows,
		       db->schema_version[0] ? db->schema_version : "(none)", db->seconds);
}

int cmd_restore(int argc, char **argv)
{
	restore_request req = {0};
	int rc = parse(&req, argc, argv);
	if (rc != 0)
		return rc > 0 ? 0 : rc;
	restore_snapshot_info info;
	if ((rc = restore_resolve_snapshot(req.files.dest_path, req.files.snapshot_id, &info)) != 0)
		return rc;
	if (req.want_db && !info.has_database)
		return st_error_set(ST_ERR_NOTFOUND, "snapshot %lld holds no database (it was taken with --files-only)",
				    (long long)info.id);
	if (req.want_files && !info.has_files)
		return st_error_set(ST_ERR_NOTFOUND, "snapshot %lld holds no files (it was taken with --database-only)",
				    (long long)info.id);
	req.files.snapshot_id = req.db.snapshot_id = info.id;
	if (req.verbose || cli_human_output(false) || req.want_db)
		req.db.say = say_line;

	file_thread files = {.options = &req.files};
	pthread_t thread;
	bool threaded = false;
	if (req.want_files && req.want_db)
		threaded = pthread_create(&thread, NULL, run_files, &files) == 0;
	else if (req.want_files)
		run_files(&files);
	db_restore_result db = {0};
	int db_rc = req.want_db ? db_restore_run(&req.db, &db) : 0;
	st_error db_error;
	st_error_save(&db_error);
	if (threaded)
		pthread_join(thread, NULL);
	if (db_rc != 0)
		return st_error_restore(&db_error);
	if (files.rc != 0)
		return st_error_restore(&files.error);
	print_result(&req, &files.result, &db, info.id);
	return 0;
}
