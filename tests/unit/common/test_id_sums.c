/*
 * test_id_sums.c - aggregates of node ids (common/id_sums.h).
 */
#include "../testutil.h"
#include "tests.h"

#include "common/id_sums.h"

/* Values computed by PostgreSQL: SELECT hashint8(x). */
static void test_hash_values(void **state)
{
	(void)state;
	assert_int_equal(st_id_hash(0), -272711505);
	assert_int_equal(st_id_hash(1), -1905060026);
	assert_int_equal(st_id_hash(-1), 385747274);
	assert_int_equal(st_id_hash(INT64_C(1099511627776)), 1851357687);
	assert_int_equal(st_id_hash(INT64_C(2147483647)), -96758253);
	assert_int_equal(st_id_hash(INT64_MAX), -1524351049);
	assert_int_equal(st_id_hash(INT64_MIN), -96758253);
}

static void test_normalise(void **state)
{
	(void)state;
	assert_int_equal(st_id_sums_normalise(5), 5);
	assert_int_equal(st_id_sums_normalise(ST_ID_SUMS_MODULUS), 0);
	assert_int_equal(st_id_sums_normalise(ST_ID_SUMS_MODULUS + 3), 3);
	assert_int_equal(st_id_sums_normalise(-1), ST_ID_SUMS_MODULUS - 1);
}

static void test_sums_tell_sets_apart(void **state)
{
	(void)state;
	st_id_sums a = {0}, b = {0}, c = {0};
	st_id_sums_add(&a, 3);
	st_id_sums_add(&a, 7);
	st_id_sums_add(&b, 7);
	st_id_sums_add(&b, 3);
	assert_true(st_id_sums_equal(&a, &b)); /* the order does not matter */
	assert_int_equal(a.count, 2);
	assert_int_equal(a.sum, 10);
	assert_int_equal(a.hash_sum, st_id_sums_normalise(st_id_hash(3) + st_id_hash(7)));
	/* Same count and same sum, other ids: the hashes tell them apart. */
	st_id_sums_add(&c, 4);
	st_id_sums_add(&c, 6);
	assert_int_equal(c.sum, a.sum);
	assert_false(st_id_sums_equal(&a, &c));
	/* A different count. */
	st_id_sums_add(&b, 0);
	assert_false(st_id_sums_equal(&a, &b));
	/* Sums wrap at the modulus instead of overflowing. */
	st_id_sums big = {0};
	st_id_sums_add(&big, INT64_MAX);
	st_id_sums_add(&big, INT64_MAX);
	assert_true(big.sum >= 0 && big.sum < ST_ID_SUMS_MODULUS);
	assert_int_equal(big.sum, st_id_sums_normalise(2 * (INT64_MAX % ST_ID_SUMS_MODULUS)));
	/* Negative hashes are summed modulo the modulus too. */
	st_id_sums neg = {0};
	st_id_sums_add(&neg, 0);
	assert_int_equal(neg.hash_sum, ST_ID_SUMS_MODULUS - 272711505);
}

int run_id_sums_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_values),
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_sums_tell_sets_apart),
	};
	return cmocka_run_group_tests_name("common/id_sums", tests, NULL, NULL);
}
