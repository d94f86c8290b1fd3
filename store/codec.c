/*
 * codec.c - zstd compression with per-thread contexts (see codec.h).
 */
#include "store/codec.h"

#include "common/error.h"
#include "common/mem.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

static _Thread_local ZSTD_CCtx *thread_cctx;
static _Thread_local ZSTD_DCtx *thread_dctx;

int codec_compress(void **out, size_t *out_len, codec_kind *out_kind, const void *data, size_t len, int level)
{
	*out = NULL;
	*out_len = len;
	*out_kind = CODEC_RAW;
	if (len < 64)
		return 0;
	if (thread_cctx == NULL && (thread_cctx = ZSTD_createCCtx()) == NULL)
		return st_error_set(ST_ERR_GENERIC, "unable to create a zstd compression context");
	size_t cap = ZSTD_compressBound(len);
	void *buf = st_malloc(cap);
	size_t n = ZSTD_compressCCtx(thread_cctx, buf, cap, data, len, level);
	if (ZSTD_isError(n) || n >= len - len / 32) {
		free(buf);
		return 0;
	}
	*out = buf;
	*out_len = n;
	*out_kind = CODEC_ZSTD;
	return 0;
}

int codec_decompress(void *out, size_t raw_len, const void *stored, size_t stored_len, codec_kind kind,
		     const char *what)
{
	if (kind == CODEC_RAW) {
		if (stored_len != raw_len)
			return st_error_set(ST_ERR_CORRUPT, "object in '%s' is corrupt: size %zu, expected %zu",
					    what, stored_len, raw_len);
		memcpy(out, stored, raw_len);
		return 0;
	}
	if (kind != CODEC_ZSTD)
		return st_error_set(ST_ERR_CORRUPT, "object in '%s' is corrupt: unknown codec %d", what, (int)kind);
	if (thread_dctx == NULL)
		thread_dctx = ZSTD_createDCtx();
	size_t n = ZSTD_decompressDCtx(thread_dctx, out, raw_len, stored, stored_len);
	if (ZSTD_isError(n))
		return st_error_set(ST_ERR_CORRUPT, "object in '%s' is corrupt: %s", what, ZSTD_getErrorName(n));
	if (n != raw_len)
		return st_error_set(ST_ERR_CORRUPT, "object in '%s' is corrupt: %zu bytes decoded, expected %zu",
				    what, n, raw_len);
	return 0;
}

void codec_thread_release(void)
{
	ZSTD_freeCCtx(thread_cctx);
	ZSTD_freeDCtx(thread_dctx);
	thread_cctx = NULL;
	thread_dctx = NULL;
}
