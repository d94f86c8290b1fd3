/*
 * main.c - unit_scanner: runs every group of tests of the scanner module.
 */
#include "../testutil.h"
#include "tests.h"

int main(void)
{
	int failed = 0;
	failed += run_node_tree_tests();
	failed += run_source_tests();
	failed += run_scan_tree_tests();
	return failed == 0 ? 0 : 1;
}
