/*
 * test_catalog_dump.c - the database side of snapshots: dump files and their delta chains
 * (catalog_dump_*), a snapshot's db_info, and the newest snapshot that holds files.
 */
#include "../testutil.h"
#include "tests.h"

#include "catalog/catalog_internal.h"
#include "common/error.h"

static catalog *open_new(const char *dir)
{
	char path[TU_PATH_MAX];
	tu_join(path, dir, "catalog.db");
	catalog *cat = NULL;
	assert_int_equal(catalog_open(&cat, path, CATALOG_CREATE), 0);
	return cat;
}

static int64_t new_snapshot(catalog *cat, bool has_files, const char *db_info, bool complete)
{
	catalog_snapshot s;
	memset(&s, 0, sizeof s);
	s.time_us = 1000;
	s.has_files = has_files;
	s.has_database = true;
	snprintf(s.source, sizeof s.source, "dsn=db");
	int64_t id = 0;
	assert_int_equal(catalog_snapshot_create(cat, &s, &id), 0);
	if (complete) {
		s.id = id;
		s.db_info = (char *)db_info;
		assert_int_equal(catalog_snapshot_complete(cat, &s), 0);
	}
	return id;
}

static void hash_of(st_hash *out, const char *text)
{
	st_hash_buffer(out, text, strlen(text));
}

/* A full dump file stored as two chunks, with a signature stored as one object. */
static catalog_dump_file full_file(const char *name, const char *key, st_hash chunks[2])
{
	catalog_dump_file f;
	memset(&f, 0, sizeof f);
	f.name = name;
	f.table_key = key;
	f.size = 1000;
	hash_of(&f.hash, name);
	f.storage = CATALOG_DUMP_FULL;
	f.content.hash = f.hash;
	f.content.size = 1000;
	hash_of(&chunks[0], "chunk 0");
	hash_of(&chunks[1], "chunk 1");
	f.content.chunks = chunks;
	f.content.chunk_count = 2;
	f.has_signature = true;
	hash_of(&f.signature.hash, "signature");
	f.signature.size = 40;
	return f;
}

static void test_dump_files_round_trip(void **state)
{
	catalog *cat = open_new(*state);
	int64_t s1 = new_snapshot(cat, true, NULL, true);
	st_hash chunks[2];
	catalog_dump_file toc = full_file("toc.dat", "TOC", chunks);
	catalog_dump_file data = full_file("3001.dat", "TABLE DATA public db_dbnode", chunks);
	data.content.chunk_count = 0; /* one object */
	data.content.chunks = NULL;
	data.has_signature = false;
	assert_int_equal(catalog_dump_file_add(cat, s1, &toc), 0);
	assert_int_equal(catalog_dump_file_add(cat, s1, &data), 0);

	/* A second file of the same name in the same snapshot is refused. */
	assert_int_equal(catalog_dump_file_add(cat, s1, &data), ST_ERR_DEST);
	assert_non_null(strstr(st_error_message(), "unable to add a dump file"));

	catalog_dump_file *files = NULL;
	size_t count = 0;
	assert_int_equal(catalog_dump_files_of(cat, s1, &files, &count), 0);
	assert_int_equal(count, 2);
	/* By name: "3001.dat" < "toc.dat". */
	assert_string_equal(files[0].name, "3001.dat");
	assert_string_equal(files[0].table_key, "TABLE DATA public db_dbnode");
	assert_int_equal(files[0].snapshot_id, s1);
	assert_int_equal(files[0].content.chunk_count, 0);
	assert_null(files[0].content.chunks);
	assert_false(files[0].has_signature);
	assert_string_equal(files[1].name, "toc.dat");
	assert_int_equal(files[1].size, 1000);
	assert_true(st_hash_equal(&files[1].hash, &toc.hash));
	assert_int_equal(files[1].storage, CATALOG_DUMP_FULL);
	assert_int_equal(files[1].content.chunk_count, 2);
	assert_true(st_hash_equal(&files[1].content.chunks[0], &chunks[0]));
	assert_true(st_hash_equal(&files[1].content.chunks[1], &chunks[1]));
	assert_true(files[1].has_signature);
	assert_true(st_hash_equal(&files[1].signature.hash, &toc.signature.hash));
	assert_int_equal(files[1].signature.chunk_count, 0);
	assert_int_equal(files[1].chain_length, 0);
	catalog_dump_files_free(files, count);

	/* A snapshot without dump files lists none. */
	int64_t s2 = new_snapshot(cat, true, NULL, true);
	files = (catalog_dump_file *)&count; /* overwritten */
	assert_int_equal(catalog_dump_files_of(cat, s2, &files, &count), 0);
	assert_int_equal(count, 0);
	assert_null(files);
	catalog_close(cat);
}

