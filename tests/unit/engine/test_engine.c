/*
 * test_engine.c - unit_engine: restore path validation (engine/restore.h) and content dedup
 * against a real catalog (engine/dedup.h).
 */
#include "../testutil.h"

#include "catalog/catalog.h"
#include "common/error.h"
#include "engine/dedup.h"
#include "engine/restore.h"

#include <pthread.h>
#include <stdatomic.h>

/* ---- restore_check_path ---- */

static void test_check_path_accepts(void **state)
{
	(void)state;
	static const char *const good[] = {
		"a", "a/b.c", "..a", "a..", "a/.b", "...", "a/b/c/d/e", ".hidden", "a/...", "a/..b/c",
		"with space/and-dash", "-leading-dash", "\xc3\xbc/\xc3\xb8",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		st_error_clear();
		if (restore_check_path(good[i]) != 0)
			fail_msg("'%s' was rejected: %s", good[i], st_error_message());
		assert_int_equal(st_error_code(), ST_OK);
	}
}

static void test_check_path_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "/a", "/", "..", ".", "a/..", "a/../b", "./a", "a/./b", "a//b", "a/", "../a", "a/b/..",
		"//a", "a/b/", "../../etc/passwd", "a/.", "/etc/passwd",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		st_error_clear();
		int rc = restore_check_path(bad[i]);
		if (rc != ST_ERR_TARGET)
			fail_msg("'%s' gave %d, expected ST_ERR_TARGET", bad[i], rc);
		assert_int_equal(st_error_code(), ST_ERR_TARGET);
		char quoted[64];
		snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
		assert_non_null(strstr(st_error_message(), quoted));
	}
	st_error_clear();
}

/* ---- dedup ---- */

typedef struct dedup_fixture {
	char dir[TU_PATH_MAX];
	catalog *cat;
} dedup_fixture;

static int open_catalog(void **state)
{
	dedup_fixture *f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	tu_mkdtemp(f->dir);
	char path[TU_PATH_MAX];
	tu_join(path, f->dir, "catalog.db");
	assert_int_equal(catalog_open(&f->cat, path, CATALOG_CREATE), 0);
	*state = f;
	return 0;
}

static int close_catalog(void **state)
{
	dedup_fixture *f = *state;
	catalog_close(f->cat);
	tu_rm_rf(f->dir);
	free(f);
	st_error_clear();
	return 0;
}

static void hash_of_index(st_hash *out, uint64_t i)
{
	char text[32];
	snprintf(text, sizeof text, "content %llu", (unsigned long long)i);
	st_hash_buffer(out, text, strlen(text));
}

static void test_claims(void **state)
{
	dedup_fixture *f = *state;
	st_hash stored, fresh, other;
	hash_of_index(&stored, 1);
	hash_of_index(&fresh, 2);
	hash_of_index(&other, 3);
	pack_location loc = {.pack_id = 1, .offset = 16, .raw_size = 9, .stored_size = 9, .codec = CODEC_RAW};
	assert_int_equal(catalog_object_add(f->cat, &stored, &loc), 0);

	dedup *d = dedup_new(&f->cat, 1);
	assert_non_null(d);
	bool is_new = false;
	assert_int_equal(dedup_claim(d, &fresh, &is_new), 0);
	assert_true(is_new);
	assert_int_equal(dedup_claim(d, &fresh, &is_new), 0);
	assert_false(is_new);
	assert_int_equal(dedup_claim(d, &fresh, &is_new), 0);
	assert_false(is_new);

	/* In the catalog already: never new, however often asked. */
	is_new = true;
	assert_int_equal(dedup_claim(d, &stored, &is_new), 0);
	assert_false(is_new);
	is_new = true;
	assert_int_equal(dedup_claim(d, &stored, &is_new), 0);
	assert_false(is_new);

	assert_int_equal(dedup_claim(d, &other, &is_new), 0);
	assert_true(is_new);
	dedup_free(d);
	dedup_free(NULL);

	/* A new dedup (a new run) knows only what the catalog holds. */
	d = dedup_new(&f->cat, 1);
	assert_int_equal(dedup_claim(d, &fresh, &is_new), 0);
	assert_true(is_new);
	assert_int_equal(dedup_claim(d, &stored, &is_new), 0);
	assert_false(is_new);
	dedup_free(d);
}

