/*
 * delta.h - applying the librsync deltas that catalogs before format 7 hold.
 *
 * The only place that calls librsync. Backups now store zstd deltas (zdelta.h), which cost a
 * tenth of these at 1% of rows changed (bench/RESULTS.md, "Dump deltas"); the dump files that
 * earlier backups stored as rsync deltas (1 KiB blocks) still restore through this.
 */
#ifndef STRATA_ENGINE_DELTA_H
#define STRATA_ENGINE_DELTA_H

/* Writes the file behind basis_fd patched with the delta behind delta_fd to out_fd (each read
 * or written from its current offset; the descriptors stay open); what names the result in
 * messages. */
int delta_patch_fd(int basis_fd, int delta_fd, int out_fd, const char *what);

#endif
