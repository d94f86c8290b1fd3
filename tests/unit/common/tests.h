/*
 * tests.h - the groups of the unit_common executable: one per source file of common/, each
 * run by main.c.
 */
#ifndef STRATA_TESTS_UNIT_COMMON_TESTS_H
#define STRATA_TESTS_UNIT_COMMON_TESTS_H

/* Each returns the number of failed tests of its group. */
int run_error_tests(void);
int run_queue_tests(void);
int run_workers_tests(void);
int run_budget_tests(void);
int run_fsutil_tests(void);
int run_hash_tests(void);
int run_confine_tests(void);
int run_json_tests(void);
int run_log_tests(void);
int run_mem_tests(void);
int run_id_sums_tests(void);

#endif
