/*
 * main.c - unit_catalog: runs every group of tests of the catalog module, and the fixtures they
 * share.
 */
#include "../testutil.h"
#include "tests.h"

#include "common/error.h"
#include "common/fsutil.h"

int main(void)
{
	int failed = 0;
	failed += run_codec_tests();
	failed += run_pack_tests();
	failed += run_catalog_tests();
	failed += run_dest_tests();
	failed += run_catalog_dump_tests();
	failed += run_catalog_failure_tests();
	failed += run_hostile_tests();
	return failed == 0 ? 0 : 1;
}
