/*
 * cmd_destination.c - the commands that look at a destination as a whole: init, snapshots,
 * check.
 */
#include "cli/commands.h"
#include "cli/output.h"

#include "catalog/dest.h"
#include "common/error.h"
#include "engine/check.h"
#include "engine/db_restore.h"

#include <stdio.h>
#include <stdlib.h>

/* Parses the options of a command that takes only --dest plus flags in flag_names. */
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
		case 'v': out->verbose = true; break;
		case 'j': rc = cli_parse_int("--jobs", optarg, 1, 256, &n); out->jobs = n; break;
		case 'h': cli_print_help(help); exit(0);
		default: return ST_ERR_USAGE;
		}
	}
	if (rc == 0 && optind < argc)
		rc = st_error_set(ST_ERR_USAGE, "strata %s: unexpected argument '%s'", command, argv[optind]);
	if (rc == 0)
		rc = cli_require_dest(&out->dest, command);
	return rc;
}

static const char init_help[] =
	"usage: strata init --dest DIR\n"
	"\n"
	"Creates a destination in DIR (a new or empty directory): a catalog and a folder of packs.\n";

int cmd_init(int argc, char **argv)
{
	static const struct option options[] = {
		{"dest", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	simple_args args = {0};
	int rc = parse_simple(&args, argc, argv, "init", options, init_help);
	if (rc == 0)
		rc = dest_init(args.dest);
	if (rc == 0 && cli_human_output(false))
		printf("initialised destination '%s'\n", args.dest);
	return rc;
}

static const char snapshots_help[] =
	"usage: strata snapshots --dest DIR [--json]\n"
	"\n"
	"Lists the complete snapshots of a destination, oldest first: id, time, nodes, files,\n"
	"bytes (the snapshot's whole view) and stored bytes (what that backup added).\n"
	"With --json: {\"snapshots\": [{\"id\", \"time\", \"nodes\", \"files\", \"bytes\", \"stored_bytes\", ...}]}\n";

static void print_snapshots_json(const catalog_snapshot *list, size_t count)
{
	char when[32];
	printf("{\"snapshots\": [");
	for (size_t i = 0; i < count; i++) {
		const catalog_snapshot *s = &list[i];
		printf("%s{\"id\": %lld, \"time\": \"%s\", \"nodes\": %lld, \"files\": %lld, \"bytes\": %lld,"
		       " \"stored_bytes\": %lld, \"new_nodes\": %lld, \"deleted_nodes\": %lld, \"new_bytes\": %lld,"
		       " \"watermark\": %lld, \"has_files\": %s, \"has_database\": %s, \"source\": ",
		       i ? ", " : "", (long long)s->id, out_time_iso(when, sizeof when, s->time_us), (long long)s->nodes,
		       (long long)s->files, (long long)s->bytes, (long long)s->stored_bytes, (long long)s->new_nodes,
		       (long long)s->deleted_nodes, (long long)s->new_bytes, (long long)s->watermark,
		       s->has_files ? "true" : "false", s->has_database ? "true" : "false");
		out_json_string(stdout, s->source);
		char schema[64];
		db_info_schema_version(schema, sizeof schema, s->db_info);
		printf(", \"schema_version\": ");
		if (s->has_database && schema[0])
			out_json_string(stdout, schema);
		else
			printf("null");
		printf(", \"database\": %s}", s->db_info ? s->db_info : "null");
	}
	printf("]}\n");
}

static const char *sides_of(const catalog_snapshot *s)
{
	return s->has_files && s->has_database ? "files+db" : s->has_files ? "files" : "db";
}

static void print_snapshots_table(const catalog_snapshot *list, size_t count)
{
	char when[32], bytes[32], stored[32], schema[64];
	printf("%6s  %-23s  %-8s  %10s  %10s  %10s  %10s  %s\n", "ID", "TIME", "HOLDS", "NODES", "FILES", "SIZE", "STORED",
	       "SCHEMA");
	for (size_t i = 0; i < count; i++) {
		const catalog_snapshot *s = &list[i];
		db_info_schema_version(schema, sizeof schema, s->db_info);
		printf("%6lld  %-23s  %-8s  %10lld  %10lld  %10s  %10s  %s\n", (long long)s->id,
		       out_time(when, sizeof when, s->time_us), sides_of(s), (long long)s->nodes, (long long)s->files,
		       out_size(bytes, sizeof bytes, s->bytes), out_size(stored, sizeof stored, s->stored_bytes),
		       s->has_database ? (schema[0] ? schema : "(none)") : "-");
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
	dest *d = NULL;
	catalog_snapshot *list = NULL;
	size_t count = 0;
	int rc = parse_simple(&args, argc, argv, "snapshots", options, snapshots_help);
	if (rc == 0)
		rc = dest_open(&d, args.dest, DEST_READ);
	if (rc == 0)
		rc = catalog_snapshot_list(dest_catalog(d), &list, &count);
	if (rc == 0 && args.json)
		print_snapshots_json(list, count);
	else if (rc == 0)
		print_snapshots_table(list, count);
	catalog_snapshot_list_free(list, count);
	dest_close(d);
	return rc;
}

static const char check_help[] =
	"usage: strata check --dest DIR [--read-data] [--jobs N] [--json]\n"
	"\n"
	"Verifies the catalog (SQLite integrity, references) and the packs (present, sizes,\n"
	"headers). --read-data also reads every object back, decodes it and checks its hash.\n"
	"Each problem is printed as one line on stderr; any problem makes the exit code 8.\n";

static void print_problem(void *ctx, const char *problem)
{
	(void)ctx;
	fprintf(stderr, "strata: check: %s\n", problem);
}

int cmd_check(int argc, char **argv)
{
	static const struct option options[] = {
		{"dest", required_argument, NULL, 'd'}, {"read-data", no_argument, NULL, 'R'},
		{"jobs", required_argument, NULL, 'j'}, {"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	simple_args args = {0};
	int rc = parse_simple(&args, argc, argv, "check", options, check_help);
	if (rc != 0)
		return rc;
	check_options o = {.dest_path = args.dest, .read_data = args.read_data, .jobs = (int)args.jobs,
			   .report = print_problem};
	check_result r;
	rc = check_run(&o, &r);
	if (rc != 0 && rc != ST_ERR_CORRUPT)
		return rc;
	char size[32];
	if (args.json)
		printf("{\"snapshots\": %lld, \"packs\": %lld, \"objects_read\": %lld, \"bytes_read\": %lld,"
		       " \"problems\": %lld, \"seconds\": %.3f}\n",
		       (long long)r.snapshots, (long long)r.packs, (long long)r.objects_read, (long long)r.bytes_read,
		       (long long)r.problems, r.seconds);
	else
		printf("checked %lld snapshots, %lld packs%s%lld objects, %s read%s: %lld problem(s)\n",
		       (long long)r.snapshots, (long long)r.packs, args.read_data ? ", " : " (", (long long)r.objects_read,
		       out_size(size, sizeof size, r.bytes_read), args.read_data ? "" : " - use --read-data to read them)",
		       (long long)r.problems);
	return rc;
}
