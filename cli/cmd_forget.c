/*
 * cmd_forget.c - strata forget: remove snapshots from a destination's view (engine/forget.h).
 */
#include "cli/commands.h"
#include "cli/output.h"

#include "common/error.h"
#include "common/json.h"
#include "common/mem.h"
#include "engine/forget.h"
#include "engine/prune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char forget_help[] =
	"usage: strata forget --dest DIR [--keep-last N] [--keep-hourly N] [--keep-daily N]\n"
	"                     [--keep-weekly N] [--keep-monthly N] [--keep-yearly N]\n"
	"                     [--keep-within DURATION] [--prune [--max-unused N%]]\n"
	"                     [--dry-run] [--wait[=SECONDS]] [--json]\n"
	"       strata forget --dest DIR ID... [--prune] [--dry-run] [--json]\n"
	"       STRATA_DEST=DIR strata forget (RULES... | ID...) [--dry-run] [--json]\n"
	"\n"
	"Removes snapshots from the destination's view, as restic's forget does: a snapshot that any\n"
	"rule keeps stays; the others are forgotten. With snapshot ids instead of rules, exactly\n"
	"those are forgotten. Nothing a kept snapshot uses changes and no pack is deleted: what only\n"
	"forgotten snapshots use stays in the destination until a prune (--prune runs one at once,\n"
	"see strata prune --help). Periods are in UTC (weeks: ISO weeks).\n"
	"Prints each snapshot, kept (with the rules that keep it) or forgotten.\n"
	"\n"
	"  --dest DIR              the destination (default: $STRATA_DEST)\n"
	"  --keep-last N           keep the N newest snapshots\n"
	"  --keep-hourly N         keep the newest snapshot of each of the N newest hours that have one\n"
	"  --keep-daily N          ... days\n"
	"  --keep-weekly N         ... weeks\n"
	"  --keep-monthly N        ... months\n"
	"  --keep-yearly N         ... years\n"
	"  --keep-within DURATION  keep the snapshots at most DURATION older than the newest one\n"
	"                          (y, m, d, h: 7d, 12h, 1y2m)\n"
	"  --prune                 then prune the destination (as strata prune)\n"
	"  --max-unused N%         with --prune: as strata prune's (default: 10%)\n"
	"  --dry-run               print what would be forgotten (and pruned); change nothing\n"
	"  --wait[=SECONDS]        when another run holds the destination's lock, wait for it (for\n"
	"                          at most SECONDS; give the value with '='); without --wait forget\n"
	"                          fails at once with exit code 4\n"
	"  --json                  print {\"version\", \"dry_run\", \"kept_snapshots\",\n"
	"                          \"forgotten_snapshots\", \"snapshots\": [{\"id\", \"time\", \"keep\",\n"
	"                          \"reasons\"}], and with --prune \"prune\": {as strata prune --json}}\n"
	"  -h, --help              show this help\n";

typedef struct forget_args {
	const char *dest;
	bool json;
	bool prune;
	bool max_unused_given;
	forget_options o;
	prune_options p;
	int64_t *ids;
} forget_args;