/* A delta chain: previous finds the newest complete version before a snapshot, get finds a
 * delta's basis, and a missing basis is corruption. */
static void test_dump_delta_chain(void **state)
{
	catalog *cat = open_new(*state);
	st_hash chunks[2];
	const char *key = "TABLE DATA public db_dbnode";
	int64_t s1 = new_snapshot(cat, true, NULL, true);
	catalog_dump_file full = full_file("3001.dat", key, chunks);
	assert_int_equal(catalog_dump_file_add(cat, s1, &full), 0);

	int64_t s2 = new_snapshot(cat, false, NULL, true);
	catalog_dump_file delta = full_file("3001.dat", key, chunks);
	delta.storage = CATALOG_DUMP_DELTA;
	delta.base_snapshot = s1;
	delta.chain_length = 1;
	delta.chain_bytes = 77;
	delta.content.size = 77;
	hash_of(&delta.content.hash, "delta");
	delta.content.chunks = NULL;
	delta.content.chunk_count = 0;
	assert_int_equal(catalog_dump_file_add(cat, s2, &delta), 0);

	/* A pending snapshot's version is never a basis. */
	int64_t s3 = new_snapshot(cat, true, NULL, false);
	assert_int_equal(catalog_dump_file_add(cat, s3, &full), 0);

	catalog_dump_file got;
	bool found = false;
	assert_int_equal(catalog_dump_file_previous(cat, key, s3 + 1, &got, &found), 0);
	assert_true(found);
	assert_int_equal(got.snapshot_id, s2);
	assert_int_equal(got.storage, CATALOG_DUMP_DELTA);
	assert_int_equal(got.base_snapshot, s1);
	assert_int_equal(got.chain_length, 1);
	assert_int_equal(got.chain_bytes, 77);
	assert_true(st_hash_equal(&got.content.hash, &delta.content.hash));
	catalog_dump_file_release(&got);
	assert_null(got.name); /* released and cleared */

	assert_int_equal(catalog_dump_file_previous(cat, key, s2, &got, &found), 0);
	assert_true(found);
	assert_int_equal(got.snapshot_id, s1);
	assert_int_equal(got.storage, CATALOG_DUMP_FULL);
	catalog_dump_file_release(&got);

	assert_int_equal(catalog_dump_file_previous(cat, key, s1, &got, &found), 0);
	assert_false(found);
	assert_int_equal(catalog_dump_file_previous(cat, "TABLE DATA public other", s3, &got, &found), 0);
	assert_false(found);

	assert_int_equal(catalog_dump_file_get(cat, s1, key, &got), 0);
	assert_string_equal(got.table_key, key);
	assert_int_equal(got.content.chunk_count, 2);
	catalog_dump_file_release(&got);
	assert_int_equal(catalog_dump_file_get(cat, s2 + 10, key, &got), ST_ERR_CORRUPT);
	assert_non_null(strstr(st_error_message(), key));
	assert_non_null(strstr(st_error_message(), "basis of a delta"));
	catalog_close(cat);
}

/* db_info is stored with the snapshot and read back; latest_with_files skips database-only
 * snapshots. */
static void test_db_info_and_latest_with_files(void **state)
{
	catalog *cat = open_new(*state);
	catalog_snapshot got;
	bool found = true;
	assert_int_equal(catalog_snapshot_latest_with_files(cat, &got, &found), 0);
	assert_false(found);

	int64_t s1 = new_snapshot(cat, true, "{\"server_version\": \"15.4\"}", true);
	int64_t s2 = new_snapshot(cat, false, "{\"server_version\": \"16.1\"}", true);
	new_snapshot(cat, true, NULL, false); /* pending: never the latest */

	memset(&got, 0, sizeof got);
	assert_int_equal(catalog_snapshot_latest_with_files(cat, &got, &found), 0);
	assert_true(found);
	assert_int_equal(got.id, s1);
	assert_non_null(got.db_info);
	assert_string_equal(got.db_info, "{\"server_version\": \"15.4\"}");
	catalog_snapshot_release(&got);
	assert_null(got.db_info);

	assert_int_equal(catalog_snapshot_latest(cat, &got, &found), 0);
	assert_int_equal(got.id, s2);
	assert_false(got.has_files);
	assert_string_equal(got.db_info, "{\"server_version\": \"16.1\"}");
	catalog_snapshot_release(&got);

	catalog_snapshot *list = NULL;
	size_t count = 0;
	assert_int_equal(catalog_snapshot_list(cat, &list, &count), 0);
	assert_int_equal(count, 2);
	assert_string_equal(list[0].db_info, "{\"server_version\": \"15.4\"}");
	assert_string_equal(list[1].db_info, "{\"server_version\": \"16.1\"}");
	catalog_snapshot_list_free(list, count);
	catalog_close(cat);
}

