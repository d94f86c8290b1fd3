/*
 * tests.h - the groups of the unit_scanner executable: one per source area of scanner/, each
 * run by main.c.
 */
#ifndef STRATA_TESTS_UNIT_SCANNER_TESTS_H
#define STRATA_TESTS_UNIT_SCANNER_TESTS_H

/* Each returns the number of failed tests of its group. */
int run_node_tree_tests(void);
int run_source_tests(void);
int run_scan_tree_tests(void);

#endif
