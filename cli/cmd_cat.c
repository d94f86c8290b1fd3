/*
 * cmd_cat.c - strata cat: one file of a snapshot to standard output (restore.h, restore_cat).
 */
#include "cli/commands.h"

#include "common/error.h"
#include "engine/restore.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
	"usage: strata cat --dest DIR [--snapshot ID|latest] NODE-UUID/path\n"
	"       STRATA_DEST=DIR strata cat [--snapshot ID|latest] NODE-UUID/path\n"
	"\n"
	"Writes the content of one file of a snapshot to standard output, checked against its hash.\n"
	"Only that node's entries and that file's pack ranges are read. A node or path the snapshot\n"
	"does not hold is an error (exit 7); so is a directory or a symbolic link (exit 2).\n"
	"\n"
	"  --dest DIR             the destination (default: $STRATA_DEST)\n"
	"  --snapshot ID|latest   which snapshot (default: latest)\n"
	"  -h, --help             show this help\n";

int cmd_cat(int argc, char **argv)
{
	static const struct option options[] = {
		{"dest", required_argument, NULL, 'd'},
		{"snapshot", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dest = NULL;
	int64_t snapshot = RESTORE_LATEST;
	int c, rc = 0;
	while (rc == 0 && (c = cli_getopt(argc, argv, "cat", options)) != -1) {
		switch (c) {
		case 'd': dest = optarg; break;
		case 's':
			rc = cli_parse_snapshot("--snapshot", optarg, RESTORE_LATEST, &snapshot);
			break;
		case 'h': return cli_help(help);
		default: return ST_ERR_USAGE;
		}
	}
	if (rc != 0)
		return rc;
	if (optind >= argc)
		return cli_missing("cat", "NODE-UUID/path");
	if (optind + 1 < argc)
		return st_error_set(ST_ERR_USAGE, "cat: unexpected argument '%s'", argv[optind + 1]);
	if ((rc = cli_require_dest(&dest, "cat")) != 0)
		return rc;
	const char *arg = argv[optind];
	const char *slash = strchr(arg, '/');
	char uuid[CATALOG_UUID_LEN + 1];
	if (slash == NULL || slash[1] == '\0' || !cli_node_uuid(uuid, arg, (size_t)(slash - arg)))
		return st_error_set(ST_ERR_USAGE, "cat: '%s' is not NODE-UUID/path", arg);
	int64_t read_snapshot = 0;
	return restore_cat(dest, snapshot, uuid, slash + 1, STDOUT_FILENO, &read_snapshot);
}
