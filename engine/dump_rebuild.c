/*
 * dump_rebuild.c - a dump file rebuilt through its delta chain (see dump_rebuild.h).
 */
#include "engine/dump_rebuild.h"

#include "common/error.h"
#include "engine/db_dump.h"
#include "engine/delta.h"
#include "engine/zdelta.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

/* A delta chain longer than this is damage (a loop), not data: backups end chains far earlier. */
#define DUMP_REBUILD_DEPTH_MAX 64
_Static_assert(DUMP_REBUILD_DEPTH_MAX >= DB_DUMP_MAX_CHAIN, "a rebuild must follow every chain a backup writes");

int dump_rebuild_scratch(const dump_rebuild_ctx *ctx, int *out_fd)
{
	int fd = openat(ctx->scratch_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* No O_TMPFILE on this file system: a named file, unlinked at once. */
		char name[64];
		for (int i = 0; fd < 0 && i < 100; i++) {
			snprintf(name, sizeof name, ".strata-scratch-%ld-%d", (long)getpid(), i);
			fd = openat(ctx->scratch_fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		}
		if (fd >= 0)
			unlinkat(ctx->scratch_fd, name, 0);
	}
	if (fd < 0)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to create a scratch file in '%s'", ctx->scratch_dir);
	*out_fd = fd;
	return 0;
}

static int rewind_fd(int fd, const char *what)
{
	if (lseek(fd, 0, SEEK_SET) != 0)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to read back '%s'", what);
	return 0;
}

static int rebuild(const dump_rebuild_ctx *ctx, const catalog_dump_file *file, int out_fd, const char *what, int depth,
		   bool *out_checked);
static int rebuild_checked(const dump_rebuild_ctx *ctx, const catalog_dump_file *file, int out_fd, const char *what,
			   int depth);

/* Rebuilds the basis of the delta file into a scratch file (hash-checked with check_basis) and
 * fetches the delta into another, both rewound. */
static int prepare(const dump_rebuild_ctx *ctx, const catalog_dump_file *file, int *out_basis, int *out_delta,
		   const char *what, int depth, bool check_basis)
{
	*out_basis = *out_delta = -1;
	if (depth > DUMP_REBUILD_DEPTH_MAX)
		return st_error_set(ST_ERR_CORRUPT, "delta chain of '%s' does not end", file->table_key);
	if (file->storage != CATALOG_DUMP_ZDELTA && file->storage != CATALOG_DUMP_DELTA)
		return st_error_set(ST_ERR_CORRUPT, "dump file '%s' has an unknown storage kind %d", file->table_key,
				    (int)file->storage);
	catalog_dump_file base;
	int basis = -1, delta = -1;
	int rc = dump_rebuild_scratch(ctx, &basis);
	if (rc == 0)
		rc = dump_rebuild_scratch(ctx, &delta);
	if (rc == 0 && (rc = catalog_dump_file_get(ctx->cat, file->base_snapshot, file->table_key, &base)) == 0) {
		rc = check_basis ? rebuild_checked(ctx, &base, basis, what, depth + 1)
				 : rebuild(ctx, &base, basis, what, depth + 1, NULL);
		catalog_dump_file_release(&base);
	}
	if (rc == 0)
		rc = store_get_to_fd(ctx->objects, delta, &file->content, what);
	if (rc == 0)
		rc = rewind_fd(basis, what);
	if (rc == 0)
		rc = rewind_fd(delta, what);
	if (rc != 0) {
		if (basis >= 0)
			close(basis);
		if (delta >= 0)
			close(delta);
		return rc;
	}
	*out_basis = basis;
	*out_delta = delta;
	return 0;
}

/* Writes file to out_fd through its chain. With out_checked, *out_checked tells whether the
 * output was checked against file's hash on the way (a full copy whose content is the file, as
 * the store checks it; a zstd delta, hashed as it is patched), so that it need not be read back. */
static int rebuild(const dump_rebuild_ctx *ctx, const catalog_dump_file *file, int out_fd, const char *what, int depth,
		   bool *out_checked)
{
	if (file->storage == CATALOG_DUMP_FULL) {
		if (out_checked != NULL)
			*out_checked = st_hash_equal(&file->content.hash, &file->hash);
		return store_get_to_fd(ctx->objects, out_fd, &file->content, what);
	}
	int basis = -1, delta = -1;
	int rc = prepare(ctx, file, &basis, &delta, what, depth, false);
	st_hasher *hasher = out_checked != NULL && file->storage == CATALOG_DUMP_ZDELTA ? st_hasher_new() : NULL;
	if (rc == 0 && file->storage == CATALOG_DUMP_ZDELTA)
		rc = zdelta_patch_fd_hashed(basis, delta, out_fd, what, hasher);
	else if (rc == 0)
		rc = delta_patch_fd(basis, delta, out_fd, what);
	if (hasher != NULL) {
		st_hash got;
		st_hasher_final(&got, hasher);
		if (rc == 0 && !st_hash_equal(&got, &file->hash))
			rc = st_error_set(ST_ERR_CORRUPT, "rebuilt dump file '%s' does not match its hash", what);
		*out_checked = rc == 0;
	}
	if (basis >= 0)
		close(basis);
	if (delta >= 0)
		close(delta);
	return rc;
}

/* rebuild, then the hash check where it was not made on the way. */
static int rebuild_checked(const dump_rebuild_ctx *ctx, const catalog_dump_file *file, int out_fd, const char *what,
			   int depth)
{
	bool checked = false;
	int rc = rebuild(ctx, file, out_fd, what, depth, &checked);
	if (rc == 0 && !checked)
		rc = dump_rebuild_check_hash(out_fd, what, &file->hash);
	return rc;
}

int dump_rebuild_to_fd(const dump_rebuild_ctx *ctx, const catalog_dump_file *file, int out_fd, const char *what)
{
	return rebuild_checked(ctx, file, out_fd, what, 0);
}

int dump_rebuild_prepare(const dump_rebuild_ctx *ctx, const catalog_dump_file *file, int *out_basis, int *out_delta,
			 const char *what)
{
	return prepare(ctx, file, out_basis, out_delta, what, 0, true);
}

int dump_rebuild_check_hash(int fd, const char *what, const st_hash *expected)
{
	st_hash actual;
	int rc = rewind_fd(fd, what);
	if (rc == 0 && st_hash_fd(&actual, NULL, fd, what) != 0)
		rc = st_error_reclassify(ST_ERR_TARGET);
	if (rc == 0 && !st_hash_equal(&actual, expected))
		rc = st_error_set(ST_ERR_CORRUPT, "rebuilt dump file '%s' does not match its hash", what);
	return rc;
}
