/*
 * cmd_restore.c - strata restore: files, database, or both at once (restore_job.h).
 */
#include "cli/commands.h"
#include "cli/output.h"

#include "common/error.h"
#include "common/log.h"
#include "common/mem.h"
#include "engine/aiida_profile.h"
#include "engine/archive_restore.h"
#include "engine/restore_job.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
	"usage: strata restore --dest DIR [--snapshot ID|latest] [--to-repository DIR] [--to-dsn DSN]\n"
	"                      [--to-profile NAME [--config-dir DIR]] [--dump-dir DIR] [OPTIONS]\n"
	"       strata restore --dest DIR [--snapshot ID|latest] --profile [NAME] [OPTIONS]\n"
	"       strata restore --dest DIR [--snapshot ID|latest] --to-repository DIR\n"
	"                      [--node UUID]... [--path GLOB]... [--nodes-from FILE] [OPTIONS]\n"
	"       strata restore --from-archive FILE|- --to-repository DIR [--dump-dir DIR]\n"
	"                      [--to-dsn DSN [--to-profile NAME [--config-dir DIR]]] [--jobs N] [--json]\n"
	"       STRATA_DEST=DIR strata restore [--snapshot ID|latest] [--to-repository DIR] ...\n"
	"\n"
	"Restores a snapshot: its node folders into DIR/repository/node/... (--to-repository), its\n"
	"database onto a PostgreSQL cluster (--to-dsn), or both at once, in parallel. Files come\n"
	"back byte for byte with modes, mtimes, symlinks (as links), empty files and folders, each\n"
	"checked against its hash as it is written; nothing is written outside DIR.\n"
	"The database named by --to-dsn is created when it does not exist; the dump is restored\n"
	"with pg_restore --jobs=N, then every table's row count and the AiiDA schema version are\n"
	"checked against the snapshot.\n"
	"An AiiDA 2.x snapshot restored with its database (--to-dsn and --to-repository) is then\n"
	"checked as a whole: every object key of every node's repository_metadata in the restored\n"
	"database must be in the restored container (loose or in packs.idx). One it lacks (the\n"
	"backup found an object of that node missing or damaged and left the node for a later\n"
	"backup, but the snapshot's database still holds it) is filled, when another snapshot\n"
	"holds that node with a file of that sha256, as a loose object; each one still lacking is\n"
	"a warning naming node and key, and the restore exits 11 (completed with warnings).\n"
	"A files-only or database-only restore is not checked this way.\n"
	"\n"
	"  --dest DIR             the destination (default: $STRATA_DEST)\n"
	"  --snapshot ID|latest   which snapshot (default: latest)\n"
	"  --to-repository DIR    the new repository root; must be empty or absent (an AiiDA 2.x\n"
	"                         snapshot: DIR/container is written as a disk-objectstore\n"
	"                         container, objects in packs, with its container_id)\n"
	"  --loose                AiiDA 2.x: write loose objects instead of packs\n"
	"  --to-dsn DSN           the target database (connection string or URI)\n"
	"  --to-profile NAME      after restoring database and files (--to-dsn and --to-repository),\n"
	"                         add AiiDA profile NAME for them to config.json (found through\n"
	"                         AIIDA_PATH, or in --config-dir), in the format of the profile that\n"
	"                         was backed up (mode 0600); prints what is left to do\n"
	"  --config-dir DIR       the AiiDA configuration folder for --to-profile and --profile\n"
	"  --profile [NAME]       restore into the database and repository of an existing AiiDA\n"
	"                         profile (alone: the default profile)\n"
	"  --node UUID            restore only this node's folder (repeatable; exit 7 when the\n"
	"                         snapshot does not hold it)\n"
	"  --path GLOB            restore only the entries whose path below the repository matches\n"
	"                         GLOB (fnmatch, '*' also matches '/'), e.g. 'node/ab/*' or\n"
	"                         'node/ab/cd/ef...-.../path/*.in', with the directories above them\n"
	"                         (repeatable)\n"
	"  --nodes-from FILE      restore only the nodes listed in FILE, one uuid a line (blank lines\n"
	"                         and # comments ignored)\n"
	"                         --node, --path and --nodes-from restore files only: they need\n"
	"                         --to-repository and exclude --to-dsn, --dump-dir and profiles;\n"
	"                         only the selected nodes' entries and files' pack ranges are read\n"
	"  --from-archive FILE|-  restore an archive that 'strata export' wrote ('-': standard input),\n"
	"                         without a destination: every entry is checked against its\n"
	"                         manifest (type, size, XXH3-128 hash); an entry missing, extra or\n"
	"                         different, a link, device or name that would escape, a truncated\n"
	"                         stream is exit 8. Needs --to-repository; --dump-dir also writes\n"
	"                         its database/ (the pg_dump directory); --to-dsn then restores that\n"
	"                         directory with pg_restore and checks every table's row count\n"
	"                         against the manifest's (archives without them: not verified);\n"
	"                         --to-profile then adds a profile for both\n"
	"  --dump-dir DIR         also (or, without --to-dsn, only) write the plain pg_dump directory\n"
	"                         that stock pg_restore reads\n"
	"  --clean                replace the tables of a target database that already has some\n"
	"  --keep-owners          keep the dump's owners and privileges (the roles must exist);\n"
	"                         by default objects belong to the target connection's role\n"
	"  --force                write into a non-empty --to-repository, replacing files; replace\n"
	"                         an existing --to-profile\n"
	"  --jobs N               parallelism (default: number of cores)\n"
	"  --json                 print the result as one JSON document\n"
	"  -v, --verbose          print the database steps' notes and a summary even when not on a\n"
	"                         terminal (--json alone prints only the JSON document)\n"
	"  -h, --help             show this help\n";

