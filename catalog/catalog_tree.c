/*
 * catalog_tree.c - reading a snapshot node by node, with where each file's content is.
 *
 * One query streams every (node, entry, object) row of the snapshot in node order; the
 * iterator groups the rows of one node. Memory holds one node at a time.
 */
#include "catalog/catalog_internal.h"

#include "common/error.h"
#include "common/mem.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct catalog_tree_iter {
	catalog *cat;
	sqlite3_stmt *stmt;
	bool has_row; /* stmt points at a row not yet consumed */
	bool done;
};

enum {
	COL_VERSION, COL_NODE_ID, COL_UUID, COL_CTIME, COL_HAS_FOLDER, COL_ROOT_MODE, COL_ROOT_MTIME,
	COL_FILES, COL_BYTES, COL_PATH, COL_TYPE, COL_MODE, COL_MTIME, COL_SIZE, COL_HASH, COL_CHUNKS,
	COL_TARGET, COL_PACK
};

#define TREE_SELECT                                                                                   \
	"SELECT v.id, v.node_id, v.uuid, v.ctime_us, v.has_folder, v.root_mode, v.root_mtime_ns,"     \
	" v.files, v.bytes, e.path, e.type, e.mode, e.mtime_ns, e.size, e.hash, e.chunks,"             \
	" e.target, o.pack_id, o.offset, o.raw_size, o.stored_size, o.codec"                           \
	" FROM node_versions v"                                                                        \
	" LEFT JOIN entries e ON e.version_id = v.id"                                                  \
	" LEFT JOIN objects o ON o.hash = e.hash AND e.chunks IS NULL"

static int iter_open(catalog_tree_iter **out, catalog *cat, const char *sql, int64_t snapshot_id)
{
	catalog_tree_iter *iter = st_calloc(1, sizeof *iter);
	iter->cat = cat;
	int rc = catalog_prepare(cat, &iter->stmt, sql);
	if (rc != 0) {
		free(iter);
		return rc;
	}
	if (snapshot_id >= 0)
		sqlite3_bind_int64(iter->stmt, 1, snapshot_id);
	*out = iter;
	return 0;
}

int catalog_tree_iter_open(catalog_tree_iter **out, catalog *cat, int64_t snapshot_id)
{
	return iter_open(out, cat,
			 TREE_SELECT " WHERE v.added_in <= ?1 AND (v.deleted_in IS NULL OR v.deleted_in > ?1)"
				     " ORDER BY v.id, e.path",
			 snapshot_id);
}

static int iter_open_by_uuid(catalog_tree_iter **out, catalog *cat, int64_t snapshot_id)
{
	/* Versions in uuid order through node_versions_uuid. */
	return iter_open(out, cat,
			 TREE_SELECT " WHERE v.added_in <= ?1 AND (v.deleted_in IS NULL OR v.deleted_in > ?1)"
				     " ORDER BY v.uuid, v.id, e.path",
			 snapshot_id);
}

int catalog_tree_iter_open_prefix(catalog_tree_iter **out, catalog *cat, int64_t snapshot_id, const char *uuid_prefix)
{
	/* The uuids with that prefix are the range [prefix, prefix with its last byte raised) of
	 * node_versions_uuid, so one node of a million costs a few index pages, not a table scan. */
	size_t len = strlen(uuid_prefix);
	bool raisable = len > 0 && (unsigned char)uuid_prefix[len - 1] < 0xff;
	/* Without a last byte to raise: above every uuid (restore checks that they are hex). */
	char *upper = st_strdup(raisable ? uuid_prefix : "\xff\xff\xff\xff");
	if (raisable)
		upper[len - 1] = (char)((unsigned char)upper[len - 1] + 1);
	int rc = iter_open(out, cat,
			   TREE_SELECT " WHERE v.uuid >= ?2 AND v.uuid < ?3 AND substr(v.uuid, 1, length(?2)) = ?2"
				       " AND v.added_in <= ?1 AND (v.deleted_in IS NULL OR v.deleted_in > ?1)"
				       " ORDER BY v.id, e.path",
			   snapshot_id);
	if (rc == 0) {
		sqlite3_bind_text((*out)->stmt, 2, uuid_prefix, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text((*out)->stmt, 3, upper, -1, SQLITE_TRANSIENT);
	}
	free(upper);
	return rc;
}

int catalog_tree_iter_open_all(catalog_tree_iter **out, catalog *cat)
{
	/* A pending snapshot's versions are not part of the destination yet (a killed run's); a
	 * forgotten snapshot's are, as long as a later snapshot may see them. */
	return iter_open(out, cat,
			 TREE_SELECT " JOIN snapshots s ON s.id = v.added_in AND s.state IN ('complete', 'forgotten')"
				     " ORDER BY v.id, e.path",
			 -1);
}

static char *column_strdup(sqlite3_stmt *stmt, int col)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);
	return text ? st_strdup((const char *)text) : NULL;
}

