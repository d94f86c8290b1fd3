/*
 * test_catalog_failures.c - the catalog when things go wrong: migrations from older formats
 * (and a migration that fails), a catalog that cannot be opened, tables that are missing,
 * pages that are corrupt, a lock held by another connection and a full disk. Every failure
 * must come back as the right strata error kind, with a message naming the catalog.
 */
#include "../testutil.h"
#include "tests.h"

#include "catalog/catalog_internal.h"
#include "common/error.h"

/* The catalog stores codec ids as plain numbers; the store owns their meaning. */
enum { CODEC_RAW = 0 };

static void catalog_path(char *out, const char *dir)
{
	tu_join(out, dir, "catalog.db");
}

static catalog *open_new(const char *path)
{
	catalog *cat = NULL;
	assert_int_equal(catalog_open(&cat, path, CATALOG_CREATE), 0);
	return cat;
}

static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return n;
}

/* ---- migrations ---- */

/* A format-1 catalog (as the first release wrote it) is kept as catalog.db.v1.bak and migrated:
 * its data stays, and what later formats added works. */
static void test_migrates_format_1(void **state)
{
	char path[TU_PATH_MAX], bak[TU_PATH_MAX];
	catalog_path(path, *state);
	catalog *cat = open_new(path);
	assert_int_equal(catalog_meta_set(cat, "source_id", "abc"), 0);
	catalog_close(cat);
	catalog_test_raw_exec(path, "DROP TABLE folder_meta; DROP TABLE objects_staging; DROP TABLE dump_files;"
		       " ALTER TABLE snapshots DROP COLUMN db_info; ALTER TABLE snapshots DROP COLUMN profile;"
		       " ALTER TABLE snapshots DROP COLUMN container; ALTER TABLE snapshots DROP COLUMN data_version;"
		       " DROP INDEX node_versions_uuid;"
		       " ALTER TABLE node_versions DROP COLUMN mtime_us; ALTER TABLE node_versions DROP COLUMN tree_digest;"
		       " PRAGMA user_version = 1");

	assert_int_equal(catalog_open(&cat, path, CATALOG_WRITE), 0);
	char *value = NULL;
	assert_int_equal(catalog_meta_get(cat, "source_id", &value), 0);
	assert_string_equal(value, "abc");
	free(value);
	/* Format 2's dump files and format 3's staging work. */
	catalog_dump_file *files = NULL;
	size_t count = 1;
	assert_int_equal(catalog_dump_files_of(cat, 1, &files, &count), 0);
	assert_int_equal(count, 0);
	st_hash h;
	st_hash_buffer(&h, "x", 1);
	pack_location loc = {.pack_id = 1, .offset = 16, .raw_size = 1, .stored_size = 1, .codec = CODEC_RAW};
	assert_int_equal(catalog_object_stage(cat, &h, &loc), 0);
	assert_int_equal(catalog_object_publish(cat), 0);
	bool found = false;
	assert_int_equal(catalog_object_find(cat, &h, NULL, &found), 0);
	assert_true(found);
	/* Format 4's folders. */
	catalog_folder *folders = NULL;
	assert_int_equal(catalog_folder_as_of(cat, 1, &folders, &count), 0);
	assert_int_equal(count, 0);
	free(folders);
	/* Format 6's container configuration of a snapshot. */
	catalog_snapshot snap = {.time_us = 1, .has_files = true, .container = (char *)"{\"container_id\": \"c1\"}"};
	int64_t id = 0;
	assert_int_equal(catalog_snapshot_create(cat, &snap, &id), 0);
	assert_true(id > 0);
	catalog_close(cat);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM snapshots WHERE container = '{\"container_id\": \"c1\"}'"),
			 1);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), CATALOG_FORMAT);
	/* Format 8's index of node versions by uuid. */
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'node_versions_uuid'"), 1);
	/* Format 9's data version of a snapshot. */
	assert_int_equal(raw_int(path, "SELECT count(*) FROM pragma_table_info('snapshots') WHERE name = 'data_version'"), 1);
	/* Format 10's mtime and tree digest of a node version. */
	assert_int_equal(raw_int(path, "SELECT count(*) FROM pragma_table_info('node_versions')"
				       " WHERE name IN ('mtime_us', 'tree_digest')"), 2);

	/* The copy is the catalog as it was. */
	snprintf(bak, sizeof bak, "%s.v1.bak", path);
	assert_true(tu_exists(bak));
	assert_int_equal(raw_int(bak, "PRAGMA user_version"), 1);
	assert_int_equal(raw_int(bak, "SELECT count(*) FROM meta WHERE key = 'source_id' AND value = 'abc'"), 1);
	assert_int_equal(raw_int(bak, "SELECT count(*) FROM sqlite_master WHERE name = 'dump_files'"), 0);

	/* Opened again, nothing more to migrate. */
	assert_int_equal(catalog_open(&cat, path, CATALOG_READ), 0);
	catalog_close(cat);
}