typedef struct restore_request {
	restore_job_options job;
	bool json;
	bool verbose;
	bool use_profile;         /* --profile: into an existing profile's database and repository */
	const char *profile;
	aiida_profile *loaded;
	char *profile_dsn;        /* secret: the profile's connection, password included */
	char **nodes;             /* --node and --nodes-from, sorted, unique */
	size_t node_count;
	const char **paths;       /* --path */
	size_t path_count;
	const char *nodes_from;
	const char *from_archive; /* --from-archive */
} restore_request;

static int add_node(restore_request *req, const char *value, size_t len, const char *where)
{
	char uuid[CATALOG_UUID_LEN + 1];
	if (!cli_node_uuid(uuid, value, len))
		return st_error_set(ST_ERR_USAGE, "restore: %s: '%.*s' is not a node uuid", where, (int)(len > 64 ? 64 : len),
				    value);
	req->nodes = st_realloc(req->nodes, (req->node_count + 1) * sizeof *req->nodes);
	req->nodes[req->node_count++] = st_strdup(uuid);
	return 0;
}

/* One uuid a line; blank lines and # comments ignored. */
static int read_nodes_from(restore_request *req, const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return st_error_set_errno(ST_ERR_USAGE, errno, "restore: unable to open '%s'", path);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long number = 0;
	int rc = 0;
	while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
		number++;
		char *start = line;
		char *hash = memchr(line, '#', (size_t)len);
		size_t n = hash ? (size_t)(hash - line) : (size_t)len;
		while (n > 0 && isspace((unsigned char)start[n - 1]))
			n--;
		while (n > 0 && isspace((unsigned char)*start)) {
			start++;
			n--;
		}
		if (n == 0)
			continue;
		char where[PATH_MAX + 32];
		snprintf(where, sizeof where, "'%s' line %ld", path, number);
		rc = add_node(req, start, n, where);
	}
	if (rc == 0 && ferror(f))
		rc = st_error_set_errno(ST_ERR_USAGE, errno, "restore: unable to read '%s'", path);
	free(line);
	fclose(f);
	return rc;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --node and --nodes-from: sorted, without duplicates (restore.h). */
