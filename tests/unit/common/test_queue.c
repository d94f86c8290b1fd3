/*
 * test_queue.c - the bounded blocking queue (common/queue.h).
 *
 * Assertions run on the main thread only: helper threads record what happened and the test
 * checks it after joining them.
 */
#include "../testutil.h"
#include "tests.h"

#include "common/fsutil.h"
#include "common/queue.h"

#include <pthread.h>
#include <stdatomic.h>

#define ITEM(n) ((void *)(uintptr_t)(n))
#define VALUE(p) ((uintptr_t)(p))

static void test_fifo_order_with_wraparound(void **state)
{
	(void)state;
	st_queue *q = st_queue_new(4);
	void *item = NULL;
	uintptr_t next_in = 1, next_out = 1;
	/* Fill, half drain, refill: the ring's head moves round several times. */
	for (int round = 0; round < 10; round++) {
		while (next_in - next_out < 4)
			assert_true(st_queue_push(q, ITEM(next_in++)));
		for (int i = 0; i < 3; i++) {
			assert_true(st_queue_pop(q, &item));
			assert_int_equal(VALUE(item), next_out++);
		}
	}
	st_queue_close(q);
	while (st_queue_pop(q, &item))
		assert_int_equal(VALUE(item), next_out++);
	assert_int_equal(next_out, next_in);
	st_queue_free(q);
}

static void test_close_semantics(void **state)
{
	(void)state;
	st_queue *q = st_queue_new(8);
	void *item = NULL;
	assert_true(st_queue_push(q, ITEM(1)));
	assert_true(st_queue_push(q, ITEM(2)));
	assert_true(st_queue_push(q, ITEM(3)));
	st_queue_close(q);

	/* Pushes fail from now on; what was queued is still delivered, in order. */
	assert_false(st_queue_push(q, ITEM(4)));
	for (uintptr_t i = 1; i <= 3; i++) {
		assert_true(st_queue_pop(q, &item));
		assert_int_equal(VALUE(item), i);
	}
	assert_false(st_queue_pop(q, &item));
	assert_false(st_queue_pop(q, &item));
	assert_false(st_queue_push(q, ITEM(5)));

	/* Closing twice is harmless. */
	st_queue_close(q);
	assert_false(st_queue_pop(q, &item));
	st_queue_free(q);
	st_queue_free(NULL);
}

static void test_zero_capacity_holds_one(void **state)
{
	(void)state;
	st_queue *q = st_queue_new(0);
	void *item = NULL;
	assert_true(st_queue_push(q, ITEM(7)));
	assert_true(st_queue_pop(q, &item));
	assert_int_equal(VALUE(item), 7);
	st_queue_close(q);
	st_queue_free(q);
}

typedef struct blocker {
	st_queue *queue;
	void *item;
	atomic_int done;
	bool result;
} blocker;

static void *push_one(void *arg)
{
	blocker *b = arg;
	b->result = st_queue_push(b->queue, b->item);
	atomic_store(&b->done, 1);
	return NULL;
}

static void *pop_one(void *arg)
{
	blocker *b = arg;
	b->result = st_queue_pop(b->queue, &b->item);
	atomic_store(&b->done, 1);
	return NULL;
}

static void test_push_blocks_while_full(void **state)
{
	(void)state;
	st_queue *q = st_queue_new(1);
	void *item = NULL;
	assert_true(st_queue_push(q, ITEM(1)));

	blocker b = {.queue = q, .item = ITEM(2)};
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, push_one, &b), 0);
	tu_sleep_ms(50);
	assert_int_equal(atomic_load(&b.done), 0);

	assert_true(st_queue_pop(q, &item));
	assert_int_equal(VALUE(item), 1);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_true(b.result);
	assert_true(st_queue_pop(q, &item));
	assert_int_equal(VALUE(item), 2);
	st_queue_close(q);
	st_queue_free(q);
}

static void test_pop_blocks_while_empty(void **state)
{
	(void)state;
	st_queue *q = st_queue_new(2);
	blocker b = {.queue = q};
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, pop_one, &b), 0);
	tu_sleep_ms(50);
	assert_int_equal(atomic_load(&b.done), 0);

	assert_true(st_queue_push(q, ITEM(42)));
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_true(b.result);
	assert_int_equal(VALUE(b.item), 42);
	st_queue_close(q);
	st_queue_free(q);
}

/* A timed pop returns what is queued at once, times out on an empty queue (after waiting at
 * least the timeout, or not at all for 0), and says when the queue is closed and drained. */
static void test_pop_timed(void **state)
{
	(void)state;
	st_queue *q = st_queue_new(2);
	void *item = NULL;
	assert_true(st_queue_push(q, ITEM(7)));
	assert_int_equal(st_queue_pop_timed(q, &item, 10.0), ST_QUEUE_ITEM);
	assert_int_equal(VALUE(item), 7);
	assert_int_equal(st_queue_pop_timed(q, &item, 0), ST_QUEUE_TIMEOUT);
	double start = st_now_seconds();
	assert_int_equal(st_queue_pop_timed(q, &item, 0.05), ST_QUEUE_TIMEOUT);
	assert_true(st_now_seconds() - start >= 0.049);
	assert_true(st_queue_push(q, ITEM(8)));
	st_queue_close(q);
	assert_int_equal(st_queue_pop_timed(q, &item, 10.0), ST_QUEUE_ITEM);
	assert_int_equal(VALUE(item), 8);
	assert_int_equal(st_queue_pop_timed(q, &item, 10.0), ST_QUEUE_CLOSED);
	st_queue_free(q);
}

