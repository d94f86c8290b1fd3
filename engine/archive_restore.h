/*
 * archive_restore.h - strata restore --from-archive: an exported archive (export.h) back into a
 * repository root, streaming, every entry checked against the manifest.
 *
 * The archive is untrusted input. Its first entry must be manifest.json (at most
 * ARCHIVE_MANIFEST_MAX bytes); every later entry must be listed there with the same type, and
 * every file must have the listed size and XXH3-128 hash; an entry listed twice or not listed,
 * a listed entry the archive lacks, a hard link, a device, fifo or socket, a name that is
 * absolute or has an empty, '.' or '..' component, or lies outside repository/ and database/,
 * a truncated or damaged stream: each is ST_ERR_CORRUPT naming it (the first one found stops the
 * restore). Everything is written through common/confine below the target root, never following
 * a link: a link in the archive is created as a link, and an entry below it is refused. A file
 * that fails its check is removed. Folder mtimes are set once everything is written, deepest
 * first. repository/... goes to target_root, database/... (the plain pg_dump directory) to
 * dump_dir; without dump_dir the dump files are checked and not written. With to_dsn, the dump
 * directory (dump_dir, or a temporary one below TMPDIR, removed afterwards) is then restored
 * into that database with pg_restore (db_restore.h, db_restore_dump_dir), once every entry of
 * the archive has passed its checks; an archive without a database/ is ST_ERR_NOTFOUND then.
 */
#ifndef STRATA_ENGINE_ARCHIVE_RESTORE_H
#define STRATA_ENGINE_ARCHIVE_RESTORE_H

#include "engine/db_restore.h"

#include <stdbool.h>

#include <stddef.h>
#include <stdint.h>

#define ARCHIVE_MANIFEST_MAX ((size_t)1 << 30)

typedef struct archive_restore_options {
	const char *input;        /* a file, or "-" for standard input */
	const char *target_root;  /* must be empty or absent */
	const char *dump_dir;     /* NULL: database entries checked, not written (unless to_dsn) */
	const char *to_dsn;       /* NULL: no database restore */
	int jobs;                 /* pg_restore --jobs */
} archive_restore_options;

typedef struct archive_restore_result {
	int64_t snapshot_id;      /* the manifest's */
	int64_t files;
	int64_t directories;
	int64_t symlinks;
	int64_t bytes;
	double seconds;
	bool restored_database;
	db_restore_result database;
} archive_restore_result;

int archive_restore_run(const archive_restore_options *options, archive_restore_result *out);

/* ---- for tests and the fuzz target ---- */

typedef struct archive_manifest archive_manifest;

/* Parses and validates a manifest's text: ST_ERR_CORRUPT naming what is wrong. */
int archive_manifest_parse(archive_manifest **out, const char *text, size_t len);
void archive_manifest_free(archive_manifest *m);

#endif