static void sort_nodes(restore_request *req)
{
	if (req->node_count == 0)
		return;
	qsort(req->nodes, req->node_count, sizeof *req->nodes, compare_strings);
	size_t kept = 1;
	for (size_t i = 1; i < req->node_count; i++) {
		if (strcmp(req->nodes[i], req->nodes[kept - 1]) == 0)
			free(req->nodes[i]);
		else
			req->nodes[kept++] = req->nodes[i];
	}
	req->node_count = kept;
}

/* --from-archive: no destination. */
static int check_from_archive(const restore_request *req)
{
	const restore_job_options *o = &req->job;
	if (o->target_root == NULL)
		return cli_missing("restore --from-archive", "--to-repository");
	if (req->use_profile || req->node_count > 0 || req->path_count > 0 || o->dest_path != NULL ||
	    o->snapshot_id != RESTORE_LATEST || o->force)
		return st_error_set(ST_ERR_USAGE, "restore: --from-archive takes --to-repository, --dump-dir, "
						  "--to-dsn, --to-profile and --jobs "
						  "(--profile, selections, --dest, --snapshot and --force are not supported with it)");
	if (o->to_profile != NULL && o->to_dsn == NULL)
		return st_error_set(ST_ERR_USAGE, "restore: --to-profile needs --to-dsn and --to-repository");
	return 0;
}

