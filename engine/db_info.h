/*
 * db_info.h - the database facts of a snapshot, and their JSON form in the catalog.
 *
 * A backup records, at the scan's database snapshot, what the restore later verifies: the
 * server and pg_dump versions, the AiiDA schema version, the database's name and size, and the
 * row count of every table. The catalog keeps them as one JSON document per snapshot
 * (catalog_snapshot.db_info):
 *   {"server_version": "15.4", "pg_dump_version": "15.4", "schema_version": "main_0002" | null,
 *    "database": "aiida", "size_bytes": N, "tables": {"<schema>.<table>": rows, ...}}
 * This module is the only one that writes or reads that document (through common/json.h).
 */
#ifndef STRATA_ENGINE_DB_INFO_H
#define STRATA_ENGINE_DB_INFO_H

#include "scanner/pg_session.h"

#include <stddef.h>
#include <stdint.h>

/* Size of an AiiDA schema version ("main_0002", "1.0.48") kept in a fixed buffer. */
#define DB_INFO_SCHEMA_VERSION_MAX 64

typedef struct db_info {
	char *server_version;
	char *pg_dump_version;
	char *schema_version;  /* NULL when the database has none */
	char *database;
	int64_t size_bytes;
	pg_table_rows *tables; /* in the document's order */
	size_t table_count;
} db_info;

/* The JSON document of info (caller frees). */
char *db_info_to_json(const db_info *info);

/* Reads a document written by db_info_to_json into *out (release with db_info_release).
 * A document that is not JSON, or whose table counts are not integers, is ST_ERR_CORRUPT
 * naming snapshot_id. Absent fields are left NULL or 0; a "<schema>.<table>" key is split at
 * its first '.'. */
int db_info_parse(db_info *out, const char *json, int64_t snapshot_id);
void db_info_release(db_info *info);

/* The AiiDA schema version recorded in a db_info document ("" when none, or when json is NULL
 * or unreadable). */
void db_info_schema_version(char *out, size_t cap, const char *json);

#endif
