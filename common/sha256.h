/*
 * sha256.h - SHA-256, the content key of an AiiDA 2.x disk-objectstore container (strata's own
 * content hash stays XXH3-128, hash.h).
 *
 * Wraps OpenSSL's libcrypto (EVP) in one place: no OpenSSL type leaves sha256.c. A backup of a
 * container checks every object against its key with it; a restore names the objects it writes.
 */
#ifndef STRATA_COMMON_SHA256_H
#define STRATA_COMMON_SHA256_H

#include <stddef.h>

/* Lowercase hex digest and its terminator. */
#define ST_SHA256_HEX_SIZE 65

typedef struct st_sha256 st_sha256;

/* Streaming: new, update any number of times, then final (which frees). Allocation failure
 * aborts, as st_malloc does. */
st_sha256 *st_sha256_new(void);
void st_sha256_update(st_sha256 *ctx, const void *data, size_t len);
void st_sha256_final(char out[ST_SHA256_HEX_SIZE], st_sha256 *ctx);

/* Frees a context without a digest; NULL is allowed. */
void st_sha256_free(st_sha256 *ctx);

#endif