/* restore --from-archive (archive_restore.h). */
static int run_from_archive(const restore_request *req)
{
	const archive_restore_options o = {
		.input = req->from_archive,
		.target_root = req->job.target_root,
		.dump_dir = req->job.dump_dir,
		.to_dsn = req->job.to_dsn,
		.jobs = req->job.jobs,
		.to_profile = req->job.to_profile,
		.config_dir = req->job.config_dir,
	};
	archive_restore_result r;
	int rc = archive_restore_run(&o, &r);
	if (rc != 0 || !req->json) {
		if (rc == 0 && cli_human_output(req->verbose)) {
			printf("restored archive '%s' (snapshot %lld): %lld files, %lld symlinks into '%s'\n", o.input,
			       (long long)r.snapshot_id, (long long)r.files, (long long)r.symlinks, o.target_root);
			if (r.restored_database)
				printf("restored its database: %lld tables, %lld rows, %s\n", (long long)r.database.tables,
				       (long long)r.database.rows, r.database.verified ? "verified" : "not verified");
			if (r.added_profile)
				printf("added AiiDA profile '%s' to '%s'\n", o.to_profile, r.profile_path);
		}
		return rc;
	}
	st_json *doc = out_json_document();
	st_json_set_int(doc, "snapshot", r.snapshot_id);
	const out_int_field counts[] = {
		{"files", r.files}, {"directories", r.directories}, {"symlinks", r.symlinks}, {"bytes", r.bytes}};
	st_json *files = st_json_object();
	out_json_set_ints(files, counts, sizeof counts / sizeof counts[0]);
	out_json_seconds(files, "seconds", r.seconds);
	st_json_set(doc, "files", files);
	if (r.restored_database) {
		st_json *db = st_json_object();
		st_json_set_string(db, "schema_version", r.database.schema_version);
		st_json_set_int(db, "tables", r.database.tables);
		st_json_set_int(db, "rows", r.database.rows);
		st_json_set_bool(db, "created_database", r.database.created_database);
		st_json_set_bool(db, "verified", r.database.verified);
		out_json_seconds(db, "seconds", r.database.seconds);
		st_json_set(doc, "database", db);
	}
	if (r.added_profile) {
		st_json *profile = st_json_object();
		st_json_set_string(profile, "name", o.to_profile);
		st_json_set_string(profile, "config", r.profile_path);
		st_json_set(doc, "profile", profile);
	}
	return out_json_emit(doc);
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
		{"to-profile", required_argument, NULL, 'T'},    {"config-dir", required_argument, NULL, 'C'},
		{"profile", optional_argument, NULL, 'P'},       {"node", required_argument, NULL, 'N'},
		{"path", required_argument, NULL, 'G'},          {"nodes-from", required_argument, NULL, 'F'},
		{"from-archive", required_argument, NULL, 'A'},  {"loose", no_argument, NULL, 'L'},
		{NULL, 0, NULL, 0},
	};
	restore_job_options *o = &req->job;
	long long n = 0;
	int c, rc = 0;
	o->snapshot_id = RESTORE_LATEST;
	while (rc == 0 && (c = cli_getopt(argc, argv, "restore", options)) != -1) {
		switch (c) {
		case 'd': o->dest_path = optarg; break;
		case 's':
			rc = cli_parse_snapshot("--snapshot", optarg, RESTORE_LATEST, &o->snapshot_id);
			break;
		case 't': o->target_root = optarg; break;
		case 'D': o->to_dsn = optarg; break;
		case 'O': o->dump_dir = optarg; break;
		case 'c': o->clean = true; break;
		case 'k': o->keep_owners = true; break;
		case 'f': o->force = true; break;
		case 'j': rc = cli_parse_int("--jobs", optarg, 1, CLI_JOBS_MAX, &n); o->jobs = (int)n; break;
		case 'J': req->json = true; break;
		case 'v': req->verbose = true; st_log_set_level(ST_LOG_VERBOSE); break;
		case 'T': o->to_profile = optarg; break;
		case 'C': o->config_dir = optarg; break;
		case 'P': req->use_profile = true; req->profile = cli_optional_value(argc, argv); break;
		case 'N': rc = add_node(req, optarg, strlen(optarg), "--node"); break;
		case 'G':
			req->paths = st_realloc(req->paths, (req->path_count + 1) * sizeof *req->paths);
			req->paths[req->path_count++] = optarg;
			break;
		case 'F': req->nodes_from = optarg; break;
		case 'A': req->from_archive = optarg; break;
		case 'L': o->loose = true; break;
		case 'h': return cli_help(help);
		default: return ST_ERR_USAGE;
		}
	}
	if (rc == 0 && req->nodes_from != NULL)
		rc = read_nodes_from(req, req->nodes_from);
	if (rc != 0)
		return rc;
	if (req->nodes_from != NULL && req->node_count == 0 && req->path_count == 0)
		return st_error_set(ST_ERR_USAGE, "restore: '%s' names no node", req->nodes_from);
	sort_nodes(req);
	o->nodes = (const char *const *)req->nodes;
	o->node_count = req->node_count;
	o->paths = req->paths;
	o->path_count = req->path_count;
	if ((req->node_count > 0 || req->path_count > 0 || req->nodes_from != NULL) &&
	    (req->use_profile || o->to_dsn != NULL || o->dump_dir != NULL || o->to_profile != NULL ||
	     o->target_root == NULL))
		return st_error_set(ST_ERR_USAGE, "restore: --node, --path and --nodes-from restore files only: they need "
						  "--to-repository and exclude --to-dsn, --dump-dir and profiles");
	if (optind < argc)
		return st_error_set(ST_ERR_USAGE, "restore: unexpected argument '%s'", argv[optind]);
	if (req->from_archive != NULL)
		return check_from_archive(req);
	if ((rc = cli_require_dest(&o->dest_path, "restore")) != 0)
		return rc;
	if (req->use_profile && (o->target_root != NULL || o->to_dsn != NULL || o->to_profile != NULL))
		return st_error_set(ST_ERR_USAGE, "restore: --profile excludes --to-repository, --to-dsn and --to-profile");
	if (req->use_profile) {
		if ((rc = aiida_profile_load(&req->loaded, o->config_dir, req->profile)) != 0)
			return rc;
		req->profile_dsn = aiida_profile_dsn(req->loaded);
		o->to_dsn = req->profile_dsn;
		o->target_root = req->loaded->repository;
	}
	if (o->to_profile != NULL && (o->to_dsn == NULL || o->target_root == NULL))
		return st_error_set(ST_ERR_USAGE, "restore: --to-profile needs --to-dsn and --to-repository");
	if (o->target_root == NULL && o->to_dsn == NULL && o->dump_dir == NULL)
		return cli_missing("restore", "--to-repository, --to-dsn or --dump-dir");
	return 0;
}

