/*
 * catalog_prune.c - what the complete snapshots still use, and removing the rest (prune's
 * catalog side; see "prune" in catalog.h).
 *
 * The live set lives in temporary tables of the writer's connection, filled by SQL from the
 * catalog itself, so memory stays flat however many files the destination holds (SQLite
 * spills temporary tables to disk). A forgotten snapshot's row stays (as 'forgotten'): the
 * node versions that later snapshots still see name it as added_in.
 */
#include "catalog/catalog_internal.h"

#include "common/error.h"
#include "common/mem.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int catalog_prune_begin(catalog *cat, const int64_t *assume_forgotten, size_t count)
{
	int rc = catalog_exec(cat, "DROP TABLE IF EXISTS temp.prune_keep;"
				   "CREATE TEMP TABLE prune_keep(id INTEGER PRIMARY KEY);"
				   "INSERT INTO prune_keep SELECT id FROM snapshots WHERE state = 'complete';");
	sqlite3_stmt *stmt = NULL;
	if (rc == 0 && count > 0)
		rc = catalog_prepare(cat, &stmt, "DELETE FROM prune_keep WHERE id = ?");
	for (size_t i = 0; i < count && rc == 0; i++) {
		sqlite3_bind_int64(stmt, 1, assume_forgotten[i]);
		rc = catalog_step_done(cat, stmt, "mark a snapshot as forgotten");
		sqlite3_reset(stmt);
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* The dump files whose content stays: the kept ones, but not a delta against a version that
 * goes (in a dry run, which does not rebase; the real run has none left when it marks). */
#define KEPT_CONTENT "d.snapshot_id IN prune_keep AND NOT (d.storage <> 0 AND d.base_snapshot NOT IN prune_keep)"

/* The node versions and objects the kept snapshots use. */
static const char mark_sql[] =
	"DROP TABLE IF EXISTS temp.prune_versions; DROP TABLE IF EXISTS temp.prune_live;"
	"CREATE TEMP TABLE prune_versions(id INTEGER PRIMARY KEY);"
	"CREATE TEMP TABLE prune_live(hash BLOB PRIMARY KEY) WITHOUT ROWID;"
	/* a version is seen by the kept snapshots in [added_in, deleted_in); a current one is
	 * also the base of the next backup */
	"INSERT INTO prune_versions SELECT v.id FROM node_versions v WHERE v.deleted_in IS NULL"
	" OR EXISTS (SELECT 1 FROM prune_keep k WHERE k.id >= v.added_in AND k.id < v.deleted_in);"
	"INSERT OR IGNORE INTO prune_live SELECT e.hash FROM prune_versions v JOIN entries e ON e.version_id = v.id"
	" WHERE e.hash IS NOT NULL AND e.chunks IS NULL;"
	"INSERT OR IGNORE INTO prune_live SELECT d.content_hash FROM dump_files d"
	" WHERE " KEPT_CONTENT " AND d.content_chunks IS NULL;"
	"INSERT OR IGNORE INTO prune_live SELECT d.signature_hash FROM dump_files d"
	" WHERE d.snapshot_id IN prune_keep AND d.signature_hash IS NOT NULL AND d.signature_chunks IS NULL;"
	/* chunk lists: 16-byte hashes, split by a recursive query */
	"WITH RECURSIVE lists(rest) AS ("
	"  SELECT e.chunks FROM prune_versions v JOIN entries e ON e.version_id = v.id WHERE e.chunks IS NOT NULL"
	"  UNION ALL SELECT d.content_chunks FROM dump_files d"
	"   WHERE " KEPT_CONTENT " AND d.content_chunks IS NOT NULL"
	"  UNION ALL SELECT d.signature_chunks FROM dump_files d"
	"   WHERE d.snapshot_id IN prune_keep AND d.signature_chunks IS NOT NULL),"
	" split(hash, rest) AS (SELECT NULL, rest FROM lists"
	"  UNION ALL SELECT substr(rest, 1, 16), substr(rest, 17) FROM split WHERE length(rest) > 0)"
	" INSERT OR IGNORE INTO prune_live SELECT hash FROM split WHERE hash IS NOT NULL;";

int catalog_prune_mark(catalog *cat)
{
	return catalog_exec(cat, mark_sql);
}

/* What prune removes, table by table: the condition that makes a row garbage (after
 * catalog_prune_mark). Entries go before their versions, objects before empty packs. */
typedef struct garbage_rule {
	const char *table;
	const char *garbage;
	size_t field; /* offsetof the count in catalog_prune_counts */
} garbage_rule;

#define FOLDER_NEWEST_AT(at)                                                                                 \
	"(SELECT max(f.snapshot_id) FROM folder_meta f WHERE f.path = folder_meta.path AND f.snapshot_id <= " at ")"

static const garbage_rule rules[] = {
	{"entries", "version_id IN (SELECT id FROM node_versions WHERE id NOT IN prune_versions)",
	 offsetof(catalog_prune_counts, entries)},
	{"node_versions", "id NOT IN prune_versions", offsetof(catalog_prune_counts, node_versions)},
	{"dump_files", "snapshot_id NOT IN prune_keep", offsetof(catalog_prune_counts, dump_files)},
	/* a folder record holds for its snapshot and the later ones up to the next record: it is
	 * live while it is a kept snapshot's newest, or the newest of all (what the next backup
	 * builds on) */
	{"folder_meta",
	 "snapshot_id != " FOLDER_NEWEST_AT("9223372036854775807")
	 " AND NOT EXISTS (SELECT 1 FROM prune_keep k WHERE k.id >= folder_meta.snapshot_id"
	 " AND " FOLDER_NEWEST_AT("k.id") " = folder_meta.snapshot_id)",
	 offsetof(catalog_prune_counts, folder_records)},
	{"objects", "hash NOT IN prune_live", offsetof(catalog_prune_counts, objects)},
};

static int count_rows(catalog *cat, const char *sql, int64_t *out)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, sql);
	if (rc != 0)
		return rc;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	else
		rc = catalog_sql_error(cat, "count garbage");
	sqlite3_finalize(stmt);
	return rc;
}

