/*
 * cmd_inspect.c - strata ls, diff and stats: what a destination holds (engine/inspect.h).
 */
#include "cli/commands.h"
#include "cli/output.h"

#include "common/error.h"
#include "common/json.h"
#include "engine/inspect.h"

#include <stdio.h>
#include <string.h>

static const char ls_help[] =
	"usage: strata ls --dest DIR [--snapshot ID|latest] [NODE-UUID[/path]] [--json]\n"
	"       STRATA_DEST=DIR strata ls [--snapshot ID|latest] [NODE-UUID[/path]] [--json]\n"
	"\n"
	"Without an argument, lists the nodes of a snapshot (uuid, files, bytes); with a node's\n"
	"uuid, its files and folders; with UUID/path, what is at or below that path.\n"
	"\n"
	"  --dest DIR             the destination (default: $STRATA_DEST)\n"
	"  --snapshot ID|latest   which snapshot (default: latest)\n"
	"  --json                 print {\"snapshot\", \"nodes\": [...]} or {\"snapshot\", \"node\", \"entries\": [...]}\n"
	"  -h, --help             show this help\n";

static const char diff_help[] =
	"usage: strata diff --dest DIR A B [--json]\n"
	"       STRATA_DEST=DIR strata diff A B [--json]\n"
	"\n"
	"The nodes and files added, removed and changed from snapshot A to snapshot B (ids or\n"
	"'latest'). A changed file has other content, mode or type.\n"
	"\n"
	"  --dest DIR             the destination (default: $STRATA_DEST)\n"
	"  --json                 print the counts and the lists as one JSON document\n"
	"  -h, --help             show this help\n";

static const char stats_help[] =
	"usage: strata stats --dest DIR [--json]\n"
	"       STRATA_DEST=DIR strata stats [--json]\n"
	"\n"
	"Stored bytes against original bytes (the files and database dumps of every snapshot, as\n"
	"full copies would hold them), the deduplication and compression ratios, and the growth of\n"
	"each snapshot.\n"
	"\n"
	"  --dest DIR             the destination (default: $STRATA_DEST)\n"
	"  --json                 print the result as one JSON document\n"
	"  -h, --help             show this help\n";

typedef struct inspect_args {
	const char *dest;
	int64_t snapshot;
	bool json;
	char **rest;
	int rest_count;
} inspect_args;

