/*
 * cmd_backup.c - strata backup.
 */
#include "cli/commands.h"
#include "cli/output.h"

#include "common/error.h"
#include "common/log.h"
#include "engine/aiida_profile.h"
#include "engine/backup.h"
#include "engine/backup_info.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A century: longer than any repository has existed. */
#define CLI_OVERLAP_MAX (100LL * 365 * 86400)

static const char help[] =
	"usage: strata backup --dest DIR (--profile [NAME] | --dsn DSN --repository DIR) [OPTIONS]\n"
	"       strata backup --config FILE [OPTIONS]\n"
	"       STRATA_DEST=DIR strata backup (--profile [NAME] | --dsn DSN --repository DIR) [OPTIONS]\n"
	"\n"
	"Backs up an AiiDA profile into a new snapshot: its database, with pg_dump at the same\n"
	"instant as the file scan, and its node folders. Only nodes that are new since the last\n"
	"snapshot are read: those above its highest node id, those created within --overlap of\n"
	"its database time, and any the catalog lacks; a node already held is read again when its\n"
	"mtime moved within --overlap of that time and its file tree differs from the one held\n"
	"(a node not sealed yet still gets files). Dump files are stored as zstd deltas\n"
	"against the previous snapshot where that is smaller. When no transaction changed the\n"
	"database since the last snapshot that holds it, pg_dump does not run (that snapshot's\n"
	"dump is recorded again) and, unless --full-scan, node ids are not compared.\n"
	"\n"
	"  --dest DIR          destination made by 'strata init' (default: $STRATA_DEST)\n"
	"  --dsn DSN           PostgreSQL connection string or URI of the AiiDA database;\n"
	"                      passwords may also come from PGPASSWORD or ~/.pgpass\n"
	"  --repository DIR    the profile's repository root (it holds repository/node/)\n"
	"  --profile [NAME]    take database and repository from AiiDA profile NAME (alone: the\n"
	"                      default profile) in config.json, found through AIIDA_PATH as AiiDA\n"
	"                      does (default ~/.aiida); its password is used to connect, never\n"
	"                      stored or printed\n"
	"  --config-dir DIR    the AiiDA configuration folder (instead of AIIDA_PATH)\n"
	"  --config FILE       run the rounds of a backup_info.json (as AiiDA 1.x's backup script:\n"
	"                      periodicity, end_date_of_backup or days_to_backup, threshold), into\n"
	"                      its backup_dir; the source is its \"strata\" settings unless given;\n"
	"                      oldest_object_backedup advances once the snapshot has committed\n"
	"  --jobs N            compressing threads (default: number of cores); the number of\n"
	"                      concurrent readers is " CLI_STR(BACKUP_IO_THREADS_PER_JOB) " per job, at most "
	CLI_STR(BACKUP_IO_THREADS_MAX) "\n"
	"  --io-threads N      override the number of concurrent readers\n"
	"  --full-scan         compare every node id of the database with the catalog\n"
	"  --files-only        back up the node folders only (no database dump)\n"
	"  --database-only     back up the database only (pg_dump), no node folders\n"
	"  --overlap SECONDS   ctime and mtime window before the last snapshot's time (default: " CLI_STR(BACKUP_OVERLAP_DEFAULT) ")\n"
	"  --level N           zstd level, 1-19 (default: " CLI_STR(BACKUP_COMPRESSION_LEVEL_DEFAULT) ")\n"
	"  --adopt             back up a database other than the one the destination holds (its\n"
	"                      replacement); a database that strata restored from this\n"
	"                      destination is recognised without it\n"
	"  --wait[=SECONDS]    when another run holds the destination's lock, wait for it (for\n"
	"                      at most SECONDS); without --wait a second run fails at once with\n"
	"                      exit code 4, naming the holder (pid, host, start time)\n"
	"  --log-file FILE     append timestamped lines to FILE: warnings, notes, a one-line summary\n"
	"                      of each run, and its error\n"
	"  --json              print the result as one JSON document\n"
	"  -v, --verbose       print a summary and notices even when not on a terminal\n"
	"  -h, --help          show this help\n"
	"\n"
	"On a terminal, a progress line says what the backup is doing and how much of the new\n"
	"files is stored; a run after an interrupted one says how much of its work it kept.\n"
	"Quiet on success unless on a terminal. Special files (fifos, sockets, devices) in node\n"
	"folders are skipped with a warning; the backup then completes with exit code 11.\n"
	"Other exit codes: see 'strata --help'.\n";