static void test_close_wakes_blocked_threads(void **state)
{
	(void)state;
	/* A consumer blocked on an empty queue... */
	st_queue *empty = st_queue_new(2);
	blocker popper = {.queue = empty};
	pthread_t pop_thread;
	assert_int_equal(pthread_create(&pop_thread, NULL, pop_one, &popper), 0);

	/* ...and a producer blocked on a full one. */
	st_queue *full = st_queue_new(1);
	assert_true(st_queue_push(full, ITEM(1)));
	blocker pusher = {.queue = full, .item = ITEM(2)};
	pthread_t push_thread;
	assert_int_equal(pthread_create(&push_thread, NULL, push_one, &pusher), 0);

	tu_sleep_ms(50);
	assert_int_equal(atomic_load(&popper.done), 0);
	assert_int_equal(atomic_load(&pusher.done), 0);

	st_queue_close(empty);
	st_queue_close(full);
	assert_int_equal(pthread_join(pop_thread, NULL), 0);
	assert_int_equal(pthread_join(push_thread, NULL), 0);
	assert_false(popper.result);
	assert_false(pusher.result);

	/* The full queue still delivers the item it held before the close. */
	void *item = NULL;
	assert_true(st_queue_pop(full, &item));
	assert_int_equal(VALUE(item), 1);
	assert_false(st_queue_pop(full, &item));
	st_queue_free(empty);
	st_queue_free(full);
}

#define PRODUCERS 4
#define CONSUMERS 3
#define PER_PRODUCER 5000

typedef struct mpmc {
	st_queue *queue;
	atomic_int next_producer;
	/* seen[p][i]: how often item i of producer p was popped. */
	atomic_int seen[PRODUCERS][PER_PRODUCER];
	atomic_int out_of_order;
	atomic_int push_failures;
} mpmc;

static void *produce(void *arg)
{
	mpmc *m = arg;
	int p = atomic_fetch_add(&m->next_producer, 1);
	for (int i = 0; i < PER_PRODUCER; i++)
		if (!st_queue_push(m->queue, ITEM((uintptr_t)p * PER_PRODUCER + (uintptr_t)i + 1)))
			atomic_fetch_add(&m->push_failures, 1);
	return NULL;
}

static void *consume(void *arg)
{
	mpmc *m = arg;
	int last[PRODUCERS];
	for (int p = 0; p < PRODUCERS; p++)
		last[p] = -1;
	void *item;
	while (st_queue_pop(m->queue, &item)) {
		uintptr_t v = VALUE(item) - 1;
		int p = (int)(v / PER_PRODUCER), i = (int)(v % PER_PRODUCER);
		/* One producer's items reach any one consumer in the order they were pushed. */
		if (i <= last[p])
			atomic_fetch_add(&m->out_of_order, 1);
		last[p] = i;
		atomic_fetch_add(&m->seen[p][i], 1);
	}
	return NULL;
}

static void test_many_producers_and_consumers(void **state)
{
	(void)state;
	mpmc *m = calloc(1, sizeof *m);
	assert_non_null(m);
	m->queue = st_queue_new(3);
	pthread_t producers[PRODUCERS], consumers[CONSUMERS];
	for (int i = 0; i < CONSUMERS; i++)
		assert_int_equal(pthread_create(&consumers[i], NULL, consume, m), 0);
	for (int i = 0; i < PRODUCERS; i++)
		assert_int_equal(pthread_create(&producers[i], NULL, produce, m), 0);
	for (int i = 0; i < PRODUCERS; i++)
		assert_int_equal(pthread_join(producers[i], NULL), 0);
	st_queue_close(m->queue);
	for (int i = 0; i < CONSUMERS; i++)
		assert_int_equal(pthread_join(consumers[i], NULL), 0);

	assert_int_equal(atomic_load(&m->push_failures), 0);
	assert_int_equal(atomic_load(&m->out_of_order), 0);
	for (int p = 0; p < PRODUCERS; p++)
		for (int i = 0; i < PER_PRODUCER; i++)
			assert_int_equal(atomic_load(&m->seen[p][i]), 1);
	st_queue_free(m->queue);
	free(m);
}

int run_queue_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_order_with_wraparound),
		cmocka_unit_test(test_close_semantics),
		cmocka_unit_test(test_zero_capacity_holds_one),
		cmocka_unit_test(test_push_blocks_while_full),
		cmocka_unit_test(test_pop_blocks_while_empty),
		cmocka_unit_test(test_pop_timed),
		cmocka_unit_test(test_close_wakes_blocked_threads),
		cmocka_unit_test(test_many_producers_and_consumers),
	};
	return cmocka_run_group_tests_name("common/queue", tests, NULL, NULL);
}