static int each_rule(catalog *cat, bool remove, catalog_prune_counts *out)
{
	memset(out, 0, sizeof *out);
	int rc = 0;
	for (size_t i = 0; i < sizeof rules / sizeof rules[0] && rc == 0; i++) {
		int64_t *count = (int64_t *)((char *)out + rules[i].field);
		char *sql = st_sprintf(remove ? "DELETE FROM %s WHERE %s" : "SELECT count(*) FROM %s WHERE %s",
				       rules[i].table, rules[i].garbage);
		if (remove) {
			rc = catalog_exec(cat, sql);
			*count = rc == 0 ? sqlite3_changes(cat->db) : 0;
		} else {
			rc = count_rows(cat, sql, count);
		}
		free(sql);
	}
	return rc;
}

int catalog_prune_count(catalog *cat, catalog_prune_counts *out)
{
	return each_rule(cat, false, out);
}

int catalog_prune_apply(catalog *cat, catalog_prune_counts *out)
{
	/* Repacked copies replace their objects' locations; new objects (rebased dump files) are
	 * added. Then the garbage goes, and the packs no object names any more. */
	int rc = catalog_exec(cat, "INSERT OR REPLACE INTO objects(hash, pack_id, offset, raw_size, stored_size, codec)"
				   " SELECT hash, pack_id, offset, raw_size, stored_size, codec FROM objects_staging"
				   " ORDER BY hash; DELETE FROM objects_staging;");
	if (rc == 0)
		rc = each_rule(cat, true, out);
	if (rc == 0)
		rc = catalog_exec(cat, "DELETE FROM packs WHERE NOT EXISTS (SELECT 1 FROM objects o WHERE o.pack_id = packs.id)");
	if (rc == 0)
		out->packs = sqlite3_changes(cat->db);
	if (rc == 0)
		rc = catalog_exec(cat, "DROP TABLE temp.prune_keep; DROP TABLE temp.prune_versions; DROP TABLE temp.prune_live;");
	return rc;
}

int catalog_prune_pack_usage(catalog *cat, catalog_pack_usage **out, size_t *out_count)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt,
				 "SELECT p.id, p.name, p.size, count(o.hash), count(l.hash),"
				 " coalesce(sum(CASE WHEN l.hash IS NOT NULL THEN o.stored_size END), 0)"
				 " FROM packs p LEFT JOIN objects o ON o.pack_id = p.id"
				 " LEFT JOIN prune_live l ON l.hash = o.hash GROUP BY p.id ORDER BY p.id");
	if (rc != 0)
		return rc;
	catalog_pack_usage *list = NULL;
	size_t count = 0, capacity = 0;
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count == capacity) {
			capacity = capacity ? 2 * capacity : 256;
			list = st_realloc(list, capacity * sizeof *list);
		}
		catalog_pack_usage *u = &list[count++];
		u->id = sqlite3_column_int64(stmt, 0);
		snprintf(u->name, sizeof u->name, "%s", (const char *)sqlite3_column_text(stmt, 1));
		u->size = (uint64_t)sqlite3_column_int64(stmt, 2);
		u->objects = sqlite3_column_int64(stmt, 3);
		u->live_objects = sqlite3_column_int64(stmt, 4);
		u->live_stored = (uint64_t)sqlite3_column_int64(stmt, 5);
	}
	if (step != SQLITE_DONE) {
		rc = catalog_sql_error(cat, "measure the packs");
		free(list);
		list = NULL;
		count = 0;
	}
	sqlite3_finalize(stmt);
	*out = list;
	*out_count = count;
	return rc;
}

int catalog_prune_each_live_in_pack(catalog *cat, int64_t pack_id,
				    int (*fn)(void *ctx, const st_hash *hash, const pack_location *loc), void *ctx)
{
	return catalog_objects_each(cat,
				    "SELECT o.hash, o.pack_id, o.offset, o.raw_size, o.stored_size, o.codec FROM objects o"
				    " WHERE o.pack_id = ? AND o.hash IN prune_live ORDER BY o.offset",
				    pack_id, fn, ctx);
}