/* A migration that fails leaves the catalog at its old format, with a message that says which
 * migration failed. */
static void test_failed_migration_rolls_back(void **state)
{
	char path[TU_PATH_MAX];
	catalog_path(path, *state);
	catalog_close(open_new(path));
	/* Format 2 with format 3's table already there: the 2 -> 3 migration cannot create it. */
	catalog_test_raw_exec(path, "PRAGMA user_version = 2");
	catalog *cat = NULL;
	assert_int_not_equal(catalog_open(&cat, path, CATALOG_WRITE), 0);
	assert_null(cat);
	assert_non_null(strstr(st_error_message(), "unable to migrate catalog from format 2"));
	assert_non_null(strstr(st_error_message(), "objects_staging"));
	assert_int_equal(raw_int(path, "PRAGMA user_version"), 2);
}

/* ---- opening ---- */

static void test_create_in_missing_directory(void **state)
{
	char path[TU_PATH_MAX];
	tu_join(path, *state, "no/such/dir/catalog.db");
	catalog *cat = NULL;
	assert_int_equal(catalog_open(&cat, path, CATALOG_CREATE), ST_ERR_DEST);
	assert_null(cat);
	assert_non_null(strstr(st_error_message(), "unable to open in catalog"));
	assert_non_null(strstr(st_error_message(), path));
}

/* ---- every query of a catalog whose tables are gone, or whose pages are garbage ---- */

static int each_object(void *ctx, const st_hash *hash, const pack_location *loc)
{
	(void)hash;
	(void)loc;
	(*(int *)ctx)++;
	return 0;
}

static void ignore_problem(void *ctx, const char *problem)
{
	(void)problem;
	(*(int *)ctx)++;
}

/* Calls every reading and writing function of the catalog; each must fail with kind, and its
 * message must name the catalog and contain expected. */
