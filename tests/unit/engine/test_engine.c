/*
 * test_engine.c - unit_engine: restore path and folder validation (engine/restore.h). Content dedup is
 * the store's: tests/unit/store/test_dedup.c.
 */
#include "../testutil.h"

#include "common/error.h"
#include "engine/restore.h"

/* ---- restore_check_path ---- */

static void test_check_path_accepts(void **state)
{
	(void)state;
	static const char *const good[] = {
		"a", "a/b.c", "..a", "a..", "a/.b", "...", "a/b/c/d/e", ".hidden", "a/...", "a/..b/c",
		"with space/and-dash", "-leading-dash", "\xc3\xbc/\xc3\xb8",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		st_error_clear();
		if (restore_check_path(good[i]) != 0)
			fail_msg("'%s' was rejected: %s", good[i], st_error_message());
		assert_int_equal(st_error_code(), ST_OK);
	}
}

static void test_check_path_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "/a", "/", "..", ".", "a/..", "a/../b", "./a", "a/./b", "a//b", "a/", "../a", "a/b/..",
		"//a", "a/b/", "../../etc/passwd", "a/.", "/etc/passwd",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		st_error_clear();
		int rc = restore_check_path(bad[i]);
		if (rc != ST_ERR_TARGET)
			fail_msg("'%s' gave %d, expected ST_ERR_TARGET", bad[i], rc);
		assert_int_equal(st_error_code(), ST_ERR_TARGET);
		char quoted[64];
		snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
		assert_non_null(strstr(st_error_message(), quoted));
	}
	st_error_clear();
}

/* ---- restore_check_folder ---- */

static void test_check_folder(void **state)
{
	(void)state;
	static const char *const good[] = {"repository", "repository/node", "repository/node/00",
					   "repository/node/af/09", "repository/node/ff/ff"};
	static const char *const bad[] = {
		"", "repository/", "repository/node/", "repository/node/a", "repository/node/abc", "repository/node/AB",
		"repository/node/ab/", "repository/node/ab/c", "repository/node/ab/cd/ef", "repository/node/..",
		"repository/node/ab/..", "repository/nodes", "repository/x", "/repository", "repository/node/g0",
		"repository/node//ab", "node/ab/cd", "repository/node/ab/cd/",
	};
	catalog_folder f = {.mode = 0755};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		snprintf(f.path, sizeof f.path, "%s", good[i]);
		if (restore_check_folder(&f) != 0)
			fail_msg("'%s' was rejected: %s", good[i], st_error_message());
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(f.path, sizeof f.path, "%s", bad[i]);
		if (restore_check_folder(&f) != ST_ERR_CORRUPT)
			fail_msg("'%s' was accepted", bad[i]);
	}
	snprintf(f.path, sizeof f.path, "repository/node/ab");
	f.mode = 040755;
	assert_int_equal(restore_check_folder(&f), ST_ERR_CORRUPT);
	assert_non_null(strstr(st_error_message(), "'repository/node/ab'"));
	f.mode = 07777;
	assert_int_equal(restore_check_folder(&f), 0);
	st_error_clear();
}

int run_db_info_tests(void); /* test_db_info.c */
int run_jobs_tests(void);    /* test_jobs.c */
int run_writer_tests(void);  /* test_writer.c */
int run_profile_tests(void); /* test_profile.c */
int run_backup_info_tests(void); /* test_backup_info.c */
int run_archive_tests(void);     /* test_archive.c */
int run_zdelta_tests(void);      /* test_zdelta.c */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_path_accepts),
		cmocka_unit_test(test_check_path_rejects),
		cmocka_unit_test(test_check_folder),
	};
	int failed = cmocka_run_group_tests_name("engine", tests, NULL, NULL);
	return failed + run_db_info_tests() + run_jobs_tests() + run_writer_tests() + run_profile_tests() +
	       run_backup_info_tests() + run_archive_tests() + run_zdelta_tests();
}
