/*
 * test_backend.c - destination backends: the local directory and the fault-injecting wrapper
 * (catalog/backend.h).
 */
#include "../testutil.h"
#include "tests.h"

#include "catalog/backend.h"
#include "common/error.h"

#include <errno.h>

/* A local backend on a fresh destination folder under the test's directory. */
static backend *local_backend(const char *tmp, char *root)
{
	tu_join(root, tmp, "dest");
	backend *b = NULL;
	assert_int_equal(backend_local_new(&b, root), 0);
	assert_string_equal(backend_kind(b), "local");
	return b;
}

static void write_object(backend *b, backend_space space, const char *name, const char *text)
{
	backend_write *w = NULL;
	assert_int_equal(backend_create(b, space, name, &w), 0);
	assert_non_null(strstr(backend_write_name(w), name));
	assert_int_equal(backend_append(w, text, strlen(text)), 0);
	assert_int_equal(backend_sync(w), 0);
	assert_int_equal(backend_write_close(w), 0);
}

static void test_local_layout_and_io(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX], path[TU_PATH_MAX];
	backend *b = local_backend(tmp, root);
	bool exists = true, empty = false;
	assert_int_equal(backend_state(b, &exists, &empty), 0);
	assert_false(exists);
	assert_int_equal(backend_init(b), 0);
	assert_int_equal(backend_state(b, &exists, &empty), 0);
	assert_true(exists);
	assert_false(empty); /* packs/ */

	write_object(b, BACKEND_SPACE_PACKS, "a.pack", "hello, pack");
	tu_join(path, root, "packs/a.pack");
	assert_true(tu_exists(path));
	char *described = backend_describe(b, BACKEND_SPACE_PACKS, "a.pack");
	assert_string_equal(described, path);
	free(described);

	/* Ranged reads, and a read past the end. */
	backend_read *r = NULL;
	assert_int_equal(backend_open_read(b, BACKEND_SPACE_PACKS, "a.pack", &r), 0);
	assert_int_equal(backend_read_size(r), 11);
	char buf[16] = {0};
	assert_int_equal(backend_read_range(r, buf, 4, 7), 0);
	assert_memory_equal(buf, "pack", 4);
	assert_int_equal(backend_read_range(r, buf, 5, 8), ST_ERR_CORRUPT);
	backend_read_close(r);
	backend_read_close(NULL);
	assert_int_equal(backend_open_read(b, BACKEND_SPACE_PACKS, "missing.pack", &r), ST_ERR_NOTFOUND);

	/* Create refuses an existing name. */
	backend_write *w = NULL;
	assert_int_equal(backend_create(b, BACKEND_SPACE_PACKS, "a.pack", &w), ST_ERR_DEST);
	assert_int_equal(backend_write_close(NULL), 0);

	/* List, rename, remove (twice: a missing name is fine). */
	write_object(b, BACKEND_SPACE_PACKS, "b.pack", "b");
	char **names = NULL;
	size_t count = 0;
	assert_int_equal(backend_list(b, BACKEND_SPACE_PACKS, &names, &count), 0);
	assert_int_equal(count, 2);
	backend_list_free(names, count);
	assert_int_equal(backend_rename(b, BACKEND_SPACE_PACKS, "b.pack", "c.pack"), 0);
	assert_int_equal(backend_open_read(b, BACKEND_SPACE_PACKS, "b.pack", &r), ST_ERR_NOTFOUND);
	assert_int_equal(backend_remove(b, BACKEND_SPACE_PACKS, "c.pack"), 0);
	assert_int_equal(backend_remove(b, BACKEND_SPACE_PACKS, "c.pack"), 0);
	assert_int_equal(backend_list(b, BACKEND_SPACE_PACKS, &names, &count), 0);
	assert_int_equal(count, 1);
	assert_string_equal(names[0], "a.pack");
	backend_list_free(names, count);

	/* Atomic puts replace whole objects; no temporary name is left behind. */
	assert_int_equal(backend_put_atomic(b, BACKEND_SPACE_META, BACKEND_MARKER_NAME, "one", 3), 0);
	assert_int_equal(backend_put_atomic(b, BACKEND_SPACE_META, BACKEND_MARKER_NAME, "second", 6), 0);
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(backend_read_all(b, BACKEND_SPACE_META, BACKEND_MARKER_NAME, 64, &text, &len), 0);
	assert_int_equal(len, 6);
	assert_string_equal(text, "second");
	free(text);
	assert_int_equal(backend_read_all(b, BACKEND_SPACE_META, BACKEND_MARKER_NAME, 2, &text, &len), ST_ERR_GENERIC);
	assert_int_equal(backend_list(b, BACKEND_SPACE_META, &names, &count), 0);
	for (size_t i = 0; i < count; i++)
		assert_null(strstr(names[i], ".tmp"));
	backend_list_free(names, count);
	backend_free(b);
}

