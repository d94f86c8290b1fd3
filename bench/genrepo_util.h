/*
 * genrepo_util.h - small shared pieces of strata-genrepo: the error record,
 * a growable byte buffer used to build COPY rows, and clock helpers.
 *
 * Errors: a failing function fills a gen_error once (the first failure
 * wins, later ones do not overwrite it) and returns -1. The message follows
 * the house style: lowercase, subject in single quotes, no trailing period.
 *
 * gen_buf never reports allocation failure: it prints a message and exits,
 * which is acceptable for a benchmark generator and keeps row building terse.
 */
#ifndef STRATA_BENCH_GENREPO_UTIL_H
#define STRATA_BENCH_GENREPO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genrepo_rng.h"

#define GEN_PROGRAM "strata-genrepo"

enum gen_mode {
    GEN_MODE_CREATE,
    GEN_MODE_ADD,
    GEN_MODE_IMPORT,
};

typedef struct gen_error {
    bool set;
    char msg[1024];
} gen_error;

/* Records a message unless one is already recorded. */
void gen_error_set(gen_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

typedef struct gen_buf {
    char *data;
    size_t len;
    size_t cap;
} gen_buf;

void gen_buf_init(gen_buf *buf);
void gen_buf_release(gen_buf *buf);
void gen_buf_add(gen_buf *buf, const void *data, size_t len);
void gen_buf_adds(gen_buf *buf, const char *str);
void gen_buf_addc(gen_buf *buf, char c);
void gen_buf_addf(gen_buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends str escaped for PostgreSQL COPY text format (\\, \t, \n, \r). */
void gen_buf_add_copy_text(gen_buf *buf, const char *str);

/* Appends a timestamptz literal such as '2020-03-04 05:06:07.123456+00'. */
void gen_buf_add_timestamp(gen_buf *buf, int64_t unix_us);

/* Writes a random UUID v4, dashed lowercase, NUL-terminated. */
void gen_uuid4(char out[37], gen_rng *rng);

/* Wall clock in microseconds since the epoch; monotonic clock in seconds. */
int64_t gen_now_us(void);
double gen_monotonic_s(void);

#endif
