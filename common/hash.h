/*
 * hash.h - content hashes: XXH3-128, the only hash strata uses.
 *
 * Wraps xxhash in one place. It lives in common because both sides need it: the scanner hashes
 * source files, and the pack store and restore verify what they read back.
 */
#ifndef STRATA_COMMON_HASH_H
#define STRATA_COMMON_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_HASH_SIZE 16
#define ST_HASH_HEX_SIZE (2 * ST_HASH_SIZE + 1)

/* A hash in canonical (big-endian) byte order, as stored on disk. */
typedef struct st_hash {
	uint8_t bytes[ST_HASH_SIZE];
} st_hash;

typedef struct st_hasher st_hasher;

void st_hash_buffer(st_hash *out, const void *data, size_t len);

/* Streaming: new, update any number of times, then final (which frees). */
st_hasher *st_hasher_new(void);
void st_hasher_update(st_hasher *hasher, const void *data, size_t len);
void st_hasher_final(st_hash *out, st_hasher *hasher);

/* Hashes fd from its current offset to its end, streaming (files of any size); *out_size (may
 * be NULL) is the number of bytes read. A read error is ST_ERR_GENERIC naming what. */
int st_hash_fd(st_hash *out, uint64_t *out_size, int fd, const char *what);

/*
 * A question asked while hashing a file: is the file's first len bytes, followed by tail, the
 * content whose hash is hash? (A dump file that only grew: its previous version was this
 * prefix plus the end-of-data trailer.) Answered in found, from the same single read.
 */
typedef struct st_hash_prefix {
	uint64_t len;
	const void *tail;
	size_t tail_len;
	st_hash hash;
	bool found;
} st_hash_prefix;

/* st_hash_fd that also answers prefix (found false when the file is shorter than prefix->len). */
int st_hash_fd_prefix(st_hash *out, uint64_t *out_size, int fd, const char *what, st_hash_prefix *prefix);

bool st_hash_equal(const st_hash *a, const st_hash *b);
void st_hash_to_hex(char out[ST_HASH_HEX_SIZE], const st_hash *hash);
/* 0 on success, ST_ERR_USAGE when hex is not 32 hex digits. */
int st_hash_from_hex(st_hash *out, const char *hex);

/* A fast 64-bit hash for checksumming headers. */
uint64_t st_hash64(const void *data, size_t len);

#endif
