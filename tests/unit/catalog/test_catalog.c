/*
 * test_catalog.c - the SQLite catalog: opening and formats, metadata, snapshots, node versions,
 * objects and reference checks, and reading a snapshot's trees (catalog/catalog.h).
 */
#include "../testutil.h"
#include "tests.h"

#include "catalog/catalog_internal.h"
#include "common/error.h"

/* The catalog stores the store's codec ids without interpreting them (store/codec.h). */
enum { CODEC_RAW = 0, CODEC_ZSTD = 1 };

static catalog *create_catalog(const char *dir, char *path_out)
{
	char path[TU_PATH_MAX];
	tu_join(path, dir, "catalog.db");
	if (path_out != NULL)
		strcpy(path_out, path);
	catalog *cat = NULL;
	assert_int_equal(catalog_open(&cat, path, CATALOG_CREATE), 0);
	assert_non_null(cat);
	return cat;
}

/* SELECT count(*) ... on the catalog's own connection. */
static int64_t count_rows(catalog *cat, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	assert_int_equal(sqlite3_prepare_v2(cat->db, sql, -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return n;
}

static void make_hash(st_hash *out, const char *text)
{
	st_hash_buffer(out, text, strlen(text));
}

/* ---- opening ---- */

static void test_create_and_reopen(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	catalog *cat = create_catalog(tmp, path);
	assert_int_equal(count_rows(cat, "PRAGMA user_version"), CATALOG_FORMAT);
	assert_int_equal(catalog_integrity_check(cat), 0);
	catalog_close(cat);
	catalog_close(NULL);

	assert_int_equal(catalog_open(&cat, path, CATALOG_WRITE), 0);
	catalog_close(cat);
	assert_int_equal(catalog_open(&cat, path, CATALOG_READ), 0);
	catalog_close(cat);
}

static void test_create_refuses_existing_file(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	catalog *cat = create_catalog(tmp, path);
	catalog_close(cat);
	cat = NULL;
	assert_int_equal(catalog_open(&cat, path, CATALOG_CREATE), ST_ERR_DEST);
	assert_null(cat);
	assert_non_null(strstr(st_error_message(), path));

	/* Any existing file, not only a catalog. */
	char other[TU_PATH_MAX];
	tu_join(other, tmp, "other");
	tu_write_file(other, "x", 1);
	assert_int_equal(catalog_open(&cat, other, CATALOG_CREATE), ST_ERR_DEST);
	size_t len = 0;
	unsigned char *back = tu_read_file(other, &len);
	assert_int_equal(len, 1);
	free(back);
}

static void test_open_missing(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	tu_join(path, tmp, "absent.db");
	catalog *cat = NULL;
	assert_int_equal(catalog_open(&cat, path, CATALOG_READ), ST_ERR_DEST);
	assert_non_null(strstr(st_error_message(), "missing"));
	assert_int_equal(catalog_open(&cat, path, CATALOG_WRITE), ST_ERR_DEST);
	assert_false(tu_exists(path)); /* opening never creates it */
}

static void test_open_newer_format(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	catalog_close(create_catalog(tmp, path));
	catalog_test_raw_exec(path, "PRAGMA user_version = 99");
	catalog *cat = NULL;
	assert_int_equal(catalog_open(&cat, path, CATALOG_READ), ST_ERR_DEST);
	assert_non_null(strstr(st_error_message(), "newer"));
	assert_non_null(strstr(st_error_message(), "99"));
	assert_int_equal(catalog_open(&cat, path, CATALOG_WRITE), ST_ERR_DEST);
	assert_non_null(strstr(st_error_message(), "newer"));
	assert_null(cat);
}

static void test_open_foreign_sqlite(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	tu_join(path, tmp, "foreign.db");
	catalog_test_raw_exec(path, "CREATE TABLE t(x)");
	catalog *cat = NULL;
	assert_int_equal(catalog_open(&cat, path, CATALOG_READ), ST_ERR_DEST);
	assert_non_null(strstr(st_error_message(), "not a strata catalog"));
}

static void test_open_garbage(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	tu_join(path, tmp, "garbage.db");
	unsigned char noise[8192];
	tu_fill_random(noise, sizeof noise, 31337);
	tu_write_file(path, noise, sizeof noise);
	catalog *cat = NULL;
	assert_int_equal(catalog_open(&cat, path, CATALOG_READ), ST_ERR_CORRUPT);
	assert_non_null(strstr(st_error_message(), "corrupt"));
	assert_int_equal(catalog_open(&cat, path, CATALOG_WRITE), ST_ERR_CORRUPT);
	assert_null(cat);
	/* Text is not a catalog either. */
	tu_write_file(path, "hello, this is a text file and not a database at all.\n", 55);
	assert_int_equal(catalog_open(&cat, path, CATALOG_READ), ST_ERR_CORRUPT);
}

/* ---- metadata and transactions ---- */

static void test_meta(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	catalog *cat = create_catalog(tmp, path);
	char *value = (char *)"sentinel";
	assert_int_equal(catalog_meta_get(cat, "absent", &value), 0);
	assert_null(value);

	assert_int_equal(catalog_meta_set(cat, "k", "v1"), 0);
	assert_int_equal(catalog_meta_get(cat, "k", &value), 0);
	assert_string_equal(value, "v1");
	free(value);
	assert_int_equal(catalog_meta_set(cat, "k", "v2 with 'quotes'"), 0);
	assert_int_equal(catalog_meta_set(cat, "other", ""), 0);
	catalog_close(cat);

	/* Persisted. */
	assert_int_equal(catalog_open(&cat, path, CATALOG_READ), 0);
	assert_int_equal(catalog_meta_get(cat, "k", &value), 0);
	assert_string_equal(value, "v2 with 'quotes'");
	free(value);
	assert_int_equal(catalog_meta_get(cat, "other", &value), 0);
	assert_string_equal(value, "");
	free(value);
	catalog_close(cat);
}

static void test_transactions(void **state)
{
	const char *tmp = *state;
	catalog *cat = create_catalog(tmp, NULL);
	char *value = NULL;

	assert_int_equal(catalog_begin(cat), 0);
	assert_int_equal(catalog_meta_set(cat, "t", "rolled back"), 0);
	catalog_rollback(cat);
	assert_int_equal(catalog_meta_get(cat, "t", &value), 0);
	assert_null(value);
	catalog_rollback(cat); /* outside a transaction: nothing happens */

	assert_int_equal(catalog_begin(cat), 0);
	assert_int_equal(catalog_meta_set(cat, "t", "kept"), 0);
	assert_int_equal(catalog_commit(cat), 0);
	assert_int_equal(catalog_meta_get(cat, "t", &value), 0);
	assert_string_equal(value, "kept");
	free(value);

	/* COMMIT without BEGIN is an error, reported not crashed. */
	assert_int_not_equal(catalog_commit(cat), 0);
	catalog_close(cat);
}

/* ---- snapshots ---- */

static catalog_snapshot snapshot_template(int64_t time_us)
{
	catalog_snapshot s;
	memset(&s, 0, sizeof s);
	s.time_us = time_us;
	s.db_time_us = time_us - 5;
	s.watermark = 100;
	s.has_files = true;
	s.has_database = false;
	snprintf(s.source, sizeof s.source, "postgresql://host/db repository=/repo");
	return s;
}

static int64_t create_snapshot(catalog *cat, int64_t time_us)
{
	catalog_snapshot s = snapshot_template(time_us);
	int64_t id = 0;
	assert_int_equal(catalog_snapshot_create(cat, &s, &id), 0);
	assert_true(id > 0);
	return id;
}

static void complete_snapshot(catalog *cat, int64_t id, int64_t time_us)
{
	catalog_snapshot s = snapshot_template(time_us);
	s.id = id;
	s.finished_us = time_us + 1000;
	s.nodes = 3;
	s.files = 4;
	s.bytes = 5;
	s.new_nodes = 6;
	s.deleted_nodes = 7;
	s.new_bytes = 8;
	s.stored_bytes = 9;
	s.watermark = 200;
	assert_int_equal(catalog_snapshot_complete(cat, &s), 0);
}

static void test_snapshot_lifecycle(void **state)
{
	const char *tmp = *state;
	catalog *cat = create_catalog(tmp, NULL);
	catalog_snapshot got;
	bool found = true;
	catalog_snapshot *list = NULL;
	size_t count = 99;

	assert_int_equal(catalog_snapshot_latest(cat, &got, &found), 0);
	assert_false(found);

	int64_t id = create_snapshot(cat, 1000000);
	/* Pending: invisible. */
	assert_int_equal(catalog_snapshot_latest(cat, &got, &found), 0);
	assert_false(found);
	assert_int_equal(catalog_snapshot_list(cat, &list, &count), 0);
	assert_int_equal(count, 0);
	free(list);
	assert_int_equal(catalog_snapshot_get(cat, id, &got), ST_ERR_NOTFOUND);

	complete_snapshot(cat, id, 1000000);
	assert_int_equal(catalog_snapshot_latest(cat, &got, &found), 0);
	assert_true(found);
	assert_int_equal(got.id, id);
	assert_int_equal(got.time_us, 1000000);
	assert_int_equal(got.finished_us, 1001000);
	assert_int_equal(got.db_time_us, 999995);
	assert_int_equal(got.watermark, 200);
	assert_int_equal(got.nodes, 3);
	assert_int_equal(got.files, 4);
	assert_int_equal(got.bytes, 5);
	assert_int_equal(got.new_nodes, 6);
	assert_int_equal(got.deleted_nodes, 7);
	assert_int_equal(got.new_bytes, 8);
	assert_int_equal(got.stored_bytes, 9);
	assert_true(got.has_files);
	assert_false(got.has_database);
	assert_string_equal(got.source, "postgresql://host/db repository=/repo");

	assert_int_equal(catalog_snapshot_get(cat, id, &got), 0);
	assert_int_equal(got.id, id);
	assert_int_equal(catalog_snapshot_get(cat, id + 100, &got), ST_ERR_NOTFOUND);

	/* Completing twice is refused. */
	catalog_snapshot again = snapshot_template(1);
	again.id = id;
	assert_int_not_equal(catalog_snapshot_complete(cat, &again), 0);
	assert_non_null(strstr(st_error_message(), "no longer pending"));
	/* And so is completing an unknown snapshot. */
	again.id = id + 100;
	assert_int_not_equal(catalog_snapshot_complete(cat, &again), 0);

	/* A second snapshot: listed after the first, and the latest. */
	int64_t id2 = create_snapshot(cat, 2000000);
	assert_true(id2 > id);
	complete_snapshot(cat, id2, 2000000);
	int64_t id3 = create_snapshot(cat, 3000000); /* stays pending */
	assert_int_equal(catalog_snapshot_list(cat, &list, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(list[0].id, id);
	assert_int_equal(list[1].id, id2);
	free(list);
	assert_int_equal(catalog_snapshot_latest(cat, &got, &found), 0);
	assert_true(found);
	assert_int_equal(got.id, id2);
	assert_int_equal(catalog_snapshot_get(cat, id3, &got), ST_ERR_NOTFOUND);
	catalog_close(cat);
}

/* ---- node versions ---- */

typedef struct node_fixture {
	char uuid[40];
	catalog_node node;
	catalog_entry entries[4];
	size_t count;
} node_fixture;

/* A node with a directory, a file whose content is text, and a symlink. */
static void make_node(node_fixture *f, int64_t node_id, const char *text)
{
	memset(f, 0, sizeof *f);
	snprintf(f->uuid, sizeof f->uuid, "%08llx-0000-4000-8000-000000000000", (unsigned long long)node_id);
	f->node = (catalog_node){.node_id = node_id, .ctime_us = node_id * 10, .uuid = f->uuid, .has_folder = true,
				 .root_mode = 0755, .root_mtime_ns = 123456789, .files = 1,
				 .bytes = (uint64_t)strlen(text)};
	f->entries[0] = (catalog_entry){.path = "d", .type = CATALOG_ENTRY_DIR, .mode = 0750, .mtime_ns = 11};
	f->entries[1] = (catalog_entry){.path = "d/f.txt", .type = CATALOG_ENTRY_FILE, .mode = 0640,
					.mtime_ns = 22, .size = strlen(text)};
	make_hash(&f->entries[1].hash, text);
	f->entries[2] = (catalog_entry){.path = "link", .type = CATALOG_ENTRY_SYMLINK, .mode = 0777,
					.mtime_ns = 33, .target = "d/f.txt"};
	f->count = 3;
}

static void add_node(catalog *cat, int64_t snapshot_id, int64_t node_id, const char *text)
{
	node_fixture f;
	make_node(&f, node_id, text);
	assert_int_equal(catalog_node_add(cat, snapshot_id, &f.node, f.entries, f.count), 0);
}

static pack_location location(int64_t pack_id, uint64_t offset, uint64_t raw_size)
{
	return (pack_location){.pack_id = pack_id, .offset = offset, .raw_size = raw_size, .stored_size = raw_size,
			       .codec = CODEC_RAW};
}

static void add_object_for(catalog *cat, const char *text, int64_t pack_id, uint64_t offset)
{
	st_hash h;
	make_hash(&h, text);
	pack_location loc = location(pack_id, offset, strlen(text));
	assert_int_equal(catalog_object_add(cat, &h, &loc), 0);
}

/* The node ids of snapshot_id's tree, in iteration order; returns how many. */
static size_t tree_node_ids(catalog *cat, int64_t snapshot_id, int64_t *ids, size_t cap)
{
	catalog_tree_iter *iter = NULL;
	assert_int_equal(catalog_tree_iter_open(&iter, cat, snapshot_id), 0);
	size_t n = 0;
	for (;;) {
		catalog_node_tree *tree = NULL;
		assert_int_equal(catalog_tree_iter_next(iter, &tree), 0);
		if (tree == NULL)
			break;
		assert_true(n < cap);
		ids[n++] = tree->node.node_id;
		catalog_node_tree_free(tree);
	}
	catalog_tree_iter_close(iter);
	return n;
}

static void test_node_add_and_tree_iterator(void **state)
{
	const char *tmp = *state;
	catalog *cat = create_catalog(tmp, NULL);
	int64_t pack_id = 0;
	assert_int_equal(catalog_pack_add(cat, "0000000000000001.pack", 100000, 4, &pack_id), 0);
	add_object_for(cat, "content one", pack_id, 16);
	add_object_for(cat, "content two", pack_id, 16 + 48 + 11);
	st_hash chunk1, chunk2, whole;
	make_hash(&chunk1, "chunk-1");
	make_hash(&chunk2, "chunk-2");
	make_hash(&whole, "chunk-1chunk-2");
	pack_location c1 = location(pack_id, 1000, 7), c2 = location(pack_id, 2000, 7);
	assert_int_equal(catalog_object_add(cat, &chunk1, &c1), 0);
	assert_int_equal(catalog_object_add(cat, &chunk2, &c2), 0);

	int64_t snap = create_snapshot(cat, 1);
	assert_int_equal(catalog_begin(cat), 0);
	add_node(cat, snap, 10, "content one");
	/* A node without a folder. */
	catalog_node bare = {.node_id = 11, .ctime_us = 110, .uuid = "0000000b-0000-4000-8000-000000000000",
			     .has_folder = false};
	assert_int_equal(catalog_node_add(cat, snap, &bare, NULL, 0), 0);
	/* A node with a chunked file and an empty directory. */
	st_hash chunks[2] = {chunk1, chunk2};
	catalog_entry chunked[2] = {
		{.path = "big.bin", .type = CATALOG_ENTRY_FILE, .mode = 0600, .mtime_ns = 44, .size = 14,
		 .hash = whole, .chunks = chunks, .chunk_count = 2},
		{.path = "empty-dir", .type = CATALOG_ENTRY_DIR, .mode = 0700, .mtime_ns = 55},
	};
	catalog_node big = {.node_id = 12, .ctime_us = 120, .uuid = "0000000c-0000-4000-8000-000000000000",
			    .has_folder = true, .root_mode = 0700, .root_mtime_ns = 66, .files = 1, .bytes = 14};
	assert_int_equal(catalog_node_add(cat, snap, &big, chunked, 2), 0);
	assert_int_equal(catalog_commit(cat), 0);
	complete_snapshot(cat, snap, 1);

	bool current = false;
	assert_int_equal(catalog_node_is_current(cat, 10, &current), 0);
	assert_true(current);
	assert_int_equal(catalog_node_is_current(cat, 13, &current), 0);
	assert_false(current);

	catalog_tree_iter *iter = NULL;
	assert_int_equal(catalog_tree_iter_open(&iter, cat, snap), 0);
	catalog_node_tree *tree = NULL;

	/* Node 10: entries in path order, with where the file's content is. */
	assert_int_equal(catalog_tree_iter_next(iter, &tree), 0);
	assert_non_null(tree);
	assert_int_equal(tree->node.node_id, 10);
	assert_string_equal(tree->node.uuid, "0000000a-0000-4000-8000-000000000000");
	assert_int_equal(tree->node.ctime_us, 100);
	assert_true(tree->node.has_folder);
	assert_int_equal(tree->node.root_mode, 0755);
	assert_int_equal(tree->node.root_mtime_ns, 123456789);
	assert_int_equal(tree->node.files, 1);
	assert_int_equal(tree->node.bytes, 11);
	assert_int_equal(tree->count, 3);
	assert_string_equal(tree->entries[0].entry.path, "d");
	assert_int_equal(tree->entries[0].entry.type, CATALOG_ENTRY_DIR);
	assert_int_equal(tree->entries[0].entry.mode, 0750);
	assert_int_equal(tree->entries[0].entry.mtime_ns, 11);
	assert_false(tree->entries[0].has_location);
	assert_string_equal(tree->entries[1].entry.path, "d/f.txt");
	assert_int_equal(tree->entries[1].entry.type, CATALOG_ENTRY_FILE);
	assert_int_equal(tree->entries[1].entry.size, 11);
	assert_int_equal(tree->entries[1].entry.mode, 0640);
	assert_int_equal(tree->entries[1].entry.chunk_count, 0);
	st_hash expected;
	make_hash(&expected, "content one");
	assert_true(st_hash_equal(&tree->entries[1].entry.hash, &expected));
	assert_true(tree->entries[1].has_location);
	assert_int_equal(tree->entries[1].location.pack_id, pack_id);
	assert_int_equal(tree->entries[1].location.offset, 16);
	assert_int_equal(tree->entries[1].location.raw_size, 11);
	assert_int_equal(tree->entries[1].location.stored_size, 11);
	assert_int_equal(tree->entries[1].location.codec, CODEC_RAW);
	assert_string_equal(tree->entries[2].entry.path, "link");
	assert_int_equal(tree->entries[2].entry.type, CATALOG_ENTRY_SYMLINK);
	assert_string_equal(tree->entries[2].entry.target, "d/f.txt");
	assert_null(tree->entries[0].entry.target);
	catalog_node_tree_free(tree);

	/* Node 11: no folder, no entries. */
	assert_int_equal(catalog_tree_iter_next(iter, &tree), 0);
	assert_non_null(tree);
	assert_int_equal(tree->node.node_id, 11);
	assert_false(tree->node.has_folder);
	assert_int_equal(tree->count, 0);
	catalog_node_tree_free(tree);

	/* Node 12: the chunked file's chunks and their locations. */
	assert_int_equal(catalog_tree_iter_next(iter, &tree), 0);
	assert_non_null(tree);
	assert_int_equal(tree->node.node_id, 12);
	assert_int_equal(tree->count, 2);
	const catalog_tree_entry *e = &tree->entries[0];
	assert_string_equal(e->entry.path, "big.bin");
	assert_int_equal(e->entry.chunk_count, 2);
	assert_true(st_hash_equal(&e->entry.hash, &whole));
	assert_true(st_hash_equal(&e->entry.chunks[0], &chunk1));
	assert_true(st_hash_equal(&e->entry.chunks[1], &chunk2));
	assert_non_null(e->chunk_locations);
	assert_int_equal(e->chunk_locations[0].offset, 1000);
	assert_int_equal(e->chunk_locations[1].offset, 2000);
	assert_string_equal(tree->entries[1].entry.path, "empty-dir");
	catalog_node_tree_free(tree);

	/* The end, and it stays the end. */
	assert_int_equal(catalog_tree_iter_next(iter, &tree), 0);
	assert_null(tree);
	assert_int_equal(catalog_tree_iter_next(iter, &tree), 0);
	assert_null(tree);
	catalog_tree_iter_close(iter);
	catalog_tree_iter_close(NULL);
	catalog_node_tree_free(NULL);
	catalog_close(cat);
}

/* Collects node ids; stops (returning 5) once it has stop_after of them. */
typedef struct id_collector {
	int64_t ids[8];
	size_t count, stop_after;
} id_collector;

static int collect_id(void *ctx, catalog_node_tree *tree)
{
	id_collector *c = ctx;
	c->ids[c->count++] = tree->node.node_id;
	return c->count == c->stop_after ? 5 : 0;
}

static void test_tree_each_in_order(void **state)
{
	const char *tmp = *state;
	catalog *cat = create_catalog(tmp, NULL);
	int64_t snap = create_snapshot(cat, 1);
	static const char *const uuids[] = {"ff000000-0000-4000-8000-000000000000", "00000000-0000-4000-8000-000000000000",
					    "80000000-0000-4000-8000-000000000000"};
	assert_int_equal(catalog_begin(cat), 0);
	for (int i = 0; i < 3; i++) {
		catalog_node n = {.node_id = 20 + i, .ctime_us = 1, .uuid = uuids[i], .has_folder = true, .root_mode = 0755};
		assert_int_equal(catalog_node_add(cat, snap, &n, NULL, 0), 0);
	}
	assert_int_equal(catalog_commit(cat), 0);
	complete_snapshot(cat, snap, 1);

	id_collector all = {.stop_after = 0};
	assert_int_equal(catalog_tree_each(cat, snap, CATALOG_TREE_BY_UUID, collect_id, &all), 0);
	assert_int_equal(all.count, 3);
	assert_int_equal(all.ids[0], 21);
	assert_int_equal(all.ids[1], 22);
	assert_int_equal(all.ids[2], 20);

	/* By version; fn's first non-zero return ends the loop and is returned. */
	id_collector two = {.stop_after = 2};
	assert_int_equal(catalog_tree_each(cat, snap, CATALOG_TREE_BY_VERSION, collect_id, &two), 5);
	assert_int_equal(two.count, 2);
	assert_int_equal(two.ids[0], 20);
	assert_int_equal(two.ids[1], 21);
	catalog_close(cat);
}

/* The node ids that catalog_tree_iter_open_prefix gives for prefix; returns how many. */
static size_t prefix_node_ids(catalog *cat, int64_t snapshot_id, const char *prefix, int64_t *ids, size_t cap)
{
	catalog_tree_iter *iter = NULL;
	assert_int_equal(catalog_tree_iter_open_prefix(&iter, cat, snapshot_id, prefix), 0);
	size_t n = 0;
	for (catalog_node_tree *tree = NULL; catalog_tree_iter_next(iter, &tree) == 0 && tree != NULL;) {
		assert_true(n < cap);
		ids[n++] = tree->node.node_id;
		catalog_node_tree_free(tree);
	}
	catalog_tree_iter_close(iter);
	return n;
}

static void test_tree_by_uuid_prefix(void **state)
{
	const char *tmp = *state;
	catalog *cat = create_catalog(tmp, NULL);
	int64_t snap = create_snapshot(cat, 1);
	static const char *const uuids[] = {"ab000000-0000-4000-8000-000000000000", "abf00000-0000-4000-8000-000000000000",
					    "ac000000-0000-4000-8000-000000000000", "a0000000-0000-4000-8000-000000000000"};
	assert_int_equal(catalog_begin(cat), 0);
	for (int i = 0; i < 4; i++) {
		catalog_node n = {.node_id = 30 + i, .ctime_us = 1, .uuid = uuids[i], .has_folder = true, .root_mode = 0755};
		assert_int_equal(catalog_node_add(cat, snap, &n, NULL, 0), 0);
	}
	assert_int_equal(catalog_commit(cat), 0);
	complete_snapshot(cat, snap, 1);
	int64_t ids[8];
	assert_int_equal(prefix_node_ids(cat, snap, "ab", ids, 8), 2);
	assert_int_equal(ids[0], 30);
	assert_int_equal(ids[1], 31);
	assert_int_equal(prefix_node_ids(cat, snap, "abf00000-0000-4000-8000-000000000000", ids, 8), 1);
	assert_int_equal(ids[0], 31);
	assert_int_equal(prefix_node_ids(cat, snap, "a", ids, 8), 4);
	assert_int_equal(prefix_node_ids(cat, snap, "", ids, 8), 4);
	assert_int_equal(prefix_node_ids(cat, snap, "b", ids, 8), 0);
	/* One node of a million: the prefix is a range of the uuid index, not a scan. */
	sqlite3_stmt *stmt = NULL;
	assert_int_equal(sqlite3_prepare_v2(cat->db,
					    "EXPLAIN QUERY PLAN SELECT v.id FROM node_versions v"
					    " WHERE v.uuid >= 'ab' AND v.uuid < 'ac' AND v.added_in <= 1",
					    -1, &stmt, NULL),
			 SQLITE_OK);
	bool uses_index = false;
	while (sqlite3_step(stmt) == SQLITE_ROW)
		uses_index |= strstr((const char *)sqlite3_column_text(stmt, 3), "node_versions_uuid") != NULL;
	sqlite3_finalize(stmt);
	assert_true(uses_index);
	catalog_close(cat);
}

static void test_tree_iterator_reports_missing_content(void **state)
{
	const char *tmp = *state;
	catalog *cat = create_catalog(tmp, NULL);
	int64_t snap = create_snapshot(cat, 1);
	add_node(cat, snap, 1, "no object for this");
	complete_snapshot(cat, snap, 1);
	catalog_tree_iter *iter = NULL;
	assert_int_equal(catalog_tree_iter_open(&iter, cat, snap), 0);
	catalog_node_tree *tree = NULL;
	assert_int_equal(catalog_tree_iter_next(iter, &tree), ST_ERR_CORRUPT);
	assert_null(tree);
	assert_non_null(strstr(st_error_message(), "d/f.txt"));
	catalog_tree_iter_close(iter);

	/* A chunk that is not stored. */
	st_hash chunk;
	make_hash(&chunk, "missing chunk");
	catalog_entry entry = {.path = "c", .type = CATALOG_ENTRY_FILE, .size = 1, .hash = chunk, .chunks = &chunk,
			       .chunk_count = 1};
	catalog_node node = {.node_id = 2, .uuid = "00000002-0000-4000-8000-000000000000", .has_folder = true};
	int64_t snap2 = create_snapshot(cat, 2);
	assert_int_equal(catalog_node_add(cat, snap2, &node, &entry, 1), 0);
	complete_snapshot(cat, snap2, 2);
	add_object_for(cat, "no object for this", 1, 16); /* node 1 is fine now */
	assert_int_equal(catalog_tree_iter_open(&iter, cat, snap2), 0);
	assert_int_equal(catalog_tree_iter_next(iter, &tree), 0);
	assert_non_null(tree);
	assert_int_equal(tree->node.node_id, 1);
	catalog_node_tree_free(tree);
	assert_int_equal(catalog_tree_iter_next(iter, &tree), ST_ERR_CORRUPT);
	assert_null(tree);
	assert_non_null(strstr(st_error_message(), "chunk 0"));
	catalog_tree_iter_close(iter);
	catalog_close(cat);
}

static void test_mark_deleted_and_current_nodes(void **state)
{
	const char *tmp = *state;
	catalog *cat = create_catalog(tmp, NULL);
	add_object_for(cat, "one", 1, 16);
	add_object_for(cat, "two two", 1, 100);
	add_object_for(cat, "five", 1, 200);

	int64_t s1 = create_snapshot(cat, 1);
	add_node(cat, s1, 5, "five");
	add_node(cat, s1, 1, "one");
	add_node(cat, s1, 2, "two two");
	complete_snapshot(cat, s1, 1);

	int64_t count = 0, *ids = NULL;
	size_t n = 0;
	st_id_sums sums[3];
	assert_int_equal(catalog_node_id_sums(cat, 1, 1000, 1000, sums, 1), 0);
	assert_int_equal(sums[0].count, 3);
	assert_int_equal(sums[0].sum, 8);
	assert_int_equal(sums[0].hash_sum, st_id_sums_normalise(st_id_hash(1) + st_id_hash(2) + st_id_hash(5)));
	/* Buckets of two ids from 1: {1, 2}, {3, 4}, {5, 6}. */
	assert_int_equal(catalog_node_id_sums(cat, 1, 6, 2, sums, 3), 0);
	assert_int_equal(sums[0].count, 2);
	assert_int_equal(sums[1].count, 0);
	assert_int_equal(sums[2].count, 1);
	assert_int_equal(sums[2].sum, 5);
	assert_int_equal(catalog_node_min_current(cat, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(catalog_node_current_ids(cat, 1, 1000, &ids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], 1); /* ascending, whatever the order they were added in */
	assert_int_equal(ids[1], 2);
	assert_int_equal(ids[2], 5);
	free(ids);
	assert_int_equal(catalog_node_current_ids(cat, 2, 4, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 2);
	free(ids);

	/* Snapshot 2 deletes node 2 (and an unknown id, which holds nothing). */
	int64_t s2 = create_snapshot(cat, 2);
	int64_t deleted[2] = {2, 999};
	int64_t files = -1, bytes = -1;
	assert_int_equal(catalog_node_mark_deleted(cat, s2, deleted, 2, &files, &bytes), 0);
	assert_int_equal(files, 1);
	assert_int_equal(bytes, 7);
	add_node(cat, s2, 7, "one"); /* and adds node 7 */
	complete_snapshot(cat, s2, 2);

	bool current = true;
	assert_int_equal(catalog_node_is_current(cat, 2, &current), 0);
	assert_false(current);
	assert_int_equal(catalog_node_id_sums(cat, 1, 1000, 1000, sums, 1), 0);
	assert_int_equal(sums[0].count, 3);
	assert_int_equal(sums[0].sum, 13);
	assert_int_equal(catalog_node_current_ids(cat, 0, 1000, &ids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 5);
	assert_int_equal(ids[2], 7);
	free(ids);

	/* The earlier snapshot still holds node 2; the later one does not, and holds node 7. */
	int64_t tree_ids[8];
	n = tree_node_ids(cat, s1, tree_ids, 8);
	assert_int_equal(n, 3);
	assert_int_equal(tree_ids[0], 5); /* in the order the versions were added */
	assert_int_equal(tree_ids[1], 1);
	assert_int_equal(tree_ids[2], 2);
	n = tree_node_ids(cat, s2, tree_ids, 8);
	assert_int_equal(n, 3);
	assert_int_equal(tree_ids[0], 5);
	assert_int_equal(tree_ids[1], 1);
	assert_int_equal(tree_ids[2], 7);

	/* Deleting again finds nothing current. */
	int64_t s3 = create_snapshot(cat, 3);
	assert_int_equal(catalog_node_mark_deleted(cat, s3, deleted, 1, &files, &bytes), 0);
	assert_int_equal(files, 0);
	assert_int_equal(bytes, 0);
	catalog_close(cat);
}

typedef struct listed_nodes {
	int64_t ids[8];
	char uuids[8][CATALOG_UUID_LEN + 1];
	size_t count;
	size_t stop_at; /* 0: never */
} listed_nodes;

static int list_node(void *ctx, const catalog_node *node)
{
	listed_nodes *l = ctx;
	assert_true(l->count < 8);
	l->ids[l->count] = node->node_id;
	snprintf(l->uuids[l->count], sizeof l->uuids[l->count], "%s", node->uuid);
	assert_int_equal(node->ctime_us, node->node_id * 10);
	assert_true(node->has_folder);
	l->count++;
	return l->count == l->stop_at ? ST_ERR_GENERIC : 0;
}

/* An import's snapshot: every current version ends in it, and each snapshot lists its own view. */
static void test_end_current_and_each(void **state)
{
	const char *tmp = *state;
	catalog *cat = create_catalog(tmp, NULL);
	int64_t s1 = create_snapshot(cat, 1);
	add_node(cat, s1, 9, "nine");
	add_node(cat, s1, 3, "three");
	complete_snapshot(cat, s1, 1);

	int64_t s2 = create_snapshot(cat, 2);
	int64_t ended = -1;
	add_node(cat, s2, 4, "four"); /* added in s2: not ended by s2 */
	assert_int_equal(catalog_node_end_current(cat, s2, &ended), 0);
	assert_int_equal(ended, 2);
	complete_snapshot(cat, s2, 2);

	listed_nodes l = {0};
	assert_int_equal(catalog_node_each(cat, s1, list_node, &l), 0);
	assert_int_equal(l.count, 2);
	assert_int_equal(l.ids[0], 3); /* by uuid */
	assert_int_equal(l.ids[1], 9);
	assert_string_equal(l.uuids[0], "00000003-0000-4000-8000-000000000000");
	listed_nodes l2 = {0};
	assert_int_equal(catalog_node_each(cat, s2, list_node, &l2), 0);
	assert_int_equal(l2.count, 1);
	assert_int_equal(l2.ids[0], 4);
	listed_nodes stop = {.stop_at = 1};
	assert_int_equal(catalog_node_each(cat, s1, list_node, &stop), ST_ERR_GENERIC);
	assert_int_equal(stop.count, 1);

	/* Nothing current is older than a new snapshot's own versions. */
	int64_t s3 = create_snapshot(cat, 3);
	assert_int_equal(catalog_node_end_current(cat, s3, &ended), 0);
	assert_int_equal(ended, 1);
	assert_int_equal(catalog_node_end_current(cat, s3, &ended), 0);
	assert_int_equal(ended, 0);
	/* A uuid that is not one is refused by name, before fn sees it. */
	const catalog_node bad = {.node_id = 5, .uuid = "not-a-uuid", .has_folder = false};
	assert_int_equal(catalog_node_add(cat, s3, &bad, NULL, 0), 0);
	listed_nodes none = {0};
	assert_int_equal(catalog_node_each(cat, s3, list_node, &none), ST_ERR_CORRUPT);
	assert_int_equal(none.count, 0);
	assert_non_null(strstr(st_error_message(), "malformed uuid"));
	catalog_close(cat);
}

static void test_current_uuid(void **state)
{
	catalog *cat = create_catalog(*state, NULL);
	add_object_for(cat, "one", 1, 16);
	int64_t s1 = create_snapshot(cat, 1);
	add_node(cat, s1, 1, "one");
	complete_snapshot(cat, s1, 1);
	char uuid[CATALOG_UUID_LEN + 1];
	bool found = false;
	assert_int_equal(catalog_node_current_uuid(cat, 1, uuid, &found), 0);
	assert_true(found);
	assert_string_equal(uuid, "00000001-0000-4000-8000-000000000000");
	assert_int_equal(catalog_node_current_uuid(cat, 2, uuid, &found), 0);
	assert_false(found);
	int64_t s2 = create_snapshot(cat, 2);
	int64_t gone = 1, files = 0, bytes = 0;
	assert_int_equal(catalog_node_mark_deleted(cat, s2, &gone, 1, &files, &bytes), 0);
	assert_int_equal(catalog_node_current_uuid(cat, 1, uuid, &found), 0);
	assert_false(found);
	/* A uuid of the wrong length is damage. */
	add_node(cat, s2, 3, "one");
	assert_int_equal(catalog_exec(cat, "UPDATE node_versions SET uuid = 'short' WHERE node_id = 3"), 0);
	assert_int_equal(catalog_node_current_uuid(cat, 3, uuid, &found), ST_ERR_CORRUPT);
	assert_false(found);
	catalog_close(cat);
}

typedef struct folder_walk {
	catalog_folder seen[8];
	size_t count;
	size_t stop_at; /* 0: never */
} folder_walk;

static int collect_folder(void *ctx, const catalog_folder *folder)
{
	folder_walk *walk = ctx;
	assert_true(walk->count < 8);
	walk->seen[walk->count++] = *folder;
	return walk->count == walk->stop_at ? 7 : 0;
}

/* A folder's state at a snapshot is its newest record up to it; pending snapshots do not count;
 * deepest paths first. */
static void test_folders_as_of(void **state)
{
	catalog *cat = create_catalog(*state, NULL);
	catalog_folder *got = NULL;
	size_t count = 99;
	const catalog_folder first[] = {
		{"repository/node/ab/cd", 0755, 11}, {"repository/node/ab", 0750, 12}, {"repository/node", 0755, 13},
		{"repository", 0700, 14},
	};
	const catalog_folder second[] = {{"repository/node/ab", 0755, 22}, {"repository", 0700, 24}};
	const catalog_folder third[] = {{"repository", 0711, 34}};
	int64_t s1 = create_snapshot(cat, 1);
	assert_int_equal(catalog_folder_add(cat, s1, first, 4), 0);
	complete_snapshot(cat, s1, 1);
	int64_t s2 = create_snapshot(cat, 2);
	assert_int_equal(catalog_folder_add(cat, s2, second, 2), 0);
	complete_snapshot(cat, s2, 2);
	int64_t s3 = create_snapshot(cat, 3);
	assert_int_equal(catalog_folder_add(cat, s3, third, 1), 0);

	assert_int_equal(catalog_folder_as_of(cat, s2, &got, &count), 0);
	assert_int_equal(count, 4);
	assert_string_equal(got[0].path, "repository/node/ab/cd");
	assert_int_equal(got[0].mtime_ns, 11);
	assert_string_equal(got[1].path, "repository/node/ab");
	assert_int_equal(got[1].mtime_ns, 22);
	assert_int_equal(got[1].mode, 0755);
	assert_string_equal(got[2].path, "repository/node");
	assert_int_equal(got[2].mtime_ns, 13);
	assert_string_equal(got[3].path, "repository");
	assert_int_equal(got[3].mtime_ns, 24);
	free(got);
	assert_int_equal(catalog_folder_as_of(cat, s1, &got, &count), 0);
	assert_int_equal(count, 4);
	assert_int_equal(got[1].mtime_ns, 12);
	assert_int_equal(got[1].mode, 0750);
	free(got);
	/* s3 is pending: what it recorded is not seen. */
	assert_int_equal(catalog_folder_as_of(cat, s3, &got, &count), 0);
	assert_int_equal(count, 4);
	assert_int_equal(got[3].mtime_ns, 24);
	free(got);

	/* Every record of the complete snapshots, by path and snapshot. */
	folder_walk walk = {0};
	assert_int_equal(catalog_folder_each(cat, collect_folder, &walk), 0);
	assert_int_equal(walk.count, 6);
	assert_string_equal(walk.seen[0].path, "repository");
	assert_int_equal(walk.seen[0].mtime_ns, 14);
	assert_int_equal(walk.seen[1].mtime_ns, 24);
	assert_string_equal(walk.seen[5].path, "repository/node/ab/cd");
	walk = (folder_walk){.stop_at = 2};
	assert_int_equal(catalog_folder_each(cat, collect_folder, &walk), 7);
	assert_int_equal(walk.count, 2);

	/* An over-long path, a NUL inside one and a mode out of range are damage. */
	const char *damage[] = {
		"UPDATE folder_meta SET path = 'repository/node/ab/cd/0123456789abcdef' WHERE path = 'repository/node/ab/cd'",
		"UPDATE folder_meta SET path = CAST(X'7265706F0078' AS TEXT) WHERE path = 'repository/node/ab/cd'",
		"UPDATE folder_meta SET mode = -1 WHERE path = 'repository/node/ab/cd'",
	};
	for (size_t i = 0; i < sizeof damage / sizeof *damage; i++) {
		assert_int_equal(catalog_begin(cat), 0);
		assert_int_equal(catalog_exec(cat, damage[i]), 0);
		got = (catalog_folder *)1;
		assert_int_equal(catalog_folder_as_of(cat, s2, &got, &count), ST_ERR_CORRUPT);
		assert_null(got);
		assert_int_equal(count, 0);
		walk = (folder_walk){0};
		assert_int_equal(catalog_folder_each(cat, collect_folder, &walk), ST_ERR_CORRUPT);
		catalog_rollback(cat);
	}
	catalog_close(cat);
}

static void test_discard_pending(void **state)
{
	const char *tmp = *state;
	catalog *cat = create_catalog(tmp, NULL);
	int discarded = -1;
	assert_int_equal(catalog_discard_pending(cat, &discarded), 0);
	assert_int_equal(discarded, 0);

	add_object_for(cat, "one", 1, 16);
	add_object_for(cat, "two two", 1, 100);
	int64_t s1 = create_snapshot(cat, 1);
	add_node(cat, s1, 1, "one");
	add_node(cat, s1, 3, "one");
	complete_snapshot(cat, s1, 1);

	/* A killed run: its pending snapshot added node 2 and deleted node 1. */
	int64_t s2 = create_snapshot(cat, 2);
	add_node(cat, s2, 2, "two two");
	int64_t del = 1, files = 0, bytes = 0;
	assert_int_equal(catalog_node_mark_deleted(cat, s2, &del, 1, &files, &bytes), 0);
	assert_int_equal(count_rows(cat, "SELECT count(*) FROM entries"), 9);
	assert_int_equal(count_rows(cat, "SELECT count(*) FROM node_versions"), 3);

	/* The discard removes it and all it did, and nothing else. */
	assert_int_equal(catalog_discard_pending(cat, &discarded), 0);
	assert_int_equal(discarded, 1);
	assert_int_equal(count_rows(cat, "SELECT count(*) FROM snapshots"), 1);
	assert_int_equal(count_rows(cat, "SELECT count(*) FROM node_versions"), 2);
	assert_int_equal(count_rows(cat, "SELECT count(*) FROM entries"), 6);
	assert_int_equal(count_rows(cat, "SELECT count(*) FROM node_versions WHERE node_id = 2"), 0);
	assert_int_equal(count_rows(cat, "SELECT count(*) FROM node_versions WHERE deleted_in IS NOT NULL"), 0);
	bool current = false;
	assert_int_equal(catalog_node_is_current(cat, 1, &current), 0);
	assert_true(current);
	assert_int_equal(catalog_node_is_current(cat, 2, &current), 0);
	assert_false(current);
	int64_t ids[4];
	assert_int_equal(tree_node_ids(cat, s1, ids, 4), 2);
	catalog_snapshot latest;
	bool found = false;
	assert_int_equal(catalog_snapshot_latest(cat, &latest, &found), 0);
	assert_true(found);
	assert_int_equal(latest.id, s1);

	/* Several pending snapshots at once. */
	int64_t s3 = create_snapshot(cat, 3);
	add_node(cat, s3, 4, "one");
	assert_int_equal(catalog_node_mark_deleted(cat, s3, &del, 1, &files, &bytes), 0);
	int64_t s4 = create_snapshot(cat, 4);
	int64_t del3 = 3;
	assert_int_equal(catalog_node_mark_deleted(cat, s4, &del3, 1, &files, &bytes), 0);
	assert_int_equal(catalog_discard_pending(cat, &discarded), 0);
	assert_int_equal(discarded, 2);
	assert_int_equal(count_rows(cat, "SELECT count(*) FROM node_versions WHERE deleted_in IS NOT NULL"), 0);
	assert_int_equal(count_rows(cat, "SELECT count(*) FROM node_versions"), 2);
	assert_int_equal(count_rows(cat, "SELECT count(*) FROM entries"), 6);
	catalog_close(cat);
}

/* ---- packs and objects ---- */

static void test_packs_and_objects(void **state)
{
	const char *tmp = *state;
	catalog *cat = create_catalog(tmp, NULL);
	int64_t p1 = 0, p2 = 0;
	assert_int_equal(catalog_pack_add(cat, "aaaaaaaaaaaaaaaa.pack", 1000, 2, &p1), 0);
	assert_int_equal(catalog_pack_add(cat, "bbbbbbbbbbbbbbbb.pack", 2000, 1, &p2), 0);
	assert_true(p2 > p1);
	int64_t dup = 0;
	assert_int_not_equal(catalog_pack_add(cat, "aaaaaaaaaaaaaaaa.pack", 1, 1, &dup), 0);

	catalog_pack *packs = NULL;
	size_t count = 0;
	assert_int_equal(catalog_pack_list(cat, &packs, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(packs[0].id, p1);
	assert_string_equal(packs[0].name, "aaaaaaaaaaaaaaaa.pack");
	assert_int_equal(packs[0].size, 1000);
	assert_int_equal(packs[0].objects, 2);
	assert_string_equal(packs[1].name, "bbbbbbbbbbbbbbbb.pack");
	free(packs);

	st_hash h1, h2, h3, absent;
	make_hash(&h1, "object 1");
	make_hash(&h2, "object 2");
	make_hash(&h3, "object 3");
	make_hash(&absent, "absent");
	pack_location l1 = {.pack_id = p1, .offset = 500, .raw_size = 100, .stored_size = 40, .codec = CODEC_ZSTD};
	pack_location l2 = location(p1, 16, 8);
	pack_location l3 = location(p2, 16, 8);
	assert_int_equal(catalog_object_add(cat, &h1, &l1), 0);
	assert_int_equal(catalog_object_add(cat, &h2, &l2), 0);
	assert_int_equal(catalog_object_add(cat, &h3, &l3), 0);
	/* The first location of a hash is kept. */
	pack_location other = location(p2, 900, 8);
	assert_int_equal(catalog_object_add(cat, &h2, &other), 0);

	pack_location got;
	bool found = false;
	assert_int_equal(catalog_object_find(cat, &h1, &got, &found), 0);
	assert_true(found);
	assert_int_equal(got.pack_id, p1);
	assert_int_equal(got.offset, 500);
	assert_int_equal(got.raw_size, 100);
	assert_int_equal(got.stored_size, 40);
	assert_int_equal(got.codec, CODEC_ZSTD);
	assert_int_equal(catalog_object_find(cat, &h2, &got, &found), 0);
	assert_true(found);
	assert_int_equal(got.pack_id, p1);
	assert_int_equal(got.offset, 16);
	assert_int_equal(catalog_object_find(cat, &absent, &got, &found), 0);
	assert_false(found);
	assert_int_equal(catalog_object_find(cat, &h3, NULL, &found), 0);
	assert_true(found);
	catalog_close(cat);
}

typedef struct collected {
	st_hash hashes[8];
	uint64_t offsets[8];
	size_t count;
	size_t stop_after;
} collected;

static int collect(void *ctx, const st_hash *hash, const pack_location *loc)
{
	collected *c = ctx;
	c->hashes[c->count] = *hash;
	c->offsets[c->count] = loc->offset;
	c->count++;
	return c->count == c->stop_after ? -42 : 0;
}

static void test_objects_in_pack_order(void **state)
{
	const char *tmp = *state;
	catalog *cat = create_catalog(tmp, NULL);
	add_object_for(cat, "third", 1, 300);
	add_object_for(cat, "first", 1, 16);
	add_object_for(cat, "elsewhere", 2, 16);
	add_object_for(cat, "second", 1, 100);

	collected c = {.stop_after = 0};
	assert_int_equal(catalog_object_each_in_pack(cat, 1, collect, &c), 0);
	assert_int_equal(c.count, 3);
	assert_int_equal(c.offsets[0], 16);
	assert_int_equal(c.offsets[1], 100);
	assert_int_equal(c.offsets[2], 300);
	st_hash expected;
	make_hash(&expected, "second");
	assert_true(st_hash_equal(&c.hashes[1], &expected));

	/* The callback's non-zero return stops the walk and is returned. */
	collected stop = {.stop_after = 2};
	assert_int_equal(catalog_object_each_in_pack(cat, 1, collect, &stop), -42);
	assert_int_equal(stop.count, 2);

	collected none = {.stop_after = 0};
	assert_int_equal(catalog_object_each_in_pack(cat, 77, collect, &none), 0);
	assert_int_equal(none.count, 0);
	catalog_close(cat);
}

typedef struct problems {
	char lines[8][512];
	size_t count;
} problems;

static void record_problem(void *ctx, const char *problem)
{
	problems *p = ctx;
	if (p->count < 8)
		snprintf(p->lines[p->count], sizeof p->lines[0], "%s", problem);
	p->count++;
}

static bool any_line_contains(const problems *p, const char *a, const char *b)
{
	for (size_t i = 0; i < p->count && i < 8; i++)
		if (strstr(p->lines[i], a) != NULL && (b == NULL || strstr(p->lines[i], b) != NULL))
			return true;
	return false;
}

static void test_check_references(void **state)
{
	const char *tmp = *state;
	catalog *cat = create_catalog(tmp, NULL);
	int64_t pack = 0;
	assert_int_equal(catalog_pack_add(cat, "cccccccccccccccc.pack", 16 + 48 + 3, 1, &pack), 0);
	add_object_for(cat, "one", pack, 16); /* ends exactly at the end of the pack */
	int64_t snap = create_snapshot(cat, 1);
	add_node(cat, snap, 1, "one");
	complete_snapshot(cat, snap, 1);

	problems p = {.count = 0};
	uint64_t n = 99;
	assert_int_equal(catalog_check_references(cat, record_problem, &p, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(p.count, 0);

	/* An entry whose object is missing. */
	add_node(cat, snap, 2, "never stored");
	/* An object past the end of its pack. */
	add_object_for(cat, "beyond", pack, 16 + 48 + 3);
	/* An object in a pack the catalog does not list. */
	add_object_for(cat, "lost pack", pack + 50, 16);
	/* A chunked file with a missing chunk. */
	st_hash chunks[2];
	make_hash(&chunks[0], "one");
	make_hash(&chunks[1], "missing chunk");
	catalog_entry entry = {.path = "chunky", .type = CATALOG_ENTRY_FILE, .size = 10, .chunks = chunks,
			       .chunk_count = 2};
	make_hash(&entry.hash, "whole");
	catalog_node node = {.node_id = 3, .uuid = "00000003-0000-4000-8000-000000000000", .has_folder = true};
	assert_int_equal(catalog_node_add(cat, snap, &node, &entry, 1), 0);

	assert_int_equal(catalog_check_references(cat, record_problem, &p, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(p.count, 4);
	assert_true(any_line_contains(&p, "00000002-0000-4000-8000-000000000000", "'d/f.txt'"));
	assert_true(any_line_contains(&p, "extends past the end", "cccccccccccccccc.pack"));
	assert_true(any_line_contains(&p, "is not in the catalog", NULL));
	assert_true(any_line_contains(&p, "'chunky'", "chunk 1"));
	catalog_close(cat);
}

static void test_concurrent_reader_sees_commits_only(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	catalog *writer = create_catalog(tmp, path);
	catalog *reader = NULL;
	assert_int_equal(catalog_open(&reader, path, CATALOG_READ), 0);

	assert_int_equal(catalog_begin(writer), 0);
	int64_t snap = create_snapshot(writer, 1);
	complete_snapshot(writer, snap, 1);
	catalog_snapshot got;
	bool found = true;
	assert_int_equal(catalog_snapshot_latest(reader, &got, &found), 0);
	assert_false(found);
	assert_int_equal(catalog_commit(writer), 0);
	assert_int_equal(catalog_snapshot_latest(reader, &got, &found), 0);
	assert_true(found);
	assert_int_equal(got.id, snap);
	catalog_close(reader);
	catalog_close(writer);
}

/* The hash of the content of the one file of node_id in snapshot_id's view. */
static st_hash file_hash_in(catalog *cat, int64_t snapshot_id, int64_t node_id)
{
	catalog_tree_iter *iter = NULL;
	catalog_node_tree *tree = NULL;
	st_hash found = {{0}};
	int seen = 0;
	assert_int_equal(catalog_tree_iter_open(&iter, cat, snapshot_id), 0);
	while (catalog_tree_iter_next(iter, &tree) == 0 && tree != NULL) {
		for (size_t i = 0; tree->node.node_id == node_id && i < tree->count; i++)
			if (tree->entries[i].entry.type == CATALOG_ENTRY_FILE) {
				found = tree->entries[i].entry.hash;
				seen++;
			}
		catalog_node_tree_free(tree);
	}
	catalog_tree_iter_close(iter);
	assert_int_equal(seen, 1);
	return found;
}

static void test_replace_version_and_state(void **state)
{
	const char *tmp = *state;
	catalog *cat = create_catalog(tmp, NULL);
	add_object_for(cat, "one", 1, 16);
	add_object_for(cat, "two two", 1, 100);
	st_hash d1, d2, one, two;
	make_hash(&d1, "tree one");
	make_hash(&d2, "tree two");
	make_hash(&one, "one");
	make_hash(&two, "two two");

	int64_t s1 = create_snapshot(cat, 1);
	node_fixture f;
	make_node(&f, 7, "one");
	f.node.mtime_us = 700;
	f.node.tree_digest = &d1;
	assert_int_equal(catalog_node_add(cat, s1, &f.node, f.entries, f.count), 0);
	add_node(cat, s1, 8, "one"); /* no mtime, no digest: as catalogs before format 10 */
	complete_snapshot(cat, s1, 1);

	catalog_node_state st;
	assert_int_equal(catalog_node_current_state(cat, 7, &st), 0);
	assert_true(st.current);
	assert_int_equal(st.mtime_us, 700);
	assert_true(st.has_digest);
	assert_true(st_hash_equal(&st.tree_digest, &d1));
	assert_int_equal(catalog_node_current_state(cat, 8, &st), 0);
	assert_true(st.current);
	assert_int_equal(st.mtime_us, 0);
	assert_false(st.has_digest);
	assert_int_equal(catalog_node_current_state(cat, 9, &st), 0);
	assert_false(st.current);

	/* Snapshot 2 replaces node 7's version; its own new version is not ended by a second call. */
	int64_t s2 = create_snapshot(cat, 2);
	int64_t id = 7, files = -1, bytes = -1;
	assert_int_equal(catalog_node_supersede(cat, s2, &id, 1, &files, &bytes), 0);
	assert_int_equal(files, 1);
	assert_int_equal(bytes, 3);
	make_node(&f, 7, "two two");
	f.entries[1].path = "d/g.txt";
	f.node.mtime_us = 800;
	f.node.tree_digest = &d2;
	assert_int_equal(catalog_node_add(cat, s2, &f.node, f.entries, f.count), 0);
	assert_int_equal(catalog_node_supersede(cat, s2, &id, 1, &files, &bytes), 0);
	assert_int_equal(files, 0);
	complete_snapshot(cat, s2, 2);
	assert_int_equal(catalog_node_current_state(cat, 7, &st), 0);
	assert_int_equal(st.mtime_us, 800);
	assert_true(st_hash_equal(&st.tree_digest, &d2));
	assert_int_equal(count_rows(cat, "SELECT count(*) FROM node_versions WHERE node_id = 7"), 2);

	/* Each snapshot sees its own version. */
	st_hash in1 = file_hash_in(cat, s1, 7), in2 = file_hash_in(cat, s2, 7);
	assert_true(st_hash_equal(&in1, &one));
	assert_true(st_hash_equal(&in2, &two));

	/* A pending snapshot that replaced it, discarded, gives the version back. */
	int64_t s3 = create_snapshot(cat, 3);
	assert_int_equal(catalog_node_supersede(cat, s3, &id, 1, &files, &bytes), 0);
	assert_int_equal(catalog_node_current_state(cat, 7, &st), 0);
	assert_false(st.current);
	int discarded = 0;
	assert_int_equal(catalog_discard_pending(cat, &discarded), 0);
	assert_int_equal(discarded, 1);
	assert_int_equal(catalog_node_current_state(cat, 7, &st), 0);
	assert_true(st.current);
	assert_int_equal(st.mtime_us, 800);
	catalog_close(cat);
}

#define CAT_TEST(name) cmocka_unit_test_setup_teardown(name, tu_tmpdir_setup, tu_tmpdir_teardown)

int run_catalog_tests(void)
{
	const struct CMUnitTest tests[] = {
		CAT_TEST(test_create_and_reopen),
		CAT_TEST(test_create_refuses_existing_file),
		CAT_TEST(test_open_missing),
		CAT_TEST(test_open_newer_format),
		CAT_TEST(test_open_foreign_sqlite),
		CAT_TEST(test_open_garbage),
		CAT_TEST(test_meta),
		CAT_TEST(test_transactions),
		CAT_TEST(test_snapshot_lifecycle),
		CAT_TEST(test_node_add_and_tree_iterator),
		CAT_TEST(test_tree_by_uuid_prefix),
		CAT_TEST(test_tree_each_in_order),
		CAT_TEST(test_tree_iterator_reports_missing_content),
		CAT_TEST(test_mark_deleted_and_current_nodes),
		CAT_TEST(test_replace_version_and_state),
		CAT_TEST(test_end_current_and_each),
		CAT_TEST(test_current_uuid),
		CAT_TEST(test_folders_as_of),
		CAT_TEST(test_discard_pending),
		CAT_TEST(test_packs_and_objects),
		CAT_TEST(test_objects_in_pack_order),
		CAT_TEST(test_check_references),
		CAT_TEST(test_concurrent_reader_sees_commits_only),
	};
	return cmocka_run_group_tests_name("catalog/catalog", tests, NULL, NULL);
}
