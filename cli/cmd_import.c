/*
 * cmd_import.c - strata import: an exported archive as a new snapshot of a destination
 * (import.h).
 */
#include "cli/commands.h"
#include "cli/output.h"

#include "common/error.h"
#include "engine/import.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
	"usage: strata import --dest DIR [--wait[=SECONDS]] [--level N] [--json] [-v] FILE|-\n"
	"       STRATA_DEST=DIR strata import [OPTIONS] FILE|-\n"
	"\n"
	"Adds an archive that 'strata export' wrote ('-': standard input) to the destination as a\n"
	"new snapshot: every entry is checked against the archive's manifest (type, size, XXH3-128),\n"
	"the files go through the destination's store (content it holds already costs nothing), and\n"
	"the dump in database/ is stored as a backup stores its own. The snapshot is the archive's\n"
	"view (nodes, folders, database) with the exported snapshot's record (time, profile, row\n"
	"counts, node ids); a hostile or damaged archive is refused and no snapshot is added.\n"
	"\n"
	"  --dest DIR             the destination (default: $STRATA_DEST)\n"
	"  --wait[=SECONDS]       when another run holds the destination's lock, wait for it (for\n"
	"                         at most SECONDS); without --wait import fails at once (exit 4)\n"
	"  --level N              zstd level of new content, 1-19 (default: 3)\n"
	"  --json                 print {\"version\", \"id\" (the new snapshot), \"archive_snapshot\",\n"
	"                         \"nodes\", \"files\", \"bytes\", \"dump_files\", \"replaced_nodes\",\n"
	"                         \"new_objects\", \"new_bytes\", \"stored_bytes\", \"has_database\",\n"
	"                         \"seconds\"}\n"
	"  -v, --verbose          print a summary even when stdout is not a terminal\n"
	"  -h, --help             show this help\n";

typedef struct import_args {
	import_options o;
	bool json;
	bool verbose;
} import_args;

static int parse(import_args *a, int argc, char **argv)
{
	static const struct option options[] = {
		{"dest", required_argument, NULL, 'd'}, {"wait", optional_argument, NULL, 'W'},
		{"level", required_argument, NULL, 'L'}, {"json", no_argument, NULL, 'J'},
		{"verbose", no_argument, NULL, 'v'},     {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long long n = 0;
	int c, rc = 0;
	while (rc == 0 && (c = cli_getopt(argc, argv, "import", options)) != -1) {
		switch (c) {
		case 'd': a->o.dest_path = optarg; break;
		case 'W': rc = cli_parse_wait(argc, argv, false, &a->o.lock_wait_seconds); break;
		case 'L':
			rc = cli_parse_int("--level", optarg, 1, 19, &n);
			a->o.compression_level = (int)n;
			break;
		case 'J': a->json = true; break;
		case 'v': a->verbose = true; break;
		case 'h': return cli_help(help);
		default: return ST_ERR_USAGE;
		}
	}
	if (rc != 0)
		return rc;
	if ((rc = cli_require_dest(&a->o.dest_path, "import")) != 0)
		return rc;
	if (optind >= argc)
		return st_error_set(ST_ERR_USAGE, "import: missing the archive (FILE, or '-' for standard input)");
	a->o.input = argv[optind++];
	if (optind < argc)
		return st_error_set(ST_ERR_USAGE, "import: unexpected argument '%s'", argv[optind]);
	return 0;
}

int cmd_import(int argc, char **argv)
{
	import_args a = {0};
	int rc = parse(&a, argc, argv);
	if (rc != 0)
		return rc;
	import_result r;
	if ((rc = import_run(&a.o, &r)) != 0)
		return rc;
	if (a.json) {
		st_json *doc = out_json_document();
		const out_int_field fields[] = {
			{"id", r.snapshot_id},
			{"archive_snapshot", r.archive_snapshot_id},
			{"nodes", r.nodes},
			{"files", r.files},
			{"bytes", r.bytes},
			{"dump_files", r.dump_files},
			{"replaced_nodes", r.replaced_nodes},
			{"new_objects", r.objects_new},
			{"new_bytes", r.bytes_new},
			{"stored_bytes", r.stored_bytes},
		};
		out_json_set_ints(doc, fields, sizeof fields / sizeof fields[0]);
		st_json_set_bool(doc, "has_database", r.has_database);
		out_json_seconds(doc, "seconds", r.seconds);
		return out_json_emit(doc);
	}
	if (cli_human_output(a.verbose)) {
		char bytes[OUT_SIZE_MAX], stored[OUT_SIZE_MAX];
		printf("snapshot %lld imported from snapshot %lld of the archive: %lld nodes, %lld files (%s), "
		       "%lld dump files; %s added to packs in %.1f s\n",
		       (long long)r.snapshot_id, (long long)r.archive_snapshot_id, (long long)r.nodes, (long long)r.files,
		       out_size(bytes, sizeof bytes, r.bytes), (long long)r.dump_files,
		       out_size(stored, sizeof stored, r.stored_bytes), r.seconds);
	}
	return 0;
}