static int print_json(const restore_request *req, const restore_job_result *r)
{
	st_json *doc = out_json_document();
	st_json_set_int(doc, "snapshot", r->snapshot_id);
	if (r->restored_files) {
		const restore_result *f = &r->files;
		const out_int_field counts[] = {
			{"nodes", f->nodes},       {"folders", f->folders},
			{"files", f->files},       {"directories", f->directories},
			{"symlinks", f->symlinks}, {"bytes", f->bytes},
		};
		st_json *files = st_json_object();
		out_json_set_ints(files, counts, sizeof counts / sizeof counts[0]);
		out_json_seconds(files, "seconds", f->seconds);
		st_json_set(doc, "files", files);
	}
	if (r->restored_database) {
		const db_restore_result *d = &r->database;
		st_json *db = st_json_object();
		st_json_set_string(db, "schema_version", d->schema_version);
		st_json_set_int(db, "tables", d->tables);
		st_json_set_int(db, "rows", d->rows);
		st_json_set_bool(db, "created_database", d->created_database);
		st_json_set_bool(db, "verified", d->verified);
		out_json_seconds(db, "seconds", d->seconds);
		st_json_set(doc, "database", db);
	}
	if (r->added_profile) {
		st_json *profile = st_json_object();
		st_json_set_string(profile, "name", req->job.to_profile);
		st_json_set_string(profile, "config", r->profile_path);
		st_json_set(doc, "profile", profile);
	}
	if (r->checked_refs) {
		const out_int_field counts[] = {
			{"keys", r->refs.keys}, {"missing", r->refs.missing}, {"filled", r->refs.resolved}};
		st_json *refs = st_json_object();
		out_json_set_ints(refs, counts, sizeof counts / sizeof counts[0]);
		st_json_set(doc, "container_check", refs);
	}
	return out_json_emit(doc);
}

static void print_summary(const restore_request *req, const restore_job_result *r)
{
	char size[OUT_SIZE_MAX];
	const restore_result *f = &r->files;
	const db_restore_result *db = &r->database;
	if (r->restored_files)
		printf("restored snapshot %lld: %lld nodes (%lld folders), %lld files, %lld symlinks, %s in %.1f s into '%s'\n",
		       (long long)r->snapshot_id, (long long)f->nodes, (long long)f->folders, (long long)f->files,
		       (long long)f->symlinks, out_size(size, sizeof size, f->bytes), f->seconds, req->job.target_root);
	if (r->restored_database && req->job.to_dsn != NULL)
		printf("restored database of snapshot %lld: %lld tables, %lld rows, schema version %s, verified, in %.1f s\n",
		       (long long)r->snapshot_id, (long long)db->tables, (long long)db->rows,
		       db->schema_version[0] ? db->schema_version : "(none)", db->seconds);
	if (r->added_profile)
		printf("added AiiDA profile '%s' to '%s'\n", req->job.to_profile, r->profile_path);
	if (r->checked_refs)
		printf("checked %lld object keys of the restored database against the restored container: %lld missing\n",
		       (long long)r->refs.keys, (long long)r->refs.missing);
}

static void release(restore_request *req)
{
	if (req->profile_dsn != NULL)
		memset(req->profile_dsn, 0, strlen(req->profile_dsn));
	free(req->profile_dsn);
	aiida_profile_free(req->loaded);
	for (size_t i = 0; i < req->node_count; i++)
		free(req->nodes[i]);
	free(req->nodes);
	free(req->paths);
}

int cmd_restore(int argc, char **argv)
{
	restore_request req = {0};
	restore_job_result r;
	int rc = parse(&req, argc, argv);
	if (rc == 0 && req.from_archive != NULL) {
		rc = run_from_archive(&req);
		release(&req);
		return rc;
	}
	if (rc == 0)
		rc = restore_job_run(&req.job, &r);
	if (rc == 0 && req.json)
		rc = print_json(&req, &r);
	else if (rc == 0 && cli_human_output(req.verbose))
		print_summary(&req, &r);
	release(&req);
	/* Each reference the restored container lacks was named in a warning. */
	return rc == 0 && r.refs.missing > 0 ? CLI_COMPLETED_WITH_WARNINGS : rc;
}
