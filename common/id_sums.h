/*
 * id_sums.h - aggregates of a set of node ids, for comparing two sets range by range.
 *
 * A backup compares the node ids of the source database with the catalog's without listing
 * either: both sides compute, per id range, the count of the ids, their sum and the sum of a
 * hash of each id (all modulo ST_ID_SUMS_MODULUS, normalised to [0, modulus)). Equal aggregates
 * mean equal sets but for a coincidence that needs as many ids added as removed with the same
 * sum and the same sum of hashes; a range whose aggregates differ certainly differs.
 *
 * The database computes the aggregates in SQL (ST_ID_HASH_SQL, ST_ID_SUMS_MODULUS_SQL), the
 * catalog in C (st_id_sums_add): the two definitions here must stay the same function.
 */
#ifndef STRATA_COMMON_ID_SUMS_H
#define STRATA_COMMON_ID_SUMS_H

#include <stdbool.h>
#include <stdint.h>

/* The Mersenne prime 2^61 - 1: sums modulo it never overflow 64 bits on the way. */
#define ST_ID_SUMS_MODULUS INT64_C(2305843009213693951)
#define ST_ID_SUMS_MODULUS_SQL "2305843009213693951"

/* The per-id hash in SQL: PostgreSQL's own hashint8 (the hash of its hash indexes and hash
 * partitions, stable across versions, equal to hashint4 for the same value). */
#define ST_ID_HASH_SQL(id) "hashint8((" id ")::int8)"

typedef struct st_id_sums {
	int64_t count;
	int64_t sum;      /* of the ids, modulo ST_ID_SUMS_MODULUS, in [0, modulus) */
	int64_t hash_sum; /* of st_id_hash of each id, likewise */
} st_id_sums;

/* The hash of one id, as ST_ID_HASH_SQL computes it: hashint8 (Bob Jenkins' lookup3 final mix
 * of the id folded to 32 bits, as in PostgreSQL's src/common/hashfn.c), a signed 32-bit value. */
int64_t st_id_hash(int64_t id);

/* Adds one id to the aggregates. */
void st_id_sums_add(st_id_sums *sums, int64_t id);

/* x modulo ST_ID_SUMS_MODULUS, in [0, modulus). */
int64_t st_id_sums_normalise(int64_t x);

bool st_id_sums_equal(const st_id_sums *a, const st_id_sums *b);

#endif