/* What the progress line says a backup is doing, by backup_phase. */
static const char *const phase_names[] = {
	"reading", "compressing", "sealing a pack", "dumping the database", "storing the database dump", "committing",
	"done",
};
_Static_assert(sizeof phase_names / sizeof phase_names[0] == BACKUP_PHASE_END,
	       "phase_names needs one entry per backup_phase");

/* The files' share done, in percent: bytes settled (stored or held already) of the bytes
 * expected - not bytes read, which run ahead of slow compression. 100 only once done. */
static int files_percent(const backup_progress *p)
{
	if (p->phase == BACKUP_PHASE_DONE)
		return 100;
	double share = p->bytes_expected > 0 ? (double)p->bytes_done / (double)p->bytes_expected
		       : p->nodes_expected > 0 ? (double)p->nodes_done / (double)p->nodes_expected : 0;
	int percent = (int)(100.0 * share);
	return percent > 99 ? 99 : percent < 0 ? 0 : percent;
}

static void show_progress(void *ctx, const backup_progress *p)
{
	(void)ctx;
	char done[OUT_SIZE_MAX], expected[OUT_SIZE_MAX], rate[OUT_SIZE_MAX], eta[32] = "";
	const char *phase = phase_names[p->phase];
	if (p->phase > BACKUP_PHASE_SEALING) {
		/* After the files: the phase says what strata waits for; the files' part is whole. */
		out_progress("backup: [%3d%%] %s; %lld nodes, %lld files, %s (%.0f s)", files_percent(p), phase,
			     (long long)p->nodes_done, (long long)p->files_read, out_size(done, sizeof done, p->bytes_read),
			     p->seconds);
		return;
	}
	out_size(rate, sizeof rate, p->seconds > 0 ? (int64_t)((double)p->bytes_done / p->seconds) : 0);
	if (p->bytes_done > 0 && p->bytes_expected > p->bytes_done) {
		double left = p->seconds * (double)(p->bytes_expected - p->bytes_done) / (double)p->bytes_done;
		snprintf(eta, sizeof eta, ", ETA %dm%02ds", (int)left / 60, (int)left % 60);
	}
	out_progress("backup: [%3d%%] %s: %lld/%lld nodes, %lld files, %s of %s stored at %s/s%s", files_percent(p), phase,
		     (long long)p->nodes_done, (long long)p->nodes_expected, (long long)p->files_read,
		     out_size(done, sizeof done, p->bytes_done), out_size(expected, sizeof expected, p->bytes_expected),
		     rate, eta);
}

/* On a terminal (or with -v), a resumed run says so when it starts, and what it kept. */
static void show_interrupted(void *ctx, const backup_result *found)
{
	(void)ctx;
	char kept[OUT_SIZE_MAX];
	fprintf(stderr,
		"strata: resuming after an interrupted backup: %lld sealed pack(s) kept (%lld objects, %s not"
		" stored again), %d unsealed pack(s) removed\n",
		(long long)found->kept_packs, (long long)found->kept_objects,
		out_size(kept, sizeof kept, found->kept_bytes), found->removed_packs);
}

/* The names are the vocabulary README.md documents ("JSON output"): the snapshot's own fields
 * as `snapshots --json` lists them, then what this run did, qualifier first. */
