/*
 * cmd_export.c - strata export: one snapshot as a tar archive (export.h).
 */
#include "cli/commands.h"
#include "cli/output.h"

#include "common/error.h"
#include "engine/export.h"
#include "engine/restore.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
	"usage: strata export --dest DIR [--snapshot ID|latest] --output FILE|-\n"
	"                     [--format tar|tar.gz|tar.zst] [--json]\n"
	"       STRATA_DEST=DIR strata export [--snapshot ID|latest] --output FILE|- ...\n"
	"\n"
	"Writes one snapshot as a tar archive: manifest.json first (every entry's path, type, size\n"
	"and XXH3-128 hash, the snapshot, the schema version, and for 'strata import' the snapshot's\n"
	"database facts and nodes), then the repository tree as restore\n"
	"writes it (repository/node/..., modes, mtimes, symbolic links), then database/, the plain\n"
	"pg_dump directory. Stock 'tar -xf' and 'pg_restore -d DB database/' restore it without\n"
	"strata. The files stream from the destination, checked against their hashes; the dump (and\n"
	"an AiiDA 2.x container) is first restored, verified, into a temporary folder below $TMPDIR.\n"
	"\n"
	"  --dest DIR             the destination (default: $STRATA_DEST)\n"
	"  --snapshot ID|latest   which snapshot (default: latest)\n"
	"  --output FILE|-        the archive ('-': standard output)\n"
	"  --format FORMAT        tar, tar.gz or tar.zst (default: from FILE's name; tar.zst for -)\n"
	"  --jobs N               parallelism of the restore into the temporary folder\n"
	"  --json                 print {\"version\", \"snapshot\", \"files\", \"directories\",\n"
	"                         \"symlinks\", \"bytes\", \"seconds\"} (not with --output -)\n"
	"  -h, --help             show this help\n";

typedef struct export_args {
	export_options o;
	const char *format;
	bool json;
} export_args;

static int parse(export_args *a, int argc, char **argv)
{
	static const struct option options[] = {
		{"dest", required_argument, NULL, 'd'},   {"snapshot", required_argument, NULL, 's'},
		{"output", required_argument, NULL, 'o'}, {"format", required_argument, NULL, 'f'},
		{"jobs", required_argument, NULL, 'j'},   {"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	long long n = 0;
	int c, rc = 0;
	while (rc == 0 && (c = cli_getopt(argc, argv, "export", options)) != -1) {
		switch (c) {
		case 'd': a->o.dest_path = optarg; break;
		case 's':
			rc = cli_parse_snapshot("--snapshot", optarg, RESTORE_LATEST, &a->o.snapshot_id);
			break;
		case 'o': a->o.output = optarg; break;
		case 'f': a->format = optarg; break;
		case 'j':
			rc = cli_parse_int("--jobs", optarg, 1, CLI_JOBS_MAX, &n);
			a->o.jobs = (int)n;
			break;
		case 'J': a->json = true; break;
		case 'h': return cli_help(help);
		default: return ST_ERR_USAGE;
		}
	}
	if (rc != 0)
		return rc;
	if (optind < argc)
		return st_error_set(ST_ERR_USAGE, "export: unexpected argument '%s'", argv[optind]);
	if ((rc = cli_require_dest(&a->o.dest_path, "export")) != 0)
		return rc;
	if (a->o.output == NULL)
		return cli_missing("export", "--output");
	bool to_stdout = strcmp(a->o.output, "-") == 0;
	if (to_stdout && a->json)
		return st_error_set(ST_ERR_USAGE, "export: --json and --output - both need standard output");
	if (a->format != NULL)
		return archive_kind_parse(&a->o.kind, a->format, 0);
	if (to_stdout) {
		a->o.kind = ARCHIVE_KIND_TAR_ZST;
		return 0;
	}
	return archive_kind_parse(&a->o.kind, a->o.output, 1);
}

int cmd_export(int argc, char **argv)
{
	export_args a = {.o = {.snapshot_id = RESTORE_LATEST}};
	int rc = parse(&a, argc, argv);
	if (rc != 0)
		return rc;
	export_result r;
	if ((rc = export_run(&a.o, &r)) != 0)
		return rc;
	if (!a.json)
		return 0;
	st_json *doc = out_json_document();
	const out_int_field fields[] = {
		{"snapshot", r.snapshot_id}, {"files", r.files}, {"directories", r.directories},
		{"symlinks", r.symlinks},    {"bytes", r.bytes},
	};
	out_json_set_ints(doc, fields, sizeof fields / sizeof fields[0]);
	out_json_seconds(doc, "seconds", r.seconds);
	return out_json_emit(doc);
}
