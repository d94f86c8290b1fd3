/*
 * cmd_prune.c - strata prune: give back what only forgotten snapshots use (engine/prune.h);
 * also the report that forget --prune prints.
 */
#include "cli/commands.h"
#include "cli/output.h"

#include "common/error.h"
#include "common/json.h"
#include "engine/prune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char prune_help[] =
	"usage: strata prune --dest DIR [--max-unused N%] [--dry-run] [--wait[=SECONDS]] [--json]\n"
	"       STRATA_DEST=DIR strata prune [...]\n"
	"\n"
	"Removes from the destination what no kept snapshot uses, as restic's prune does: the\n"
	"node versions, dump files and folder records that only forgotten snapshots use, packs that\n"
	"hold nothing else (deleted), and packs that are mostly unused (their live objects are read\n"
	"back, checked and copied into new packs, then the old packs are deleted). A kept dump file\n"
	"stored as a delta against a forgotten snapshot's version is first stored again as a full\n"
	"copy. Safe at any moment: the catalog changes in one commit after the new packs are\n"
	"durable, and old packs are deleted only after it; a run killed or failed (full disk) leaves\n"
	"the destination as it was, and the next prune or backup removes what it had written.\n"
	"Old packs that cannot be deleted after the commit are a warning (exit code 11).\n"
	"Prune holds the destination's lock: a backup meanwhile fails with exit code 4, or waits\n"
	"with --wait.\n"
	"\n"
	"  --dest DIR          the destination (default: $STRATA_DEST)\n"
	"  --max-unused N%     rewrite partly used packs, most unused first, until at most N% of the\n"
	"                      packs' bytes are unused (default: 10%; 0% rewrites every pack with\n"
	"                      unused bytes; 'unlimited' only deletes packs that are wholly unused)\n"
	"  --dry-run           print what would be removed and freed; change nothing (no lock)\n"
	"  --wait[=SECONDS]    when another run holds the destination's lock, wait for it (for at\n"
	"                      most SECONDS); without --wait prune fails at once with exit code 4\n"
	"  --json              print {\"version\", \"dry_run\", \"packs_left_behind\", \"packs\", \"packs_deleted\",\n"
	"                      \"packs_rewritten\", \"packs_written\", \"objects_repacked\",\n"
	"                      \"objects_removed\", \"node_versions_removed\", \"entries_removed\",\n"
	"                      \"dump_files_removed\", \"folder_records_removed\", \"dump_files_rebased\",\n"
	"                      \"orphan_packs_removed\", \"total_bytes\", \"bytes_repacked\",\n"
	"                      \"bytes_rebased\", \"freed_bytes\", \"unused_bytes_after\", \"seconds\"}\n"
	"  -h, --help          show this help\n";

int cli_parse_max_unused(const char *value, double *out)
{
	if (strcmp(value, "unlimited") == 0) {
		*out = 1.0;
		return 0;
	}
	char *end = NULL;
	double percent = strtod(value, &end);
	if (end == value || (*end != '\0' && strcmp(end, "%") != 0) || !(percent >= 0 && percent <= 100))
		return st_error_set(ST_ERR_USAGE, "--max-unused '%s' is not a percentage from 0%% to 100%% (or 'unlimited')",
				    value);
	*out = percent / 100.0;
	return 0;
}

void cli_prune_json(st_json *obj, const prune_options *o, const prune_result *r)
{
	st_json_set_bool(obj, "dry_run", o->dry_run);
	st_json_set_bool(obj, "packs_left_behind", r->packs_left_behind);
	const out_int_field fields[] = {
		{"packs", r->packs},
		{"packs_deleted", r->packs_deleted},
		{"packs_rewritten", r->packs_rewritten},
		{"packs_written", r->packs_written},
		{"objects_repacked", r->objects_repacked},
		{"objects_removed", r->objects_removed},
		{"node_versions_removed", r->node_versions_removed},
		{"entries_removed", r->entries_removed},
		{"dump_files_removed", r->dump_files_removed},
		{"folder_records_removed", r->folder_records_removed},
		{"dump_files_rebased", r->dump_files_rebased},
		{"orphan_packs_removed", r->orphans_removed},
		{"total_bytes", (int64_t)r->total_bytes},
		{"bytes_repacked", (int64_t)r->bytes_repacked},
		{"bytes_rebased", (int64_t)r->bytes_rebased},
		{"freed_bytes", (int64_t)r->freed_bytes},
		{"unused_bytes_after", (int64_t)r->unused_after},
	};
	out_json_set_ints(obj, fields, sizeof fields / sizeof fields[0]);
	out_json_seconds(obj, "seconds", r->seconds);
}