static st_json *result_json(const backup_result *r)
{
	const out_int_field counts[] = {
		{"id", r->snapshot_id},
		{"nodes", r->nodes_total},
		{"files", r->files_total},
		{"bytes", r->bytes_total},
		{"stored_bytes", r->stored_bytes},
		{"new_nodes", r->nodes_new},
		{"deleted_nodes", r->nodes_deleted},
		{"new_bytes", r->bytes_new},
		{"selected_nodes", r->nodes_selected},
		{"reread_nodes", r->nodes_reread},
		{"rechecked_nodes", r->nodes_rechecked},
		{"unchanged_nodes", r->nodes_unchanged},
		{"changed_nodes", r->nodes_changed},
		{"withdrawn_nodes", r->nodes_withdrawn},
		{"read_files", r->files_read},
		{"read_bytes", r->bytes_read},
		{"new_objects", r->objects_new},
		{"new_packs", r->packs_new},
		{"skipped_special_files", r->special_files_skipped},
		{"left_nodes", r->nodes_left},
		{"kept_packs", r->kept_packs},
		{"kept_objects", r->kept_objects},
		{"kept_bytes", r->kept_bytes},
		{"removed_packs", r->removed_packs},
		{"compared_id_ranges", r->reconcile_ranges_compared},
		{"listed_id_ranges", r->reconcile_ranges_listed},
		{"listed_ids", r->reconcile_ids_listed},
	};
	const out_int_field dump[] = {
		{"dump_files", r->db.files},
		{"dump_bytes", r->db.bytes},
		{"delta_files", r->db.delta_files},
		{"append_files", r->db.append_files},
		{"stored_bytes", r->db.stored_bytes},
	};
	st_json *doc = out_json_document();
	out_json_set_ints(doc, counts, sizeof counts / sizeof counts[0]);
	st_json_set_bool(doc, "database_unchanged", r->database_unchanged);
	st_json_set_bool(doc, "reconciled", r->reconciled);
	st_json_set_bool(doc, "resumed_after_interruption", r->discarded_snapshots > 0 || r->kept_packs > 0);
	st_json_set_bool(doc, "has_files", r->has_files);
	st_json_set_bool(doc, "has_database", r->has_database);
	st_json *db = st_json_object();
	out_json_set_ints(db, dump, sizeof dump / sizeof dump[0]);
	st_json_set(db, "reused_from_snapshot", r->db.reused_from != 0 ? st_json_int(r->db.reused_from) : NULL);
	out_json_seconds(db, "seconds", r->db.dump_seconds);
	st_json_set_string(db, "pg_dump_version", r->db.pg_dump_version);
	st_json_set(doc, "database", db);
	st_json *phases = st_json_object();
	for (int step = 0; step < BACKUP_TIME_END; step++)
		out_json_seconds(phases, backup_timing_name((backup_timing)step), r->step_seconds[step]);
	out_json_seconds(phases, "total", r->seconds);
	st_json_set(doc, "phases", phases);
	out_json_seconds(doc, "seconds", r->seconds);
	return doc;
}

/* -v: where the time went, one line per step of the run (backup.h, backup_timing). */
static void print_phases(const backup_result *r)
{
	for (int step = 0; step < BACKUP_TIME_END; step++)
		printf("phase %-10s %8.3f s\n", backup_timing_name((backup_timing)step), r->step_seconds[step]);
	printf("phase %-10s %8.3f s\n", "total", r->seconds);
}

/* The run in one line: for the log file, and for -v off a terminal (cron mails it). */
static void summary_line(char *out, size_t cap, const backup_result *r)
{
	char read[OUT_SIZE_MAX], stored[OUT_SIZE_MAX];
	snprintf(out, cap,
		 "backup: snapshot %lld: %lld new nodes, %lld changed, %lld deleted, %lld files (%s) read, %s stored, "
		 "%lld nodes in all, in %.1f s%s",
		 (long long)r->snapshot_id, (long long)r->nodes_new, (long long)r->nodes_changed, (long long)r->nodes_deleted,
		 (long long)r->files_read,
		 out_size(read, sizeof read, r->bytes_read),
		 out_size(stored, sizeof stored, r->stored_bytes + r->db.stored_bytes), (long long)r->nodes_total, r->seconds,
		 r->db.reused_from != 0 ? "; database unchanged, its dump reused" : "");
}

static void log_summary(const backup_result *r)
{
	char line[ST_LOG_LINE_MAX];
	summary_line(line, sizeof line, r);
	out_log("%s", line);
}

