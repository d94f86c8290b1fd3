/*
 * catalog_snapshot.c - snapshot rows: pending, complete, listing, and discarding a killed run.
 */
#include "catalog/catalog_internal.h"

#include "common/error.h"
#include "common/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOT_COLUMNS                                                                        \
	"id, time_us, coalesce(finished_us, 0), coalesce(db_time_us, 0), watermark, nodes, files," \
	" bytes, new_nodes, deleted_nodes, new_bytes, stored_bytes, has_files, has_database, source, db_info, profile, container, data_version"

static void read_snapshot(catalog_snapshot *out, sqlite3_stmt *stmt)
{
	memset(out, 0, sizeof *out);
	out->id = sqlite3_column_int64(stmt, 0);
	out->time_us = sqlite3_column_int64(stmt, 1);
	out->finished_us = sqlite3_column_int64(stmt, 2);
	out->db_time_us = sqlite3_column_int64(stmt, 3);
	out->watermark = sqlite3_column_int64(stmt, 4);
	out->nodes = sqlite3_column_int64(stmt, 5);
	out->files = sqlite3_column_int64(stmt, 6);
	out->bytes = sqlite3_column_int64(stmt, 7);
	out->new_nodes = sqlite3_column_int64(stmt, 8);
	out->deleted_nodes = sqlite3_column_int64(stmt, 9);
	out->new_bytes = sqlite3_column_int64(stmt, 10);
	out->stored_bytes = sqlite3_column_int64(stmt, 11);
	out->has_files = sqlite3_column_int(stmt, 12) != 0;
	out->has_database = sqlite3_column_int(stmt, 13) != 0;
	snprintf(out->source, sizeof out->source, "%s", (const char *)sqlite3_column_text(stmt, 14));
	const unsigned char *db_info = sqlite3_column_text(stmt, 15);
	out->db_info = db_info ? st_strdup((const char *)db_info) : NULL;
	const unsigned char *profile = sqlite3_column_text(stmt, 16);
	out->profile = profile ? st_strdup((const char *)profile) : NULL;
	const unsigned char *container = sqlite3_column_text(stmt, 17);
	out->container = container ? st_strdup((const char *)container) : NULL;
	const unsigned char *data_version = sqlite3_column_text(stmt, 18);
	out->data_version = data_version ? st_strdup((const char *)data_version) : NULL;
}

void catalog_snapshot_release(catalog_snapshot *snap)
{
	free(snap->db_info);
	snap->db_info = NULL;
	free(snap->profile);
	snap->profile = NULL;
	free(snap->container);
	snap->container = NULL;
	free(snap->data_version);
	snap->data_version = NULL;
}

void catalog_snapshot_list_free(catalog_snapshot *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		catalog_snapshot_release(&list[i]);
	free(list);
}

int catalog_discard_pending(catalog *cat, int *out_count)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_begin(cat);
	if (rc == 0)
		rc = catalog_prepare(cat, &stmt, "SELECT count(*) FROM snapshots WHERE state = 'pending'");
	if (rc == 0 && sqlite3_step(stmt) != SQLITE_ROW)
		rc = catalog_sql_error(cat, "find pending snapshots");
	if (rc == 0)
		*out_count = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc == 0)
		rc = catalog_object_publish(cat);
	if (rc == 0 && *out_count > 0)
		rc = catalog_exec(cat,
				  "DELETE FROM entries WHERE version_id IN (SELECT v.id FROM node_versions v"
				  " JOIN snapshots s ON s.id = v.added_in WHERE s.state = 'pending');"
				  "DELETE FROM dump_files WHERE snapshot_id IN (SELECT id FROM snapshots WHERE state = 'pending');"
				  "DELETE FROM node_versions WHERE added_in IN (SELECT id FROM snapshots WHERE state = 'pending');"
				  "UPDATE node_versions SET deleted_in = NULL WHERE deleted_in IN"
				  " (SELECT id FROM snapshots WHERE state = 'pending');"
				  "DELETE FROM snapshots WHERE state = 'pending';");
	if (rc == 0)
		rc = catalog_commit(cat);
	if (rc != 0)
		catalog_rollback(cat);
	return rc;
}

int catalog_snapshot_create(catalog *cat, const catalog_snapshot *snap, int64_t *out_id)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt,
				 "INSERT INTO snapshots(state, time_us, db_time_us, watermark, has_files,"
				 " has_database, source, profile, container) VALUES ('pending', ?, ?, ?, ?, ?, ?, ?, ?)");
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, snap->time_us);
	sqlite3_bind_int64(stmt, 2, snap->db_time_us);
	sqlite3_bind_int64(stmt, 3, snap->watermark);
	sqlite3_bind_int(stmt, 4, snap->has_files);
	sqlite3_bind_int(stmt, 5, snap->has_database);
	sqlite3_bind_text(stmt, 6, snap->source, -1, SQLITE_STATIC);
	if (snap->profile != NULL)
		sqlite3_bind_text(stmt, 7, snap->profile, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 7);
	if (snap->container != NULL)
		sqlite3_bind_text(stmt, 8, snap->container, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 8);
	rc = catalog_step_done(cat, stmt, "create a snapshot");
	sqlite3_finalize(stmt);
	if (rc == 0)
		*out_id = sqlite3_last_insert_rowid(cat->db);
	return rc;
}

