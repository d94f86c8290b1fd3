/*
 * catalog_dump.c - the files of each snapshot's pg_dump directory and their delta chains.
 */
#include "catalog/catalog_internal.h"

#include "common/error.h"
#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

#define DUMP_COLUMNS                                                                              \
	"name, table_key, size, hash, storage, content_size, content_hash, content_chunks,"       \
	" base_snapshot, chain_length, chain_bytes, signature_hash, signature_chunks"
#define DUMP_SELECT "SELECT " DUMP_COLUMNS ", snapshot_id"

static void bind_chunks(sqlite3_stmt *stmt, int index, const catalog_blob *blob)
{
	if (blob->chunk_count > 0)
		sqlite3_bind_blob(stmt, index, blob->chunks, (int)(blob->chunk_count * sizeof *blob->chunks), SQLITE_STATIC);
}

int catalog_dump_file_add(catalog *cat, int64_t snapshot_id, const catalog_dump_file *f)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, "INSERT INTO dump_files(snapshot_id, " DUMP_COLUMNS ")"
					     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, snapshot_id);
	sqlite3_bind_text(stmt, 2, f->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, f->table_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, (sqlite3_int64)f->size);
	catalog_bind_hash(stmt, 5, &f->hash);
	sqlite3_bind_int(stmt, 6, (int)f->storage);
	sqlite3_bind_int64(stmt, 7, (sqlite3_int64)f->content.size);
	catalog_bind_hash(stmt, 8, &f->content.hash);
	bind_chunks(stmt, 9, &f->content);
	if (f->storage != CATALOG_DUMP_FULL)
		sqlite3_bind_int64(stmt, 10, f->base_snapshot);
	sqlite3_bind_int(stmt, 11, f->chain_length);
	sqlite3_bind_int64(stmt, 12, (sqlite3_int64)f->chain_bytes);
	if (f->has_signature) {
		catalog_bind_hash(stmt, 13, &f->signature.hash);
		bind_chunks(stmt, 14, &f->signature);
	}
	rc = catalog_step_done(cat, stmt, "add a dump file");
	sqlite3_finalize(stmt);
	return rc;
}

static void read_chunks(catalog_blob *out, sqlite3_stmt *stmt, int col)
{
	size_t count = (size_t)sqlite3_column_bytes(stmt, col) / ST_HASH_SIZE;
	out->chunk_count = count;
	out->chunks = NULL;
	if (count > 0) {
		st_hash *chunks = st_malloc(count * sizeof *chunks);
		memcpy(chunks, sqlite3_column_blob(stmt, col), count * sizeof *chunks);
		out->chunks = chunks;
	}
}

static void read_dump_file(catalog_dump_file *out, sqlite3_stmt *stmt)
{
	memset(out, 0, sizeof *out);
	out->name = st_strdup((const char *)sqlite3_column_text(stmt, 0));
	out->table_key = st_strdup((const char *)sqlite3_column_text(stmt, 1));
	out->size = (uint64_t)sqlite3_column_int64(stmt, 2);
	catalog_column_hash(&out->hash, stmt, 3);
	out->storage = (catalog_dump_storage)sqlite3_column_int(stmt, 4);
	out->content.size = (uint64_t)sqlite3_column_int64(stmt, 5);
	catalog_column_hash(&out->content.hash, stmt, 6);
	read_chunks(&out->content, stmt, 7);
	out->base_snapshot = sqlite3_column_int64(stmt, 8);
	out->chain_length = sqlite3_column_int(stmt, 9);
	out->chain_bytes = (uint64_t)sqlite3_column_int64(stmt, 10);
	out->has_signature = sqlite3_column_type(stmt, 11) != SQLITE_NULL;
	if (out->has_signature) {
		catalog_column_hash(&out->signature.hash, stmt, 11);
		read_chunks(&out->signature, stmt, 12);
	}
	out->snapshot_id = sqlite3_column_int64(stmt, 13);
}

void catalog_dump_file_release(catalog_dump_file *file)
{
	free((char *)file->name);
	free((char *)file->table_key);
	free((st_hash *)file->content.chunks);
	free((st_hash *)file->signature.chunks);
	memset(file, 0, sizeof *file);
}