static void print_summary(const backup_result *r)
{
	char read[OUT_SIZE_MAX], stored[OUT_SIZE_MAX], total[OUT_SIZE_MAX];
	if (r->has_files)
		printf("snapshot %lld: %lld new nodes (%lld files, %s read), %lld deleted; stored %s new in %.1f s\n",
	       (long long)r->snapshot_id, (long long)r->nodes_new, (long long)r->files_read,
	       out_size(read, sizeof read, r->bytes_read), (long long)r->nodes_deleted,
	       out_size(stored, sizeof stored, r->stored_bytes), r->seconds);
	if (r->nodes_rechecked > 0)
		printf("%lld held node(s) modified since read: %lld with changed files (read again), %lld unchanged\n",
		       (long long)r->nodes_rechecked, (long long)r->nodes_changed, (long long)r->nodes_unchanged);
	if (r->discarded_snapshots > 0 || r->kept_packs > 0)
		printf("resumed after an interrupted backup: %lld sealed pack(s) of it kept (%s)\n", (long long)r->kept_packs,
		       out_size(total, sizeof total, r->kept_bytes));
	printf("snapshot %lld holds %lld nodes, %lld files, %s\n", (long long)r->snapshot_id, (long long)r->nodes_total,
	       (long long)r->files_total, out_size(total, sizeof total, r->bytes_total));
	if (r->has_database && r->db.reused_from != 0)
		printf("database: unchanged since snapshot %lld, its dump (%lld files, %s) reused without running pg_dump\n",
		       (long long)r->db.reused_from, (long long)r->db.files, out_size(read, sizeof read, r->db.bytes));
	else if (r->has_database)
		printf("database: pg_dump %s wrote %lld files (%s) in %.1f s; %lld stored as deltas, %s new\n",
		       r->db.pg_dump_version, (long long)r->db.files, out_size(read, sizeof read, r->db.bytes), r->db.dump_seconds,
		       (long long)r->db.delta_files, out_size(stored, sizeof stored, r->db.stored_bytes));
	if (r->special_files_skipped > 0)
		printf("skipped %lld special files (fifos, sockets, devices): not backed up\n",
		       (long long)r->special_files_skipped);
	if (r->nodes_left > 0)
		printf("left %lld node(s) for the next backup: a file vanished or changed while being read\n",
		       (long long)r->nodes_left);
}

/* On a terminal, the summary in full; off a terminal (with -v), its one line. */
static void print_human(const backup_result *r)
{
	if (isatty(STDOUT_FILENO)) {
		print_summary(r);
		return;
	}
	char line[ST_LOG_LINE_MAX];
	summary_line(line, sizeof line, r);
	printf("%s\n", line);
}

static int print_json(const backup_result *r)
{
	return out_json_emit(result_json(r));
}

typedef struct backup_request {
	backup_options o;
	bool json;
	bool verbose;
	const char *config_file; /* backup --config: the rounds of a backup_info.json */
} backup_request;

/* Complete, but not everything was kept: exit code 11 (each file or node was named in a
 * warning). */
static int completion_code(const backup_result *r)
{
	return r->special_files_skipped > 0 || r->nodes_left > 0 ? CLI_COMPLETED_WITH_WARNINGS : 0;
}

/* The rounds of backup_info.json (backup_info.h): one backup when any is due. */
static int backup_rounds(backup_request *req, bool progress)
{
	backup_info_result r;
	int rc = backup_info_run(req->config_file, &req->o, &r);
	if (progress)
		out_progress_end();
	if (rc != 0)
		return rc;
	if (r.ran)
		log_summary(&r.backup);
	out_log("backup --config: %d round(s) of '%s'; oldest_object_backedup %s", r.plan.rounds, req->config_file,
		r.oldest_after);
	if (req->json) {
		st_json *doc = out_json_document();
		st_json_set_int(doc, "rounds", r.plan.rounds);
		st_json_set_string(doc, "oldest_object_backedup_before", r.oldest_before);
		st_json_set_string(doc, "oldest_object_backedup", r.oldest_after[0] ? r.oldest_after : NULL);
		st_json_set(doc, "backup", r.ran ? result_json(&r.backup) : NULL);
		rc = out_json_emit(doc);
		return rc == 0 && r.ran ? completion_code(&r.backup) : rc;
	}
	if (cli_human_output(req->verbose)) {
		if (r.ran)
			print_human(&r.backup);
		if (r.ran && req->verbose)
			print_phases(&r.backup);
		printf("%d round(s) of '%s' done; oldest_object_backedup is now %s\n", r.plan.rounds, req->config_file,
		       r.oldest_after);
	}
	return r.ran ? completion_code(&r.backup) : 0;
}

