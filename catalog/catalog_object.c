/*
 * catalog_object.c - packs and the objects they hold, and reference checks.
 */
#include "catalog/catalog_internal.h"

#include "common/error.h"
#include "common/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int catalog_pack_add(catalog *cat, const char *name, uint64_t size, uint64_t objects, int64_t *out_id)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, "INSERT INTO packs(name, size, objects) VALUES (?, ?, ?)");
	if (rc != 0)
		return rc;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)size);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)objects);
	rc = catalog_step_done(cat, stmt, "add a pack");
	sqlite3_finalize(stmt);
	if (rc == 0)
		*out_id = sqlite3_last_insert_rowid(cat->db);
	return rc;
}

int catalog_pack_list(catalog *cat, catalog_pack **out, size_t *out_count)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, "SELECT id, name, size, objects FROM packs ORDER BY id");
	if (rc != 0)
		return rc;
	catalog_pack *list = NULL;
	size_t count = 0;
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		list = st_realloc(list, (count + 1) * sizeof *list);
		catalog_pack *pack = &list[count++];
		pack->id = sqlite3_column_int64(stmt, 0);
		snprintf(pack->name, sizeof pack->name, "%s", (const char *)sqlite3_column_text(stmt, 1));
		pack->size = (uint64_t)sqlite3_column_int64(stmt, 2);
		pack->objects = (uint64_t)sqlite3_column_int64(stmt, 3);
	}
	if (step != SQLITE_DONE) {
		rc = catalog_sql_error(cat, "list packs");
		free(list);
		list = NULL;
		count = 0;
	}
	sqlite3_finalize(stmt);
	*out = list;
	*out_count = count;
	return rc;
}

/* Inserts (hash, loc) with the cached statement *stmt, prepared from sql. */
static int insert_object(catalog *cat, sqlite3_stmt **stmt, const char *sql, const st_hash *hash,
			 const pack_location *loc, const char *what)
{
	int rc = catalog_prepare_cached(cat, stmt, sql);
	if (rc != 0)
		return rc;
	catalog_bind_hash(*stmt, 1, hash);
	sqlite3_bind_int64(*stmt, 2, loc->pack_id);
	sqlite3_bind_int64(*stmt, 3, (sqlite3_int64)loc->offset);
	sqlite3_bind_int64(*stmt, 4, (sqlite3_int64)loc->raw_size);
	sqlite3_bind_int64(*stmt, 5, (sqlite3_int64)loc->stored_size);
	sqlite3_bind_int(*stmt, 6, (int)loc->codec);
	return catalog_step_done(cat, *stmt, what);
}

int catalog_object_add(catalog *cat, const st_hash *hash, const pack_location *loc)
{
	return insert_object(cat, &cat->object_insert,
			     "INSERT OR IGNORE INTO objects(hash, pack_id, offset, raw_size, stored_size, codec)"
			     " VALUES (?, ?, ?, ?, ?, ?)",
			     hash, loc, "add an object");
}

int catalog_object_stage(catalog *cat, const st_hash *hash, const pack_location *loc)
{
	return insert_object(cat, &cat->object_stage,
			     "INSERT INTO objects_staging(hash, pack_id, offset, raw_size, stored_size, codec)"
			     " VALUES (?, ?, ?, ?, ?, ?)",
			     hash, loc, "stage an object");
}

int catalog_object_any(catalog *cat, bool *out)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, "SELECT EXISTS (SELECT 1 FROM objects)");
	if (rc != 0)
		return rc;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		*out = sqlite3_column_int(stmt, 0) != 0;
	else
		rc = catalog_sql_error(cat, "count objects");
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_object_staged_totals(catalog *cat, int64_t *out_packs, int64_t *out_objects, int64_t *out_bytes)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt,
				 "SELECT count(DISTINCT pack_id), count(*), coalesce(sum(raw_size), 0) FROM objects_staging");
	if (rc != 0)
		return rc;
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		*out_packs = sqlite3_column_int64(stmt, 0);
		*out_objects = sqlite3_column_int64(stmt, 1);
		*out_bytes = sqlite3_column_int64(stmt, 2);
	} else {
		rc = catalog_sql_error(cat, "count staged objects");
	}
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_object_publish(catalog *cat)
{
	return catalog_exec(cat, "INSERT OR IGNORE INTO objects(hash, pack_id, offset, raw_size, stored_size, codec)"
				 " SELECT hash, pack_id, offset, raw_size, stored_size, codec FROM objects_staging ORDER BY hash;"
				 " DELETE FROM objects_staging;");
}

