/*
 * catalog_node.c - node versions and their entries.
 */
#include "catalog/catalog_internal.h"

#include "common/error.h"
#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

int catalog_node_is_current(catalog *cat, int64_t node_id, bool *out)
{
	int rc = catalog_prepare_cached(cat, &cat->node_is_current,
					"SELECT 1 FROM node_versions WHERE node_id = ? AND deleted_in IS NULL");
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(cat->node_is_current, 1, node_id);
	int step = sqlite3_step(cat->node_is_current);
	*out = step == SQLITE_ROW;
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = catalog_sql_error(cat, "look up a node");
	sqlite3_reset(cat->node_is_current);
	return rc;
}

int catalog_node_current_state(catalog *cat, int64_t node_id, catalog_node_state *out)
{
	memset(out, 0, sizeof *out);
	int rc = catalog_prepare_cached(cat, &cat->node_current_state,
					"SELECT coalesce(mtime_us, 0), tree_digest FROM node_versions"
					" WHERE node_id = ? AND deleted_in IS NULL");
	if (rc != 0)
		return rc;
	sqlite3_stmt *stmt = cat->node_current_state;
	sqlite3_bind_int64(stmt, 1, node_id);
	int step = sqlite3_step(stmt);
	if (step == SQLITE_ROW) {
		out->current = true;
		out->mtime_us = sqlite3_column_int64(stmt, 0);
		/* A digest of another size is not one this version wrote: no digest to compare. */
		out->has_digest = sqlite3_column_bytes(stmt, 1) == ST_HASH_SIZE;
		if (out->has_digest)
			catalog_column_hash(&out->tree_digest, stmt, 1);
	} else if (step != SQLITE_DONE) {
		rc = catalog_sql_error(cat, "look up a node");
	}
	sqlite3_reset(stmt);
	return rc;
}

static int insert_entry(catalog *cat, int64_t version_id, const catalog_entry *entry)
{
	int rc = catalog_prepare_cached(cat, &cat->entry_insert,
					"INSERT INTO entries(version_id, path, type, mode, mtime_ns, size, hash, chunks,"
					" target) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (rc != 0)
		return rc;
	sqlite3_stmt *stmt = cat->entry_insert;
	sqlite3_bind_int64(stmt, 1, version_id);
	sqlite3_bind_text(stmt, 2, entry->path, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, (int)entry->type);
	sqlite3_bind_int(stmt, 4, (int)entry->mode);
	sqlite3_bind_int64(stmt, 5, entry->mtime_ns);
	sqlite3_bind_int64(stmt, 6, (sqlite3_int64)entry->size);
	if (entry->type == CATALOG_ENTRY_FILE)
		catalog_bind_hash(stmt, 7, &entry->hash);
	if (entry->chunk_count > 0)
		sqlite3_bind_blob(stmt, 8, entry->chunks, (int)(entry->chunk_count * sizeof *entry->chunks),
				  SQLITE_STATIC);
	if (entry->target != NULL)
		sqlite3_bind_text(stmt, 9, entry->target, -1, SQLITE_STATIC);
	return catalog_step_done(cat, stmt, "add an entry");
}

int catalog_node_add(catalog *cat, int64_t snapshot_id, const catalog_node *node,
		     const catalog_entry *entries, size_t count)
{
	int rc = catalog_prepare_cached(cat, &cat->node_insert,
					"INSERT INTO node_versions(node_id, uuid, ctime_us, added_in, has_folder,"
					" root_mode, root_mtime_ns, files, bytes, mtime_us, tree_digest)"
					" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (rc != 0)
		return rc;
	sqlite3_stmt *stmt = cat->node_insert;
	sqlite3_bind_int64(stmt, 1, node->node_id);
	sqlite3_bind_text(stmt, 2, node->uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, node->ctime_us);
	sqlite3_bind_int64(stmt, 4, snapshot_id);
	sqlite3_bind_int(stmt, 5, node->has_folder);
	sqlite3_bind_int(stmt, 6, (int)node->root_mode);
	sqlite3_bind_int64(stmt, 7, node->root_mtime_ns);
	sqlite3_bind_int64(stmt, 8, (sqlite3_int64)node->files);
	sqlite3_bind_int64(stmt, 9, (sqlite3_int64)node->bytes);
	if (node->mtime_us != 0)
		sqlite3_bind_int64(stmt, 10, node->mtime_us);
	else
		sqlite3_bind_null(stmt, 10);
	if (node->tree_digest != NULL)
		catalog_bind_hash(stmt, 11, node->tree_digest);
	else
		sqlite3_bind_null(stmt, 11);
	if ((rc = catalog_step_done(cat, stmt, "add a node")) != 0)
		return rc;
	int64_t version_id = sqlite3_last_insert_rowid(cat->db);
	for (size_t i = 0; i < count && rc == 0; i++)
		rc = insert_entry(cat, version_id, &entries[i]);
	return rc;
}

int catalog_node_id_sums(catalog *cat, int64_t lo, int64_t hi, int64_t width, st_id_sums *out, size_t bucket_count)
{
	memset(out, 0, bucket_count * sizeof *out);
	sqlite3_stmt *stmt = NULL;
	/* The partial index on current versions covers the query: one pass over the range's ids. */
	int rc = catalog_prepare(cat, &stmt,
				 "SELECT node_id FROM node_versions WHERE deleted_in IS NULL AND node_id BETWEEN ? AND ?"
				 " ORDER BY node_id");
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, lo);
	sqlite3_bind_int64(stmt, 2, hi);
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(stmt, 0);
		uint64_t bucket = (uint64_t)(id - lo) / (uint64_t)width;
		if (bucket < bucket_count)
			st_id_sums_add(&out[bucket], id);
	}
	if (step != SQLITE_DONE)
		rc = catalog_sql_error(cat, "compare node ids");
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_node_current_ids(catalog *cat, int64_t lo, int64_t hi, int64_t **out, size_t *out_count)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt,
				 "SELECT node_id FROM node_versions WHERE deleted_in IS NULL AND node_id BETWEEN ? AND ?"
				 " ORDER BY node_id");
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, lo);
	sqlite3_bind_int64(stmt, 2, hi);
	int64_t *ids = NULL;
	size_t count = 0, cap = 0;
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? cap * 2 : 1024;
			ids = st_realloc(ids, cap * sizeof *ids);
		}
		ids[count++] = sqlite3_column_int64(stmt, 0);
	}
	if (step != SQLITE_DONE) {
		rc = catalog_sql_error(cat, "list nodes");
		free(ids);
		ids = NULL;
		count = 0;
	}
	sqlite3_finalize(stmt);
	*out = ids;
	*out_count = count;
	return rc;
}