void catalog_dump_files_free(catalog_dump_file *files, size_t count)
{
	for (size_t i = 0; i < count; i++)
		catalog_dump_file_release(&files[i]);
	free(files);
}

/* The rows sql selects (DUMP_SELECT ..., with snapshot_id bound to its one parameter when not 0). */
static int list_dump_files(catalog *cat, const char *sql, int64_t snapshot_id, catalog_dump_file **out,
			   size_t *out_count)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, sql);
	if (rc != 0)
		return rc;
	if (snapshot_id != 0)
		sqlite3_bind_int64(stmt, 1, snapshot_id);
	catalog_dump_file *list = NULL;
	size_t count = 0;
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		list = st_realloc(list, (count + 1) * sizeof *list);
		read_dump_file(&list[count++], stmt);
	}
	if (step != SQLITE_DONE) {
		rc = catalog_sql_error(cat, "list dump files");
		catalog_dump_files_free(list, count);
		list = NULL;
		count = 0;
	}
	sqlite3_finalize(stmt);
	*out = list;
	*out_count = count;
	return rc;
}

int catalog_dump_files_of(catalog *cat, int64_t snapshot_id, catalog_dump_file **out, size_t *out_count)
{
	return list_dump_files(cat, DUMP_SELECT " FROM dump_files WHERE snapshot_id = ? ORDER BY name", snapshot_id,
			       out, out_count);
}

int catalog_dump_files_to_rebase(catalog *cat, catalog_dump_file **out, size_t *out_count)
{
	return list_dump_files(cat,
			       DUMP_SELECT " FROM dump_files d WHERE d.storage <> 0 AND d.snapshot_id IN prune_keep"
					   " AND d.base_snapshot NOT IN prune_keep ORDER BY d.snapshot_id, d.name",
			       0, out, out_count);
}

int catalog_dump_file_make_full(catalog *cat, int64_t snapshot_id, const char *name, const catalog_blob *content)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt,
				 "UPDATE dump_files SET storage = 0, content_size = ?, content_hash = ?, content_chunks = ?,"
				 " base_snapshot = NULL, chain_length = 0, chain_bytes = 0 WHERE snapshot_id = ? AND name = ?");
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)content->size);
	catalog_bind_hash(stmt, 2, &content->hash);
	bind_chunks(stmt, 3, content);
	sqlite3_bind_int64(stmt, 4, snapshot_id);
	sqlite3_bind_text(stmt, 5, name, -1, SQLITE_STATIC);
	rc = catalog_step_done(cat, stmt, "make a dump file a full copy");
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_dump_fix_chains(catalog *cat)
{
	/* Each pass settles one more step down every chain; chains are short (a loop, which only
	 * damage makes, stops at the pass limit and is for check to report). */
	static const char sql[] =
		"UPDATE dump_files SET"
		" chain_length = (SELECT b.chain_length + 1 FROM dump_files b"
		"  WHERE b.table_key = dump_files.table_key AND b.snapshot_id = dump_files.base_snapshot),"
		" chain_bytes = (SELECT b.chain_bytes + dump_files.content_size FROM dump_files b"
		"  WHERE b.table_key = dump_files.table_key AND b.snapshot_id = dump_files.base_snapshot)"
		" WHERE storage <> 0 AND EXISTS (SELECT 1 FROM dump_files b WHERE b.table_key = dump_files.table_key"
		"  AND b.snapshot_id = dump_files.base_snapshot"
		"  AND (b.chain_length + 1 != dump_files.chain_length"
		"   OR b.chain_bytes + dump_files.content_size != dump_files.chain_bytes))";
	for (int pass = 0; pass < 64; pass++) {
		int rc = catalog_exec(cat, sql);
		if (rc != 0)
			return rc;
		if (sqlite3_changes(cat->db) == 0)
			break;
	}
	return 0;
}