static void expect_every_call_fails(catalog *cat, int kind, const char *expected)
{
	int rc[32];
	size_t n = 0;
	bool flag = false;
	int64_t i64 = 0, id = 0;
	int count_i = 0;
	size_t count = 0;
	char *text = NULL;
	st_hash h;
	st_hash_buffer(&h, "content", 7);
	pack_location loc = {.pack_id = 1, .offset = 16, .raw_size = 7, .stored_size = 7, .codec = CODEC_RAW};
	catalog_snapshot snap;
	memset(&snap, 0, sizeof snap);

	rc[n++] = catalog_meta_get(cat, "k", &text);
	rc[n++] = catalog_meta_set(cat, "k", "v");
	rc[n++] = catalog_snapshot_latest(cat, &snap, &flag);
	rc[n++] = catalog_snapshot_latest_with_files(cat, &snap, &flag);
	rc[n++] = catalog_snapshot_get(cat, 1, &snap);
	catalog_snapshot *snaps = NULL;
	rc[n++] = catalog_snapshot_list(cat, &snaps, &count);
	assert_null(snaps);
	rc[n++] = catalog_snapshot_create(cat, &snap, &id);
	rc[n++] = catalog_snapshot_complete(cat, &snap);
	rc[n++] = catalog_discard_pending(cat, &count_i);
	rc[n++] = catalog_node_is_current(cat, 1, &flag);
	st_id_sums sums[1];
	rc[n++] = catalog_node_id_sums(cat, 1, 100, 100, sums, 1);
	rc[n++] = catalog_node_min_current(cat, &i64);
	int64_t *ids = NULL;
	rc[n++] = catalog_node_current_ids(cat, 1, 100, &ids, &count);
	assert_null(ids);
	int64_t one = 1;
	rc[n++] = catalog_node_mark_deleted(cat, 1, &one, 1, &i64, &i64);
	catalog_node node = {.node_id = 1, .uuid = "u", .has_folder = true};
	catalog_entry entry = {.path = "f", .type = CATALOG_ENTRY_FILE, .hash = h};
	rc[n++] = catalog_node_add(cat, 1, &node, &entry, 1);
	rc[n++] = catalog_pack_add(cat, "p-1", 100, 1, &id);
	catalog_pack *packs = NULL;
	rc[n++] = catalog_pack_list(cat, &packs, &count);
	assert_null(packs);
	rc[n++] = catalog_object_add(cat, &h, &loc);
	rc[n++] = catalog_object_stage(cat, &h, &loc);
	rc[n++] = catalog_object_publish(cat);
	rc[n++] = catalog_object_any(cat, &flag);
	rc[n++] = catalog_object_find(cat, &h, &loc, &flag);
	int seen = 0;
	rc[n++] = catalog_object_each_in_pack(cat, 1, each_object, &seen);
	uint64_t problems = 0;
	rc[n++] = catalog_check_references(cat, ignore_problem, &seen, &problems);
	catalog_dump_file *files = NULL;
	rc[n++] = catalog_dump_files_of(cat, 1, &files, &count);
	assert_null(files);
	catalog_dump_file dump;
	memset(&dump, 0, sizeof dump);
	dump.name = "toc.dat";
	dump.table_key = "TOC";
	rc[n++] = catalog_dump_file_add(cat, 1, &dump);
	rc[n++] = catalog_dump_file_previous(cat, "TOC", 2, &dump, &flag);
	rc[n++] = catalog_dump_file_get(cat, 1, "TOC", &dump);
	catalog_tree_iter *iter = NULL;
	int tree_rc = catalog_tree_iter_open(&iter, cat, 1);
	if (tree_rc == 0) {
		/* The query prepares; reading its rows fails. */
		catalog_node_tree *tree = NULL;
		tree_rc = catalog_tree_iter_next(iter, &tree);
		assert_null(tree);
		catalog_tree_iter_close(iter);
	}
	rc[n++] = tree_rc;
	assert_true(n <= sizeof rc / sizeof rc[0]);

	for (size_t i = 0; i < n; i++) {
		if (rc[i] != kind)
			print_error("call %zu returned %d, expected %d\n", i, rc[i], kind);
		assert_int_equal(rc[i], kind);
	}
	assert_int_equal(seen, 0);
	/* The last failure's message names the catalog and the cause. */
	assert_non_null(strstr(st_error_message(), cat->path));
	assert_non_null(strstr(st_error_message(), expected));
	free(text);
}

/* Tables dropped behind strata's back: every call fails at prepare, with the destination's
 * error kind, and nothing crashes. */
static void test_missing_tables(void **state)
{
	char path[TU_PATH_MAX];
	catalog_path(path, *state);
	catalog *cat = open_new(path);
	assert_int_equal(catalog_exec(cat, "DROP TABLE meta; DROP TABLE snapshots; DROP TABLE packs;"
					   " DROP TABLE objects; DROP TABLE objects_staging;"
					   " DROP TABLE node_versions; DROP TABLE entries; DROP TABLE dump_files"),
			 0);
	expect_every_call_fails(cat, ST_ERR_DEST, "no such table");
	catalog_close(cat);
}

/* Overwrites the root page of every table and index with garbage: the schema still reads (so
 * queries prepare), every row read then finds a malformed page. */
