/*
 * test_hostile.c - bytes from the destination are untrusted: a catalog whose chunk lists are
 * not whole hashes or whose names hold NUL bytes (catalog_tree_iter), and a destination whose
 * lock or packs folder is not what it should be (dest). Hostile pack bytes: the store's
 * test_pack.c.
 */
#include "../testutil.h"
#include "tests.h"

#include "catalog/catalog_internal.h"
#include "catalog/backend.h"
#include "catalog/dest.h"
#include "common/error.h"

/* A new catalog under dir holding one node version (uuid 'node-uuid') in snapshot 1. */
static catalog *catalog_with_one_node(const char *dir)
{
	char path[TU_PATH_MAX];
	tu_join(path, dir, "catalog.db");
	catalog *cat = NULL;
	assert_int_equal(catalog_open(&cat, path, CATALOG_CREATE), 0);
	assert_int_equal(catalog_exec(cat, "INSERT INTO node_versions(id, node_id, uuid, added_in, has_folder,"
					   " root_mode, root_mtime_ns, files, bytes)"
					   " VALUES (1, 1, 'node-uuid', 1, 1, 493, 0, 1, 5)"),
			 0);
	return cat;
}

/* Replaces the node's entries with the one row values (after version_id) describes and reads
 * the snapshot back: corrupt, with a message naming the node and holding expected. */
static void expect_entry_refused(catalog *cat, const char *columns, const char *values, const char *expected)
{
	char sql[512];
	snprintf(sql, sizeof sql, "DELETE FROM entries; INSERT INTO entries(version_id, %s) VALUES (1, %s)", columns,
		 values);
	assert_int_equal(catalog_exec(cat, sql), 0);
	catalog_tree_iter *iter = NULL;
	assert_int_equal(catalog_tree_iter_open(&iter, cat, 1), 0);
	catalog_node_tree *tree = NULL;
	assert_int_equal(catalog_tree_iter_next(iter, &tree), ST_ERR_CORRUPT);
	assert_null(tree);
	assert_non_null(strstr(st_error_message(), "node-uuid"));
	assert_non_null(strstr(st_error_message(), expected));
	catalog_tree_iter_close(iter);
}

/* A chunked file whose chunk list is empty or not whole hashes is corrupt (not a shorter list). */
static void test_tree_refuses_broken_chunk_lists(void **state)
{
	catalog *cat = catalog_with_one_node(*state);
	const char *lists[] = {"x''", "zeroblob(15)", "zeroblob(17)", "zeroblob(33)"};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		char values[128];
		snprintf(values, sizeof values, "'big.bin', 1, 420, 0, 5, zeroblob(16), %s", lists[i]);
		expect_entry_refused(cat, "path, type, mode, mtime_ns, size, hash, chunks", values,
				     "'big.bin': chunk list");
	}
	catalog_close(cat);
}

/* A name or a link target with a NUL byte is corrupt: read as a C string it would be another,
 * shorter name (here one that looks harmless). */
static void test_tree_refuses_nul_in_names(void **state)
{
	catalog *cat = catalog_with_one_node(*state);
	const char *columns = "path, type, target, mode, mtime_ns, size";
	expect_entry_refused(cat, columns, "'a' || char(0) || '/../../etc/passwd', 2, NULL, 511, 0, 0", "NUL");
	expect_entry_refused(cat, columns, "CAST(x'6100622f63' AS TEXT), 2, NULL, 511, 0, 0", "NUL");
	expect_entry_refused(cat, columns, "'link', 3, 'ok' || char(0) || '/../../../etc', 511, 0, 0", "NUL");

	/* The same row without the NUL byte reads back. */
	assert_int_equal(catalog_exec(cat, "DELETE FROM entries; INSERT INTO entries(version_id, path, type, target,"
					   " mode, mtime_ns, size) VALUES (1, 'link', 3, 'ok', 511, 0, 0)"),
			 0);
	catalog_tree_iter *iter = NULL;
	assert_int_equal(catalog_tree_iter_open(&iter, cat, 1), 0);
	catalog_node_tree *tree = NULL;
	assert_int_equal(catalog_tree_iter_next(iter, &tree), 0);
	assert_non_null(tree);
	assert_int_equal(tree->count, 1);
	assert_string_equal(tree->entries[0].entry.target, "ok");
	catalog_node_tree_free(tree);
	catalog_tree_iter_close(iter);
	catalog_close(cat);
}

/* A destination path that is a file, a lock that cannot be opened, and a packs folder that has
 * gone: each a destination error naming the path. */
static void test_dest_failures(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX], file[TU_PATH_MAX], lock[TU_PATH_MAX], packs[TU_PATH_MAX];
	tu_join(file, tmp, "a-file");
	tu_write_file(file, "x", 1);
	tu_join(path, file, "dest");
	assert_int_not_equal(dest_init(path), 0);
	assert_non_null(strstr(st_error_message(), path));

	tu_join(path, tmp, "dest");
	assert_int_equal(dest_init(path), 0);
	/* The lock's name taken by a folder: no backup can start. */
	tu_join(lock, path, "lock");
	assert_int_equal(mkdir(lock, 0700), 0);
	dest *d = NULL;
	assert_int_equal(dest_open(&d, path, DEST_WRITE), ST_ERR_DEST);
	assert_null(d);
	assert_non_null(strstr(st_error_message(), "unable to open lock"));
	assert_int_equal(rmdir(lock), 0);

	assert_int_equal(dest_open(&d, path, DEST_WRITE), 0);
	tu_join(packs, path, "packs");
	assert_int_equal(rmdir(packs), 0);
	/* Listing the packs (what orphan removal starts with) names the missing folder. */
	char **names = NULL;
	size_t count = 99;
	assert_int_equal(backend_list(dest_backend(d), BACKEND_SPACE_PACKS, &names, &count), ST_ERR_DEST);
	assert_non_null(strstr(st_error_message(), packs));
	backend_list_free(names, 0);
	dest_close(d);
}

#define HOSTILE_TEST(name) cmocka_unit_test_setup_teardown(name, tu_tmpdir_setup, tu_tmpdir_teardown)

int run_hostile_tests(void)
{
	const struct CMUnitTest tests[] = {
		HOSTILE_TEST(test_tree_refuses_broken_chunk_lists),
		HOSTILE_TEST(test_tree_refuses_nul_in_names),
		HOSTILE_TEST(test_dest_failures),
	};
	return cmocka_run_group_tests_name("catalog/hostile", tests, NULL, NULL);
}