/* One backup with the options as they are: progress on a terminal, then the result. */
static int backup_once(backup_request *req)
{
	backup_options *o = &req->o;
	if (o->files_only && o->database_only)
		return st_error_set(ST_ERR_USAGE, "backup: --files-only and --database-only exclude each other");
	if (req->verbose)
		st_log_set_level(ST_LOG_VERBOSE);
	bool progress = !req->json && isatty(STDERR_FILENO);
	if (progress)
		o->progress = show_progress;
	/* The notice is on stderr, so it does not disturb --json; cron (no terminal) stays quiet. */
	if (req->verbose || isatty(STDERR_FILENO))
		o->interrupted = show_interrupted;
	if (req->config_file != NULL) {
		return backup_rounds(req, progress);
	}
	backup_result r;
	int rc = backup_run(o, &r);
	if (progress)
		out_progress_end();
	if (rc != 0)
		return rc;
	log_summary(&r);
	if (req->json) {
		rc = print_json(&r);
	} else if (cli_human_output(req->verbose)) {
		print_human(&r);
		if (req->verbose)
			print_phases(&r);
	}
	return rc == 0 ? completion_code(&r) : rc;
}

/* The database connection and repository of an AiiDA profile. The connection string holds
 * the profile's password: it goes to libpq and pg_dump's environment, and is wiped after. */
static int backup_profile(backup_request *req, const char *name, const char *config_dir)
{
	aiida_profile *p = NULL;
	int rc = aiida_profile_load(&p, config_dir, name);
	if (rc != 0)
		return rc;
	char *dsn = aiida_profile_dsn(p);
	st_json *described = aiida_profile_describe(p);
	char *record = st_json_dump(described);
	st_json_free(described);
	req->o.dsn = dsn;
	req->o.repository = p->repository;
	req->o.profile_name = p->name;
	req->o.profile_json = record;
	rc = backup_once(req);
	memset(dsn, 0, strlen(dsn));
	free(dsn);
	free(record);
	aiida_profile_free(p);
	return rc;
}

/* The source named by backup_info.json's own strata settings ("strata": {"profile": NAME,
 * "config_dir": DIR} or {"dsn": DSN, "repository": DIR}), for what the command line left out. */
typedef struct config_source {
	bool use_profile;
	char *profile;
	char *config_dir;
	char *dsn;
	char *repository;
} config_source;

static char *strdup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static int read_config_source(const char *path, config_source *out)
{
	backup_info *bi = NULL;
	int rc = backup_info_load(&bi, path);
	if (rc != 0)
		return rc;
	const st_json *s = st_json_get(bi->doc, BACKUP_INFO_STRATA_KEY);
	const st_json *profile = st_json_get(s, "profile");
	out->use_profile = profile != NULL && (st_json_string_value(profile) != NULL || st_json_is_null(profile));
	out->profile = strdup_or_null(st_json_string_value(profile));
	out->config_dir = strdup_or_null(st_json_string_value(st_json_get(s, "config_dir")));
	out->dsn = strdup_or_null(st_json_string_value(st_json_get(s, "dsn")));
	out->repository = strdup_or_null(st_json_string_value(st_json_get(s, "repository")));
	backup_info_free(bi);
	return 0;
}

static void config_source_release(config_source *s)
{
	free(s->profile);
	free(s->config_dir);
	free(s->dsn);
	free(s->repository);
}

