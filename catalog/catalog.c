/*
 * catalog.c - opening, format checks, transactions and metadata of the catalog.
 */
#include "catalog/catalog_internal.h"

#include "common/error.h"
#include "common/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int catalog_sql_error(catalog *cat, const char *what)
{
	int code = sqlite3_extended_errcode(cat->db) & 0xff;
	const char *message = sqlite3_errmsg(cat->db);
	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
		return st_error_set(ST_ERR_CORRUPT, "catalog '%s' is corrupt: %s", cat->path, message);
	if (code == SQLITE_FULL)
		return st_error_set(ST_ERR_NOSPACE, "unable to %s in catalog '%s': %s", what, cat->path, message);
	if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		return st_error_set(ST_ERR_LOCKED, "unable to %s in catalog '%s': %s", what, cat->path, message);
	return st_error_set(ST_ERR_DEST, "unable to %s in catalog '%s': %s", what, cat->path, message);
}

int catalog_prepare(catalog *cat, sqlite3_stmt **out, const char *sql)
{
	if (sqlite3_prepare_v2(cat->db, sql, -1, out, NULL) != SQLITE_OK)
		return catalog_sql_error(cat, "prepare a query");
	return 0;
}

int catalog_prepare_cached(catalog *cat, sqlite3_stmt **stmt, const char *sql)
{
	if (*stmt == NULL)
		return catalog_prepare(cat, stmt, sql);
	sqlite3_reset(*stmt);
	sqlite3_clear_bindings(*stmt);
	return 0;
}

int catalog_exec(catalog *cat, const char *sql)
{
	if (sqlite3_exec(cat->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return catalog_sql_error(cat, "update");
	return 0;
}

int catalog_step_done(catalog *cat, sqlite3_stmt *stmt, const char *what)
{
	int rc = sqlite3_step(stmt);
	int result = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : catalog_sql_error(cat, what);
	sqlite3_reset(stmt);
	return result;
}

void catalog_bind_hash(sqlite3_stmt *stmt, int index, const st_hash *hash)
{
	sqlite3_bind_blob(stmt, index, hash->bytes, ST_HASH_SIZE, SQLITE_STATIC);
}

void catalog_column_hash(st_hash *out, sqlite3_stmt *stmt, int index)
{
	const void *blob = sqlite3_column_blob(stmt, index);
	if (blob != NULL && sqlite3_column_bytes(stmt, index) == ST_HASH_SIZE)
		memcpy(out->bytes, blob, ST_HASH_SIZE);
	else
		memset(out->bytes, 0, ST_HASH_SIZE);
}

void catalog_column_location(pack_location *out, sqlite3_stmt *stmt, int first)
{
	out->pack_id = sqlite3_column_int64(stmt, first);
	out->offset = (uint64_t)sqlite3_column_int64(stmt, first + 1);
	out->raw_size = (uint64_t)sqlite3_column_int64(stmt, first + 2);
	out->stored_size = (uint64_t)sqlite3_column_int64(stmt, first + 3);
	out->codec = sqlite3_column_int(stmt, first + 4);
}

static int read_format(catalog *cat, int *out)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, "PRAGMA user_version");
	if (rc != 0)
		return rc;
	if (sqlite3_step(stmt) != SQLITE_ROW)
		rc = catalog_sql_error(cat, "read the format");
	else
		*out = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return rc;
}

/* Keeps a copy of the catalog before a migration changes it. */
static int keep_copy(catalog *cat, int version)
{
	char *copy = st_sprintf("%s.v%d.bak", cat->path, version);
	char *sql = sqlite3_mprintf("VACUUM INTO %Q", copy);
	unlink(copy);
	int rc = catalog_exec(cat, sql);
	sqlite3_free(sql);
	free(copy);
	return rc;
}

