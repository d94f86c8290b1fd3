/*
 * inspect.c - strata ls, diff and stats (see inspect.h).
 */
#include "engine/inspect.h"

#include "catalog/dest.h"
#include "common/error.h"
#include "common/mem.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int open_snapshot(dest **d, const char *dest_path, int64_t wanted, int64_t *out_id)
{
	catalog_snapshot snap = {0};
	bool found = true;
	int rc = dest_open(d, dest_path, DEST_READ);
	if (rc == 0 && wanted == INSPECT_LATEST)
		rc = catalog_snapshot_latest(dest_catalog(*d), &snap, &found);
	else if (rc == 0)
		rc = catalog_snapshot_get(dest_catalog(*d), wanted, &snap);
	if (rc == 0 && !found)
		rc = st_error_set(ST_ERR_NOTFOUND, "destination '%s' has no snapshots yet", dest_path);
	if (rc == 0)
		*out_id = snap.id;
	catalog_snapshot_release(&snap);
	return rc;
}

/* Whether entry path is prefix or lies below it. */
static bool below(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return prefix[0] == '\0' || (strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/'));
}

int inspect_ls(const char *dest_path, int64_t snapshot_id, const char *filter, const inspect_ls_callbacks *cb,
	       int64_t *out_snapshot)
{
	dest *d = NULL;
	catalog_tree_iter *iter = NULL;
	catalog_node_tree *tree = NULL;
	char uuid[CATALOG_UUID_LEN + 1] = "";
	const char *path = "";
	bool node_found = false, path_found = false;
	if (filter != NULL) {
		const char *slash = strchr(filter, '/');
		size_t len = slash ? (size_t)(slash - filter) : strlen(filter);
		if (len != CATALOG_UUID_LEN)
			return st_error_set(ST_ERR_USAGE, "'%s' is not NODE-UUID[/path]", filter);
		memcpy(uuid, filter, len);
		path = slash ? slash + 1 : "";
		if (path[0] != '\0' && path[strlen(path) - 1] == '/')
			return st_error_set(ST_ERR_USAGE, "'%s': a path does not end with '/'", filter);
	}
	int rc = open_snapshot(&d, dest_path, snapshot_id, out_snapshot);
	if (rc == 0)
		rc = catalog_tree_iter_open(&iter, dest_catalog(d), *out_snapshot);
	while (rc == 0 && (rc = catalog_tree_iter_next(iter, &tree)) == 0 && tree != NULL) {
		if (filter == NULL) {
			rc = cb->node(cb->ctx, &tree->node);
		} else if (strcasecmp(tree->node.uuid, uuid) == 0) {
			node_found = true;
			for (size_t i = 0; i < tree->count && rc == 0; i++) {
				if (!below(tree->entries[i].entry.path, path))
					continue;
				path_found = true;
				rc = cb->entry(cb->ctx, &tree->node, &tree->entries[i].entry);
			}
		}
		catalog_node_tree_free(tree);
		tree = NULL;
	}
	if (rc == 0 && filter != NULL && !node_found)
		rc = st_error_set(ST_ERR_NOTFOUND, "node '%s' is not in snapshot %lld", uuid, (long long)*out_snapshot);
	else if (rc == 0 && filter != NULL && path[0] != '\0' && !path_found)
		rc = st_error_set(ST_ERR_NOTFOUND, "node '%s' has no '%s' in snapshot %lld", uuid, path,
				  (long long)*out_snapshot);
	catalog_tree_iter_close(iter);
	dest_close(d);
	return rc;
}

/* The trees of one snapshot that the other does not share (by node version). */
typedef struct tree_list {
	catalog_node_tree **items;
	size_t count, cap;
} tree_list;

static void tree_list_add(tree_list *l, catalog_node_tree *tree)
{
	if (l->count == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->items = st_realloc(l->items, l->cap * sizeof *l->items);
	}
	l->items[l->count++] = tree;
}

static void tree_list_free(tree_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		catalog_node_tree_free(l->items[i]);
	free(l->items);
}

static int by_node_id(const void *a, const void *b)
{
	int64_t x = (*(catalog_node_tree *const *)a)->node.node_id, y = (*(catalog_node_tree *const *)b)->node.node_id;
	return (x > y) - (x < y);
}

/* Merges the two iterators on version id: what only one snapshot holds goes to its list. */
static int split_versions(catalog_tree_iter *ia, catalog_tree_iter *ib, tree_list *only_a, tree_list *only_b)
{
	catalog_node_tree *a = NULL, *b = NULL;
	int rc = catalog_tree_iter_next(ia, &a);
	if (rc == 0)
		rc = catalog_tree_iter_next(ib, &b);
	while (rc == 0 && (a != NULL || b != NULL)) {
		if (b == NULL || (a != NULL && a->version_id < b->version_id)) {
			tree_list_add(only_a, a);
			rc = catalog_tree_iter_next(ia, &a);
		} else if (a == NULL || b->version_id < a->version_id) {
			tree_list_add(only_b, b);
			rc = catalog_tree_iter_next(ib, &b);
		} else {
			catalog_node_tree_free(a);
			catalog_node_tree_free(b);
			a = b = NULL;
			rc = catalog_tree_iter_next(ia, &a);
			if (rc == 0)
				rc = catalog_tree_iter_next(ib, &b);
		}
	}
	catalog_node_tree_free(a);
	catalog_node_tree_free(b);
	return rc;
}

static const catalog_entry *find_entry(const catalog_node_tree *tree, const char *path)
{
	for (size_t i = 0; i < tree->count; i++)
		if (strcmp(tree->entries[i].entry.path, path) == 0)
			return &tree->entries[i].entry;
	return NULL;
}

static bool same_entry(const catalog_entry *x, const catalog_entry *y)
{
	return x->type == y->type && x->mode == y->mode && x->size == y->size &&
	       (x->type != CATALOG_ENTRY_FILE || memcmp(&x->hash, &y->hash, sizeof x->hash) == 0) &&
	       (x->type != CATALOG_ENTRY_SYMLINK || strcmp(x->target ? x->target : "", y->target ? y->target : "") == 0);
}

static int report_file(const inspect_diff_callbacks *cb, inspect_diff_result *r, inspect_change change,
		       const catalog_node *node, const catalog_entry *e)
{
	if (e->type == CATALOG_ENTRY_DIR)
		return 0;
	if (change == INSPECT_ADDED) {
		r->files_added++;
		r->bytes_added += (int64_t)e->size;
	} else if (change == INSPECT_REMOVED) {
		r->files_removed++;
		r->bytes_removed += (int64_t)e->size;
	} else {
		r->files_changed++;
	}
	return cb->file ? cb->file(cb->ctx, change, node, e) : 0;
}

static int report_whole(const inspect_diff_callbacks *cb, inspect_diff_result *r, inspect_change change,
			const catalog_node_tree *tree)
{
	if (change == INSPECT_ADDED)
		r->nodes_added++;
	else
		r->nodes_removed++;
	int rc = cb->node(cb->ctx, change, &tree->node);
	for (size_t i = 0; i < tree->count && rc == 0; i++)
		rc = report_file(cb, r, change, &tree->node, &tree->entries[i].entry);
	return rc;
}

static int report_changed(const inspect_diff_callbacks *cb, inspect_diff_result *r, const catalog_node_tree *old,
			  const catalog_node_tree *new_tree)
{
	r->nodes_changed++;
	int rc = cb->node(cb->ctx, INSPECT_CHANGED, &new_tree->node);
	for (size_t i = 0; i < new_tree->count && rc == 0; i++) {
		const catalog_entry *e = &new_tree->entries[i].entry, *before = find_entry(old, e->path);
		if (before == NULL)
			rc = report_file(cb, r, INSPECT_ADDED, &new_tree->node, e);
		else if (!same_entry(before, e))
			rc = report_file(cb, r, INSPECT_CHANGED, &new_tree->node, e);
	}
	for (size_t i = 0; i < old->count && rc == 0; i++)
		if (find_entry(new_tree, old->entries[i].entry.path) == NULL)
			rc = report_file(cb, r, INSPECT_REMOVED, &old->node, &old->entries[i].entry);
	return rc;
}

int inspect_diff(const char *dest_path, int64_t a, int64_t b, const inspect_diff_callbacks *cb,
		 inspect_diff_result *out)
{
	dest *d = NULL;
	catalog_tree_iter *ia = NULL, *ib = NULL;
	tree_list only_a = {0}, only_b = {0};
	memset(out, 0, sizeof *out);
	int rc = open_snapshot(&d, dest_path, a, &out->from);
	if (rc == 0) {
		dest_close(d);
		d = NULL;
		rc = open_snapshot(&d, dest_path, b, &out->to);
	}
	if (rc == 0)
		rc = catalog_tree_iter_open(&ia, dest_catalog(d), out->from);
	if (rc == 0)
		rc = catalog_tree_iter_open(&ib, dest_catalog(d), out->to);
	if (rc == 0)
		rc = split_versions(ia, ib, &only_a, &only_b);
	if (rc == 0) {
		qsort(only_a.items, only_a.count, sizeof *only_a.items, by_node_id);
		qsort(only_b.items, only_b.count, sizeof *only_b.items, by_node_id);
	}
	size_t i = 0, j = 0;
	while (rc == 0 && (i < only_a.count || j < only_b.count)) {
		const catalog_node_tree *x = i < only_a.count ? only_a.items[i] : NULL;
		const catalog_node_tree *y = j < only_b.count ? only_b.items[j] : NULL;
		if (y == NULL || (x != NULL && x->node.node_id < y->node.node_id)) {
			rc = report_whole(cb, out, INSPECT_REMOVED, x);
			i++;
		} else if (x == NULL || y->node.node_id < x->node.node_id) {
			rc = report_whole(cb, out, INSPECT_ADDED, y);
			j++;
		} else {
			rc = report_changed(cb, out, x, y);
			i++;
			j++;
		}
	}
	tree_list_free(&only_a);
	tree_list_free(&only_b);
	catalog_tree_iter_close(ia);
	catalog_tree_iter_close(ib);
	dest_close(d);
	return rc;
}

int inspect_stats(const char *dest_path, inspect_stats_result *out)
{
	dest *d = NULL;
	catalog_pack *packs = NULL;
	size_t pack_count = 0;
	memset(out, 0, sizeof *out);
	int rc = dest_open(&d, dest_path, DEST_READ);
	if (rc == 0)
		rc = catalog_snapshot_list(dest_catalog(d), &out->snapshots, &out->snapshot_count);
	if (rc == 0)
		rc = catalog_object_totals(dest_catalog(d), &out->objects, &out->unique_bytes, &out->stored_bytes);
	if (rc == 0)
		rc = catalog_pack_list(dest_catalog(d), &packs, &pack_count);
	for (size_t i = 0; rc == 0 && i < pack_count; i++)
		out->pack_bytes += (int64_t)packs[i].size;
	out->packs = (int64_t)pack_count;
	for (size_t i = 0; rc == 0 && i < out->snapshot_count; i++) {
		const catalog_snapshot *s = &out->snapshots[i];
		catalog_dump_file *dump = NULL;
		size_t dump_count = 0;
		out->original_bytes += s->bytes;
		if (s->has_database && (rc = catalog_dump_files_of(dest_catalog(d), s->id, &dump, &dump_count)) == 0) {
			for (size_t k = 0; k < dump_count; k++)
				out->original_bytes += (int64_t)dump[k].size;
			catalog_dump_files_free(dump, dump_count);
		}
	}
	if (out->unique_bytes > 0)
		out->dedup_ratio = (double)out->original_bytes / (double)out->unique_bytes;
	if (out->stored_bytes > 0)
		out->compression_ratio = (double)out->unique_bytes / (double)out->stored_bytes;
	free(packs);
	dest_close(d);
	return rc;
}

void inspect_stats_release(inspect_stats_result *r)
{
	catalog_snapshot_list_free(r->snapshots, r->snapshot_count);
	r->snapshots = NULL;
	r->snapshot_count = 0;
}