/* Whether the text of col (read with column_strdup) holds a NUL byte, so that the C string is
 * shorter than what the catalog holds: a name that would be restored as another one. */
static bool column_has_nul(sqlite3_stmt *stmt, int col, const char *text)
{
	return text != NULL && (size_t)sqlite3_column_bytes(stmt, col) != strlen(text);
}

static int read_chunks(catalog *cat, catalog_tree_entry *out, sqlite3_stmt *stmt, const char *uuid)
{
	size_t bytes = (size_t)sqlite3_column_bytes(stmt, COL_CHUNKS);
	size_t count = bytes / ST_HASH_SIZE;
	/* An altered catalog may hold any blob here: only whole hashes, at least one, are a list. */
	if (count == 0 || bytes % ST_HASH_SIZE != 0)
		return st_error_set(ST_ERR_CORRUPT, "node %s file '%s': chunk list of %zu bytes is corrupt", uuid,
				    out->entry.path, bytes);
	st_hash *chunks = st_malloc(count * sizeof *chunks);
	memcpy(chunks, sqlite3_column_blob(stmt, COL_CHUNKS), count * sizeof *chunks);
	out->entry.chunks = chunks;
	out->entry.chunk_count = count;
	out->chunk_locations = st_calloc(count, sizeof *out->chunk_locations);
	for (size_t i = 0; i < count; i++) {
		bool found = false;
		int rc = catalog_object_find(cat, &chunks[i], &out->chunk_locations[i], &found);
		if (rc != 0)
			return rc;
		if (!found)
			return st_error_set(ST_ERR_CORRUPT, "node %s file '%s': chunk %zu is not in any pack", uuid,
					    out->entry.path, i);
	}
	return 0;
}

static int read_entry(catalog *cat, catalog_node_tree *tree, sqlite3_stmt *stmt)
{
	tree->entries = st_realloc(tree->entries, (tree->count + 1) * sizeof *tree->entries);
	catalog_tree_entry *out = &tree->entries[tree->count++];
	memset(out, 0, sizeof *out);
	out->entry.path = column_strdup(stmt, COL_PATH);
	out->entry.target = column_strdup(stmt, COL_TARGET);
	out->entry.type = (catalog_entry_type)sqlite3_column_int(stmt, COL_TYPE);
	out->entry.mode = (uint32_t)sqlite3_column_int(stmt, COL_MODE);
	out->entry.mtime_ns = sqlite3_column_int64(stmt, COL_MTIME);
	out->entry.size = (uint64_t)sqlite3_column_int64(stmt, COL_SIZE);
	catalog_column_hash(&out->entry.hash, stmt, COL_HASH);
	if (column_has_nul(stmt, COL_PATH, out->entry.path) || column_has_nul(stmt, COL_TARGET, out->entry.target))
		return st_error_set(ST_ERR_CORRUPT, "node %s entry '%s': a NUL byte in its name or target", tree->node.uuid,
				    out->entry.path);
	if (out->entry.type != CATALOG_ENTRY_FILE)
		return 0;
	if (sqlite3_column_type(stmt, COL_CHUNKS) != SQLITE_NULL)
		return read_chunks(cat, out, stmt, tree->node.uuid);
	if (sqlite3_column_type(stmt, COL_PACK) == SQLITE_NULL)
		return st_error_set(ST_ERR_CORRUPT, "node %s file '%s': content is not in any pack", tree->node.uuid,
				    out->entry.path);
	catalog_column_location(&out->location, stmt, COL_PACK);
	out->has_location = true;
	return 0;
}