int catalog_node_min_current(catalog *cat, int64_t *out)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, "SELECT coalesce(min(node_id), 0) FROM node_versions WHERE deleted_in IS NULL");
	if (rc != 0)
		return rc;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	else
		rc = catalog_sql_error(cat, "look up the lowest node id");
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_node_current_folderless(catalog *cat, int64_t max_id, catalog_folderless_node **out,
				    size_t *out_count)
{
	sqlite3_stmt *stmt = NULL;
	catalog_folderless_node *nodes = NULL;
	size_t count = 0, cap = 0;
	int rc = catalog_prepare(cat, &stmt,
				 "SELECT node_id, uuid FROM node_versions WHERE deleted_in IS NULL AND has_folder = 0"
				 " AND node_id <= ? ORDER BY node_id");
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, max_id);
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *uuid = (const char *)sqlite3_column_text(stmt, 1);
		if (uuid == NULL || strlen(uuid) != CATALOG_UUID_LEN) {
			rc = st_error_set(ST_ERR_CORRUPT, "catalog holds node %lld with a malformed uuid",
					  (long long)sqlite3_column_int64(stmt, 0));
			break;
		}
		if (count == cap) {
			cap = cap ? cap * 2 : 256;
			nodes = st_realloc(nodes, cap * sizeof *nodes);
		}
		nodes[count].node_id = sqlite3_column_int64(stmt, 0);
		memcpy(nodes[count].uuid, uuid, CATALOG_UUID_LEN + 1);
		count++;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = catalog_sql_error(cat, "list nodes without a folder");
	sqlite3_finalize(stmt);
	if (rc != 0) {
		free(nodes);
		nodes = NULL;
		count = 0;
	}
	*out = nodes;
	*out_count = count;
	return rc;
}

/* Ends the current versions of ids in snapshot_id - only those older snapshots added, with
 * older_only - adding up the files and bytes they held. */
