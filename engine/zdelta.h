/*
 * zdelta.h - deltas of dump files by zstd with the previous version as prefix, in bounded
 * segments.
 *
 * The new version is cut into segments; each is compressed as one zstd frame with a window of
 * the old version around the same place as its prefix (ZSTD_CCtx_refPrefix with long-distance
 * matching: the engine of `zstd --patch-from`). Rows that moved or changed cost their bytes;
 * rows that stayed cost almost nothing. Memory is bounded by the segment and window sizes,
 * whatever the file's size (bench/RESULTS.md, "Dump deltas", has the measurement that chose
 * this over librsync).
 *
 * Where a segment's window lies in the old version follows the drift between the versions:
 * after each segment, the last whole line of the new segment is looked up in the window, and
 * the next window is placed by where it was found. The placement only affects the size of the
 * delta, never its correctness: each segment records the range of the old version it used.
 *
 * Format: "STZDELT1", then per segment four little-endian 64-bit words - output length, old
 * range offset, old range length, frame length - and the frame. A segment whose frame length is 0
 * is a copy segment: its output is its old range as it is (old range length = output length).
 *
 * A file that only grew (a table that got new rows at its end, its previous version being the
 * kept bytes plus the end-of-data trailer) needs no basis to be computed: copy segments for the
 * kept bytes, then the new bytes with the last kept bytes (the same in both versions) as prefix
 * (zdelta_create_append).
 */
#ifndef STRATA_ENGINE_ZDELTA_H
#define STRATA_ENGINE_ZDELTA_H

#include "common/hash.h"

#include <stddef.h>
#include <stdint.h>

/* Segment and window sizes; zdelta_create uses ZDELTA_DEFAULT. */
typedef struct zdelta_params {
	size_t segment;  /* bytes of the new version per frame */
	size_t margin;   /* bytes of the old version on each side of the segment's place */
} zdelta_params;

extern const zdelta_params ZDELTA_DEFAULT;

/* Writes to delta_path the delta that turns old_path into new_path. */
int zdelta_create(const char *old_path, const char *new_path, const char *delta_path);
int zdelta_create_with(const zdelta_params *params, const char *old_path, const char *new_path, const char *delta_path);

/* Writes to delta_path the delta that turns a file whose first kept_len bytes are new_path's
 * into new_path (the old version itself is not read). */
int zdelta_create_append(const char *new_path, uint64_t kept_len, const char *delta_path);

/* Writes the file behind old_fd patched with the delta behind delta_fd to out_fd (the delta read
 * and the output written from their current offsets, the old version read by offset; the
 * descriptors stay open); what names the result in messages. Damage is ST_ERR_CORRUPT. */
int zdelta_patch_fd(int old_fd, int delta_fd, int out_fd, const char *what);

/* zdelta_patch_fd that also feeds every byte it writes to hasher (a stream that cannot be read
 * back, such as a pipe, is hashed as it is written). */
int zdelta_patch_fd_hashed(int old_fd, int delta_fd, int out_fd, const char *what, st_hasher *hasher);

#endif
