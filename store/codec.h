/*
 * codec.h - object compression: zstd, or raw where compression does not pay.
 *
 * The only place that calls zstd; internal to the store. Compression contexts are cached per
 * thread, so the compressing workers do not allocate one per object.
 */
#ifndef STRATA_STORE_CODEC_H
#define STRATA_STORE_CODEC_H

#include <stddef.h>
#include <stdint.h>

typedef enum codec_kind {
	CODEC_RAW = 0,
	CODEC_ZSTD = 1
} codec_kind;

/* Compresses data at level. When zstd saves less than 1/32 of the size, *out_kind is CODEC_RAW
 * and *out is NULL: the caller stores data itself. Otherwise *out (caller frees) holds
 * *out_len bytes of zstd frame. ST_ERR_GENERIC when zstd cannot make a context. */
int codec_compress(void **out, size_t *out_len, codec_kind *out_kind, const void *data, size_t len,
		    int level);

/* Decodes stored (stored_len bytes of kind) into out, which holds exactly raw_len bytes.
 * A frame that does not decode to raw_len bytes is ST_ERR_CORRUPT; what names it. */
int codec_decompress(void *out, size_t raw_len, const void *stored, size_t stored_len, codec_kind kind,
		     const char *what);

/* Frees this thread's cached contexts (call before a worker thread ends). */
void codec_thread_release(void);

#endif