static int end_versions(catalog *cat, int64_t snapshot_id, const int64_t *ids, size_t count, bool older_only,
			int64_t *out_files, int64_t *out_bytes)
{
	sqlite3_stmt *sum = NULL, *mark = NULL;
	int rc = catalog_prepare(cat, &sum,
				 "SELECT coalesce(sum(files), 0), coalesce(sum(bytes), 0) FROM node_versions"
				 " WHERE node_id = ?2 AND deleted_in IS NULL AND (?3 = 0 OR added_in < ?1)");
	if (rc == 0)
		rc = catalog_prepare(cat, &mark,
				     "UPDATE node_versions SET deleted_in = ?1 WHERE node_id = ?2 AND deleted_in IS NULL"
				     " AND (?3 = 0 OR added_in < ?1)");
	*out_files = 0;
	*out_bytes = 0;
	for (size_t i = 0; i < count && rc == 0; i++) {
		sqlite3_stmt *both[2] = {sum, mark};
		for (int s = 0; s < 2; s++) {
			sqlite3_bind_int64(both[s], 1, snapshot_id);
			sqlite3_bind_int64(both[s], 2, ids[i]);
			sqlite3_bind_int(both[s], 3, older_only);
		}
		if (sqlite3_step(sum) != SQLITE_ROW) {
			rc = catalog_sql_error(cat, "end a node version");
			break;
		}
		*out_files += sqlite3_column_int64(sum, 0);
		*out_bytes += sqlite3_column_int64(sum, 1);
		sqlite3_reset(sum);
		rc = catalog_step_done(cat, mark, older_only ? "replace a node version" : "mark a node deleted");
	}
	sqlite3_finalize(sum);
	sqlite3_finalize(mark);
	return rc;
}

int catalog_node_supersede(catalog *cat, int64_t snapshot_id, const int64_t *ids, size_t count,
			   int64_t *out_files, int64_t *out_bytes)
{
	return end_versions(cat, snapshot_id, ids, count, true, out_files, out_bytes);
}

int catalog_node_mark_deleted(catalog *cat, int64_t snapshot_id, const int64_t *ids, size_t count,
			      int64_t *out_files, int64_t *out_bytes)
{
	return end_versions(cat, snapshot_id, ids, count, false, out_files, out_bytes);
}

int catalog_node_current_uuid(catalog *cat, int64_t node_id, char out[CATALOG_UUID_LEN + 1], bool *out_found)
{
	sqlite3_stmt *stmt = NULL;
	*out_found = false;
	out[0] = '\0';
	int rc = catalog_prepare(cat, &stmt, "SELECT uuid FROM node_versions WHERE node_id = ? AND deleted_in IS NULL");
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, node_id);
	int step = sqlite3_step(stmt);
	if (step == SQLITE_ROW) {
		const char *uuid = (const char *)sqlite3_column_text(stmt, 0);
		if (uuid == NULL || strlen(uuid) != CATALOG_UUID_LEN) {
			rc = st_error_set(ST_ERR_CORRUPT, "catalog holds node %lld with a malformed uuid", (long long)node_id);
		} else {
			memcpy(out, uuid, CATALOG_UUID_LEN + 1);
			*out_found = true;
		}
	} else if (step != SQLITE_DONE) {
		rc = catalog_sql_error(cat, "look up a node");
	}
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_node_end_current(catalog *cat, int64_t snapshot_id, int64_t *out_count)
{
	sqlite3_stmt *stmt = NULL;
	*out_count = 0;
	int rc = catalog_prepare(cat, &stmt,
				 "UPDATE node_versions SET deleted_in = ?1 WHERE deleted_in IS NULL AND added_in < ?1");
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, snapshot_id);
	rc = catalog_step_done(cat, stmt, "end the current node versions");
	if (rc == 0)
		*out_count = sqlite3_changes(cat->db);
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_node_each(catalog *cat, int64_t snapshot_id, int (*fn)(void *ctx, const catalog_node *node), void *ctx)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt,
				 "SELECT node_id, uuid, coalesce(ctime_us, 0), has_folder FROM node_versions"
				 " WHERE added_in <= ?1 AND (deleted_in IS NULL OR deleted_in > ?1) ORDER BY uuid, node_id");
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, snapshot_id);
	int step = SQLITE_DONE;
	while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
		catalog_node node = {
			.node_id = sqlite3_column_int64(stmt, 0),
			.uuid = (const char *)sqlite3_column_text(stmt, 1),
			.ctime_us = sqlite3_column_int64(stmt, 2),
			.has_folder = sqlite3_column_int(stmt, 3) != 0,
		};
		if (node.uuid == NULL || strlen(node.uuid) != CATALOG_UUID_LEN)
			rc = st_error_set(ST_ERR_CORRUPT, "catalog holds node %lld with a malformed uuid",
					  (long long)node.node_id);
		else
			rc = fn(ctx, &node);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = catalog_sql_error(cat, "list the nodes of a snapshot");
	sqlite3_finalize(stmt);
	return rc;
}