static void test_many_claims_grow_the_set(void **state)
{
	dedup_fixture *f = *state;
	enum { N = 5000 };
	dedup *d = dedup_new(&f->cat, 1);
	bool is_new = false;
	for (uint64_t i = 0; i < N; i++) {
		st_hash h;
		hash_of_index(&h, i);
		assert_int_equal(dedup_claim(d, &h, &is_new), 0);
		assert_true(is_new);
	}
	/* After the set grew several times, every claim is still remembered. */
	for (uint64_t i = 0; i < N; i++) {
		st_hash h;
		hash_of_index(&h, i);
		assert_int_equal(dedup_claim(d, &h, &is_new), 0);
		assert_false(is_new);
	}
	dedup_free(d);
}

static void test_hashes_sharing_a_prefix(void **state)
{
	dedup_fixture *f = *state;
	/* Hashes equal in their first 8 bytes land in the same slot and must still be told apart. */
	dedup *d = dedup_new(&f->cat, 1);
	bool is_new = false;
	for (int i = 0; i < 50; i++) {
		st_hash h;
		memset(h.bytes, 0xab, sizeof h.bytes);
		h.bytes[15] = (uint8_t)i;
		assert_int_equal(dedup_claim(d, &h, &is_new), 0);
		assert_true(is_new);
	}
	for (int i = 0; i < 50; i++) {
		st_hash h;
		memset(h.bytes, 0xab, sizeof h.bytes);
		h.bytes[15] = (uint8_t)i;
		assert_int_equal(dedup_claim(d, &h, &is_new), 0);
		assert_false(is_new);
	}
	dedup_free(d);
}

#define CLAIM_THREADS 8
#define SHARED_HASHES 300

typedef struct race {
	dedup *d;
	pthread_barrier_t start;
	atomic_int next_thread;
	atomic_int winners[SHARED_HASHES];
	atomic_int errors;
} race;

static void *claim_all(void *arg)
{
	race *r = arg;
	int t = atomic_fetch_add(&r->next_thread, 1);
	pthread_barrier_wait(&r->start);
	/* Every thread claims every hash, each thread in a different order. */
	for (int k = 0; k < SHARED_HASHES; k++) {
		int i = (k * 7 + t * 37) % SHARED_HASHES;
		st_hash h;
		hash_of_index(&h, (uint64_t)i + 100000);
		bool is_new = false;
		if (dedup_claim(r->d, &h, &is_new) != 0)
			atomic_fetch_add(&r->errors, 1);
		if (is_new)
			atomic_fetch_add(&r->winners[i], 1);
	}
	return NULL;
}

static void test_concurrent_claims(void **state)
{
	dedup_fixture *f = *state;
	race *r = calloc(1, sizeof *r);
	assert_non_null(r);
	r->d = dedup_new(&f->cat, 1);
	assert_int_equal(pthread_barrier_init(&r->start, NULL, CLAIM_THREADS), 0);
	pthread_t threads[CLAIM_THREADS];
	for (int i = 0; i < CLAIM_THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, claim_all, r), 0);
	for (int i = 0; i < CLAIM_THREADS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	pthread_barrier_destroy(&r->start);

	assert_int_equal(atomic_load(&r->errors), 0);
	for (int i = 0; i < SHARED_HASHES; i++)
		if (atomic_load(&r->winners[i]) != 1)
			fail_msg("hash %d was claimed as new %d times", i, atomic_load(&r->winners[i]));
	dedup_free(r->d);
	free(r);
}

#define DEDUP_TEST(name) cmocka_unit_test_setup_teardown(name, open_catalog, close_catalog)

int run_db_info_tests(void); /* test_db_info.c */
int run_jobs_tests(void);    /* test_jobs.c */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_path_accepts),
		cmocka_unit_test(test_check_path_rejects),
		DEDUP_TEST(test_claims),
		DEDUP_TEST(test_many_claims_grow_the_set),
		DEDUP_TEST(test_hashes_sharing_a_prefix),
		DEDUP_TEST(test_concurrent_claims),
	};
	int failed = cmocka_run_group_tests_name("engine", tests, NULL, NULL);
	return failed + run_db_info_tests() + run_jobs_tests();
}
