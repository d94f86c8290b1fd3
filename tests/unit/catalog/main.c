/*
 * main.c - unit_catalog: runs every group of tests of the catalog module, and the fixtures they
 * share.
 */
#include "../testutil.h"
#include "tests.h"

#include "common/error.h"
#include "common/fsutil.h"

#include <sqlite3.h>

void catalog_test_raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	assert_int_equal(rc, SQLITE_OK);
}

int main(void)
{
	int failed = 0;
	failed += run_catalog_tests();
	failed += run_dest_tests();
	failed += run_backend_tests();
	failed += run_catalog_dump_tests();
	failed += run_catalog_failure_tests();
	failed += run_hostile_tests();
	failed += run_s3_tests();
	return failed == 0 ? 0 : 1;
}