int catalog_object_find(catalog *cat, const st_hash *hash, pack_location *loc, bool *out_found)
{
	int rc = catalog_prepare_cached(cat, &cat->object_find,
					"SELECT pack_id, offset, raw_size, stored_size, codec FROM objects WHERE hash = ?");
	if (rc != 0)
		return rc;
	catalog_bind_hash(cat->object_find, 1, hash);
	int step = sqlite3_step(cat->object_find);
	*out_found = step == SQLITE_ROW;
	if (step == SQLITE_ROW && loc != NULL)
		catalog_column_location(loc, cat->object_find, 0);
	else if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = catalog_sql_error(cat, "look up an object");
	sqlite3_reset(cat->object_find);
	return rc;
}

int catalog_objects_each(catalog *cat, const char *sql, int64_t pack_id,
			 int (*fn)(void *ctx, const st_hash *hash, const pack_location *loc), void *ctx)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, sql);
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, pack_id);
	int step = SQLITE_DONE;
	while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
		st_hash hash;
		pack_location loc;
		catalog_column_hash(&hash, stmt, 0);
		catalog_column_location(&loc, stmt, 1);
		rc = fn(ctx, &hash, &loc);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = catalog_sql_error(cat, "list objects");
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_object_each_in_pack(catalog *cat, int64_t pack_id,
				int (*fn)(void *ctx, const st_hash *hash, const pack_location *loc), void *ctx)
{
	return catalog_objects_each(cat,
				    "SELECT hash, pack_id, offset, raw_size, stored_size, codec FROM objects"
				    " WHERE pack_id = ? ORDER BY offset",
				    pack_id, fn, ctx);
}

/* Runs a query whose rows are problems (one text column each) and reports them. */
static int report_rows(catalog *cat, const char *sql, void (*report)(void *ctx, const char *problem), void *ctx,
		       uint64_t *problems)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, sql);
	if (rc != 0)
		return rc;
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		report(ctx, (const char *)sqlite3_column_text(stmt, 0));
		(*problems)++;
	}
	if (step != SQLITE_DONE)
		rc = catalog_sql_error(cat, "check references");
	sqlite3_finalize(stmt);
	return rc;
}

/* sql selects (owner, name, chunk list) rows; every chunk must be a stored object. */
static int check_chunk_lists(catalog *cat, const char *sql, void (*report)(void *ctx, const char *problem), void *ctx,
			     uint64_t *problems)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, sql);
	if (rc != 0)
		return rc;
	int step;
	while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
		const unsigned char *blob = sqlite3_column_blob(stmt, 2);
		size_t count = (size_t)sqlite3_column_bytes(stmt, 2) / ST_HASH_SIZE;
		for (size_t i = 0; i < count && rc == 0; i++) {
			st_hash chunk;
			bool found = false;
			memcpy(chunk.bytes, blob + i * ST_HASH_SIZE, ST_HASH_SIZE);
			rc = catalog_object_find(cat, &chunk, NULL, &found);
			if (rc == 0 && !found) {
				char *line = st_sprintf("%s '%s': chunk %zu is not in any pack",
							(const char *)sqlite3_column_text(stmt, 0),
							(const char *)sqlite3_column_text(stmt, 1), i);
				report(ctx, line);
				free(line);
				(*problems)++;
			}
		}
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = catalog_sql_error(cat, "check references");
	sqlite3_finalize(stmt);
	return rc;
}

/* What a running or killed backup has added is not checked: only complete snapshots count, and
 * forgotten ones, whose rows kept snapshots may still use. */