static void test_local_catalog_scratch_and_lock(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX], path[TU_PATH_MAX];
	backend *b = local_backend(tmp, root);
	assert_int_equal(backend_init(b), 0);
	char *catalog = NULL;
	assert_int_equal(backend_catalog_path(b, &catalog), 0);
	tu_join(path, root, "catalog.db");
	assert_string_equal(catalog, path);
	free(catalog);

	char *scratch = NULL;
	assert_int_equal(backend_scratch_dir(b, &scratch), 0);
	tu_join(path, scratch, "left-over");
	tu_write_file(path, "x", 1);
	assert_int_equal(backend_scratch_clean(b), 0);
	assert_false(tu_exists(path));
	assert_false(tu_exists(scratch));
	free(scratch);

	backend *other = NULL;
	assert_int_equal(backend_local_new(&other, root), 0);
	assert_int_equal(backend_lock(b), 0);
	assert_int_equal(backend_lock(other), ST_ERR_LOCKED);
	assert_non_null(strstr(st_error_message(), "locked"));
	backend_unlock(b);
	assert_int_equal(backend_lock(other), 0);
	backend_free(other); /* releases the lock */
	assert_int_equal(backend_lock(b), 0);
	backend_free(b);
	backend_free(NULL);

	assert_int_equal(backend_local_new(&b, ""), ST_ERR_DEST);
}

static void test_fault_wrapper(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX];
	static const int errors[] = {ENOSPC, EIO};
	static const int codes[] = {ST_ERR_NOSPACE, ST_ERR_DEST};
	for (int e = 0; e < 2; e++) {
		backend *b = backend_fault_new(local_backend(tmp, root), 3, errors[e]);
		assert_string_equal(backend_kind(b), "fault");
		assert_int_equal(backend_init(b), 0); /* not counted */
		backend_write *w = NULL;
		assert_int_equal(backend_create(b, BACKEND_SPACE_PACKS, "f.pack", &w), 0); /* 1 */
		assert_int_equal(backend_append(w, "abc", 3), 0);                          /* 2 */
		assert_int_equal(backend_sync(w), codes[e]);                               /* 3 */
		assert_non_null(strstr(st_error_message(), "injected"));
		assert_int_equal(backend_write_close(w), codes[e]); /* 4: every later one fails too */
		assert_int_equal(backend_fault_count(b), 4);
		char **names = NULL;
		size_t count = 0;
		assert_int_equal(backend_list(b, BACKEND_SPACE_PACKS, &names, &count), codes[e]);
		assert_int_equal(backend_remove(b, BACKEND_SPACE_PACKS, "f.pack"), codes[e]);
		backend_free(b);
		tu_rm_rf(root);
	}
	/* fail_at 0 never fails, and counts. */
	backend *b = backend_fault_new(local_backend(tmp, root), 0, EIO);
	assert_int_equal(backend_init(b), 0);
	write_object(b, BACKEND_SPACE_PACKS, "ok.pack", "fine");
	backend_read *r = NULL;
	assert_int_equal(backend_open_read(b, BACKEND_SPACE_PACKS, "ok.pack", &r), 0);
	char buf[4];
	assert_int_equal(backend_read_range(r, buf, 4, 0), 0);
	backend_read_close(r);
	assert_int_equal(backend_lock(b), 0);
	assert_int_equal(backend_fault_count(b), 7);
	backend *plain = NULL;
	assert_int_equal(backend_local_new(&plain, root), 0);
	assert_int_equal(backend_fault_count(plain), 0);
	backend_free(plain);
	backend_free(b);
}

#define BACKEND_TEST(name) cmocka_unit_test_setup_teardown(name, tu_tmpdir_setup, tu_tmpdir_teardown)

int run_backend_tests(void)
{
	const struct CMUnitTest tests[] = {
		BACKEND_TEST(test_local_layout_and_io),
		BACKEND_TEST(test_local_catalog_scratch_and_lock),
		BACKEND_TEST(test_fault_wrapper),
	};
	return cmocka_run_group_tests_name("catalog/backend", tests, NULL, NULL);
}
