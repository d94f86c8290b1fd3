/*
 * test_budget.c - the shared byte budget (common/budget.h).
 *
 * A take that wrongly blocks would hang the test, so every take that must succeed runs in a
 * helper thread joined with a timeout.
 */
#include "../testutil.h"
#include "tests.h"

#include "common/budget.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

typedef struct taker {
	st_budget *budget;
	size_t bytes;
	atomic_int done;
} taker;

static void *take_it(void *arg)
{
	taker *t = arg;
	st_budget_take(t->budget, t->bytes);
	atomic_store(&t->done, 1);
	return NULL;
}

/* Starts a thread taking bytes. */
static void start_taker(pthread_t *thread, taker *t, st_budget *budget, size_t bytes)
{
	t->budget = budget;
	t->bytes = bytes;
	atomic_init(&t->done, 0);
	assert_int_equal(pthread_create(thread, NULL, take_it, t), 0);
}

/* Joins thread, failing the test if it does not finish within 10 seconds. */
static void join_within(pthread_t thread)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	assert_int_equal(pthread_timedjoin_np(thread, NULL, &deadline), 0);
}

static void test_takes_within_budget_do_not_block(void **state)
{
	(void)state;
	st_budget *b = st_budget_new(100);
	pthread_t thread;
	taker t1, t2;
	start_taker(&thread, &t1, b, 40);
	join_within(thread);
	start_taker(&thread, &t2, b, 60); /* exactly fills it */
	join_within(thread);
	st_budget_give(b, 40);
	st_budget_give(b, 60);
	st_budget_free(b);
	st_budget_free(NULL);
}

static void test_take_blocks_until_give(void **state)
{
	(void)state;
	st_budget *b = st_budget_new(100);
	st_budget_take(b, 80);

	pthread_t thread;
	taker t;
	start_taker(&thread, &t, b, 30);
	tu_sleep_ms(50);
	assert_int_equal(atomic_load(&t.done), 0);

	/* Giving back 20 leaves 60 taken: 60 + 30 fits, so the waiting take is granted. */
	st_budget_give(b, 20);
	join_within(thread);
	assert_int_equal(atomic_load(&t.done), 1);

	/* Now 60 + 30 = 90 taken: a take of 20 must wait for a give. */
	taker t2;
	start_taker(&thread, &t2, b, 20);
	tu_sleep_ms(50);
	assert_int_equal(atomic_load(&t2.done), 0);
	st_budget_give(b, 60);
	join_within(thread);
	st_budget_give(b, 30);
	st_budget_give(b, 20);
	st_budget_free(b);
}

static void test_oversize_request_granted_when_empty(void **state)
{
	(void)state;
	st_budget *b = st_budget_new(10);
	pthread_t thread;
	taker t;
	start_taker(&thread, &t, b, 1000);
	join_within(thread);
	assert_int_equal(atomic_load(&t.done), 1);

	/* While the oversize request holds the budget, even a small take waits. */
	taker small;
	start_taker(&thread, &small, b, 1);
	tu_sleep_ms(50);
	assert_int_equal(atomic_load(&small.done), 0);
	st_budget_give(b, 1000);
	join_within(thread);
	st_budget_give(b, 1);
	st_budget_free(b);
}

static void test_oversize_request_waits_for_empty(void **state)
{
	(void)state;
	st_budget *b = st_budget_new(10);
	st_budget_take(b, 5);
	pthread_t thread;
	taker t;
	start_taker(&thread, &t, b, 1000);
	tu_sleep_ms(50);
	assert_int_equal(atomic_load(&t.done), 0);
	st_budget_give(b, 5);
	join_within(thread);
	st_budget_give(b, 1000);
	st_budget_free(b);
}

#define CHURN_THREADS 8
#define CHURN_ROUNDS 2000
#define CHURN_BUDGET 1000

typedef struct churn {
	st_budget *budget;
	atomic_long in_flight;
	atomic_long max_in_flight;
	atomic_int seed;
} churn;

static void *churn_worker(void *arg)
{
	churn *c = arg;
	uint64_t rng = (uint64_t)atomic_fetch_add(&c->seed, 1) + 1;
	for (int i = 0; i < CHURN_ROUNDS; i++) {
		size_t bytes = 1 + (size_t)(tu_rand(&rng) % 400);
		st_budget_take(c->budget, bytes);
		long now = atomic_fetch_add(&c->in_flight, (long)bytes) + (long)bytes;
		long max = atomic_load(&c->max_in_flight);
		while (now > max && !atomic_compare_exchange_weak(&c->max_in_flight, &max, now))
			;
		atomic_fetch_sub(&c->in_flight, (long)bytes);
		st_budget_give(c->budget, bytes);
	}
	return NULL;
}

static void test_bytes_in_flight_stay_within_budget(void **state)
{
	(void)state;
	churn c = {.budget = st_budget_new(CHURN_BUDGET)};
	pthread_t threads[CHURN_THREADS];
	for (int i = 0; i < CHURN_THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, churn_worker, &c), 0);
	for (int i = 0; i < CHURN_THREADS; i++)
		join_within(threads[i]);
	assert_true(atomic_load(&c.max_in_flight) <= CHURN_BUDGET);
	assert_true(atomic_load(&c.max_in_flight) > 0);
	assert_int_equal(atomic_load(&c.in_flight), 0);
	/* Everything was given back: the whole budget can be taken at once again. */
	pthread_t thread;
	taker t;
	start_taker(&thread, &t, c.budget, CHURN_BUDGET);
	join_within(thread);
	st_budget_give(c.budget, CHURN_BUDGET);
	st_budget_free(c.budget);
}

int run_budget_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_takes_within_budget_do_not_block),
		cmocka_unit_test(test_take_blocks_until_give),
		cmocka_unit_test(test_oversize_request_granted_when_empty),
		cmocka_unit_test(test_oversize_request_waits_for_empty),
		cmocka_unit_test(test_bytes_in_flight_stay_within_budget),
	};
	return cmocka_run_group_tests_name("common/budget", tests, NULL, NULL);
}
