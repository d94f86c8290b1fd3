/*
 * id_sums.c - aggregates of a set of node ids (see id_sums.h).
 */
#include "common/id_sums.h"

static uint32_t rotate_left(uint32_t x, int k)
{
	return (x << k) | (x >> (32 - k));
}

int64_t st_id_hash(int64_t id)
{
	/* hashint8 folds the high half into the low one so that it equals hashint4 on small values. */
	uint32_t lo = (uint32_t)((uint64_t)id & 0xffffffffu), hi = (uint32_t)((uint64_t)id >> 32);
	lo ^= id >= 0 ? hi : ~hi;
	/* hash_uint32: lookup3's final() on a = b = c = 0x9e3779b9 + 4 + 3923095, a += k. */
	uint32_t a = 0x9e3779b9u + (uint32_t)sizeof(uint32_t) + 3923095u, b = a, c = a;
	a += lo;
	c ^= b; c -= rotate_left(b, 14);
	a ^= c; a -= rotate_left(c, 11);
	b ^= a; b -= rotate_left(a, 25);
	c ^= b; c -= rotate_left(b, 16);
	a ^= c; a -= rotate_left(c, 4);
	b ^= a; b -= rotate_left(a, 14);
	c ^= b; c -= rotate_left(b, 24);
	return (int32_t)c;
}

int64_t st_id_sums_normalise(int64_t x)
{
	int64_t r = x % ST_ID_SUMS_MODULUS;
	return r < 0 ? r + ST_ID_SUMS_MODULUS : r;
}

void st_id_sums_add(st_id_sums *sums, int64_t id)
{
	/* Both terms are below 2^61: their sum fits. */
	sums->count++;
	sums->sum = st_id_sums_normalise(sums->sum + st_id_sums_normalise(id));
	sums->hash_sum = st_id_sums_normalise(sums->hash_sum + st_id_sums_normalise(st_id_hash(id)));
}

bool st_id_sums_equal(const st_id_sums *a, const st_id_sums *b)
{
	return a->count == b->count && a->sum == b->sum && a->hash_sum == b->hash_sum;
}
