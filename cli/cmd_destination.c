/*
 * cmd_destination.c - the commands that look at a destination as a whole: init, snapshots,
 * check.
 */
#include "cli/commands.h"
#include "cli/output.h"

#include "common/error.h"
#include "common/log.h"
#include "engine/check.h"
#include "engine/db_info.h"
#include "engine/destination.h"

#include <stdio.h>

/* The options of a command that takes --dest plus a few flags. */
typedef struct simple_args {
	const char *dest;
	bool json;
	bool read_data;
	bool verbose;
	long long jobs;
} simple_args;

static int parse_simple(simple_args *out, int argc, char **argv, const char *command, const struct option *options,
			const char *help)
{
	long long n = 0;
	int c, rc = 0;
	while (rc == 0 && (c = cli_getopt(argc, argv, command, options)) != -1) {
		switch (c) {
		case 'd': out->dest = optarg; break;
		case 'J': out->json = true; break;
		case 'R': out->read_data = true; break;
		case 'v': out->verbose = true; st_log_set_level(ST_LOG_VERBOSE); break;
		case 'j': rc = cli_parse_int("--jobs", optarg, 1, CLI_JOBS_MAX, &n); out->jobs = n; break;
		case 'h': return cli_help(help);
		default: return ST_ERR_USAGE;
		}
	}
	if (rc == 0 && optind < argc)
		rc = st_error_set(ST_ERR_USAGE, "%s: unexpected argument '%s'", command, argv[optind]);
	if (rc == 0)
		rc = cli_require_dest(&out->dest, command);
	return rc;
}

static const char init_help[] =
	"usage: strata init --dest DIR [--json]\n"
	"       STRATA_DEST=DIR strata init [--json]\n"
	"\n"
	"Creates a destination in DIR (a new or empty directory): a catalog and a folder of packs.\n"
	"With --json: {\"version\", \"dest\"}.\n"
	"\n"
	"  --dest DIR     the new destination (default: $STRATA_DEST)\n"
	"  --json         print the result as one JSON document\n"
	"  -h, --help     show this help\n";

