/*
 * catalog_schema.c - the catalog's schema, as a list of forward migrations.
 *
 * migrations[i] takes a catalog from format i to format i + 1. A new format appends a
 * migration and raises CATALOG_FORMAT; existing entries never change, since catalogs in the
 * field were made by them.
 */
#include "catalog/catalog_internal.h"

#include "common/error.h"

#include <stdio.h>

static const char *const migrations[CATALOG_FORMAT] = {
	/* 0 -> 1: the first format */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE snapshots(id INTEGER PRIMARY KEY, state TEXT NOT NULL, time_us INTEGER NOT NULL,"
	" finished_us INTEGER, db_time_us INTEGER, watermark INTEGER NOT NULL DEFAULT 0,"
	" nodes INTEGER NOT NULL DEFAULT 0, files INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,"
	" new_nodes INTEGER NOT NULL DEFAULT 0, deleted_nodes INTEGER NOT NULL DEFAULT 0,"
	" new_bytes INTEGER NOT NULL DEFAULT 0, stored_bytes INTEGER NOT NULL DEFAULT 0,"
	" has_files INTEGER NOT NULL, has_database INTEGER NOT NULL, source TEXT NOT NULL);"
	"CREATE TABLE packs(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,"
	" objects INTEGER NOT NULL);"
	"CREATE TABLE objects(hash BLOB PRIMARY KEY, pack_id INTEGER NOT NULL, offset INTEGER NOT NULL,"
	" raw_size INTEGER NOT NULL, stored_size INTEGER NOT NULL, codec INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX objects_pack ON objects(pack_id, offset);"
	"CREATE TABLE node_versions(id INTEGER PRIMARY KEY, node_id INTEGER NOT NULL, uuid TEXT NOT NULL,"
	" ctime_us INTEGER, added_in INTEGER NOT NULL, deleted_in INTEGER, has_folder INTEGER NOT NULL,"
	" root_mode INTEGER NOT NULL, root_mtime_ns INTEGER NOT NULL, files INTEGER NOT NULL,"
	" bytes INTEGER NOT NULL);"
	"CREATE INDEX node_versions_current ON node_versions(node_id) WHERE deleted_in IS NULL;"
	"CREATE INDEX node_versions_added ON node_versions(added_in);"
	"CREATE INDEX node_versions_deleted ON node_versions(deleted_in) WHERE deleted_in IS NOT NULL;"
	"CREATE TABLE entries(version_id INTEGER NOT NULL, path TEXT NOT NULL, type INTEGER NOT NULL,"
	" mode INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, hash BLOB,"
	" chunks BLOB, target TEXT, PRIMARY KEY(version_id, path)) WITHOUT ROWID;",
	/* 1 -> 2: the database side of a snapshot */
	"ALTER TABLE snapshots ADD COLUMN db_info TEXT;"
	"CREATE TABLE dump_files(snapshot_id INTEGER NOT NULL, name TEXT NOT NULL, table_key TEXT NOT NULL,"
	" size INTEGER NOT NULL, hash BLOB NOT NULL, storage INTEGER NOT NULL, content_size INTEGER NOT NULL,"
	" content_hash BLOB NOT NULL, content_chunks BLOB, base_snapshot INTEGER, chain_length INTEGER NOT NULL,"
	" chain_bytes INTEGER NOT NULL, signature_hash BLOB, signature_chunks BLOB,"
	" PRIMARY KEY(snapshot_id, name)) WITHOUT ROWID;"
	"CREATE INDEX dump_files_table ON dump_files(table_key, snapshot_id);",
	/* 2 -> 3: objects are staged in pack order during a backup and merged in hash order */
	"CREATE TABLE objects_staging(hash BLOB NOT NULL, pack_id INTEGER NOT NULL, offset INTEGER NOT NULL,"
	" raw_size INTEGER NOT NULL, stored_size INTEGER NOT NULL, codec INTEGER NOT NULL);",
	/* 3 -> 4: the AiiDA profile a snapshot was taken from (JSON, without secrets) */
	"ALTER TABLE snapshots ADD COLUMN profile TEXT;",
	/* 4 -> 5: the mode and mtime of the folders above the node folders, as each snapshot saw them */
	"CREATE TABLE folder_meta(snapshot_id INTEGER NOT NULL, path TEXT NOT NULL, mode INTEGER NOT NULL,"
	" mtime_ns INTEGER NOT NULL, PRIMARY KEY(path, snapshot_id)) WITHOUT ROWID;",
	/* 5 -> 6: the config.json of the AiiDA 2.x container a snapshot's files came from */
	"ALTER TABLE snapshots ADD COLUMN container TEXT;",
	/* 6 -> 7: dump files may be zstd deltas (storage 2), which older versions cannot read */
	"UPDATE meta SET value = value WHERE 0;",
	/* 7 -> 8: node versions by uuid (restore --node, cat, export in uuid order) */
	"CREATE INDEX node_versions_uuid ON node_versions(uuid);",
	/* 8 -> 9: the database content a snapshot is complete for (an unchanged database is not
	 * dumped or reconciled again) */
	"ALTER TABLE snapshots ADD COLUMN data_version TEXT;",
	/* 9 -> 10: what a node version was read from - the node's mtime in the database and a digest
	 * of its tree - so that a node whose mtime moved is compared cheaply before it is read again */
	"ALTER TABLE node_versions ADD COLUMN mtime_us INTEGER;"
	"ALTER TABLE node_versions ADD COLUMN tree_digest BLOB;",
	/* 10 -> 11: dump deltas may hold copy segments (a file that only grew), which older versions
	 * cannot apply */
	"UPDATE meta SET value = value WHERE 0;",
};

int catalog_migrate(catalog *cat, int from_version)
{
	int rc = catalog_begin(cat);
	for (int version = from_version; rc == 0 && version < CATALOG_FORMAT; version++) {
		if ((rc = catalog_exec(cat, migrations[version])) != 0)
			st_error_prefix("unable to migrate catalog from format %d", version);
	}
	if (rc == 0) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", CATALOG_FORMAT);
		rc = catalog_exec(cat, sql);
	}
	if (rc == 0)
		rc = catalog_commit(cat);
	if (rc != 0)
		catalog_rollback(cat);
	return rc;
}
