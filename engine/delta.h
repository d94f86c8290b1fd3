/*
 * delta.h - rsync deltas of dump files (librsync), file to file.
 *
 * The only place that calls librsync. A delta needs only the signature of the old version
 * and the new file, so the backup keeps each version's signature and never reads an old
 * version back. Signatures use 1 KiB blocks: dump rows are small and scattered updates
 * should cost little.
 */
#ifndef STRATA_ENGINE_DELTA_H
#define STRATA_ENGINE_DELTA_H

/* Writes the signature of basis_path to sig_path. */
int delta_signature(const char *basis_path, const char *sig_path);

/* Writes to delta_path the delta that turns the file behind sig_path into new_path. */
int delta_create(const char *sig_path, const char *new_path, const char *delta_path);

/* Writes the file behind basis_fd patched with the delta behind delta_fd to out_fd (each read
 * or written from its current offset; the descriptors stay open); what names the result in
 * messages. */
int delta_patch_fd(int basis_fd, int delta_fd, int out_fd, const char *what);

#endif
