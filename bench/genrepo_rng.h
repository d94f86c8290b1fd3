/*
 * genrepo_rng.h - the fast, seedable PRNG used by strata-genrepo.
 *
 * xoshiro256** seeded through splitmix64. Header-only: the generator sits in
 * every inner loop (file bytes, names, sizes), so the calls must inline.
 * Not cryptographic; its only jobs are speed and reproducibility: the same
 * seed gives the same stream on every machine.
 */
#ifndef STRATA_BENCH_GENREPO_RNG_H
#define STRATA_BENCH_GENREPO_RNG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct gen_rng {
    uint64_t s[4];
} gen_rng;

/* One splitmix64 step: advances *state and returns a well-mixed value. */
static inline uint64_t gen_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Hashes two values into one seed; used to derive independent streams. */
static inline uint64_t gen_mix(uint64_t a, uint64_t b)
{
    uint64_t state = a ^ (b * UINT64_C(0xd1342543de82ef95));

    gen_splitmix64(&state);
    return gen_splitmix64(&state);
}

static inline void gen_rng_seed(gen_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = gen_splitmix64(&seed);
}

static inline uint64_t gen_rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t gen_rng_next(gen_rng *rng)
{
    uint64_t *s = rng->s;
    const uint64_t result = gen_rng_rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = gen_rng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n); n must be at least 1. Multiply-shift, no division. */
static inline uint32_t gen_rng_below(gen_rng *rng, uint32_t n)
{
    return (uint32_t)(((gen_rng_next(rng) >> 32) * n) >> 32);
}

/* Uniform double in [0, 1). */
static inline double gen_rng_unit(gen_rng *rng)
{
    return (double)(gen_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* Uniform in [lo, hi), any 64-bit span (uses a double: fine for times). */
static inline int64_t gen_rng_span(gen_rng *rng, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int64_t)(gen_rng_unit(rng) * (double)(hi - lo));
}

/* True with probability per_million / 1e6. */
static inline bool gen_rng_chance(gen_rng *rng, uint32_t per_million)
{
    return gen_rng_below(rng, 1000000) < per_million;
}

#endif