static void corrupt_root_pages(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int64_t roots[64];
	size_t n = 0;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_master WHERE rootpage > 1", -1, &stmt, NULL),
			 SQLITE_OK);
	while (sqlite3_step(stmt) == SQLITE_ROW && n < 64)
		roots[n++] = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	int64_t page_size = 0;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	page_size = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	/* Back out of WAL mode so that the main file holds everything, and nothing replays. */
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_true(n >= 8);

	unsigned char *garbage = malloc((size_t)page_size);
	assert_non_null(garbage);
	memset(garbage, 0xa5, (size_t)page_size);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pwrite(fd, garbage, (size_t)page_size, (off_t)((roots[i] - 1) * page_size)),
				 page_size);
	close(fd);
	free(garbage);
}

static void test_corrupt_pages(void **state)
{
	char path[TU_PATH_MAX];
	catalog_path(path, *state);
	catalog_close(open_new(path));
	corrupt_root_pages(path);

	catalog *cat = NULL;
	assert_int_equal(catalog_open(&cat, path, CATALOG_WRITE), 0); /* the header is intact */
	assert_int_equal(catalog_integrity_check(cat), ST_ERR_CORRUPT);
	assert_non_null(strstr(st_error_message(), "is corrupt"));
	expect_every_call_fails(cat, ST_ERR_CORRUPT, "malformed");
	catalog_close(cat);
}

/* ---- locks and space ---- */

/* Another connection holds the write lock: a write fails as ST_ERR_LOCKED (here at once; strata
 * itself waits 30 s first), names what it was doing, and works once the lock is gone. */
static void test_locked(void **state)
{
	char path[TU_PATH_MAX];
	catalog_path(path, *state);
	catalog *cat = open_new(path);
	sqlite3_busy_timeout(cat->db, 0);
	sqlite3 *other = NULL;
	assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

	assert_int_equal(catalog_meta_set(cat, "k", "v"), ST_ERR_LOCKED);
	assert_non_null(strstr(st_error_message(), "unable to write metadata"));
	assert_non_null(strstr(st_error_message(), path));
	/* A backup's transaction takes the write lock when it begins. */
	assert_int_equal(catalog_begin(cat), ST_ERR_LOCKED);
	catalog_rollback(cat);

	assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(catalog_meta_set(cat, "k", "v"), 0);
	catalog_close(cat);
}

/* The catalog cannot grow (as on a full disk): ST_ERR_NOSPACE, and the transaction's earlier
 * writes are not half-applied once rolled back. */
static void test_full(void **state)
{
	char path[TU_PATH_MAX];
	catalog_path(path, *state);
	catalog *cat = open_new(path);
	assert_int_equal(catalog_meta_set(cat, "before", "kept"), 0);
	int64_t pages = raw_int(path, "PRAGMA page_count");
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", (long long)pages + 2);
	assert_int_equal(catalog_exec(cat, sql), 0);

	char value[2048];
	memset(value, 'v', sizeof value - 1);
	value[sizeof value - 1] = '\0';
	assert_int_equal(catalog_begin(cat), 0);
	int rc = 0;
	for (int i = 0; i < 100 && rc == 0; i++) {
		char key[32];
		snprintf(key, sizeof key, "key-%d", i);
		rc = catalog_meta_set(cat, key, value);
	}
	assert_int_equal(rc, ST_ERR_NOSPACE);
	assert_non_null(strstr(st_error_message(), "unable to write metadata"));
	catalog_rollback(cat);

	char *got = NULL;
	assert_int_equal(catalog_meta_get(cat, "key-0", &got), 0);
	assert_null(got);
	assert_int_equal(catalog_meta_get(cat, "before", &got), 0);
	assert_string_equal(got, "kept");
	free(got);
	catalog_close(cat);
}

#define FAIL_TEST(name) cmocka_unit_test_setup_teardown(name, tu_tmpdir_setup, tu_tmpdir_teardown)

int run_catalog_failure_tests(void)
{
	const struct CMUnitTest tests[] = {
		FAIL_TEST(test_migrates_format_1),
		FAIL_TEST(test_failed_migration_rolls_back),
		FAIL_TEST(test_create_in_missing_directory),
		FAIL_TEST(test_missing_tables),
		FAIL_TEST(test_corrupt_pages),
		FAIL_TEST(test_locked),
		FAIL_TEST(test_full),
	};
	return cmocka_run_group_tests_name("catalog/failures", tests, NULL, NULL);
}