static void read_node(catalog_node *out, sqlite3_stmt *stmt)
{
	out->node_id = sqlite3_column_int64(stmt, COL_NODE_ID);
	out->uuid = column_strdup(stmt, COL_UUID);
	out->ctime_us = sqlite3_column_int64(stmt, COL_CTIME);
	out->has_folder = sqlite3_column_int(stmt, COL_HAS_FOLDER) != 0;
	out->root_mode = (uint32_t)sqlite3_column_int(stmt, COL_ROOT_MODE);
	out->root_mtime_ns = sqlite3_column_int64(stmt, COL_ROOT_MTIME);
	out->files = (uint64_t)sqlite3_column_int64(stmt, COL_FILES);
	out->bytes = (uint64_t)sqlite3_column_int64(stmt, COL_BYTES);
}

static int step(catalog_tree_iter *iter)
{
	int rc = sqlite3_step(iter->stmt);
	iter->has_row = rc == SQLITE_ROW;
	if (rc == SQLITE_DONE)
		iter->done = true;
	else if (rc != SQLITE_ROW)
		return catalog_sql_error(iter->cat, "read a snapshot");
	return 0;
}

int catalog_tree_iter_next(catalog_tree_iter *iter, catalog_node_tree **out)
{
	*out = NULL;
	int rc = 0;
	if (!iter->has_row && !iter->done && (rc = step(iter)) != 0)
		return rc;
	if (iter->done)
		return 0;
	catalog_node_tree *tree = st_calloc(1, sizeof *tree);
	int64_t version = sqlite3_column_int64(iter->stmt, COL_VERSION);
	tree->version_id = version;
	read_node(&tree->node, iter->stmt);
	while (rc == 0 && iter->has_row && sqlite3_column_int64(iter->stmt, COL_VERSION) == version) {
		if (sqlite3_column_type(iter->stmt, COL_PATH) != SQLITE_NULL)
			rc = read_entry(iter->cat, tree, iter->stmt);
		if (rc == 0)
			rc = step(iter);
	}
	if (rc != 0) {
		catalog_node_tree_free(tree);
		return rc;
	}
	*out = tree;
	return 0;
}

void catalog_tree_iter_close(catalog_tree_iter *iter)
{
	if (iter == NULL)
		return;
	sqlite3_finalize(iter->stmt);
	free(iter);
}

static void entry_release(catalog_tree_entry *e)
{
	free((char *)e->entry.path);
	free((char *)e->entry.target);
	free((st_hash *)e->entry.chunks);
	free(e->chunk_locations);
}

void catalog_node_tree_keep(catalog_node_tree *tree, const bool *keep)
{
	size_t kept = 0;
	for (size_t i = 0; i < tree->count; i++) {
		if (keep[i])
			tree->entries[kept++] = tree->entries[i];
		else
			entry_release(&tree->entries[i]);
	}
	tree->count = kept;
}

void catalog_node_tree_free(catalog_node_tree *tree)
{
	if (tree == NULL)
		return;
	for (size_t i = 0; i < tree->count; i++)
		entry_release(&tree->entries[i]);
	free(tree->entries);
	free((char *)tree->node.uuid);
	free(tree);
}

int catalog_tree_each(catalog *cat, int64_t snapshot_id, catalog_tree_order order,
		      int (*fn)(void *ctx, catalog_node_tree *tree), void *ctx)
{
	catalog_tree_iter *iter = NULL;
	catalog_node_tree *tree = NULL;
	int rc = order == CATALOG_TREE_BY_UUID ? iter_open_by_uuid(&iter, cat, snapshot_id)
					       : catalog_tree_iter_open(&iter, cat, snapshot_id);
	while (rc == 0 && (rc = catalog_tree_iter_next(iter, &tree)) == 0 && tree != NULL) {
		rc = fn(ctx, tree);
		catalog_node_tree_free(tree);
	}
	catalog_tree_iter_close(iter);
	return rc;
}