#define COMPLETE_VERSIONS " JOIN snapshots s ON s.id = v.added_in AND s.state IN ('complete', 'forgotten')"
#define COMPLETE_DUMPS " JOIN snapshots s ON s.id = d.snapshot_id AND s.state IN ('complete', 'forgotten')"

int catalog_check_references(catalog *cat, void (*report)(void *ctx, const char *problem), void *ctx,
			     uint64_t *out_problems)
{
	*out_problems = 0;
	int rc = report_rows(cat,
			     "SELECT 'node ' || v.uuid || ' file ''' || e.path || ''': content is not in any pack'"
			     " FROM entries e JOIN node_versions v ON v.id = e.version_id" COMPLETE_VERSIONS
			     " WHERE e.type = 1 AND e.chunks IS NULL"
			     " AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.hash = e.hash)",
			     report, ctx, out_problems);
	if (rc == 0)
		rc = report_rows(cat,
				 "SELECT 'object ' || hex(o.hash) || ': pack ' || o.pack_id || ' is not in the catalog'"
				 " FROM objects o WHERE NOT EXISTS (SELECT 1 FROM packs p WHERE p.id = o.pack_id)"
				 " UNION ALL SELECT 'staged object ' || hex(o.hash) || ': pack ' || o.pack_id || ' is not in the catalog'"
				 " FROM objects_staging o WHERE NOT EXISTS (SELECT 1 FROM packs p WHERE p.id = o.pack_id)",
				 report, ctx, out_problems);
	if (rc == 0)
		rc = report_rows(cat,
				 "SELECT 'object ' || hex(o.hash) || ': extends past the end of pack ''' || p.name || ''''"
				 " FROM objects o JOIN packs p ON p.id = o.pack_id"
				 " WHERE o.offset + 48 + o.stored_size > p.size",
				 report, ctx, out_problems);
	if (rc == 0)
		rc = report_rows(cat,
				 "SELECT 'snapshot ' || d.snapshot_id || ' dump file ''' || d.name || ''': content is not in any pack'"
				 " FROM dump_files d" COMPLETE_DUMPS " WHERE d.content_chunks IS NULL"
				 " AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.hash = d.content_hash)"
				 " UNION ALL SELECT 'snapshot ' || d.snapshot_id || ' dump file ''' || d.name || ''': signature is not in any pack'"
				 " FROM dump_files d" COMPLETE_DUMPS " WHERE d.signature_hash IS NOT NULL AND d.signature_chunks IS NULL"
				 " AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.hash = d.signature_hash)",
				 report, ctx, out_problems);
	if (rc == 0)
		rc = check_chunk_lists(cat,
				       "SELECT 'node ' || v.uuid || ' file', e.path, e.chunks FROM entries e"
				       " JOIN node_versions v ON v.id = e.version_id" COMPLETE_VERSIONS " WHERE e.chunks IS NOT NULL"
				       " UNION ALL SELECT 'snapshot ' || d.snapshot_id || ' dump file', d.name, d.content_chunks"
				       " FROM dump_files d" COMPLETE_DUMPS " WHERE d.content_chunks IS NOT NULL"
				       " UNION ALL SELECT 'snapshot ' || d.snapshot_id || ' signature of', d.name, d.signature_chunks"
				       " FROM dump_files d" COMPLETE_DUMPS " WHERE d.signature_chunks IS NOT NULL",
				       report, ctx, out_problems);
	return rc;
}

int catalog_object_totals(catalog *cat, int64_t *out_count, int64_t *out_raw, int64_t *out_stored)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt,
				 "SELECT count(*), coalesce(sum(raw_size), 0), coalesce(sum(stored_size), 0) FROM objects");
	if (rc == 0 && sqlite3_step(stmt) != SQLITE_ROW)
		rc = catalog_sql_error(cat, "count objects");
	if (rc == 0) {
		*out_count = sqlite3_column_int64(stmt, 0);
		*out_raw = sqlite3_column_int64(stmt, 1);
		*out_stored = sqlite3_column_int64(stmt, 2);
	}
	sqlite3_finalize(stmt);
	return rc;
}
