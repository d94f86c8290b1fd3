/*
 * genrepo_util.c - error record, byte buffer and clock helpers for
 * strata-genrepo (see genrepo_util.h).
 */
#include "genrepo_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void gen_error_set(gen_error *err, const char *fmt, ...)
{
    va_list ap;

    if (err->set)
        return;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    err->set = true;
}

static void gen_oom(void)
{
    fputs(GEN_PROGRAM ": out of memory\n", stderr);
    exit(1);
}

void gen_buf_init(gen_buf *buf)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

void gen_buf_release(gen_buf *buf)
{
    free(buf->data);
    gen_buf_init(buf);
}

static void gen_buf_reserve(gen_buf *buf, size_t extra)
{
    size_t cap = buf->cap ? buf->cap : 4096;
    char *data;

    if (buf->len + extra < buf->cap)
        return;
    while (cap <= buf->len + extra)
        cap *= 2;
    data = realloc(buf->data, cap);
    if (data == NULL)
        gen_oom();
    buf->data = data;
    buf->cap = cap;
}

void gen_buf_add(gen_buf *buf, const void *data, size_t len)
{
    gen_buf_reserve(buf, len);
    memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
}

void gen_buf_adds(gen_buf *buf, const char *str)
{
    gen_buf_add(buf, str, strlen(str));
}

void gen_buf_addc(gen_buf *buf, char c)
{
    gen_buf_add(buf, &c, 1);
}

void gen_buf_addf(gen_buf *buf, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    gen_buf_reserve(buf, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
}

void gen_buf_add_copy_text(gen_buf *buf, const char *str)
{
    for (const char *p = str; *p != '\0'; p++) {
        switch (*p) {
        case '\\': gen_buf_add(buf, "\\\\", 2); break;
        case '\t': gen_buf_add(buf, "\\t", 2); break;
        case '\n': gen_buf_add(buf, "\\n", 2); break;
        case '\r': gen_buf_add(buf, "\\r", 2); break;
        default: gen_buf_addc(buf, *p); break;
        }
    }
}

void gen_buf_add_timestamp(gen_buf *buf, int64_t unix_us)
{
    time_t secs = (time_t)(unix_us / 1000000);
    long micros = (long)(unix_us % 1000000);
    struct tm tm;

    if (micros < 0) {
        micros += 1000000;
        secs -= 1;
    }
    gmtime_r(&secs, &tm);
    gen_buf_addf(buf, "%04d-%02d-%02d %02d:%02d:%02d.%06ld+00", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

void gen_uuid4(char out[37], gen_rng *rng)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t hi = gen_rng_next(rng);
    uint64_t lo = gen_rng_next(rng);
    unsigned char bytes[16];
    size_t pos = 0;

    hi = (hi & ~UINT64_C(0xf000)) | UINT64_C(0x4000);                 /* version 4 */
    lo = (lo & ~(UINT64_C(3) << 62)) | (UINT64_C(2) << 62);           /* RFC 4122 variant */
    for (int i = 0; i < 8; i++) {
        bytes[i] = (unsigned char)(hi >> (56 - 8 * i));
        bytes[8 + i] = (unsigned char)(lo >> (56 - 8 * i));
    }
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[pos++] = '-';
        out[pos++] = hex[bytes[i] >> 4];
        out[pos++] = hex[bytes[i] & 0xf];
    }
    out[pos] = '\0';
}

int64_t gen_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double gen_monotonic_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
