/*
 * fuzz_catalog_tree.c - libFuzzer target for reading a node's tree from the catalog
 * (catalog/catalog_tree.c) and for restore's path validation (restore_check_path).
 *
 * A destination's catalog is untrusted input: whoever can write the destination can put any
 * row in it. The input describes rows - node versions and their entries - that the harness
 * writes into a scratch catalog with raw SQL (any bytes, NUL and '/' included, duplicates
 * and lies as they come), then reads back through catalog_tree_iter as restore does, and
 * passes every path to restore_check_path. Input format, repeated until the bytes run out:
 *
 *   kind u8   kind % 4 == 0: a new node version (has_folder = kind & 4); otherwise an entry of
 *             the current version with type kind % 4 (1 file, 2 dir, 3 symlink) or, when
 *             kind & 0x80, the raw byte value (types that do not exist)
 *   len u8, len bytes   the entry's path (for a node: its uuid)
 *   flags u8  1: hash present; 2: hash is 16 bytes (else 1 + flags >> 4 bytes);
 *             4: chunks present (len u8 and len bytes follow); 8: the content is in a pack
 *             (an objects row for the hash and for every whole chunk); 16: a symlink target
 *             (len u8 and len bytes follow)
 *
 * Properties checked (a violation aborts): iteration ends with a tree per version or with a
 * strata error; a tree holds exactly the entries the catalog holds for its version, none of
 * them with a NUL byte in its name or target; a path that restore_check_path accepts can be
 * joined below a root without leaving it (no absolute path, no empty name, '..' never above
 * the root).
 */
#include "catalog/catalog_internal.h"
#include "common/error.h"
#include "engine/restore.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static catalog *cat;
static char dir[64];

typedef struct reader {
	const uint8_t *p;
	size_t left;
} reader;

static int take_u8(reader *r)
{
	if (r->left == 0)
		return -1;
	r->left--;
	return *r->p++;
}

/* Takes a length byte and that many bytes (fewer at the end of the input). */
static const uint8_t *take_bytes(reader *r, size_t *len)
{
	int n = take_u8(r);
	*len = n < 0 ? 0 : (size_t)n;
	if (*len > r->left)
		*len = r->left;
	const uint8_t *p = r->p;
	r->p += *len;
	r->left -= *len;
	return p;
}