static void count_problem(void *ctx, const char *problem)
{
	(void)problem;
	(*(int *)ctx)++;
}

/* A forgotten snapshot leaves the listings but stays the incremental base and the basis of a
 * kept delta; forgetting an unknown id changes nothing; chains are followed through forgotten
 * rows, and a missing base or an over-long chain is a problem. */
static void test_forget_and_chains(void **state)
{
	catalog *cat = open_new(*state);
	int64_t s1 = new_snapshot(cat, true, NULL, true);
	int64_t s2 = new_snapshot(cat, true, NULL, true);
	int64_t s3 = new_snapshot(cat, true, NULL, true);
	const char *key = "TABLE DATA public t";
	st_hash chunks[2];
	catalog_dump_file f = full_file("3001.dat", key, chunks);
	assert_int_equal(catalog_dump_file_add(cat, s1, &f), 0);
	f.storage = CATALOG_DUMP_DELTA;
	f.base_snapshot = s1;
	f.chain_length = 1;
	assert_int_equal(catalog_dump_file_add(cat, s2, &f), 0);
	f.base_snapshot = s2;
	f.chain_length = 2;
	assert_int_equal(catalog_dump_file_add(cat, s3, &f), 0);

	int64_t ids[] = {s2, s3 + 1};
	assert_int_equal(catalog_snapshot_forget(cat, ids, 2), ST_ERR_NOTFOUND);
	catalog_snapshot *list = NULL;
	size_t count = 0;
	assert_int_equal(catalog_snapshot_list(cat, &list, &count), 0);
	assert_int_equal(count, 3);
	catalog_snapshot_list_free(list, count);

	ids[1] = s3;
	assert_int_equal(catalog_snapshot_forget(cat, ids, 2), 0);
	assert_int_equal(catalog_snapshot_list(cat, &list, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(list[0].id, s1);
	catalog_snapshot_list_free(list, count);
	catalog_snapshot got;
	assert_int_equal(catalog_snapshot_get(cat, s2, &got), ST_ERR_NOTFOUND);
	bool found = false;
	assert_int_equal(catalog_snapshot_latest(cat, &got, &found), 0);
	assert_int_equal(got.id, s1);
	catalog_snapshot_release(&got);
	assert_int_equal(catalog_snapshot_latest_with_files(cat, &got, &found), 0);
	assert_int_equal(got.id, s3);
	catalog_snapshot_release(&got);
	assert_int_equal(catalog_snapshot_forget(cat, ids, 1), ST_ERR_NOTFOUND);

	/* A delta of a kept snapshot against the forgotten s3, whose chain runs through s2. */
	int64_t s4 = new_snapshot(cat, true, NULL, true);
	f.base_snapshot = s3;
	f.chain_length = 3;
	assert_int_equal(catalog_dump_file_add(cat, s4, &f), 0);
	catalog_dump_file prev;
	assert_int_equal(catalog_dump_file_previous(cat, key, s4, &prev, &found), 0);
	assert_true(found);
	assert_int_equal(prev.snapshot_id, s1);
	catalog_dump_file_release(&prev);
	int problems = 0;
	uint64_t counted = 0;
	assert_int_equal(catalog_check_dump_chains(cat, 8, count_problem, &problems, &counted), 0);
	assert_int_equal(problems, 0);
	assert_int_equal(catalog_check_dump_chains(cat, 2, count_problem, &problems, &counted), 0);
	assert_int_equal(problems, 1);
	assert_int_equal(counted, 1);
	assert_int_equal(catalog_exec(cat, "DELETE FROM dump_files WHERE snapshot_id = 2"), 0);
	problems = 0;
	assert_int_equal(catalog_check_dump_chains(cat, 8, count_problem, &problems, &counted), 0);
	assert_int_equal(problems, 1);
	catalog_close(cat);
}

int run_catalog_dump_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dump_files_round_trip, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_dump_delta_chain, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_db_info_and_latest_with_files, tu_tmpdir_setup,
						tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_forget_and_chains, tu_tmpdir_setup, tu_tmpdir_teardown),
	};
	return cmocka_run_group_tests_name("catalog/dump", tests, NULL, NULL);
}
