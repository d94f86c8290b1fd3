/*
 * test_store_fault.c - a store session on a destination whose backend fails its Nth operation
 * with ENOSPC or EIO, for every N of the session (catalog/backend.h's fault wrapper).
 *
 * A session takes the lock, removes orphans, puts several objects into two packs (sealing
 * each), publishes, and reads an earlier object back. Whatever operation fails, afterwards the
 * destination opens, everything published before reads back byte for byte, every object of
 * the failed session is either absent or whole, every listed pack checks clean, and a clean
 * session can store the same content again.
 */
#include "../testutil.h"
#include "tests.h"

#include "catalog/backend.h"
#include "catalog/dest.h"
#include "common/error.h"
#include "store/store.h"

#include <errno.h>

#define EARLIER 4
#define SESSION 5
#define OBJECT_SIZE 3000

typedef struct content {
	unsigned char data[OBJECT_SIZE];
	st_hash hash;
} content;

static void make_content(content *out, uint64_t seed)
{
	tu_fill_random(out->data, OBJECT_SIZE, seed);
	/* Half of each object repeats, so that zstd has something to do. */
	memset(out->data + OBJECT_SIZE / 2, 'a', OBJECT_SIZE / 2);
	st_hash_buffer(&out->hash, out->data, OBJECT_SIZE);
}

/* One session over b (which it owns) that stores count objects; returns its first error. */
static int run_session(backend *b, const char *what, const content *objects, int count, const content *earlier)
{
	dest *d = NULL;
	store *s = NULL;
	int removed = 0;
	int rc = dest_open_backend(&d, b, what, DEST_WRITE);
	if (rc == 0)
		rc = store_open(&s, d, NULL);
	if (rc == 0)
		rc = store_remove_orphans(s, &removed);
	for (int i = 0; i < count && rc == 0; i++) {
		st_hash h;
		rc = store_put_buffer(s, objects[i].data, OBJECT_SIZE, &h);
		if (rc == 0 && i == count / 2)
			rc = store_flush(s); /* two packs per session */
	}
	if (rc == 0)
		rc = store_flush(s);
	if (rc == 0)
		rc = store_publish(s);
	void *back = NULL;
	size_t len = 0;
	if (rc == 0)
		rc = store_get(s, &earlier->hash, &back, &len);
	if (rc == 0 && (len != OBJECT_SIZE || memcmp(back, earlier->data, OBJECT_SIZE) != 0))
		rc = st_error_set(ST_ERR_CORRUPT, "earlier object read back wrong");
	free(back);
	store_free(s);
	dest_close(d);
	return rc;
}

static void count_problem(void *ctx, const char *problem)
{
	(void)problem;
	(*(int *)ctx)++;
}

/* The destination after a session, faulty or not: valid, with earlier content intact. */
static void assert_valid(const char *path, const content *earlier, size_t earlier_count, const content *session)
{
	dest *d = NULL;
	store *s = NULL;
	assert_int_equal(dest_open(&d, path, DEST_WRITE), 0);
	assert_int_equal(store_open(&s, d, NULL), 0);
	for (size_t i = 0; i < earlier_count; i++) {
		void *back = NULL;
		size_t len = 0;
		assert_int_equal(store_get(s, &earlier[i].hash, &back, &len), 0);
		assert_int_equal(len, OBJECT_SIZE);
		assert_memory_equal(back, earlier[i].data, OBJECT_SIZE);
		free(back);
	}
	/* No half object: what the failed session published reads back whole, the rest is absent. */
	for (int i = 0; i < SESSION; i++) {
		bool found = false;
		assert_int_equal(store_has(s, &session[i].hash, &found), 0);
		if (!found)
			continue;
		void *back = NULL;
		size_t len = 0;
		assert_int_equal(store_get(s, &session[i].hash, &back, &len), 0);
		assert_memory_equal(back, session[i].data, OBJECT_SIZE);
		free(back);
	}
	int problems = 0;
	int64_t packs = 0, *ids = NULL;
	size_t id_count = 0;
	assert_int_equal(store_check_packs(s, count_problem, &problems, &packs), 0);
	assert_int_equal(store_pack_ids(s, &ids, &id_count), 0);
	for (size_t i = 0; i < id_count; i++) {
		int64_t objects = 0, bytes = 0;
		assert_int_equal(store_verify_pack(s, ids[i], count_problem, &problems, &objects, &bytes), 0);
	}
	assert_int_equal(problems, 0);
	/* What a failed session left outside the catalog is an orphan, and only that. */
	int removed = 0;
	char **names = NULL;
	size_t name_count = 0;
	assert_int_equal(store_remove_orphans(s, &removed), 0);
	assert_int_equal(backend_list(dest_backend(d), BACKEND_SPACE_PACKS, &names, &name_count), 0);
	assert_int_equal(name_count, id_count);
	backend_list_free(names, name_count);
	free(ids);
	store_free(s);
	dest_close(d);
}

