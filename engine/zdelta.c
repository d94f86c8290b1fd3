/*
 * zdelta.c - zstd deltas of dump files in bounded segments (see zdelta.h).
 */
#include "engine/zdelta.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "common/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define ZDELTA_MAGIC "STZDELT1"
#define ZDELTA_MAGIC_LEN 8
#define ZDELTA_LEVEL 3
/* Largest segment and margin a delta may use; what a reader allocates is bounded by them. */
#define ZDELTA_SEGMENT_MAX ((size_t)8 << 20)
#define ZDELTA_MARGIN_MAX ((size_t)4 << 20)
/* 2^25 = 32 MiB covers a window (segment + 2 margins) plus the segment itself. */
#define ZDELTA_WINDOW_LOG 25
_Static_assert(((size_t)1 << ZDELTA_WINDOW_LOG) >= 2 * ZDELTA_SEGMENT_MAX + 2 * ZDELTA_MARGIN_MAX,
	       "the window must hold the old range and the segment");

const zdelta_params ZDELTA_DEFAULT = {.segment = ZDELTA_SEGMENT_MAX, .margin = ZDELTA_MARGIN_MAX};

/* The header of one segment. */
typedef struct segment_header {
	uint64_t out_len;
	uint64_t old_offset;
	uint64_t old_len;
	uint64_t frame_len;
} segment_header;

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int zstd_error(size_t code, const char *doing, const char *what)
{
	return st_error_set(ST_ERR_GENERIC, "unable to %s '%s': %s", doing, what, ZSTD_getErrorName(code));
}

static int file_size(int fd, const char *what, uint64_t *out)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to stat '%s'", what);
	*out = (uint64_t)st.st_size;
	return 0;
}

/* The start of the last whole line of seg (the bytes after the second-to-last newline up to and
 * including the last one), or NULL when seg holds no whole line. */
static const char *last_line(const char *seg, size_t len, size_t *out_len)
{
	const char *end = len ? memrchr(seg, '\n', len) : NULL;
	if (end == NULL || end == seg)
		return NULL;
	const char *before = memrchr(seg, '\n', (size_t)(end - seg));
	const char *start = before ? before + 1 : seg;
	*out_len = (size_t)(end - start) + 1;
	return start;
}

/* The old range for the new bytes [at, at + len), placed by drift and clamped to the old file. */
static void place_window(const zdelta_params *p, uint64_t old_size, uint64_t at, size_t len, int64_t drift,
			 uint64_t *out_offset, uint64_t *out_len)
{
	int64_t start = (int64_t)at + drift - (int64_t)p->margin;
	int64_t end = (int64_t)at + drift + (int64_t)len + (int64_t)p->margin;
	if (start < 0)
		start = 0;
	if (end > (int64_t)old_size)
		end = (int64_t)old_size;
	if (start > end)
		start = end;
	*out_offset = (uint64_t)start;
	*out_len = (uint64_t)(end - start);
}

/* Where the new bytes at new_at sit in the old version, learnt from the last line of the segment
 * found in the window; the old drift when it is not there. */
static int64_t next_drift(const char *seg, size_t len, uint64_t new_at, const char *window, size_t window_len,
			  uint64_t window_at, int64_t drift)
{
	size_t line_len = 0;
	const char *line = last_line(seg, len, &line_len);
	if (line == NULL || line_len < 16)
		return drift; /* a short line is too common to place anything */
	const char *found = memmem(window, window_len, line, line_len);
	if (found == NULL)
		return drift;
	uint64_t old_at = window_at + (uint64_t)(found - window);
	return (int64_t)old_at - (int64_t)(new_at + (uint64_t)(line - seg));
}

typedef struct zdelta_writer {
	const zdelta_params *p;
	ZSTD_CCtx *cctx;
	int old_fd, new_fd, out_fd;
	const char *old_path, *new_path, *delta_path;
	uint64_t old_size, new_size;
	char *seg, *window, *frame;
	size_t frame_cap;
} zdelta_writer;

static int write_header(zdelta_writer *w, uint64_t out_len, uint64_t old_at, uint64_t old_len, uint64_t frame_len)
{
	unsigned char head[32];
	put_u64(head, out_len);
	put_u64(head + 8, old_at);
	put_u64(head + 16, old_len);
	put_u64(head + 24, frame_len);
	return st_write_all(w->out_fd, head, sizeof head, w->delta_path);
}

