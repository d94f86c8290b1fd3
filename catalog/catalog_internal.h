/*
 * catalog_internal.h - shared by the catalog's source files and its tests; not a public API.
 */
#ifndef STRATA_CATALOG_CATALOG_INTERNAL_H
#define STRATA_CATALOG_CATALOG_INTERNAL_H

#include "catalog/catalog.h"

#include <sqlite3.h>

struct catalog {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *node_is_current;
	sqlite3_stmt *node_current_state;
	sqlite3_stmt *node_insert;
	sqlite3_stmt *entry_insert;
	sqlite3_stmt *object_insert;
	sqlite3_stmt *object_stage;
	sqlite3_stmt *object_find;
};

/* Records the connection's last error as a strata error; SQLITE_NOTADB/CORRUPT become
 * ST_ERR_CORRUPT. what says what was being done. */
int catalog_sql_error(catalog *cat, const char *what);

/* Prepares sql once into *stmt (cached on the catalog) and resets it for reuse. */
int catalog_prepare_cached(catalog *cat, sqlite3_stmt **stmt, const char *sql);

/* Prepares a one-off statement. */
int catalog_prepare(catalog *cat, sqlite3_stmt **out, const char *sql);

/* Executes sql with no result rows. */
int catalog_exec(catalog *cat, const char *sql);

/* Steps stmt to completion expecting no rows (SQLITE_DONE). */
int catalog_step_done(catalog *cat, sqlite3_stmt *stmt, const char *what);

void catalog_bind_hash(sqlite3_stmt *stmt, int index, const st_hash *hash);
void catalog_column_hash(st_hash *out, sqlite3_stmt *stmt, int index);

/* Reads pack_id, offset, raw_size, stored_size, codec from columns first.. first+4. */
void catalog_column_location(pack_location *out, sqlite3_stmt *stmt, int first);

/* Calls fn for each row of sql (hash, then a location's five columns; pack_id bound to its one
 * parameter); stops on fn's first non-zero return, which it returns. */
int catalog_objects_each(catalog *cat, const char *sql, int64_t pack_id,
			 int (*fn)(void *ctx, const st_hash *hash, const pack_location *loc), void *ctx);

/* Applies the migrations from format from_version to CATALOG_FORMAT. */
int catalog_migrate(catalog *cat, int from_version);

#endif