static void fail_every_operation(const char *tmp, int err, int expected_code)
{
	char path[TU_PATH_MAX];
	tu_join(path, tmp, err == ENOSPC ? "dest-enospc" : "dest-eio");
	assert_int_equal(dest_init(path), 0);
	content *earlier = calloc(EARLIER, sizeof *earlier);
	content *session = calloc(SESSION, sizeof *session);
	assert_non_null(earlier);
	assert_non_null(session);
	for (int i = 0; i < EARLIER; i++)
		make_content(&earlier[i], 1000 + (uint64_t)i);
	backend *b = NULL;
	assert_int_equal(backend_local_new(&b, path), 0);
	assert_int_equal(run_session(b, path, earlier, EARLIER, &earlier[0]), 0);

	long n = 1;
	for (;; n++) {
		/* Fresh content each time, so that every session has packs to write. */
		for (int i = 0; i < SESSION; i++)
			make_content(&session[i], (uint64_t)(n * 100 + i));
		assert_int_equal(backend_local_new(&b, path), 0);
		backend *faulty = backend_fault_new(b, n, err);
		st_error_clear();
		int rc = run_session(faulty, path, session, SESSION, &earlier[n % EARLIER]);
		if (rc == 0)
			break; /* the session needed fewer than n operations: every n was covered */
		if (rc != expected_code)
			fail_msg("operation %ld: error %d (%s), expected %d", n, rc, st_error_message(), expected_code);
		assert_non_null(strstr(st_error_message(), "injected"));
		assert_valid(path, earlier, EARLIER, session);
		/* A clean session stores the same content again. */
		assert_int_equal(backend_local_new(&b, path), 0);
		assert_int_equal(run_session(b, path, session, SESSION, &earlier[0]), 0);
		assert_valid(path, session, SESSION, session);
	}
	print_message("a session takes %ld backend operations; each failed once with %s\n", n - 1,
		      err == ENOSPC ? "ENOSPC" : "EIO");
	assert_true(n > 10); /* lock, list, creates, appends, syncs, closes, reads: all were hit */
	assert_valid(path, earlier, EARLIER, session);
	free(earlier);
	free(session);
}

static void test_every_operation_fails_with_enospc(void **state)
{
	fail_every_operation(*state, ENOSPC, ST_ERR_NOSPACE);
}

static void test_every_operation_fails_with_eio(void **state)
{
	fail_every_operation(*state, EIO, ST_ERR_DEST);
}

#define FAULT_TEST(name) cmocka_unit_test_setup_teardown(name, tu_tmpdir_setup, tu_tmpdir_teardown)

int run_store_fault_tests(void)
{
	const struct CMUnitTest tests[] = {
		FAULT_TEST(test_every_operation_fails_with_enospc),
		FAULT_TEST(test_every_operation_fails_with_eio),
	};
	return cmocka_run_group_tests_name("store/faults", tests, NULL, NULL);
}