static int write_segment(zdelta_writer *w, uint64_t at, size_t len, int64_t *drift)
{
	uint64_t old_at, old_len;
	place_window(w->p, w->old_size, at, len, *drift, &old_at, &old_len);
	st_view seg = {0}, window = {0};
	int rc = st_view_open(&seg, w->new_fd, at, len, w->seg, w->new_path);
	if (rc == 0)
		rc = st_view_open(&window, w->old_fd, old_at, (size_t)old_len, w->window, w->old_path);
	size_t code = rc == 0 ? ZSTD_CCtx_reset(w->cctx, ZSTD_reset_session_only) : 0;
	if (rc == 0 && !ZSTD_isError(code))
		code = ZSTD_CCtx_refPrefix(w->cctx, window.data, (size_t)old_len);
	size_t n = rc != 0 || ZSTD_isError(code) ? code : ZSTD_compress2(w->cctx, w->frame, w->frame_cap, seg.data, len);
	if (rc == 0 && ZSTD_isError(n))
		rc = zstd_error(n, "compute the delta of", w->new_path);
	if (rc == 0)
		rc = write_header(w, len, old_at, old_len, n);
	if (rc == 0)
		rc = st_write_all(w->out_fd, w->frame, n, w->delta_path);
	if (rc == 0)
		*drift = next_drift(seg.data, len, at, window.data, (size_t)old_len, old_at, *drift);
	st_view_close(&seg);
	st_view_close(&window);
	return rc;
}

static int set_parameters(ZSTD_CCtx *cctx, const char *what)
{
	size_t code = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, ZDELTA_LEVEL);
	if (!ZSTD_isError(code))
		code = ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, ZDELTA_WINDOW_LOG);
	if (!ZSTD_isError(code))
		code = ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1);
	if (!ZSTD_isError(code)) /* 4 bytes a frame, so that a damaged delta fails at its segment */
		code = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	return ZSTD_isError(code) ? zstd_error(code, "set up the delta of", what) : 0;
}

