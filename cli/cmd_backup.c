/*
 * cmd_backup.c - strata backup.
 */
#include "cli/commands.h"
#include "cli/output.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "engine/backup.h"

#include <stdio.h>
#include <unistd.h>

static const char help[] =
	"usage: strata backup --dest DIR --dsn DSN --repository DIR [OPTIONS]\n"
	"\n"
	"Backs up an AiiDA profile into a new snapshot: its database, with pg_dump at the same\n"
	"instant as the file scan, and its node folders. Only nodes that are new since the last\n"
	"snapshot are read: those above its highest node id, those created within --overlap of\n"
	"its database time, and any the catalog lacks. Dump files are stored as rsync deltas\n"
	"against the previous snapshot where that is smaller.\n"
	"\n"
	"  --dest DIR          destination made by 'strata init' (default: $STRATA_DEST)\n"
	"  --dsn DSN           PostgreSQL connection string or URI of the AiiDA database;\n"
	"                      passwords may also come from PGPASSWORD or ~/.pgpass\n"
	"  --repository DIR    the profile's repository root (it holds repository/node/)\n"
	"  --jobs N            compressing threads (default: number of cores); the number of\n"
	"                      concurrent readers is 32 per job, at most 128\n"
	"  --io-threads N      override the number of concurrent readers\n"
	"  --full-scan         compare every node id of the database with the catalog\n"
	"  --files-only        back up the node folders only (no database dump)\n"
	"  --database-only     back up the database only (pg_dump), no node folders\n"
	"  --overlap SECONDS   ctime window before the last snapshot's time (default: 3600)\n"
	"  --level N           zstd level, 1-19 (default: 3)\n"
	"  --json              print the result as one JSON document\n"
	"  -v, --verbose       print a summary and notices even when not on a terminal\n"
	"  -h, --help          show this help\n"
	"\n"
	"Quiet on success unless on a terminal. Exit codes: see 'strata --help'.\n";

static void show_progress(void *ctx, const pipeline_stats *stats, int64_t nodes_expected)
{
	const double *started = ctx;
	char bytes[32], rate[32];
	double elapsed = st_now_seconds() - *started;
	long long done = atomic_load(&stats->nodes_done);
	long long read = atomic_load(&stats->bytes_read);
	out_size(rate, sizeof rate, elapsed > 0 ? (int64_t)((double)read / elapsed) : 0);
	int percent = nodes_expected > 0 ? (int)(100.0 * (double)done / (double)nodes_expected) : 0;
	double eta = done > 0 && nodes_expected > done ? elapsed * (double)(nodes_expected - done) / (double)done : 0;
	out_progress("backup: [%3d%%] %lld/%lld nodes, %lld files, %s at %s/s, ETA %dm%02ds", percent > 100 ? 100 : percent,
		     done, (long long)nodes_expected, (long long)atomic_load(&stats->files_read),
		     out_size(bytes, sizeof bytes, read), rate, (int)eta / 60, (int)eta % 60);
}

static void print_json(const backup_result *r)
{
	printf("{\"snapshot\": %lld, \"nodes_selected\": %lld, \"nodes_new\": %lld, \"nodes_deleted\": %lld,"
	       " \"nodes_reread\": %lld, \"nodes\": %lld, \"files\": %lld, \"bytes\": %lld, \"files_read\": %lld, \"bytes_read\": %lld,"
	       " \"objects_new\": %lld, \"bytes_new\": %lld, \"stored_bytes\": %lld, \"packs_new\": %lld,"
	       " \"reconciled\": %s, \"resumed_after_interruption\": %s, \"has_files\": %s, \"has_database\": %s,"
	       " \"database\": {\"dump_files\": %lld, \"dump_bytes\": %lld, \"delta_files\": %lld, \"stored_bytes\": %lld,"
	       " \"dump_seconds\": %.3f, \"pg_dump_version\": \"%s\"}, \"seconds\": %.3f}\n",
	       (long long)r->snapshot_id, (long long)r->nodes_selected, (long long)r->nodes_new,
	       (long long)r->nodes_deleted, (long long)r->nodes_reread, (long long)r->nodes_total, (long long)r->files_total,
	       (long long)r->bytes_total, (long long)r->files_read, (long long)r->bytes_read, (long long)r->objects_new,
	       (long long)r->bytes_new, (long long)r->stored_bytes, (long long)r->packs_new,
	       r->reconciled ? "true" : "false", r->discarded_snapshots > 0 ? "true" : "false",
	       r->has_files ? "true" : "false", r->has_database ? "true" : "false", (long long)r->db.files,
	       (long long)r->db.bytes, (long long)r->db.delta_files, (long long)r->db.stored_bytes, r->db.dump_seconds,
	       r->db.pg_dump_version, r->seconds);
}