int cmd_init(int argc, char **argv)
{
	static const struct option options[] = {
		{"dest", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	simple_args args = {0};
	int rc = parse_simple(&args, argc, argv, "init", options, init_help);
	if (rc == 0)
		rc = destination_init(args.dest);
	if (rc == 0 && args.json) {
		st_json *doc = out_json_document();
		st_json_set_string(doc, "dest", args.dest);
		return out_json_emit(doc);
	}
	if (rc == 0 && cli_human_output(false))
		printf("initialised destination '%s'\n", args.dest);
	return rc;
}

static const char snapshots_help[] =
	"usage: strata snapshots --dest DIR [--json]\n"
	"       STRATA_DEST=DIR strata snapshots [--json]\n"
	"\n"
	"Lists the complete snapshots of a destination, oldest first: id, time, what it holds\n"
	"(files, db or both), nodes, files, bytes (the snapshot's whole view; '-' for a snapshot\n"
	"without files), stored bytes (what that backup added), schema version and source.\n"
	"With --json: {\"version\", \"snapshots\": [{\"id\", \"time\", \"nodes\", \"files\", \"bytes\",\n"
	"\"stored_bytes\", \"source\", ...}]} (README.md lists every field)\n"
	"\n"
	"  --dest DIR     the destination (default: $STRATA_DEST)\n"
	"  --json         print the list as one JSON document\n"
	"  -h, --help     show this help\n";

/* The snapshot's database facts as stored (a JSON object), or null when it has none. */
static st_json *database_json(const catalog_snapshot *s)
{
	st_json *facts = NULL;
	if (s->db_info != NULL && st_json_parse(&facts, s->db_info, "database facts") != 0)
		st_error_clear(); /* a listing shows what it can: damage is check's to report */
	return facts;
}

/* The AiiDA profile a snapshot was taken from, without its full entry, or null. */
static st_json *profile_json(const catalog_snapshot *s)
{
	st_json *profile = NULL;
	if (s->profile != NULL && st_json_parse(&profile, s->profile, "profile record") != 0)
		st_error_clear();
	st_json_remove(profile, "entry");
	return profile;
}

static int print_snapshots_json(const catalog_snapshot *list, size_t count)
{
	char when[OUT_TIME_MAX], schema[DB_INFO_SCHEMA_VERSION_MAX];
	st_json *doc = out_json_document();
	st_json *array = st_json_array();
	for (size_t i = 0; i < count; i++) {
		const catalog_snapshot *s = &list[i];
		const out_int_field counts[] = {
			{"nodes", s->nodes},
			{"files", s->files},
			{"bytes", s->bytes},
			{"stored_bytes", s->stored_bytes},
			{"new_nodes", s->new_nodes},
			{"deleted_nodes", s->deleted_nodes},
			{"new_bytes", s->new_bytes},
			{"watermark", s->watermark},
		};
		st_json *item = st_json_object();
		st_json_set_int(item, "id", s->id);
		st_json_set_string(item, "time", out_time_iso(when, sizeof when, s->time_us));
		out_json_set_ints(item, counts, sizeof counts / sizeof counts[0]);
		st_json_set_bool(item, "has_files", s->has_files);
		st_json_set_bool(item, "has_database", s->has_database);
		st_json_set_string(item, "source", s->source);
		db_info_schema_version(schema, sizeof schema, s->db_info);
		st_json_set_string(item, "schema_version", s->has_database && schema[0] ? schema : NULL);
		st_json_set(item, "database", database_json(s));
		st_json_set(item, "profile", profile_json(s));
		st_json_append(array, item);
	}
	st_json_set(doc, "snapshots", array);
	return out_json_emit(doc);
}

static const char *sides_of(const catalog_snapshot *s)
{
	return s->has_files && s->has_database ? "files+db" : s->has_files ? "files" : "db";
}

/* A count of the files side, or "-" for a snapshot that holds no files (--database-only). */
static const char *files_count(char *buf, size_t cap, const catalog_snapshot *s, int64_t n)
{
	if (!s->has_files)
		return "-";
	snprintf(buf, cap, "%lld", (long long)n);
	return buf;
}

static void print_snapshots_table(const catalog_snapshot *list, size_t count)
{
	char when[OUT_TIME_MAX], bytes[OUT_SIZE_MAX], stored[OUT_SIZE_MAX], schema[DB_INFO_SCHEMA_VERSION_MAX];
	char nodes[24], files[24];
	printf("%6s  %-23s  %-8s  %10s  %10s  %10s  %10s  %-8s  %s\n", "ID", "TIME", "HOLDS", "NODES", "FILES", "SIZE",
	       "STORED", "SCHEMA", "SOURCE");
	for (size_t i = 0; i < count; i++) {
		const catalog_snapshot *s = &list[i];
		db_info_schema_version(schema, sizeof schema, s->db_info);
		printf("%6lld  %-23s  %-8s  %10s  %10s  %10s  %10s  %-8s  %s\n", (long long)s->id,
		       out_time(when, sizeof when, s->time_us), sides_of(s), files_count(nodes, sizeof nodes, s, s->nodes),
		       files_count(files, sizeof files, s, s->files),
		       s->has_files ? out_size(bytes, sizeof bytes, s->bytes) : "-",
		       out_size(stored, sizeof stored, s->stored_bytes),
		       s->has_database ? (schema[0] ? schema : "(none)") : "-", s->source[0] ? s->source : "-");
	}
	if (count == 0)
		printf("no snapshots yet\n");
}

int cmd_snapshots(int argc, char **argv)
{
	static const struct option options[] = {
		{"dest", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	simple_args args = {0};
	catalog_snapshot *list = NULL;
	size_t count = 0;
	int rc = parse_simple(&args, argc, argv, "snapshots", options, snapshots_help);
	if (rc == 0)
		rc = destination_snapshots(args.dest, &list, &count);
	if (rc == 0 && args.json)
		rc = print_snapshots_json(list, count);
	else if (rc == 0)
		print_snapshots_table(list, count);
	catalog_snapshot_list_free(list, count);
	return rc;
}

static const char check_help[] =
	"usage: strata check --dest DIR [--read-data] [--jobs N] [--json] [-v]\n"
	"       STRATA_DEST=DIR strata check [--read-data] [--jobs N] [--json] [-v]\n"
	"\n"
	"Verifies the catalog (SQLite integrity, references) and the packs (present, sizes,\n"
	"headers). --read-data also reads every object back, decodes it and checks its hash.\n"
	"Each problem is printed as one line on stderr (and, with --json, listed in the\n"
	"document's \"problems\" array); any problem makes the exit code 8.\n"
	"\n"
	"  --dest DIR     the destination (default: $STRATA_DEST)\n"
	"  --read-data    read, decode and hash every object\n"
	"  --jobs N       reading threads with --read-data (default: number of cores)\n"
	"  --json         print the result as one JSON document\n"
	"  -v, --verbose  print notes and details on stderr\n"
	"  -h, --help     show this help\n";

/* Each problem: one line on stderr, and an entry of the JSON document's list (ctx). */
static void print_problem(void *ctx, const char *problem)
{
	st_json_append_string(ctx, problem);
	fprintf(stderr, "strata: check: %s\n", problem);
}

int cmd_check(int argc, char **argv)
{
	static const struct option options[] = {
		{"dest", required_argument, NULL, 'd'}, {"read-data", no_argument, NULL, 'R'},
		{"jobs", required_argument, NULL, 'j'}, {"json", no_argument, NULL, 'J'},
		{"verbose", no_argument, NULL, 'v'},    {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	simple_args args = {0};
	int rc = parse_simple(&args, argc, argv, "check", options, check_help);
	if (rc != 0)
		return rc;
	st_json *problems = st_json_array();
	check_options o = {.dest_path = args.dest, .read_data = args.read_data, .jobs = (int)args.jobs,
			   .report = print_problem, .report_ctx = problems};
	check_result r;
	rc = check_run(&o, &r);
	if (rc != 0 && rc != ST_ERR_CORRUPT) {
		st_json_free(problems);
		return rc;
	}
	/* Damage that stopped the check itself (a catalog SQLite refuses) is a problem found too. */
	if (rc != 0 && r.problems == 0)
		st_json_append_string(problems, st_error_message());
	char size[OUT_SIZE_MAX];
	if (args.json) {
		const out_int_field counts[] = {
			{"checked_snapshots", r.snapshots}, {"checked_packs", r.packs},
			{"read_objects", r.objects_read},   {"read_bytes", r.bytes_read},
		};
		st_json *doc = out_json_document();
		out_json_set_ints(doc, counts, sizeof counts / sizeof counts[0]);
		st_json_set_bool(doc, "read_data", args.read_data);
		st_json_set(doc, "problems", problems);
		out_json_seconds(doc, "seconds", r.seconds);
		int print_rc = out_json_emit(doc);
		return rc != 0 ? rc : print_rc;
	}
	st_json_free(problems);
	printf("checked %lld snapshots, %lld packs%s%lld objects, %s read%s: %lld problem(s)\n", (long long)r.snapshots,
	       (long long)r.packs, args.read_data ? ", " : " (", (long long)r.objects_read,
	       out_size(size, sizeof size, r.bytes_read), args.read_data ? "" : " - use --read-data to read them)",
	       (long long)r.problems);
	return rc;
}