int catalog_snapshot_complete(catalog *cat, const catalog_snapshot *snap)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt,
				 "UPDATE snapshots SET state = 'complete', finished_us = ?, nodes = ?, files = ?,"
				 " bytes = ?, new_nodes = ?, deleted_nodes = ?, new_bytes = ?, stored_bytes = ?,"
				 " watermark = ?, has_files = ?, has_database = ?, db_info = ?, data_version = ?"
				 " WHERE id = ? AND state = 'pending'");
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, snap->finished_us);
	sqlite3_bind_int64(stmt, 2, snap->nodes);
	sqlite3_bind_int64(stmt, 3, snap->files);
	sqlite3_bind_int64(stmt, 4, snap->bytes);
	sqlite3_bind_int64(stmt, 5, snap->new_nodes);
	sqlite3_bind_int64(stmt, 6, snap->deleted_nodes);
	sqlite3_bind_int64(stmt, 7, snap->new_bytes);
	sqlite3_bind_int64(stmt, 8, snap->stored_bytes);
	sqlite3_bind_int64(stmt, 9, snap->watermark);
	sqlite3_bind_int(stmt, 10, snap->has_files);
	sqlite3_bind_int(stmt, 11, snap->has_database);
	if (snap->db_info != NULL)
		sqlite3_bind_text(stmt, 12, snap->db_info, -1, SQLITE_STATIC);
	if (snap->data_version != NULL)
		sqlite3_bind_text(stmt, 13, snap->data_version, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 14, snap->id);
	rc = catalog_step_done(cat, stmt, "complete a snapshot");
	if (rc == 0 && sqlite3_changes(cat->db) != 1)
		rc = st_error_set(ST_ERR_GENERIC, "snapshot %lld is no longer pending", (long long)snap->id);
	sqlite3_finalize(stmt);
	return rc;
}

/* Runs a snapshot query; *out_found says whether a row came back. */
static int query_one(catalog *cat, const char *sql, int64_t id, catalog_snapshot *out, bool *out_found)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, sql);
	if (rc != 0)
		return rc;
	if (id >= 0)
		sqlite3_bind_int64(stmt, 1, id);
	int step = sqlite3_step(stmt);
	*out_found = step == SQLITE_ROW;
	if (step == SQLITE_ROW)
		read_snapshot(out, stmt);
	else if (step != SQLITE_DONE)
		rc = catalog_sql_error(cat, "read snapshots");
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_snapshot_latest(catalog *cat, catalog_snapshot *out, bool *out_found)
{
	return query_one(cat, "SELECT " SNAPSHOT_COLUMNS " FROM snapshots WHERE state = 'complete'"
			      " ORDER BY id DESC LIMIT 1", -1, out, out_found);
}

int catalog_snapshot_latest_with_files(catalog *cat, catalog_snapshot *out, bool *out_found)
{
	/* Forgotten snapshots count: the catalog's current node versions are what the newest
	 * published snapshot saw, forgotten or not. */
	return query_one(cat, "SELECT " SNAPSHOT_COLUMNS " FROM snapshots WHERE state IN ('complete', 'forgotten')"
			      " AND has_files"
			      " ORDER BY id DESC LIMIT 1", -1, out, out_found);
}

int catalog_snapshot_latest_with_database(catalog *cat, catalog_snapshot *out, bool *out_found)
{
	return query_one(cat, "SELECT " SNAPSHOT_COLUMNS " FROM snapshots WHERE state = 'complete' AND has_database"
			      " ORDER BY id DESC LIMIT 1", -1, out, out_found);
}

int catalog_snapshot_get(catalog *cat, int64_t id, catalog_snapshot *out)
{
	bool found = false;
	int rc = query_one(cat, "SELECT " SNAPSHOT_COLUMNS " FROM snapshots WHERE state = 'complete' AND id = ?",
			   id, out, &found);
	if (rc == 0 && !found)
		rc = st_error_set(ST_ERR_NOTFOUND, "snapshot '%lld' not found", (long long)id);
	return rc;
}

int catalog_snapshot_list(catalog *cat, catalog_snapshot **out, size_t *out_count)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, "SELECT " SNAPSHOT_COLUMNS " FROM snapshots WHERE state = 'complete' ORDER BY id");
	if (rc != 0)
		return rc;
	catalog_snapshot *list = NULL;
	size_t count = 0;
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		list = st_realloc(list, (count + 1) * sizeof *list);
		read_snapshot(&list[count++], stmt);
	}
	if (step != SQLITE_DONE) {
		rc = catalog_sql_error(cat, "list snapshots");
		catalog_snapshot_list_free(list, count);
		list = NULL;
		count = 0;
	}
	sqlite3_finalize(stmt);
	*out = list;
	*out_count = count;
	return rc;
}

int catalog_snapshot_forget(catalog *cat, const int64_t *ids, size_t count)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_begin(cat);
	if (rc == 0)
		rc = catalog_prepare(cat, &stmt, "UPDATE snapshots SET state = 'forgotten' WHERE id = ? AND state = 'complete'");
	for (size_t i = 0; i < count && rc == 0; i++) {
		sqlite3_reset(stmt);
		sqlite3_bind_int64(stmt, 1, ids[i]);
		rc = catalog_step_done(cat, stmt, "forget a snapshot");
		if (rc == 0 && sqlite3_changes(cat->db) != 1)
			rc = st_error_set(ST_ERR_NOTFOUND, "snapshot '%lld' not found", (long long)ids[i]);
	}
	sqlite3_finalize(stmt);
	if (rc == 0)
		rc = catalog_commit(cat);
	if (rc != 0)
		catalog_rollback(cat);
	return rc;
}
