/*
 * cmd_restore.c - strata restore.
 */
#include "cli/commands.h"
#include "cli/output.h"

#include "common/error.h"
#include "engine/restore.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
	"usage: strata restore --dest DIR --to-repository DIR [--snapshot ID|latest] [OPTIONS]\n"
	"\n"
	"Restores the node folders of a snapshot into DIR/repository/node/..., byte for byte, with\n"
	"modes, mtimes, symlinks (as links), empty files and folders. Each file is checked against\n"
	"its hash as it is written. Nothing is written outside DIR.\n"
	"\n"
	"  --dest DIR             the destination (default: $STRATA_DEST)\n"
	"  --snapshot ID|latest   which snapshot (default: latest)\n"
	"  --to-repository DIR    the new repository root; must be empty or absent\n"
	"  --force                write into a non-empty DIR, replacing files of the same name\n"
	"  --jobs N               parallelism (default: number of cores; 16 writers per job, at most 64)\n"
	"  --json                 print the result as one JSON document\n"
	"  -v, --verbose          print a summary even when not on a terminal\n"
	"  -h, --help             show this help\n";

int cmd_restore(int argc, char **argv)
{
	static const struct option options[] = {
		{"dest", required_argument, NULL, 'd'},     {"snapshot", required_argument, NULL, 's'},
		{"to-repository", required_argument, NULL, 't'}, {"force", no_argument, NULL, 'f'},
		{"jobs", required_argument, NULL, 'j'},     {"json", no_argument, NULL, 'J'},
		{"verbose", no_argument, NULL, 'v'},        {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	restore_options o = {.snapshot_id = RESTORE_LATEST};
	bool json = false, verbose = false;
	long long n = 0;
	int c, rc = 0;
	while (rc == 0 && (c = cli_getopt(argc, argv, "restore", options)) != -1) {
		switch (c) {
		case 'd': o.dest_path = optarg; break;
		case 's':
			if (strcmp(optarg, "latest") != 0) {
				rc = cli_parse_int("--snapshot", optarg, 1, INT64_MAX, &n);
				o.snapshot_id = n;
			}
			break;
		case 't': o.target_root = optarg; break;
		case 'f': o.force = true; break;
		case 'j': rc = cli_parse_int("--jobs", optarg, 1, 256, &n); o.jobs = (int)n; break;
		case 'J': json = true; break;
		case 'v': verbose = true; break;
		case 'h': cli_print_help(help); return 0;
		default: return ST_ERR_USAGE;
		}
	}
	if (rc != 0)
		return rc;
	if (optind < argc)
		return st_error_set(ST_ERR_USAGE, "strata restore: unexpected argument '%s'", argv[optind]);
	if ((rc = cli_require_dest(&o.dest_path, "restore")) != 0)
		return rc;
	if (o.target_root == NULL)
		return cli_missing("restore", "--to-repository");
	restore_result r;
	if ((rc = restore_run(&o, &r)) != 0)
		return rc;
	char size[32];
	if (json)
		printf("{\"snapshot\": %lld, \"nodes\": %lld, \"folders\": %lld, \"files\": %lld, \"directories\": %lld,"
		       " \"symlinks\": %lld, \"bytes\": %lld, \"seconds\": %.3f}\n",
		       (long long)r.snapshot_id, (long long)r.nodes, (long long)r.folders, (long long)r.files,
		       (long long)r.directories, (long long)r.symlinks, (long long)r.bytes, r.seconds);
	else if (cli_human_output(verbose))
		printf("restored snapshot %lld: %lld nodes (%lld folders), %lld files, %lld symlinks, %s in %.1f s into '%s'\n",
		       (long long)r.snapshot_id, (long long)r.nodes, (long long)r.folders, (long long)r.files,
		       (long long)r.symlinks, out_size(size, sizeof size, r.bytes), r.seconds, o.target_root);
	return 0;
}
