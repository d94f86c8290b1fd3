/*
 * main.c - unit_common: runs every group of tests of the common module.
 */
#include "tests.h"

int main(void)
{
	int failed = 0;
	failed += run_error_tests();
	failed += run_queue_tests();
	failed += run_workers_tests();
	failed += run_budget_tests();
	failed += run_fsutil_tests();
	failed += run_hash_tests();
	failed += run_confine_tests();
	failed += run_json_tests();
	failed += run_log_tests();
	failed += run_mem_tests();
	failed += run_id_sums_tests();
	return failed == 0 ? 0 : 1;
}
