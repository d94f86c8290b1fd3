/*
 * deltabench.c - strata-deltabench: the cost of storing a new version of a file as a delta
 * against the old one, by two methods (issue 11, point 6), for bench/RESULTS.md.
 *
 *   strata-deltabench OLD NEW [BLOCK...]
 *
 * librsync (what engine/delta.c does) with each block length (default 256 512 1024 2048 4096,
 * BLAKE2 strong sums of 12 bytes): the delta and the new version's signature (which strata
 * keeps, so that the next backup needs no old version), each as the store would keep it
 * (zstd level 3); zstd with the old version as a prefix (ZSTD_CCtx_refPrefix, the engine of
 * `zstd --patch-from`) and long-distance matching, at levels 3 and 19, whole file in one
 * window. Every delta is applied back and compared with NEW. Prints one tab-separated line per
 * method: method, stored bytes, delta bytes, signature bytes, seconds to make (signature and
 * delta, or compression), seconds to apply.
 */
#include <librsync.h>
#include <zstd.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STRONG_LEN 12
#define STORE_LEVEL 3
/* zstd's largest window on 64-bit systems (ZSTD_WINDOWLOG_MAX_64, outside the stable API). */
#define WINDOW_LOG_MAX 31u

typedef struct buffer {
	unsigned char *data;
	size_t size;
} buffer;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "strata-deltabench: %s\n", what);
	exit(1);
}

static buffer read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		die("unable to open an input file");
	buffer b = {NULL, 0};
	size_t cap = 0, got;
	do {
		if (b.size == cap) {
			cap = cap ? 2 * cap : 1 << 20;
			b.data = realloc(b.data, cap);
			if (b.data == NULL)
				die("out of memory");
		}
		got = fread(b.data + b.size, 1, cap - b.size, f);
		b.size += got;
	} while (got > 0);
	fclose(f);
	return b;
}

/* The stream's whole content, read back from its start. */
static buffer stream_content(FILE *f)
{
	buffer b = {NULL, 0};
	long end = ftell(f);
	if (end < 0)
		die("unable to read a temporary file");
	b.size = (size_t)end;
	b.data = malloc(b.size ? b.size : 1);
	rewind(f);
	if (b.data == NULL || fread(b.data, 1, b.size, f) != b.size)
		die("unable to read a temporary file");
	return b;
}

static FILE *stream_of(const buffer *b)
{
	FILE *f = tmpfile();
	if (f == NULL || fwrite(b->data, 1, b->size, f) != b->size)
		die("unable to write a temporary file");
	rewind(f);
	return f;
}

static size_t zstd_size(const buffer *b)
{
	size_t cap = ZSTD_compressBound(b->size);
	void *out = malloc(cap);
	size_t n = ZSTD_compress(out, cap, b->data, b->size, STORE_LEVEL);
	free(out);
	if (ZSTD_isError(n))
		die("zstd failed");
	return n;
}

static void check_same(const buffer *a, const buffer *b, const char *method)
{
	if (a->size != b->size || memcmp(a->data, b->data, a->size) != 0) {
		fprintf(stderr, "strata-deltabench: %s: the patched file differs from NEW\n", method);
		exit(1);
	}
}