void cli_prune_print(const prune_options *o, const prune_result *r)
{
	char total[OUT_SIZE_MAX], freed[OUT_SIZE_MAX], repacked[OUT_SIZE_MAX], unused[OUT_SIZE_MAX];
	const char *would = o->dry_run ? "would " : "";
	printf("%d pack(s) of earlier interrupted runs removed\n", r->orphans_removed);
	printf("%s rebase %lld dump file(s) onto full copies (%s)\n", o->dry_run ? "would" : "did",
	       (long long)r->dump_files_rebased, out_size(repacked, sizeof repacked, (int64_t)r->bytes_rebased));
	printf("%sremove %lld node version(s), %lld entries, %lld dump file(s), %lld folder record(s),"
	       " %lld object(s)\n",
	       would, (long long)r->node_versions_removed, (long long)r->entries_removed, (long long)r->dump_files_removed,
	       (long long)r->folder_records_removed, (long long)r->objects_removed);
	printf("%sdelete %lld of %lld pack(s) (%s in all), rewrite %lld (%lld live objects, %s)\n", would,
	       (long long)r->packs_deleted, (long long)r->packs, out_size(total, sizeof total, (int64_t)r->total_bytes),
	       (long long)r->packs_rewritten, (long long)r->objects_repacked,
	       out_size(repacked, sizeof repacked, (int64_t)r->bytes_repacked));
	printf("%sfree %s; %s unused stays\n", would, out_size(freed, sizeof freed, (int64_t)r->freed_bytes),
	       out_size(unused, sizeof unused, (int64_t)r->unused_after));
}

int cmd_prune(int argc, char **argv)
{
	static const struct option options[] = {
		{"dest", required_argument, NULL, 'd'}, {"max-unused", required_argument, NULL, 'u'},
		{"dry-run", no_argument, NULL, 'n'},    {"wait", optional_argument, NULL, 'W'},
		{"json", no_argument, NULL, 'J'},       {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dest = NULL;
	bool json = false;
	prune_options o = {.max_unused = PRUNE_DEFAULT_MAX_UNUSED};
	int c, rc = 0;
	while (rc == 0 && (c = cli_getopt(argc, argv, "prune", options)) != -1) {
		switch (c) {
		case 'd': dest = optarg; break;
		case 'u': rc = cli_parse_max_unused(optarg, &o.max_unused); break;
		case 'n': o.dry_run = true; break;
		case 'W': rc = cli_parse_wait(argc, argv, true, &o.wait_seconds); break;
		case 'J': json = true; break;
		case 'h': return cli_help(prune_help);
		default: return ST_ERR_USAGE;
		}
	}
	if (rc == 0 && optind < argc)
		rc = st_error_set(ST_ERR_USAGE, "prune takes no argument '%s'", argv[optind]);
	if (rc == 0)
		rc = cli_require_dest(&dest, "prune");
	o.dest_path = dest;
	prune_result r;
	if (rc == 0)
		rc = prune_run(&o, &r);
	if (rc != 0)
		return rc;
	if (json) {
		st_json *doc = out_json_document();
		cli_prune_json(doc, &o, &r);
		rc = out_json_emit(doc);
	} else if (cli_human_output(false) || o.dry_run) {
		cli_prune_print(&o, &r);
	}
	return rc == 0 && r.packs_left_behind ? CLI_COMPLETED_WITH_WARNINGS : rc;
}
