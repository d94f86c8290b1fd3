/*
 * test_workers.c - thread sets and their first error (common/workers.h).
 */
#include "../testutil.h"
#include "tests.h"

#include "common/error.h"
#include "common/workers.h"

#include <sched.h>
#include <stdatomic.h>

typedef struct job {
	atomic_int started;
	atomic_int finished;
	atomic_int on_error_calls;
	int fail_ticket; /* this ticket fails first; -1: nobody */
	bool others_fail; /* the others fail too, once on_error has run */
} job;

static void count_on_error(void *arg)
{
	job *j = arg;
	atomic_fetch_add(&j->on_error_calls, 1);
}

static int work(void *arg)
{
	job *j = arg;
	int ticket = atomic_fetch_add(&j->started, 1);
	int rc = 0;
	if (ticket == j->fail_ticket) {
		rc = st_error_set(ST_ERR_CORRUPT, "worker %d failed first", ticket);
	} else if (j->others_fail) {
		/* Fail strictly after the first failure was recorded (on_error runs after that). */
		while (atomic_load(&j->on_error_calls) == 0)
			sched_yield();
		rc = st_error_set(ST_ERR_DEST, "worker %d failed later", ticket);
	}
	atomic_fetch_add(&j->finished, 1);
	return rc;
}

static void test_all_succeed(void **state)
{
	(void)state;
	job j = {.fail_ticket = -1};
	st_error_clear();
	st_workers *w = NULL;
	assert_int_equal(st_workers_start(&w, 6, work, count_on_error, &j), 0);
	assert_int_equal(st_workers_join(w), 0);
	assert_int_equal(atomic_load(&j.started), 6);
	assert_int_equal(atomic_load(&j.finished), 6);
	assert_int_equal(atomic_load(&j.on_error_calls), 0);
	assert_int_equal(st_error_code(), ST_OK);
}

static void test_one_failure_reaches_join(void **state)
{
	(void)state;
	job j = {.fail_ticket = 2};
	st_error_clear();
	st_workers *w = NULL;
	assert_int_equal(st_workers_start(&w, 5, work, count_on_error, &j), 0);
	assert_int_equal(st_workers_join(w), ST_ERR_CORRUPT);
	/* The worker's record became the joining thread's. */
	assert_int_equal(st_error_code(), ST_ERR_CORRUPT);
	assert_string_equal(st_error_message(), "worker 2 failed first");
	assert_int_equal(atomic_load(&j.on_error_calls), 1);
	/* Every thread ran to the end: join waited for all of them. */
	assert_int_equal(atomic_load(&j.finished), 5);
	st_error_clear();
}

static void test_first_error_wins_and_on_error_runs_once(void **state)
{
	(void)state;
	job j = {.fail_ticket = 0, .others_fail = true};
	st_error_clear();
	st_workers *w = NULL;
	assert_int_equal(st_workers_start(&w, 8, work, count_on_error, &j), 0);
	assert_int_equal(st_workers_join(w), ST_ERR_CORRUPT);
	assert_string_equal(st_error_message(), "worker 0 failed first");
	assert_int_equal(atomic_load(&j.on_error_calls), 1);
	assert_int_equal(atomic_load(&j.finished), 8);
	st_error_clear();
}

static int fail_without_callback(void *arg)
{
	atomic_int *calls = arg;
	atomic_fetch_add(calls, 1);
	return st_error_set(ST_ERR_SOURCE, "no callback");
}

static void test_null_on_error(void **state)
{
	(void)state;
	atomic_int calls = 0;
	st_workers *w = NULL;
	assert_int_equal(st_workers_start(&w, 3, fail_without_callback, NULL, &calls), 0);
	assert_int_equal(st_workers_join(w), ST_ERR_SOURCE);
	assert_string_equal(st_error_message(), "no callback");
	assert_int_equal(atomic_load(&calls), 3);
	st_error_clear();
}

static void test_cpu_count(void **state)
{
	(void)state;
	int n = st_cpu_count();
	assert_true(n >= 1);
	assert_int_equal(n, st_cpu_count());
}

int run_workers_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_succeed),
		cmocka_unit_test(test_one_failure_reaches_join),
		cmocka_unit_test(test_first_error_wins_and_on_error_runs_once),
		cmocka_unit_test(test_null_on_error),
		cmocka_unit_test(test_cpu_count),
	};
	return cmocka_run_group_tests_name("common/workers", tests, NULL, NULL);
}
