/*
 * export_tree.c - the repository area of an export, from the catalog (see export_internal.h).
 *
 * Nothing is restored to disk: names, modes, mtimes, sizes, hashes and link targets are the
 * catalog's, which are what restore writes. The folders above the node folders are few (at most
 * 65,538): their records are kept sorted for lookup.
 */
#include "engine/export_internal.h"

#include "engine/restore.h"

#include "common/error.h"
#include "common/interrupt.h"
#include "common/mem.h"
#include "scanner/node_tree.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TREE_REPOSITORY "repository"
#define TREE_NODE_ROOT TREE_REPOSITORY "/node"
/* What restore creates a folder above the node folders with. */
#define TREE_FOLDER_MODE 0755
/* The lengths of "repository/node/xx" and "repository/node/xx/yy". */
#define TREE_SHARD1_LEN (sizeof TREE_NODE_ROOT - 1 + 3)
#define TREE_SHARD2_LEN (TREE_SHARD1_LEN + 3)

typedef struct tree_walk {
	catalog_folder *folders; /* sorted by path */
	size_t count;
	int64_t default_mtime_ns;
	export_visit_fn fn;
	void *ctx;
	char shard[TREE_SHARD2_LEN + 1]; /* the last shard folder handed over */
} tree_walk;

static int compare_folders(const void *a, const void *b)
{
	return strcmp(((const catalog_folder *)a)->path, ((const catalog_folder *)b)->path);
}

/* The folder path (of len bytes), with its record's mode and mtime. */
static int visit_folder(tree_walk *t, const char *path, size_t len)
{
	catalog_folder key = {0};
	snprintf(key.path, sizeof key.path, "%.*s", (int)len, path);
	const catalog_folder *f = bsearch(&key, t->folders, t->count, sizeof *t->folders, compare_folders);
	export_item item = {.name = key.path, .type = CATALOG_ENTRY_DIR, .mode = f ? f->mode : TREE_FOLDER_MODE,
			    .mtime_ns = f ? f->mtime_ns : t->default_mtime_ns};
	return t->fn(t->ctx, &item);
}

/* Byte order with '/' before every other byte: what is below a folder comes right after it,
 * before its siblings ("a", "a/b", "a.txt"). */
static int compare_paths(const void *a, const void *b)
{
	const unsigned char *p = (const unsigned char *)((const catalog_tree_entry *)a)->entry.path;
	const unsigned char *q = (const unsigned char *)((const catalog_tree_entry *)b)->entry.path;
	while (*p != '\0' && *p == *q) {
		p++;
		q++;
	}
	int x = *p == '/' ? 1 : *p == '\0' ? 0 : *p + 1;
	int y = *q == '/' ? 1 : *q == '\0' ? 0 : *q + 1;
	return x - y;
}

static int visit_entry(tree_walk *t, const char *folder, const catalog_tree_entry *e)
{
	char *name = st_sprintf("%s/%s", folder, e->entry.path);
	export_item item = {.name = name, .type = e->entry.type, .mode = e->entry.mode, .mtime_ns = e->entry.mtime_ns};
	if (e->entry.type == CATALOG_ENTRY_FILE) {
		item.size = e->entry.size;
		item.hash = e->entry.hash;
		item.stored = e;
	} else if (e->entry.type == CATALOG_ENTRY_SYMLINK) {
		item.target = e->entry.target;
		item.mode = 0777; /* what a link has on disk, whatever was recorded */
	}
	int rc = t->fn(t->ctx, &item);
	free(name);
	return rc;
}

/* A node's folder and entries, after the shard folders it is in when they were not handed over
 * yet (nodes come in uuid order, so a shard's nodes come together). */
static int visit_node(tree_walk *t, catalog_node_tree *tree)
{
	int rc = catalog_tree_validate(tree);
	if (rc != 0 || !tree->node.has_folder)
		return rc;
	char folder[PATH_MAX];
	if (scan_node_dir(folder, sizeof folder, TREE_REPOSITORY, tree->node.uuid) != 0)
		return st_error_reclassify(ST_ERR_CORRUPT);
	if (strncmp(folder, t->shard, TREE_SHARD2_LEN) != 0) {
		if (strncmp(folder, t->shard, TREE_SHARD1_LEN) != 0)
			rc = visit_folder(t, folder, TREE_SHARD1_LEN);
		if (rc == 0)
			rc = visit_folder(t, folder, TREE_SHARD2_LEN);
		snprintf(t->shard, sizeof t->shard, "%.*s", (int)TREE_SHARD2_LEN, folder);
	}
	export_item root = {.name = folder, .type = CATALOG_ENTRY_DIR, .mode = tree->node.root_mode,
			    .mtime_ns = tree->node.root_mtime_ns};
	if (rc == 0)
		rc = t->fn(t->ctx, &root);
	qsort(tree->entries, tree->count, sizeof *tree->entries, compare_paths);
	for (size_t i = 0; i < tree->count && rc == 0; i++)
		rc = visit_entry(t, folder, &tree->entries[i]);
	return rc;
}

static int visit_next_node(void *ctx, catalog_node_tree *tree)
{
	int rc = st_interrupt_check();
	return rc != 0 ? rc : visit_node(ctx, tree);
}

int export_tree_each(catalog *cat, int64_t snapshot_id, int64_t default_mtime_ns, export_visit_fn fn, void *ctx)
{
	tree_walk t = {.default_mtime_ns = default_mtime_ns, .fn = fn, .ctx = ctx};
	int rc = catalog_folder_as_of(cat, snapshot_id, &t.folders, &t.count);
	/* Paths and modes from the catalog are untrusted, as for restore. */
	for (size_t i = 0; i < t.count && rc == 0; i++)
		rc = restore_check_folder(&t.folders[i]);
	if (rc == 0) {
		qsort(t.folders, t.count, sizeof *t.folders, compare_folders);
		rc = visit_folder(&t, TREE_REPOSITORY, strlen(TREE_REPOSITORY));
	}
	if (rc == 0)
		rc = visit_folder(&t, TREE_NODE_ROOT, strlen(TREE_NODE_ROOT));
	if (rc == 0)
		rc = catalog_tree_each(cat, snapshot_id, CATALOG_TREE_BY_UUID, visit_next_node, &t);
	free(t.folders);
	return rc;
}