static int open_input(const char *path, int *out)
{
	*out = open(path, O_RDONLY | O_CLOEXEC);
	if (*out < 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open '%s'", path);
	return 0;
}

/* Opens the new version and the delta file and sets up the compressor; the old version (when
 * there is one) is the caller's to open. */
static int open_writer(zdelta_writer *w, const zdelta_params *params, const char *new_path, const char *delta_path)
{
	*w = (zdelta_writer){.p = params, .old_fd = -1, .new_fd = -1, .out_fd = -1, .new_path = new_path,
			     .delta_path = delta_path};
	if (params->segment == 0 || params->segment > ZDELTA_SEGMENT_MAX || params->margin > ZDELTA_MARGIN_MAX)
		return st_error_set(ST_ERR_USAGE, "zdelta: segment %zu or margin %zu out of range", params->segment,
				    params->margin);
	int rc = open_input(new_path, &w->new_fd);
	if (rc == 0 && (w->out_fd = open(delta_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		rc = st_error_set_errno(ST_ERR_GENERIC, errno, "unable to create '%s'", delta_path);
	if (rc == 0)
		rc = file_size(w->new_fd, new_path, &w->new_size);
	if (rc == 0 && (w->cctx = ZSTD_createCCtx()) == NULL)
		rc = st_error_set(ST_ERR_GENERIC, "unable to set up the delta of '%s': out of memory", new_path);
	if (rc == 0)
		rc = set_parameters(w->cctx, new_path);
	if (rc == 0) {
		w->seg = st_malloc(params->segment);
		w->window = st_malloc(params->segment + 2 * params->margin);
		w->frame_cap = ZSTD_compressBound(params->segment);
		w->frame = st_malloc(w->frame_cap);
		rc = st_write_all(w->out_fd, ZDELTA_MAGIC, ZDELTA_MAGIC_LEN, delta_path);
	}
	return rc;
}

/* Writes the segments of the new version from byte at to its end. */
static int write_segments_from(zdelta_writer *w, uint64_t at)
{
	int rc = 0;
	int64_t drift = 0;
	for (; rc == 0 && at < w->new_size; at += w->p->segment) {
		uint64_t left = w->new_size - at;
		rc = write_segment(w, at, left < w->p->segment ? (size_t)left : w->p->segment, &drift);
	}
	return rc;
}

static int close_writer(zdelta_writer *w, int rc)
{
	if (w->out_fd >= 0 && close(w->out_fd) != 0 && rc == 0)
		rc = st_error_set_errno(ST_ERR_GENERIC, errno, "unable to write '%s'", w->delta_path);
	if (w->old_fd >= 0)
		close(w->old_fd);
	if (w->new_fd >= 0)
		close(w->new_fd);
	ZSTD_freeCCtx(w->cctx);
	free(w->seg);
	free(w->window);
	free(w->frame);
	return rc;
}

int zdelta_create_with(const zdelta_params *params, const char *old_path, const char *new_path, const char *delta_path)
{
	zdelta_writer w;
	int rc = open_writer(&w, params, new_path, delta_path);
	w.old_path = old_path;
	if (rc == 0)
		rc = open_input(old_path, &w.old_fd);
	if (rc == 0)
		rc = file_size(w.old_fd, old_path, &w.old_size);
	if (rc == 0)
		rc = write_segments_from(&w, 0);
	return close_writer(&w, rc);
}

int zdelta_create_append(const char *new_path, uint64_t kept_len, const char *delta_path)
{
	zdelta_writer w;
	int rc = open_writer(&w, &ZDELTA_DEFAULT, new_path, delta_path);
	if (rc == 0 && kept_len > w.new_size)
		rc = st_error_set(ST_ERR_GENERIC, "zdelta: '%s' is shorter than the %llu bytes it keeps", new_path,
				  (unsigned long long)kept_len);
	/* Copy segments: the old version's bytes as they are, in pieces a reader's window holds. */
	for (uint64_t at = 0; rc == 0 && at < kept_len; at += ZDELTA_SEGMENT_MAX) {
		uint64_t len = kept_len - at < ZDELTA_SEGMENT_MAX ? kept_len - at : ZDELTA_SEGMENT_MAX;
		rc = write_header(&w, len, at, len, 0);
	}
	/* The new rows against the old version's last kept bytes, which are the new version's own:
	 * its first kept_len bytes stand in for the old version (the windows of the segments lie
	 * within them, and the patch reads the same bytes from the old version itself). */
	w.old_path = new_path;
	w.old_size = kept_len;
	if (rc == 0)
		rc = open_input(new_path, &w.old_fd);
	if (rc == 0)
		rc = write_segments_from(&w, kept_len);
	return close_writer(&w, rc);
}

int zdelta_create(const char *old_path, const char *new_path, const char *delta_path)
{
	return zdelta_create_with(&ZDELTA_DEFAULT, old_path, new_path, delta_path);
}

/* Reads exactly len bytes of the delta at *at; a short delta is damage. */
static int read_delta(int fd, void *buf, size_t len, uint64_t *at, const char *what)
{
	int rc = st_pread_all(fd, buf, len, *at, what);
	if (rc != 0)
		return st_error_code() == ST_ERR_CORRUPT ? st_error_set(ST_ERR_CORRUPT, "delta of '%s' is truncated", what)
							  : rc;
	*at += len;
	return 0;
}

static int read_header(int fd, uint64_t *at, segment_header *h, bool *out_end, const char *what)
{
	unsigned char head[32];
	ssize_t n;
	do
		n = pread(fd, head, 1, (off_t)*at);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to read the delta of '%s'", what);
	*out_end = n == 0;
	if (*out_end)
		return 0;
	int rc = read_delta(fd, head, sizeof head, at, what);
	if (rc != 0)
		return rc;
	h->out_len = get_u64(head);
	h->old_offset = get_u64(head + 8);
	h->old_len = get_u64(head + 16);
	h->frame_len = get_u64(head + 24);
	if (h->out_len == 0 || h->out_len > ZDELTA_SEGMENT_MAX || h->old_len > ZDELTA_SEGMENT_MAX + 2 * ZDELTA_MARGIN_MAX ||
	    h->frame_len > ZSTD_compressBound(ZDELTA_SEGMENT_MAX))
		return st_error_set(ST_ERR_CORRUPT, "delta of '%s' has a damaged segment header", what);
	return 0;
}

int zdelta_patch_fd(int old_fd, int delta_fd, int out_fd, const char *what)
{
	return zdelta_patch_fd_hashed(old_fd, delta_fd, out_fd, what, NULL);
}

/* Writes one segment's output, hashed first when hasher is given. */
static int write_output(int out_fd, const void *data, size_t len, st_hasher *hasher, const char *what)
{
	if (hasher != NULL)
		st_hasher_update(hasher, data, len);
	return st_write_all(out_fd, data, len, what);
}

/* Writes one segment's output: its old range as it is (a copy segment), or its frame
 * decompressed with the old range as prefix. */
static int apply_segment(ZSTD_DCtx *dctx, const segment_header *h, const char *old, const char *frame, char *out,
			 int out_fd, st_hasher *hasher, const char *what)
{
	if (h->frame_len == 0)
		return h->old_len == h->out_len ? write_output(out_fd, old, (size_t)h->old_len, hasher, what)
						: st_error_set(ST_ERR_CORRUPT, "delta of '%s' has a damaged copy segment", what);
	size_t code = ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
	if (!ZSTD_isError(code))
		code = ZSTD_DCtx_refPrefix(dctx, old, (size_t)h->old_len);
	size_t n = ZSTD_isError(code) ? code : ZSTD_decompressDCtx(dctx, out, (size_t)h->out_len, frame, (size_t)h->frame_len);
	if (ZSTD_isError(n) || n != h->out_len)
		return st_error_set(ST_ERR_CORRUPT, "unable to apply the delta of '%s': %s", what,
				    ZSTD_isError(n) ? ZSTD_getErrorName(n) : "a segment has the wrong length");
	return write_output(out_fd, out, n, hasher, what);
}

int zdelta_patch_fd_hashed(int old_fd, int delta_fd, int out_fd, const char *what, st_hasher *hasher)
{
	off_t start = lseek(delta_fd, 0, SEEK_CUR);
	if (start < 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to read the delta of '%s'", what);
	uint64_t at = (uint64_t)start, old_size = 0;
	char magic[ZDELTA_MAGIC_LEN];
	int rc = read_delta(delta_fd, magic, sizeof magic, &at, what);
	if (rc == 0 && memcmp(magic, ZDELTA_MAGIC, ZDELTA_MAGIC_LEN) != 0)
		rc = st_error_set(ST_ERR_CORRUPT, "delta of '%s' is not a strata zstd delta", what);
	if (rc == 0)
		rc = file_size(old_fd, what, &old_size);
	ZSTD_DCtx *dctx = rc == 0 ? ZSTD_createDCtx() : NULL;
	if (rc == 0 && dctx == NULL)
		rc = st_error_set(ST_ERR_GENERIC, "unable to apply the delta of '%s': out of memory", what);
	if (rc == 0) {
		size_t code = ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, ZDELTA_WINDOW_LOG);
		if (ZSTD_isError(code))
			rc = zstd_error(code, "apply the delta of", what);
	}
	char *window = rc == 0 ? st_malloc(ZDELTA_SEGMENT_MAX + 2 * ZDELTA_MARGIN_MAX) : NULL;
	char *frame = rc == 0 ? st_malloc(ZSTD_compressBound(ZDELTA_SEGMENT_MAX)) : NULL;
	char *out = rc == 0 ? st_malloc(ZDELTA_SEGMENT_MAX) : NULL;
	for (bool end = false; rc == 0;) {
		segment_header h = {0};
		if ((rc = read_header(delta_fd, &at, &h, &end, what)) != 0 || end)
			break;
		if (h.old_offset > old_size || h.old_len > old_size - h.old_offset) {
			rc = st_error_set(ST_ERR_CORRUPT, "delta of '%s' refers past the end of its basis", what);
			break;
		}
		st_view old = {0};
		if ((rc = read_delta(delta_fd, frame, (size_t)h.frame_len, &at, what)) != 0 ||
		    (rc = st_view_open(&old, old_fd, h.old_offset, (size_t)h.old_len, window, what)) != 0)
			break;
		rc = apply_segment(dctx, &h, old.data, frame, out, out_fd, hasher, what);
		st_view_close(&old);
	}
	if (rc == 0 && lseek(delta_fd, (off_t)at, SEEK_SET) < 0)
		rc = st_error_set_errno(ST_ERR_GENERIC, errno, "unable to read the delta of '%s'", what);
	ZSTD_freeDCtx(dctx);
	free(window);
	free(frame);
	free(out);
	return rc;
}
