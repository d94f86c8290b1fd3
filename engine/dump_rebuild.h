/*
 * dump_rebuild.h - one dump file of a snapshot, rebuilt from the catalog: its full copy, or the
 * full copy at the root of its delta chain patched with every delta on the way back up.
 *
 * Restore writes the rebuilt files into the dump directory it hands pg_restore; prune rebuilds
 * a kept file whose delta basis is going away and stores it again as a full copy. Scratch files
 * (one basis and one delta per chain step) are unnamed files in a directory the caller gives,
 * gone when closed.
 */
#ifndef STRATA_ENGINE_DUMP_REBUILD_H
#define STRATA_ENGINE_DUMP_REBUILD_H

#include "catalog/catalog.h"
#include "common/hash.h"
#include "store/store.h"

/* Where the rebuild reads from and keeps its scratch files. */
typedef struct dump_rebuild_ctx {
	store *objects;
	catalog *cat;
	int scratch_fd;          /* an open directory for scratch files */
	const char *scratch_dir; /* its path, for messages */
} dump_rebuild_ctx;

/* Writes file's content to out_fd (a new file, from its start), following its delta chain, and
 * checks it against file's hash: as it is written where it can (a full copy, which the store
 * checks; the last step of a zstd chain, hashed as it is patched), else by reading out_fd back.
 * what names the file in errors. A chain that does not end, or a result that does not match, is
 * ST_ERR_CORRUPT. */
int dump_rebuild_to_fd(const dump_rebuild_ctx *ctx, const catalog_dump_file *file, int out_fd, const char *what);

/* For a delta file: its basis rebuilt and checked against the basis's hash, and the delta, in
 * two scratch files (the caller's to close), rewound - what zdelta_patch_fd needs to write the
 * file where it cannot be read back to check (a pipe): the basis is checked, every segment of a
 * zstd delta carries a checksum. */
int dump_rebuild_prepare(const dump_rebuild_ctx *ctx, const catalog_dump_file *file, int *out_basis, int *out_delta,
			 const char *what);

/* Reads fd from its start and checks that it hashes to expected (ST_ERR_CORRUPT naming what). */
int dump_rebuild_check_hash(int fd, const char *what, const st_hash *expected);

/* An unnamed scratch file in ctx's directory, open for reading and writing. */
int dump_rebuild_scratch(const dump_rebuild_ctx *ctx, int *out_fd);

#endif
