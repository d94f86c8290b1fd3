/*
 * tests.h - the groups of the unit_catalog executable: one per source area of catalog/, each
 * run by main.c.
 */
#ifndef STRATA_TESTS_UNIT_CATALOG_TESTS_H
#define STRATA_TESTS_UNIT_CATALOG_TESTS_H

/* Each returns the number of failed tests of its group. */
int run_catalog_tests(void);
int run_dest_tests(void);
int run_backend_tests(void);
int run_catalog_dump_tests(void);
int run_catalog_failure_tests(void);
int run_hostile_tests(void);
int run_s3_tests(void);

/* Fixtures shared by the groups: *state becomes a fresh directory under /tmp (a malloc'ed
 * path), removed again with everything in it. */

/* Runs sql on a raw SQLite connection to the catalog at path (to set up what strata would not),
 * asserting it succeeds. */
void catalog_test_raw_exec(const char *path, const char *sql);

#endif
