/*
 * main.c - unit_catalog: runs every group of tests of the catalog module, and the fixtures they
 * share.
 */
#include "../testutil.h"
#include "tests.h"

#include "common/error.h"
#include "common/fsutil.h"

int catalog_tests_make_tmp(void **state)
{
	char *dir = malloc(TU_PATH_MAX);
	if (dir == NULL)
		return -1;
	tu_mkdtemp(dir);
	*state = dir;
	return 0;
}

int catalog_tests_remove_tmp(void **state)
{
	char *dir = *state;
	st_sys_write = write; /* in case a fault-injection test failed half way */
	tu_rm_rf(dir);
	free(dir);
	st_error_clear();
	return 0;
}

int main(void)
{
	int failed = 0;
	failed += run_codec_tests();
	failed += run_pack_tests();
	failed += run_catalog_tests();
	failed += run_dest_tests();
	return failed == 0 ? 0 : 1;
}
