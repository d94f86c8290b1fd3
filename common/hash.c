/*
 * hash.c - XXH3-128 content hashes (see hash.h).
 */
#include "hash.h"

#include "error.h"
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

struct st_hasher {
	XXH3_state_t *state;
};

static void canonical(st_hash *out, XXH128_hash_t value)
{
	XXH128_canonical_t canon;
	XXH128_canonicalFromHash(&canon, value);
	memcpy(out->bytes, canon.digest, ST_HASH_SIZE);
}

void st_hash_buffer(st_hash *out, const void *data, size_t len)
{
	canonical(out, XXH3_128bits(data, len));
}

/* A state, or the out-of-memory exit of st_malloc. */
static XXH3_state_t *new_state(void)
{
	XXH3_state_t *state = XXH3_createState();
	if (state == NULL)
		st_malloc((size_t)-1);
	return state;
}

st_hasher *st_hasher_new(void)
{
	st_hasher *hasher = st_malloc(sizeof *hasher);
	hasher->state = new_state();
	XXH3_128bits_reset(hasher->state);
	return hasher;
}

void st_hasher_update(st_hasher *hasher, const void *data, size_t len)
{
	XXH3_128bits_update(hasher->state, data, len);
}

void st_hasher_final(st_hash *out, st_hasher *hasher)
{
	canonical(out, XXH3_128bits_digest(hasher->state));
	XXH3_freeState(hasher->state);
	free(hasher);
}

bool st_hash_equal(const st_hash *a, const st_hash *b)
{
	return memcmp(a->bytes, b->bytes, ST_HASH_SIZE) == 0;
}

void st_hash_to_hex(char out[ST_HASH_HEX_SIZE], const st_hash *hash)
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < ST_HASH_SIZE; i++) {
		out[2 * i] = digits[hash->bytes[i] >> 4];
		out[2 * i + 1] = digits[hash->bytes[i] & 15];
	}
	out[2 * ST_HASH_SIZE] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int st_hash_from_hex(st_hash *out, const char *hex)
{
	if (strlen(hex) != 2 * ST_HASH_SIZE)
		return st_error_set(ST_ERR_USAGE, "invalid hash '%s': expected 32 hex digits", hex);
	for (int i = 0; i < ST_HASH_SIZE; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return st_error_set(ST_ERR_USAGE, "invalid hash '%s': expected 32 hex digits", hex);
		out->bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

uint64_t st_hash64(const void *data, size_t len)
{
	return XXH3_64bits(data, len);
}

/* Bytes read at a time by st_hash_fd. */
#define HASH_FD_READ_SIZE ((size_t)1 << 20)

/* Answers prefix from a copy of the hash state at its length (the file's first len bytes). */
static void answer_prefix(const st_hasher *hasher, st_hash_prefix *prefix)
{
	XXH3_state_t *fork = new_state();
	XXH3_copyState(fork, hasher->state);
	XXH3_128bits_update(fork, prefix->tail, prefix->tail_len);
	st_hash hash;
	canonical(&hash, XXH3_128bits_digest(fork));
	XXH3_freeState(fork);
	prefix->found = st_hash_equal(&hash, &prefix->hash);
}

int st_hash_fd_prefix(st_hash *out, uint64_t *out_size, int fd, const char *what, st_hash_prefix *prefix)
{
	st_hasher *hasher = st_hasher_new();
	char *buf = st_malloc(HASH_FD_READ_SIZE);
	uint64_t size = 0;
	ssize_t n;
	if (prefix != NULL)
		prefix->found = false;
	if (prefix != NULL && prefix->len == 0)
		answer_prefix(hasher, prefix);
	while ((n = read(fd, buf, HASH_FD_READ_SIZE)) > 0) {
		/* A read that reaches the prefix's end is hashed in two parts, answered between. */
		bool reaches = prefix != NULL && size < prefix->len && size + (uint64_t)n >= prefix->len;
		size_t head = reaches ? (size_t)(prefix->len - size) : (size_t)n;
		st_hasher_update(hasher, buf, head);
		if (reaches)
			answer_prefix(hasher, prefix);
		st_hasher_update(hasher, buf + head, (size_t)n - head);
		size += (uint64_t)n;
	}
	int rc = n < 0 ? st_error_set_errno(ST_ERR_GENERIC, errno, "unable to read '%s'", what) : 0;
	st_hasher_final(out, hasher);
	free(buf);
	if (out_size != NULL)
		*out_size = size;
	return rc;
}

int st_hash_fd(st_hash *out, uint64_t *out_size, int fd, const char *what)
{
	return st_hash_fd_prefix(out, out_size, fd, what, NULL);
}