static void bench_rsync(const buffer *old, const buffer *new, size_t block)
{
	FILE *old_f = stream_of(old), *new_f = stream_of(new), *sig_f = tmpfile(), *delta_f = tmpfile();
	FILE *new_sig_f = tmpfile();
	if (sig_f == NULL || delta_f == NULL || new_sig_f == NULL)
		die("unable to create a temporary file");
	double t_make = now();
	if (rs_sig_file(old_f, sig_f, block, STRONG_LEN, RS_RK_BLAKE2_SIG_MAGIC, NULL) != RS_DONE)
		die("rs_sig_file failed");
	rewind(sig_f);
	rs_signature_t *sig = NULL;
	if (rs_loadsig_file(sig_f, &sig, NULL) != RS_DONE || rs_build_hash_table(sig) != RS_DONE)
		die("unable to load a signature");
	if (rs_delta_file(sig, new_f, delta_f, NULL) != RS_DONE)
		die("rs_delta_file failed");
	rs_free_sumset(sig);
	/* The new version's signature, kept for the next backup. */
	rewind(new_f);
	if (rs_sig_file(new_f, new_sig_f, block, STRONG_LEN, RS_RK_BLAKE2_SIG_MAGIC, NULL) != RS_DONE)
		die("rs_sig_file failed");
	t_make = now() - t_make;
	buffer delta = stream_content(delta_f), new_sig = stream_content(new_sig_f);
	double t_apply = now();
	FILE *delta_in = stream_of(&delta), *out_f = tmpfile();
	rewind(old_f);
	if (out_f == NULL || rs_patch_file(old_f, delta_in, out_f, NULL) != RS_DONE)
		die("rs_patch_file failed");
	buffer patched = stream_content(out_f);
	t_apply = now() - t_apply;
	char method[64];
	snprintf(method, sizeof method, "librsync block %zu", block);
	check_same(&patched, new, method);
	size_t delta_z = zstd_size(&delta), sig_z = zstd_size(&new_sig);
	printf("%s\t%zu\t%zu\t%zu\t%.3f\t%.3f\n", method, delta_z + sig_z, delta_z, sig_z, t_make, t_apply);
	fclose(old_f);
	fclose(new_f);
	fclose(sig_f);
	fclose(delta_f);
	fclose(new_sig_f);
	fclose(delta_in);
	fclose(out_f);
	free(delta.data);
	free(new_sig.data);
	free(patched.data);
}

static unsigned window_log_for(size_t bytes)
{
	unsigned log = 10;
	while (log < WINDOW_LOG_MAX && ((size_t)1 << log) < bytes)
		log++;
	return log;
}

static void bench_zstd(const buffer *old, const buffer *new, int level)
{
	unsigned wlog = window_log_for(old->size + new->size);
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	size_t cap = ZSTD_compressBound(new->size);
	unsigned char *out = malloc(cap);
	double t_make = now();
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, (int)wlog);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1);
	ZSTD_CCtx_refPrefix(cctx, old->data, old->size);
	size_t n = ZSTD_compress2(cctx, out, cap, new->data, new->size);
	t_make = now() - t_make;
	if (ZSTD_isError(n))
		die(ZSTD_getErrorName(n));
	double t_apply = now();
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, (int)wlog);
	ZSTD_DCtx_refPrefix(dctx, old->data, old->size);
	buffer patched = {malloc(new->size ? new->size : 1), new->size};
	size_t got = ZSTD_decompressDCtx(dctx, patched.data, new->size ? new->size : 1, out, n);
	t_apply = now() - t_apply;
	if (ZSTD_isError(got) || got != new->size)
		die("zstd patch failed");
	char method[64];
	snprintf(method, sizeof method, "zstd refPrefix level %d", level);
	check_same(&patched, new, method);
	printf("%s\t%zu\t%zu\t0\t%.3f\t%.3f\n", method, n, n, t_make, t_apply);
	free(patched.data);
	free(out);
	ZSTD_freeCCtx(cctx);
	ZSTD_freeDCtx(dctx);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: strata-deltabench OLD NEW [BLOCK...]\n");
		return 2;
	}
	buffer old = read_file(argv[1]), new = read_file(argv[2]);
	printf("method\tstored_bytes\tdelta_bytes\tsignature_bytes\tmake_s\tapply_s\n");
	printf("full copy (zstd %d)\t%zu\t0\t0\t0\t0\n", STORE_LEVEL, zstd_size(&new));
	static const size_t default_blocks[] = {256, 512, 1024, 2048, 4096};
	if (argc > 3) {
		for (int i = 3; i < argc; i++)
			bench_rsync(&old, &new, (size_t)strtoul(argv[i], NULL, 10));
	} else {
		for (size_t i = 0; i < sizeof default_blocks / sizeof default_blocks[0]; i++)
			bench_rsync(&old, &new, default_blocks[i]);
	}
	bench_zstd(&old, &new, 3);
	bench_zstd(&old, &new, 19);
	free(old.data);
	free(new.data);
	return 0;
}
