/*
 * main.c - unit_store: runs every group of tests of the store module.
 */
#include "../testutil.h"
#include "tests.h"

int main(void)
{
	int failed = 0;
	failed += run_codec_tests();
	failed += run_pack_tests();
	failed += run_dedup_tests();
	failed += run_store_tests();
	failed += run_store_fault_tests();
	return failed == 0 ? 0 : 1;
}