int cmd_backup(int argc, char **argv)
{
	static const struct option options[] = {
		{"dest", required_argument, NULL, 'd'},     {"dsn", required_argument, NULL, 'D'},
		{"repository", required_argument, NULL, 'r'}, {"jobs", required_argument, NULL, 'j'},
		{"io-threads", required_argument, NULL, 'I'}, {"full-scan", no_argument, NULL, 'F'},
		{"files-only", no_argument, NULL, 'f'},      {"database-only", no_argument, NULL, 'B'},
		{"overlap", required_argument, NULL, 'o'},   {"level", required_argument, NULL, 'L'},
		{"json", no_argument, NULL, 'J'},            {"verbose", no_argument, NULL, 'v'},
		{"profile", optional_argument, NULL, 'P'},   {"config-dir", required_argument, NULL, 'C'},
		{"wait", optional_argument, NULL, 'W'},      {"config", required_argument, NULL, 'c'},
		{"adopt", no_argument, NULL, 'A'},          {"log-file", required_argument, NULL, 'G'},
		{"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
	};
	backup_request req = {.o = {.overlap_seconds = BACKUP_OVERLAP_DEFAULT}};
	backup_options *o = &req.o;
	bool use_profile = false;
	const char *profile_name = NULL, *config_dir = NULL;
	long long n = 0;
	int c, rc = 0;
	while (rc == 0 && (c = cli_getopt(argc, argv, "backup", options)) != -1) {
		switch (c) {
		case 'd': o->dest_path = optarg; break;
		case 'D': o->dsn = optarg; break;
		case 'r': o->repository = optarg; break;
		case 'j': rc = cli_parse_int("--jobs", optarg, 1, CLI_JOBS_MAX, &n); o->jobs = (int)n; break;
		case 'I': rc = cli_parse_int("--io-threads", optarg, 1, CLI_IO_THREADS_MAX, &n); o->io_threads = (int)n; break;
		case 'F': o->full_scan = true; break;
		case 'f': o->files_only = true; break;
		case 'B': o->database_only = true; break;
		case 'o': rc = cli_parse_int("--overlap", optarg, 0, CLI_OVERLAP_MAX, &n); o->overlap_seconds = n; break;
		case 'L': rc = cli_parse_int("--level", optarg, 1, 19, &n); o->compression_level = (int)n; break;
		case 'P': use_profile = true; profile_name = cli_optional_value(argc, argv); break;
		case 'C': config_dir = optarg; break;
		case 'c': req.config_file = optarg; break;
		case 'A': o->adopt = true; break;
		case 'G': rc = out_log_open(optarg); break;
		case 'W': rc = cli_parse_wait(argc, argv, true, &o->lock_wait_seconds); break;
		case 'J': req.json = true; break;
		case 'v': req.verbose = true; break;
		case 'h': return cli_help(help);
		default: return ST_ERR_USAGE;
		}
	}
	if (rc != 0)
		return rc;
	if (optind < argc)
		return st_error_set(ST_ERR_USAGE, "backup: unexpected argument '%s'", argv[optind]);
	if (req.config_file == NULL && (rc = cli_require_dest(&o->dest_path, "backup")) != 0)
		return rc;
	if (use_profile && (o->dsn != NULL || o->repository != NULL))
		return st_error_set(ST_ERR_USAGE, "backup: --profile excludes --dsn and --repository");
	if (config_dir != NULL && !use_profile)
		return st_error_set(ST_ERR_USAGE, "backup: --config-dir needs --profile");
	config_source from_file = {0};
	if (req.config_file != NULL && !use_profile && o->dsn == NULL) {
		if ((rc = read_config_source(req.config_file, &from_file)) != 0)
			return rc;
		use_profile = from_file.use_profile;
		profile_name = from_file.profile;
		config_dir = from_file.config_dir;
		o->dsn = from_file.dsn;
		if (o->repository == NULL)
			o->repository = from_file.repository;
	}
	if (use_profile)
		rc = backup_profile(&req, profile_name, config_dir);
	else if (o->dsn == NULL)
		rc = cli_missing("backup", "--dsn (or --profile)");
	else if (o->repository == NULL && !o->database_only)
		rc = cli_missing("backup", "--repository");
	else
		rc = backup_once(&req);
	config_source_release(&from_file);
	return rc;
}