static int parse(forget_args *a, int argc, char **argv)
{
	static const struct option options[] = {
		{"dest", required_argument, NULL, 'd'},        {"keep-last", required_argument, NULL, 'L'},
		{"keep-hourly", required_argument, NULL, 'H'}, {"keep-daily", required_argument, NULL, 'D'},
		{"keep-weekly", required_argument, NULL, 'W'}, {"keep-monthly", required_argument, NULL, 'M'},
		{"keep-yearly", required_argument, NULL, 'Y'}, {"keep-within", required_argument, NULL, 'w'},
		{"dry-run", no_argument, NULL, 'n'},           {"json", no_argument, NULL, 'J'},
		{"prune", no_argument, NULL, 'p'},             {"max-unused", required_argument, NULL, 'u'},
		{"wait", optional_argument, NULL, 'T'},        {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const char rule_options[] = "LHDWMY";
	int c, rc = 0;
	long long n = 0;
	while (rc == 0 && (c = cli_getopt(argc, argv, "forget", options)) != -1) {
		const char *rule = strchr(rule_options, c);
		if (c != 0 && rule != NULL) {
			int index = (int)(rule - rule_options);
			char name[32];
			snprintf(name, sizeof name, "--keep-%s", forget_rule_name((forget_rule)index));
			rc = cli_parse_int(name, optarg, 1, INT32_MAX, &n);
			a->o.counts[index] = n;
			continue;
		}
		switch (c) {
		case 'd': a->dest = optarg; break;
		case 'w':
			rc = forget_parse_duration(optarg, &a->o.within);
			a->o.has_within = true;
			break;
		case 'n': a->o.dry_run = true; break;
		case 'J': a->json = true; break;
		case 'p': a->prune = true; break;
		case 'u':
			rc = cli_parse_max_unused(optarg, &a->p.max_unused);
			a->max_unused_given = true;
			break;
		case 'T': rc = cli_parse_wait(argc, argv, false, &a->o.wait_seconds); break;
		case 'h': return cli_help(forget_help);
		default: return ST_ERR_USAGE;
		}
	}
	if (rc != 0)
		return rc;
	int count = argc - optind;
	a->ids = st_calloc(count > 0 ? (size_t)count : 1, sizeof *a->ids);
	for (int i = 0; i < count && rc == 0; i++) {
		rc = cli_parse_int("snapshot id", argv[optind + i], 1, INT64_MAX, &n);
		a->ids[i] = n;
	}
	a->o.ids = a->ids;
	a->o.id_count = (size_t)count;
	if (rc == 0)
		rc = cli_require_dest(&a->dest, "forget");
	if (rc == 0 && a->max_unused_given && !a->prune)
		rc = st_error_set(ST_ERR_USAGE, "--max-unused needs --prune");
	a->o.dest_path = a->dest;
	a->p.dest_path = a->dest;
	a->p.dry_run = a->o.dry_run;
	a->p.wait_seconds = a->o.wait_seconds;
	return rc;
}

static st_json *reasons_json(unsigned reasons)
{
	st_json *list = st_json_array();
	for (int rule = 0; rule < FORGET_RULE_END; rule++)
		if (reasons & (1u << rule))
			st_json_append_string(list, forget_rule_name((forget_rule)rule));
	return list;
}

static int print_json(const forget_args *a, const forget_result *r, const prune_result *pruned)
{
	char when[OUT_TIME_MAX];
	st_json *doc = out_json_document();
	st_json_set_bool(doc, "dry_run", a->o.dry_run);
	const out_int_field counts[] = {{"kept_snapshots", r->kept}, {"forgotten_snapshots", r->forgotten}};
	out_json_set_ints(doc, counts, sizeof counts / sizeof counts[0]);
	st_json *array = st_json_array();
	for (size_t i = 0; i < r->count; i++) {
		const forget_decision *s = &r->snapshots[i];
		st_json *item = st_json_object();
		st_json_set_int(item, "id", s->id);
		st_json_set_string(item, "time", out_time_iso(when, sizeof when, s->time_us));
		st_json_set_bool(item, "keep", s->keep);
		st_json_set(item, "reasons", reasons_json(s->reasons));
		st_json_append(array, item);
	}
	st_json_set(doc, "snapshots", array);
	if (a->prune) {
		st_json *prune = st_json_object();
		cli_prune_json(prune, &a->p, pruned);
		st_json_set(doc, "prune", prune);
	}
	return out_json_emit(doc);
}

static void print_table(const forget_args *a, const forget_result *r)
{
	char when[OUT_TIME_MAX];
	for (size_t i = 0; i < r->count; i++) {
		const forget_decision *s = &r->snapshots[i];
		printf("%-6s  %6lld  %-23s", s->keep ? "keep" : "forget", (long long)s->id,
		       out_time(when, sizeof when, s->time_us));
		const char *sep = "  ";
		for (int rule = 0; rule < FORGET_RULE_END; rule++) {
			if (s->reasons & (1u << rule)) {
				printf("%s%s", sep, forget_rule_name((forget_rule)rule));
				sep = ", ";
			}
		}
		printf("\n");
	}
	printf("%s %lld snapshot(s), %s %lld\n", a->o.dry_run ? "would forget" : "forgot", (long long)r->forgotten,
	       a->o.dry_run ? "would keep" : "kept", (long long)r->kept);
}

int cmd_forget(int argc, char **argv)
{
	forget_args a = {.p.max_unused = PRUNE_DEFAULT_MAX_UNUSED};
	forget_result r = {0};
	prune_result pruned = {0};
	int rc = parse(&a, argc, argv);
	if (rc == 0)
		rc = forget_run(&a.o, &r);
	/* A dry run has forgotten nothing: its prune counts the snapshots it would forget as gone. */
	int64_t *gone = NULL;
	if (rc == 0 && a.prune && a.o.dry_run) {
		gone = st_calloc(r.count > 0 ? r.count : 1, sizeof *gone);
		for (size_t i = 0; i < r.count; i++)
			if (!r.snapshots[i].keep)
				gone[a.p.assume_forgotten_count++] = r.snapshots[i].id;
		a.p.assume_forgotten = gone;
	}
	if (rc == 0 && a.prune)
		rc = prune_run(&a.p, &pruned);
	free(gone);
	if (rc == 0 && a.json)
		rc = print_json(&a, &r, &pruned);
	else if (rc == 0) {
		print_table(&a, &r);
		if (a.prune)
			cli_prune_print(&a.p, &pruned);
	}
	forget_result_release(&r);
	free(a.ids);
	return rc == 0 && pruned.packs_left_behind ? CLI_COMPLETED_WITH_WARNINGS : rc;
}
