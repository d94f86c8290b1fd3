/*
 * catalog_folder.c - the mode and mtime of the folders above the node folders (see catalog.h).
 *
 * A backup records only the folders it touched, so a folder's state at a snapshot is its newest
 * record at or before it: one row per folder and change, never one per folder and snapshot.
 */
#include "catalog/catalog_internal.h"

#include "common/error.h"
#include "common/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int catalog_folder_add(catalog *cat, int64_t snapshot_id, const catalog_folder *folders, size_t count)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt,
				 "INSERT OR REPLACE INTO folder_meta(snapshot_id, path, mode, mtime_ns) VALUES (?, ?, ?, ?)");
	for (size_t i = 0; i < count && rc == 0; i++) {
		sqlite3_bind_int64(stmt, 1, snapshot_id);
		sqlite3_bind_text(stmt, 2, folders[i].path, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 3, folders[i].mode);
		sqlite3_bind_int64(stmt, 4, folders[i].mtime_ns);
		rc = catalog_step_done(cat, stmt, "record a folder");
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* One row of folder_meta into out; the path is untrusted (ST_ERR_CORRUPT when it cannot be one). */
static int read_folder(catalog_folder *out, sqlite3_stmt *stmt)
{
	const char *path = (const char *)sqlite3_column_text(stmt, 0);
	int bytes = sqlite3_column_bytes(stmt, 0);
	sqlite3_int64 mode = sqlite3_column_int64(stmt, 1);
	if (path == NULL || bytes <= 0 || bytes >= CATALOG_FOLDER_PATH_MAX || strlen(path) != (size_t)bytes)
		return st_error_set(ST_ERR_CORRUPT, "catalog holds a malformed folder path of %d bytes", bytes);
	if (mode < 0 || mode > UINT32_MAX)
		return st_error_set(ST_ERR_CORRUPT, "catalog holds folder '%s' with mode %lld", path, (long long)mode);
	memcpy(out->path, path, (size_t)bytes + 1);
	out->mode = (uint32_t)mode;
	out->mtime_ns = sqlite3_column_int64(stmt, 2);
	return 0;
}

int catalog_folder_as_of(catalog *cat, int64_t snapshot_id, catalog_folder **out, size_t *out_count)
{
	sqlite3_stmt *stmt = NULL;
	catalog_folder *folders = NULL;
	size_t count = 0, cap = 0;
	*out = NULL;
	*out_count = 0;
	/* SQLite takes the bare columns of an aggregate query from the row that holds the max(). */
	int rc = catalog_prepare(cat, &stmt,
				 "SELECT path, mode, mtime_ns, max(snapshot_id) FROM folder_meta WHERE snapshot_id <= ?"
				 " AND snapshot_id IN (SELECT id FROM snapshots WHERE state IN ('complete', 'forgotten'))"
				 " GROUP BY path ORDER BY length(path) DESC, path");
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, snapshot_id);
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? cap * 2 : 64;
			folders = st_realloc(folders, cap * sizeof *folders);
		}
		if ((rc = read_folder(&folders[count], stmt)) != 0)
			break;
		count++;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = catalog_sql_error(cat, "list folders");
	sqlite3_finalize(stmt);
	if (rc != 0) {
		free(folders);
		return rc;
	}
	*out = folders;
	*out_count = count;
	return 0;
}

int catalog_folder_each(catalog *cat, int (*fn)(void *ctx, const catalog_folder *folder), void *ctx)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt,
				 "SELECT path, mode, mtime_ns FROM folder_meta WHERE snapshot_id IN"
				 " (SELECT id FROM snapshots WHERE state IN ('complete', 'forgotten')) ORDER BY path, snapshot_id");
	if (rc != 0)
		return rc;
	int step;
	catalog_folder folder;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		if ((rc = read_folder(&folder, stmt)) != 0 || (rc = fn(ctx, &folder)) != 0)
			break;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = catalog_sql_error(cat, "list folders");
	sqlite3_finalize(stmt);
	return rc;
}