static int query_dump_file(catalog *cat, const char *sql, int64_t snapshot_id, const char *table_key,
			   catalog_dump_file *out, bool *out_found)
{
	sqlite3_stmt *stmt = NULL;
	int rc = catalog_prepare(cat, &stmt, sql);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(stmt, 1, table_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, snapshot_id);
	int step = sqlite3_step(stmt);
	*out_found = step == SQLITE_ROW;
	if (step == SQLITE_ROW)
		read_dump_file(out, stmt);
	else if (step != SQLITE_DONE)
		rc = catalog_sql_error(cat, "read dump files");
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_dump_file_previous(catalog *cat, const char *table_key, int64_t before_snapshot,
			       catalog_dump_file *out, bool *out_found)
{
	return query_dump_file(cat,
			       "SELECT d.name, d.table_key, d.size, d.hash, d.storage, d.content_size, d.content_hash,"
			       " d.content_chunks, d.base_snapshot, d.chain_length, d.chain_bytes, d.signature_hash,"
			       " d.signature_chunks, d.snapshot_id FROM dump_files d JOIN snapshots s ON s.id = d.snapshot_id"
			       " WHERE d.table_key = ? AND d.snapshot_id < ? AND s.state = 'complete'"
			       " ORDER BY d.snapshot_id DESC LIMIT 1",
			       before_snapshot, table_key, out, out_found);
}

int catalog_dump_file_get(catalog *cat, int64_t snapshot_id, const char *table_key, catalog_dump_file *out)
{
	bool found = false;
	int rc = query_dump_file(cat, DUMP_SELECT " FROM dump_files WHERE table_key = ? AND snapshot_id = ?",
				 snapshot_id, table_key, out, &found);
	if (rc == 0 && !found)
		rc = st_error_set(ST_ERR_CORRUPT, "catalog is missing '%s' of snapshot %lld, the basis of a delta",
				  table_key, (long long)snapshot_id);
	return rc;
}

int catalog_check_dump_chains(catalog *cat, int max_length, void (*report)(void *ctx, const char *problem),
			      void *ctx, uint64_t *out_problems)
{
	sqlite3_stmt *stmt = NULL;
	*out_problems = 0;
	/* Each step of chain is one link: (the file it starts from, the base it reached, how that
	 * base is stored). A base row that is missing ends the walk without a full copy; so does a
	 * walk longer than max_length. The bases may belong to forgotten snapshots. SQLite takes
	 * the bare columns of the aggregate from the row that holds the max(). */
	int rc = catalog_prepare(cat, &stmt,
				 "WITH RECURSIVE chain(snap, name, key, base, storage, depth) AS ("
				 " SELECT d.snapshot_id, d.name, d.table_key, d.base_snapshot, d.storage, 0 FROM dump_files d"
				 " JOIN snapshots s ON s.id = d.snapshot_id AND s.state = 'complete'"
				 " UNION ALL SELECT c.snap, c.name, c.key, b.base_snapshot, b.storage, c.depth + 1"
				 " FROM chain c JOIN dump_files b ON b.snapshot_id = c.base AND b.table_key = c.key"
				 " WHERE c.storage <> 0 AND c.depth < ?)"
				 " SELECT snap, name, max(depth), base, storage FROM chain GROUP BY snap, name"
				 " HAVING sum(storage = 0) = 0 ORDER BY snap, name");
	if (rc != 0)
		return rc;
	sqlite3_bind_int(stmt, 1, max_length);
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		int depth = sqlite3_column_int(stmt, 2);
		char *line;
		if (depth >= max_length)
			line = st_sprintf("snapshot %lld dump file '%s': delta chain reaches no full copy within %d steps",
					  (long long)sqlite3_column_int64(stmt, 0), (const char *)sqlite3_column_text(stmt, 1),
					  max_length);
		else
			line = st_sprintf("snapshot %lld dump file '%s': delta chain is broken: its base in snapshot %lld"
					  " is missing",
					  (long long)sqlite3_column_int64(stmt, 0), (const char *)sqlite3_column_text(stmt, 1),
					  (long long)sqlite3_column_int64(stmt, 3));
		report(ctx, line);
		free(line);
		(*out_problems)++;
	}
	if (step != SQLITE_DONE)
		rc = catalog_sql_error(cat, "check dump chains");
	sqlite3_finalize(stmt);
	return rc;
}