static void cleanup(void)
{
	char path[128];
	catalog_close(cat);
	const char *names[] = {"catalog.db", "catalog.db-wal", "catalog.db-shm"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void open_catalog(void)
{
	char path[128];
	snprintf(dir, sizeof dir, "/tmp/strata-fuzz-tree.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof path, "%s/catalog.db", dir);
	if (catalog_open(&cat, path, CATALOG_CREATE) != 0)
		abort();
	if (catalog_exec(cat, "PRAGMA synchronous = OFF") != 0)
		abort();
	atexit(cleanup);
}

static void must_exec(sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_CONSTRAINT)
		abort();
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

static void insert_object(sqlite3_stmt *object, const uint8_t *hash, size_t len)
{
	sqlite3_bind_blob(object, 1, hash, (int)len, SQLITE_TRANSIENT);
	must_exec(object);
}

/* Writes the rows the input describes. */
static void write_rows(reader *r, sqlite3_stmt *node, sqlite3_stmt *entry, sqlite3_stmt *object)
{
	int64_t version = 0;
	int kind;
	while ((kind = take_u8(r)) >= 0) {
		size_t len;
		const uint8_t *name = take_bytes(r, &len);
		if (kind % 4 == 0 || version == 0) {
			version++;
			sqlite3_bind_int64(node, 1, version);
			sqlite3_bind_text(node, 2, (const char *)name, (int)len, SQLITE_TRANSIENT);
			sqlite3_bind_int(node, 3, (kind & 4) != 0);
			must_exec(node);
			if (kind % 4 == 0)
				continue;
		}
		int flags = take_u8(r);
		if (flags < 0)
			flags = 0;
		sqlite3_bind_int64(entry, 1, version);
		sqlite3_bind_text(entry, 2, (const char *)name, (int)len, SQLITE_TRANSIENT);
		sqlite3_bind_int(entry, 3, (kind & 0x80) ? kind : kind % 4);
		uint8_t hash[ST_HASH_SIZE] = {0};
		size_t hash_len = (flags & 2) ? ST_HASH_SIZE : 1 + (size_t)(flags >> 4);
		hash[0] = (uint8_t)kind;
		hash[1] = (uint8_t)len;
		if (len > 0)
			hash[2] = name[0];
		if (flags & 1)
			sqlite3_bind_blob(entry, 4, hash, (int)hash_len, SQLITE_TRANSIENT);
		if (flags & 8)
			insert_object(object, hash, hash_len);
		if (flags & 4) {
			size_t chunks_len;
			const uint8_t *chunks = take_bytes(r, &chunks_len);
			sqlite3_bind_blob(entry, 5, chunks_len ? (const void *)chunks : "", (int)chunks_len,
					  SQLITE_TRANSIENT);
			for (size_t i = 0; (flags & 8) && i + ST_HASH_SIZE <= chunks_len; i += ST_HASH_SIZE)
				insert_object(object, chunks + i, ST_HASH_SIZE);
		}
		if (flags & 16) {
			size_t target_len;
			const uint8_t *target = take_bytes(r, &target_len);
			sqlite3_bind_text(entry, 6, (const char *)target, (int)target_len, SQLITE_TRANSIENT);
		}
		must_exec(entry);
	}
}

/* The property restore relies on: joined below a root, the path stays below it. */
static void check_confined(const char *path)
{
	if (path[0] == '\0' || path[0] == '/')
		abort();
	long depth = 0;
	for (const char *part = path; part != NULL;) {
		const char *slash = strchr(part, '/');
		size_t len = slash ? (size_t)(slash - part) : strlen(part);
		if (len == 0)
			abort();
		if (len == 2 && part[0] == '.' && part[1] == '.')
			depth--;
		else if (!(len == 1 && part[0] == '.'))
			depth++;
		if (depth < 0)
			abort();
		part = slash ? slash + 1 : NULL;
	}
}

/* The entries of version in the catalog; with_nul: only those with a NUL in path or target. */
static int64_t count_entries(int64_t version, bool with_nul)
{
	sqlite3_stmt *stmt = NULL;
	if (catalog_prepare(cat, &stmt, with_nul ? "SELECT count(*) FROM entries WHERE version_id = ?1 AND"
						   " (instr(CAST(path AS BLOB), x'00') > 0 OR"
						   " instr(CAST(target AS BLOB), x'00') > 0)"
						 : "SELECT count(*) FROM entries WHERE version_id = ?1") != 0)
		abort();
	sqlite3_bind_int64(stmt, 1, version);
	if (sqlite3_step(stmt) != SQLITE_ROW)
		abort();
	int64_t n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return n;
}

static void check_tree(const catalog_node_tree *tree, int64_t version)
{
	if (tree->node.uuid == NULL || (int64_t)tree->count != count_entries(version, false))
		abort();
	/* A name or target with a NUL byte would be restored as a shorter name: never returned. */
	if (count_entries(version, true) != 0)
		abort();
	for (size_t i = 0; i < tree->count; i++) {
		const catalog_tree_entry *e = &tree->entries[i];
		if (e->entry.path == NULL)
			abort();
		if (restore_check_path(e->entry.path) == 0)
			check_confined(e->entry.path);
		else if (st_error_code() != ST_ERR_TARGET)
			abort();
		st_error_clear();
		if (e->entry.chunk_count > 0 && e->chunk_locations == NULL)
			abort();
	}
}

static void read_back(void)
{
	catalog_tree_iter *iter = NULL;
	if (catalog_tree_iter_open(&iter, cat, 1) != 0)
		abort();
	int64_t version = 0;
	for (;;) {
		catalog_node_tree *tree = NULL;
		int rc = catalog_tree_iter_next(iter, &tree);
		if (rc != 0) {
			if (st_error_code() != rc || st_error_message()[0] == '\0')
				abort();
			st_error_clear();
			break;
		}
		if (tree == NULL)
			break;
		check_tree(tree, ++version);
		catalog_node_tree_free(tree);
	}
	catalog_tree_iter_close(iter);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (cat == NULL)
		open_catalog();
	sqlite3_stmt *node = NULL, *entry = NULL, *object = NULL;
	if (catalog_exec(cat, "BEGIN") != 0 ||
	    catalog_prepare(cat, &node, "INSERT INTO node_versions(id, node_id, uuid, added_in, has_folder, root_mode,"
				       " root_mtime_ns, files, bytes) VALUES(?1, ?1, ?2, 1, ?3, 493, 0, 0, 0)") != 0 ||
	    catalog_prepare(cat, &entry, "INSERT INTO entries(version_id, path, type, mode, mtime_ns, size, hash,"
					" chunks, target) VALUES(?1, ?2, ?3, 420, 0, 0, ?4, ?5, ?6)") != 0 ||
	    catalog_prepare(cat, &object, "INSERT OR IGNORE INTO objects(hash, pack_id, offset, raw_size,"
					 " stored_size, codec) VALUES(?1, 1, 16, 0, 0, 0)") != 0)
		abort();
	reader r = {data, size};
	write_rows(&r, node, entry, object);
	sqlite3_finalize(node);
	sqlite3_finalize(entry);
	sqlite3_finalize(object);
	read_back();
	if (catalog_exec(cat, "ROLLBACK") != 0)
		abort();
	return 0;
}