static int parse(inspect_args *a, int argc, char **argv, const char *command, const char *help, bool snapshot)
{
	static const struct option options[] = {
		{"dest", required_argument, NULL, 'd'}, {"snapshot", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'J'},       {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, rc = 0;
	a->snapshot = INSPECT_LATEST;
	while (rc == 0 && (c = cli_getopt(argc, argv, command, options)) != -1) {
		switch (c) {
		case 'd': a->dest = optarg; break;
		case 's':
			if (!snapshot)
				return st_error_set(ST_ERR_USAGE, "strata %s: unknown option '--snapshot'", command);
			rc = cli_parse_snapshot("--snapshot", optarg, INSPECT_LATEST, &a->snapshot);
			break;
		case 'J': a->json = true; break;
		case 'h': return cli_help(help);
		default: return ST_ERR_USAGE;
		}
	}
	if (rc != 0)
		return rc;
	a->rest = argv + optind;
	a->rest_count = argc - optind;
	return cli_require_dest(&a->dest, command);
}

static const char *type_name(catalog_entry_type type)
{
	return type == CATALOG_ENTRY_DIR ? "dir" : type == CATALOG_ENTRY_SYMLINK ? "symlink" : "file";
}

typedef struct ls_output {
	bool json;
	st_json *list;
	const char *node;
} ls_output;

static int ls_node(void *ctx, const catalog_node *node)
{
	ls_output *o = ctx;
	if (!o->json) {
		char size[OUT_SIZE_MAX];
		printf("%s  %6llu files  %10s%s\n", node->uuid, (unsigned long long)node->files,
		       out_size(size, sizeof size, (int64_t)node->bytes), node->has_folder ? "" : "  (no folder)");
		return 0;
	}
	st_json *item = st_json_object();
	st_json_set_string(item, "uuid", node->uuid);
	st_json_set_int(item, "id", node->node_id);
	st_json_set_int(item, "files", (int64_t)node->files);
	st_json_set_int(item, "bytes", (int64_t)node->bytes);
	st_json_set_bool(item, "has_folder", node->has_folder);
	st_json_append(o->list, item);
	return 0;
}

static int ls_entry(void *ctx, const catalog_node *node, const catalog_entry *e)
{
	ls_output *o = ctx;
	o->node = node->uuid;
	if (!o->json) {
		printf("%-7s %04o %12llu  %s%s%s\n", type_name(e->type), (unsigned)e->mode, (unsigned long long)e->size,
		       e->path, e->type == CATALOG_ENTRY_SYMLINK ? " -> " : "",
		       e->type == CATALOG_ENTRY_SYMLINK && e->target ? e->target : "");
		return 0;
	}
	st_json *item = st_json_object();
	st_json_set_string(item, "path", e->path);
	st_json_set_string(item, "type", type_name(e->type));
	st_json_set_int(item, "mode", e->mode);
	st_json_set_int(item, "size", (int64_t)e->size);
	st_json_set_int(item, "mtime_ns", e->mtime_ns);
	if (e->type == CATALOG_ENTRY_SYMLINK)
		st_json_set_string(item, "target", e->target);
	st_json_append(o->list, item);
	return 0;
}

int cmd_ls(int argc, char **argv)
{
	inspect_args a = {0};
	int rc = parse(&a, argc, argv, "ls", ls_help, true);
	if (rc != 0)
		return rc;
	if (a.rest_count > 1)
		return st_error_set(ST_ERR_USAGE, "ls: unexpected argument '%s'", a.rest[1]);
	const char *filter = a.rest_count == 1 ? a.rest[0] : NULL;
	ls_output o = {.json = a.json, .list = a.json ? st_json_array() : NULL};
	inspect_ls_callbacks cb = {.node = ls_node, .entry = ls_entry, .ctx = &o};
	int64_t snapshot = 0;
	rc = inspect_ls(a.dest, a.snapshot, filter, &cb, &snapshot);
	if (rc != 0 || !a.json) {
		st_json_free(o.list);
		return rc;
	}
	st_json *doc = out_json_document();
	st_json_set_int(doc, "snapshot", snapshot);
	if (filter != NULL)
		st_json_set_string(doc, "node", filter);
	st_json_set(doc, filter != NULL ? "entries" : "nodes", o.list);
	return out_json_emit(doc);
}

static const char *const change_names[] = {[INSPECT_ADDED] = "added", [INSPECT_REMOVED] = "removed",
					   [INSPECT_CHANGED] = "changed"};
static const char change_marks[] = {[INSPECT_ADDED] = '+', [INSPECT_REMOVED] = '-', [INSPECT_CHANGED] = 'M'};

typedef struct diff_output {
	bool json;
	st_json *nodes;
	st_json *files;
} diff_output;

static int diff_node(void *ctx, inspect_change change, const catalog_node *node)
{
	diff_output *o = ctx;
	if (!o->json) {
		printf("%c %s\n", change_marks[change], node->uuid);
		return 0;
	}
	st_json *item = st_json_object();
	st_json_set_string(item, "uuid", node->uuid);
	st_json_set_string(item, "change", change_names[change]);
	st_json_append(o->nodes, item);
	return 0;
}

static int diff_file(void *ctx, inspect_change change, const catalog_node *node, const catalog_entry *e)
{
	diff_output *o = ctx;
	if (!o->json) {
		printf("%c %s/%s\n", change_marks[change], node->uuid, e->path);
		return 0;
	}
	st_json *item = st_json_object();
	st_json_set_string(item, "node", node->uuid);
	st_json_set_string(item, "path", e->path);
	st_json_set_string(item, "change", change_names[change]);
	st_json_set_int(item, "size", (int64_t)e->size);
	st_json_append(o->files, item);
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	inspect_args a = {0};
	int64_t from = 0, to = 0;
	int rc = parse(&a, argc, argv, "diff", diff_help, false);
	if (rc != 0)
		return rc;
	if (a.rest_count != 2)
		return st_error_set(ST_ERR_USAGE, "diff: expected two snapshots, A and B (see 'strata diff --help')");
	if ((rc = cli_parse_snapshot("A", a.rest[0], INSPECT_LATEST, &from)) != 0 || (rc = cli_parse_snapshot("B", a.rest[1], INSPECT_LATEST, &to)) != 0)
		return rc;
	diff_output o = {.json = a.json};
	if (a.json) {
		o.nodes = st_json_array();
		o.files = st_json_array();
	}
	inspect_diff_callbacks cb = {.node = diff_node, .file = diff_file, .ctx = &o};
	inspect_diff_result r;
	rc = inspect_diff(a.dest, from, to, &cb, &r);
	if (rc != 0 || !a.json) {
		st_json_free(o.nodes);
		st_json_free(o.files);
		if (rc == 0 && cli_human_output(false))
			printf("snapshot %lld -> %lld: nodes +%lld -%lld M%lld, files +%lld -%lld M%lld\n", (long long)r.from,
			       (long long)r.to, (long long)r.nodes_added, (long long)r.nodes_removed,
			       (long long)r.nodes_changed, (long long)r.files_added, (long long)r.files_removed,
			       (long long)r.files_changed);
		return rc;
	}
	const out_int_field counts[] = {
		{"from", r.from},
		{"to", r.to},
		{"added_nodes", r.nodes_added},
		{"removed_nodes", r.nodes_removed},
		{"changed_nodes", r.nodes_changed},
		{"added_files", r.files_added},
		{"removed_files", r.files_removed},
		{"changed_files", r.files_changed},
		{"added_bytes", r.bytes_added},
		{"removed_bytes", r.bytes_removed},
	};
	st_json *doc = out_json_document();
	out_json_set_ints(doc, counts, sizeof counts / sizeof counts[0]);
	st_json_set(doc, "nodes", o.nodes);
	st_json_set(doc, "files", o.files);
	return out_json_emit(doc);
}

int cmd_stats(int argc, char **argv)
{
	inspect_args a = {0};
	int rc = parse(&a, argc, argv, "stats", stats_help, false);
	if (rc != 0)
		return rc;
	if (a.rest_count > 0)
		return st_error_set(ST_ERR_USAGE, "stats: unexpected argument '%s'", a.rest[0]);
	inspect_stats_result r;
	if ((rc = inspect_stats(a.dest, &r)) != 0)
		return rc;
	char when[OUT_TIME_MAX], s1[OUT_SIZE_MAX], s2[OUT_SIZE_MAX], s3[OUT_SIZE_MAX];
	if (a.json) {
		const out_int_field totals[] = {
			{"snapshots", (int64_t)r.snapshot_count}, {"objects", r.objects},
			{"original_bytes", r.original_bytes},     {"unique_bytes", r.unique_bytes},
			{"stored_bytes", r.stored_bytes},         {"packs", r.packs},
			{"pack_bytes", r.pack_bytes},
		};
		st_json *doc = out_json_document();
		out_json_set_ints(doc, totals, sizeof totals / sizeof totals[0]);
		st_json_set_real(doc, "dedup_ratio", r.dedup_ratio);
		st_json_set_real(doc, "compression_ratio", r.compression_ratio);
		st_json *growth = st_json_array();
		for (size_t i = 0; i < r.snapshot_count; i++) {
			const catalog_snapshot *s = &r.snapshots[i];
			st_json *item = st_json_object();
			st_json_set_int(item, "id", s->id);
			st_json_set_string(item, "time", out_time_iso(when, sizeof when, s->time_us));
			st_json_set_int(item, "bytes", s->bytes);
			st_json_set_int(item, "new_bytes", s->new_bytes);
			st_json_set_int(item, "stored_bytes", s->stored_bytes);
			st_json_append(growth, item);
		}
		st_json_set(doc, "growth", growth);
		inspect_stats_release(&r);
		return out_json_emit(doc);
	}
	printf("%zu snapshots; original %s, unique %s, stored %s in %lld packs (%s)\n", r.snapshot_count,
	       out_size(s1, sizeof s1, r.original_bytes), out_size(s2, sizeof s2, r.unique_bytes),
	       out_size(s3, sizeof s3, r.stored_bytes), (long long)r.packs, out_size(when, sizeof when, r.pack_bytes));
	printf("deduplication %.2fx, compression %.2fx\n", r.dedup_ratio, r.compression_ratio);
	for (size_t i = 0; i < r.snapshot_count; i++) {
		const catalog_snapshot *s = &r.snapshots[i];
		printf("  snapshot %lld  %s  +%s stored\n", (long long)s->id, out_time(when, sizeof when, s->time_us),
		       out_size(s1, sizeof s1, s->stored_bytes));
	}
	inspect_stats_release(&r);
	return 0;
}