static int check_format(catalog *cat, catalog_mode mode)
{
	int version = 0;
	int rc = read_format(cat, &version);
	if (rc != 0)
		return rc;
	if (mode == CATALOG_CREATE)
		return catalog_migrate(cat, 0);
	if (version == 0)
		return st_error_set(ST_ERR_DEST, "catalog '%s' is not a strata catalog", cat->path);
	if (version > CATALOG_FORMAT)
		return st_error_set(ST_ERR_DEST, "catalog '%s' has format %d, newer than this strata supports (%d): upgrade strata",
				    cat->path, version, CATALOG_FORMAT);
	if (version < CATALOG_FORMAT) {
		if ((rc = keep_copy(cat, version)) != 0)
			return rc;
		return catalog_migrate(cat, version);
	}
	return 0;
}

int catalog_open(catalog **out, const char *path, catalog_mode mode)
{
	struct stat st;
	bool exists = stat(path, &st) == 0;
	if (mode == CATALOG_CREATE && exists)
		return st_error_set(ST_ERR_DEST, "unable to create catalog '%s': file exists", path);
	if (mode != CATALOG_CREATE && !exists)
		return st_error_set(ST_ERR_DEST, "catalog '%s' is missing", path);

	catalog *cat = st_calloc(1, sizeof *cat);
	cat->path = st_strdup(path);
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (mode == CATALOG_CREATE ? SQLITE_OPEN_CREATE : 0);
	int rc = 0;
	if (sqlite3_open_v2(path, &cat->db, flags, NULL) != SQLITE_OK) {
		rc = catalog_sql_error(cat, "open");
		goto cleanup;
	}
	sqlite3_busy_timeout(cat->db, 30000);
	rc = catalog_exec(cat, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			       " PRAGMA cache_size = -16384");
	if (rc == 0)
		rc = check_format(cat, mode);
cleanup:
	if (rc != 0) {
		catalog_close(cat);
		return rc;
	}
	*out = cat;
	return 0;
}

void catalog_close(catalog *cat)
{
	if (cat == NULL)
		return;
	sqlite3_finalize(cat->node_is_current);
	sqlite3_finalize(cat->node_current_state);
	sqlite3_finalize(cat->node_insert);
	sqlite3_finalize(cat->entry_insert);
	sqlite3_finalize(cat->object_insert);
	sqlite3_finalize(cat->object_stage);
	sqlite3_finalize(cat->object_find);
	sqlite3_close(cat->db);
	free(cat->path);
	free(cat);
}

int catalog_begin(catalog *cat)
{
	return catalog_exec(cat, "BEGIN IMMEDIATE");
}

int catalog_commit(catalog *cat)
{
	return catalog_exec(cat, "COMMIT");
}

bool catalog_in_transaction(catalog *cat)
{
	return !sqlite3_get_autocommit(cat->db);
}

void catalog_rollback(catalog *cat)
{
	if (!sqlite3_get_autocommit(cat->db))
		sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
}

int catalog_meta_get(catalog *cat, const char *key, char **out)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, "SELECT value FROM meta WHERE key = ?");
	if (rc != 0)
		return rc;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	*out = NULL;
	int step = sqlite3_step(stmt);
	if (step == SQLITE_ROW)
		*out = st_strdup((const char *)sqlite3_column_text(stmt, 0));
	else if (step != SQLITE_DONE)
		rc = catalog_sql_error(cat, "read metadata");
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_meta_set(catalog *cat, const char *key, const char *value)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)");
	if (rc != 0)
		return rc;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
	rc = catalog_step_done(cat, stmt, "write metadata");
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_copy_to(catalog *cat, const char *path)
{
	unlink(path);
	char *sql = sqlite3_mprintf("VACUUM INTO %Q", path);
	int rc = catalog_exec(cat, sql);
	sqlite3_free(sql);
	return rc;
}

int catalog_integrity_check(catalog *cat)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, "PRAGMA integrity_check(1)");
	if (rc != 0)
		return rc;
	if (sqlite3_step(stmt) != SQLITE_ROW)
		rc = catalog_sql_error(cat, "check integrity");
	else if (strcmp((const char *)sqlite3_column_text(stmt, 0), "ok") != 0)
		rc = st_error_set(ST_ERR_CORRUPT, "catalog '%s' is corrupt: %s", cat->path,
				  (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	return rc;
}
