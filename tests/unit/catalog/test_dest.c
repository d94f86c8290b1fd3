/*
 * test_dest.c - destinations: initialisation, recognition, the lock (catalog/dest.h). Orphan
 * packs are the store's: tests/unit/store/test_store.c.
 */
#include "../testutil.h"
#include "tests.h"

#include "catalog/dest.h"
#include "common/error.h"

static void dest_path_in(char *out, const char *tmp)
{
	tu_join(out, tmp, "dest");
}

static void init_dest(const char *tmp, char *path)
{
	dest_path_in(path, tmp);
	assert_int_equal(dest_init(path), 0);
}

static void test_init_new_directory(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX], sub[TU_PATH_MAX];
	init_dest(tmp, path);

	struct stat st;
	tu_join(sub, path, "packs");
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	tu_join(sub, path, "catalog.db");
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	tu_join(sub, path, "strata.dest");
	size_t len = 0;
	unsigned char *marker = tu_read_file(sub, &len);
	assert_true(len > 0);
	assert_int_equal(strncmp((const char *)marker, "strata destination\n", 19), 0);
	free(marker);

	dest *d = NULL;
	assert_int_equal(dest_open(&d, path, DEST_READ), 0);
	assert_non_null(d);
	assert_string_equal(dest_path(d), path);
	assert_non_null(dest_catalog(d));
	char *id = NULL;
	assert_int_equal(catalog_meta_get(dest_catalog(d), "destination_id", &id), 0);
	assert_non_null(id);
	assert_int_equal(strlen(id), 32);
	assert_int_equal(strspn(id, "0123456789abcdef"), 32);
	free(id);

	char *pack = backend_describe(dest_backend(d), BACKEND_SPACE_PACKS, "0123456789abcdef.pack");
	char expected[TU_PATH_MAX];
	snprintf(expected, sizeof expected, "%s/packs/0123456789abcdef.pack", path);
	assert_string_equal(pack, expected);
	free(pack);
	dest_close(d);
	dest_close(NULL);
}

static void test_init_existing_empty_directory(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	dest_path_in(path, tmp);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(dest_init(path), 0);
	dest *d = NULL;
	assert_int_equal(dest_open(&d, path, DEST_WRITE), 0);
	dest_close(d);
}

static void test_init_refusals(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX], file[TU_PATH_MAX];

	/* A directory with something in it. */
	dest_path_in(path, tmp);
	assert_int_equal(mkdir(path, 0755), 0);
	tu_join(file, path, "precious.txt");
	tu_write_file(file, "data", 4);
	assert_int_equal(dest_init(path), ST_ERR_DEST);
	assert_non_null(strstr(st_error_message(), "not empty"));
	assert_true(tu_exists(file));
	tu_join(file, path, "catalog.db");
	assert_false(tu_exists(file));

	/* An initialised destination. */
	char other[TU_PATH_MAX];
	tu_join(other, tmp, "initialised");
	assert_int_equal(dest_init(other), 0);
	assert_int_equal(dest_init(other), ST_ERR_DEST);
	assert_non_null(strstr(st_error_message(), "already initialised"));

	/* A missing parent. */
	tu_join(other, tmp, "no/such/parent");
	assert_int_equal(dest_init(other), ST_ERR_DEST);
}

static void test_open_refusals(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX], file[TU_PATH_MAX];
	dest *d = NULL;

	tu_join(path, tmp, "missing");
	assert_int_equal(dest_open(&d, path, DEST_READ), ST_ERR_DEST);
	assert_non_null(strstr(st_error_message(), "does not exist"));

	tu_join(path, tmp, "empty");
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(dest_open(&d, path, DEST_READ), ST_ERR_DEST);
	assert_non_null(strstr(st_error_message(), "not initialised"));
	assert_int_equal(dest_open(&d, path, DEST_WRITE), ST_ERR_DEST);
	assert_non_null(strstr(st_error_message(), "not initialised"));

	tu_join(path, tmp, "foreign");
	assert_int_equal(mkdir(path, 0755), 0);
	tu_join(file, path, "photo.jpg");
	tu_write_file(file, "jpeg", 4);
	assert_int_equal(dest_open(&d, path, DEST_READ), ST_ERR_DEST);
	assert_non_null(strstr(st_error_message(), "not a strata destination"));
	/* Opening a foreign directory for writing leaves no lock file in it. */
	assert_int_equal(dest_open(&d, path, DEST_WRITE), ST_ERR_DEST);
	tu_join(file, path, "lock");
	assert_false(tu_exists(file));

	/* A marker file with other content. */
	tu_join(file, path, "strata.dest");
	tu_write_file(file, "something else\n", 15);
	assert_int_equal(dest_open(&d, path, DEST_READ), ST_ERR_DEST);
	assert_non_null(strstr(st_error_message(), "not a strata destination"));

	/* A marker of a newer format. */
	char newer[TU_PATH_MAX];
	init_dest(tmp, newer);
	tu_join(file, newer, "strata.dest");
	tu_write_file(file, "strata destination\nformat 2\nid x\n", 33);
	assert_int_equal(dest_open(&d, newer, DEST_READ), ST_ERR_DEST);
	assert_non_null(strstr(st_error_message(), "newer"));

	/* A regular file as the destination. */
	tu_join(path, tmp, "plain-file");
	tu_write_file(path, "x", 1);
	assert_int_equal(dest_open(&d, path, DEST_READ), ST_ERR_DEST);
}

static void test_lock_is_exclusive(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	init_dest(tmp, path);

	dest *first = NULL, *second = NULL, *reader = NULL;
	assert_int_equal(dest_open(&first, path, DEST_WRITE), 0);
	/* A second writer, even in the same process, is refused and told who holds the lock. */
	assert_int_equal(dest_open(&second, path, DEST_WRITE), ST_ERR_LOCKED);
	assert_null(second);
	char pid[32];
	snprintf(pid, sizeof pid, "pid %d", (int)getpid());
	assert_non_null(strstr(st_error_message(), pid));
	assert_non_null(strstr(st_error_message(), "locked"));

	/* Readers take no lock. */
	assert_int_equal(dest_open(&reader, path, DEST_READ), 0);
	dest_close(reader);

	/* The refused open did not break the holder's lock... */
	assert_int_equal(dest_open(&second, path, DEST_WRITE), ST_ERR_LOCKED);
	/* ...and closing releases it. */
	dest_close(first);
	assert_int_equal(dest_open(&second, path, DEST_WRITE), 0);
	dest_close(second);
}

static void test_new_pack_names(void **state)
{
	(void)state;
	char a[17 + 5], b[17 + 5];
	dest_new_pack_name(a);
	dest_new_pack_name(b);
	assert_int_equal(strlen(a), 21);
	assert_int_equal(strspn(a, "0123456789abcdef"), 16);
	assert_string_equal(a + 16, ".pack");
	assert_string_not_equal(a, b);
}

#define DEST_TEST(name) cmocka_unit_test_setup_teardown(name, tu_tmpdir_setup, tu_tmpdir_teardown)

int run_dest_tests(void)
{
	const struct CMUnitTest tests[] = {
		DEST_TEST(test_init_new_directory),
		DEST_TEST(test_init_existing_empty_directory),
		DEST_TEST(test_init_refusals),
		DEST_TEST(test_open_refusals),
		DEST_TEST(test_lock_is_exclusive),
		cmocka_unit_test(test_new_pack_names),
	};
	return cmocka_run_group_tests_name("catalog/dest", tests, NULL, NULL);
}