static void print_summary(const backup_result *r)
{
	char read[32], stored[32], total[32];
	if (r->has_files)
		printf("snapshot %lld: %lld new nodes (%lld files, %s read), %lld deleted; stored %s new in %.1f s\n",
	       (long long)r->snapshot_id, (long long)r->nodes_new, (long long)r->files_read,
	       out_size(read, sizeof read, r->bytes_read), (long long)r->nodes_deleted,
	       out_size(stored, sizeof stored, r->stored_bytes), r->seconds);
	printf("snapshot %lld holds %lld nodes, %lld files, %s\n", (long long)r->snapshot_id, (long long)r->nodes_total,
	       (long long)r->files_total, out_size(total, sizeof total, r->bytes_total));
	if (r->has_database)
		printf("database: pg_dump %s wrote %lld files (%s) in %.1f s; %lld stored as deltas, %s new\n",
		       r->db.pg_dump_version, (long long)r->db.files, out_size(read, sizeof read, r->db.bytes), r->db.dump_seconds,
		       (long long)r->db.delta_files, out_size(stored, sizeof stored, r->db.stored_bytes));
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
		{"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
	};
	backup_options o = {.overlap_seconds = 3600};
	bool json = false, verbose = false;
	long long n = 0;
	int c, rc = 0;
	while (rc == 0 && (c = cli_getopt(argc, argv, "backup", options)) != -1) {
		switch (c) {
		case 'd': o.dest_path = optarg; break;
		case 'D': o.dsn = optarg; break;
		case 'r': o.repository = optarg; break;
		case 'j': rc = cli_parse_int("--jobs", optarg, 1, 256, &n); o.jobs = (int)n; break;
		case 'I': rc = cli_parse_int("--io-threads", optarg, 1, 1024, &n); o.io_threads = (int)n; break;
		case 'F': o.full_scan = true; break;
		case 'f': o.files_only = true; break;
		case 'B': o.database_only = true; break;
		case 'o': rc = cli_parse_int("--overlap", optarg, 0, 100LL * 365 * 86400, &n); o.overlap_seconds = n; break;
		case 'L': rc = cli_parse_int("--level", optarg, 1, 19, &n); o.compression_level = (int)n; break;
		case 'J': json = true; break;
		case 'v': verbose = true; break;
		case 'h': cli_print_help(help); return 0;
		default: return ST_ERR_USAGE;
		}
	}
	if (rc != 0)
		return rc;
	if (optind < argc)
		return st_error_set(ST_ERR_USAGE, "strata backup: unexpected argument '%s'", argv[optind]);
	if ((rc = cli_require_dest(&o.dest_path, "backup")) != 0)
		return rc;
	if (o.dsn == NULL)
		return cli_missing("backup", "--dsn");
	if (o.repository == NULL && !o.database_only)
		return cli_missing("backup", "--repository");
	if (o.files_only && o.database_only)
		return st_error_set(ST_ERR_USAGE, "strata backup: --files-only and --database-only exclude each other");
	if (verbose)
		st_log_set_level(ST_LOG_VERBOSE);
	bool progress = !json && isatty(STDERR_FILENO);
	double started = st_now_seconds();
	if (progress) {
		o.progress = show_progress;
		o.progress_ctx = &started;
	}
	backup_result r;
	rc = backup_run(&o, &r);
	if (progress)
		out_progress_end();
	if (rc != 0)
		return rc;
	if (json)
		print_json(&r);
	else if (cli_human_output(verbose))
		print_summary(&r);
	return 0;
}
