/*
 * test_writer.c - the backup pipeline's writer (engine/backup_writer.c) on its own: it seals
 * the open pack once the store's seal interval ends even when no new object arrives, inside a
 * catalog transaction, and says so through the pipeline's changed hook.
 */
#include "../testutil.h"

#include "engine/backup_pipeline_internal.h"

#include "catalog/catalog.h"
#include "catalog/dest.h"
#include "common/budget.h"
#include "common/fsutil.h"
#include "common/queue.h"
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

int run_writer_tests(void);

#define SEAL_SECONDS 0.2
#define CONTENT_SIZE 1000

typedef struct memory_reader {
	const unsigned char *data;
	size_t offset;
} memory_reader;

static int read_memory(void *ctx, void *buf, size_t len)
{
	memory_reader *r = ctx;
	memcpy(buf, r->data + r->offset, len);
	r->offset += len;
	return 0;
}

static int keep_object(void *ctx, store_object *obj)
{
	*(store_object **)ctx = obj;
	return 0;
}

static void count_change(void *ctx)
{
	atomic_fetch_add((atomic_int *)ctx, 1);
}

typedef struct writer_thread {
	backup_pipeline *p;
	int rc;
} writer_thread;

static void *run_writer(void *arg)
{
	writer_thread *t = arg;
	t->rc = backup_writer_run(t->p);
	return NULL;
}

static int64_t packs_sealed(store *s)
{
	store_stats stats;
	store_get_stats(s, &stats);
	return stats.packs_sealed;
}

static void test_seals_on_time_while_idle(void **state)
{
	char *tmp = *state, path[TU_PATH_MAX];
	tu_join(path, tmp, "dest");
	assert_int_equal(dest_init(path), 0);
	dest *d = NULL;
	store *s = NULL;
	assert_int_equal(dest_open(&d, path, DEST_WRITE), 0);
	store_options options = {.seal_seconds = SEAL_SECONDS};
	assert_int_equal(store_open(&s, d, &options), 0);

	/* One new object, as a reader would hand it on. */
	unsigned char data[CONTENT_SIZE];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 7);
	memory_reader mem = {.data = data};
	store_reader reader = {.read = read_memory, .ctx = &mem};
	store_object *obj = NULL;
	store_sink sink = {.send = keep_object, .ctx = &obj};
	st_hash hash;
	assert_int_equal(store_put(s, &reader, sizeof data, &sink, &hash, NULL), 0);
	assert_non_null(obj);

	atomic_int changes;
	atomic_init(&changes, 0);
	pipeline_stats stats;
	memset(&stats, 0, sizeof stats);
	backup_pipeline *p = calloc(1, sizeof *p);
	assert_non_null(p);
	p->config.destination = d;
	p->config.objects = s;
	p->config.changed = count_change;
	p->config.changed_ctx = &changes;
	p->stats = &stats;
	p->budget = st_budget_new(1 << 20);
	p->write_queue = st_queue_new(4);
	atomic_init(&p->aborted, false);
	st_budget_take(p->budget, sizeof data);

	writer_thread t = {.p = p};
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, run_writer, &t), 0);
	double sent = st_now_seconds();
	assert_int_equal(pipeline_send_to_writer(p, WRITE_OBJECT, obj), 0);
	/* Appended, not sealed: the interval is not over. */
	tu_sleep_ms(50);
	if (st_now_seconds() - sent < SEAL_SECONDS)
		assert_int_equal(packs_sealed(s), 0);
	/* Nothing else arrives, and the queue stays open: the writer seals on time all the same. */
	for (int i = 0; i < 500 && atomic_load(&changes) < 2; i++) /* sealing, then done sealing */
		tu_sleep_ms(10);
	assert_int_equal(atomic_load(&changes), 2);
	assert_int_equal(packs_sealed(s), 1);
	assert_true(st_now_seconds() - sent >= SEAL_SECONDS * 0.99);
	assert_int_equal(atomic_load(&stats.bytes_done), sizeof data);
	assert_false(atomic_load(&stats.sealing));
	/* Sealed and committed: the catalog's other connections see the staged object. */
	catalog *other = NULL;
	int64_t packs = 0, objects = 0, bytes = 0;
	assert_int_equal(dest_open_reader(d, &other), 0);
	assert_int_equal(catalog_object_staged_totals(other, &packs, &objects, &bytes), 0);
	assert_int_equal(packs, 1);
	assert_int_equal(objects, 1);
	assert_int_equal(bytes, sizeof data);
	catalog_close(other);

	st_queue_close(p->write_queue);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(t.rc, 0);
	assert_int_equal(packs_sealed(s), 1);
	st_queue_free(p->write_queue);
	st_budget_free(p->budget);
	free(p);
	store_free(s);
	dest_close(d);
}

int run_writer_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_seals_on_time_while_idle, tu_tmpdir_setup, tu_tmpdir_teardown),
	};
	return cmocka_run_group_tests_name("engine/backup_writer", tests, NULL, NULL);
}
