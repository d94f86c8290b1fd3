/*
 * archive_restore.h - strata restore --from-archive: an exported archive (export.h) back into a
 * repository root, streaming, every entry checked against the manifest.
 *
 * The archive is untrusted input, read through archive_verify.h: every entry is checked
 * against the manifest there, and the first problem found (ST_ERR_CORRUPT naming it) stops the
 * restore. Everything is written through common/confine below the target root, never following
 * a link: a link in the archive is created as a link, and an entry below it is refused. A file
 * that fails its check is removed. Folder mtimes are set once everything is written, deepest
 * first. repository/... goes to target_root, database/... (the plain pg_dump directory) to
 * dump_dir; without dump_dir the dump files are checked and not written. With to_dsn, the dump
 * directory (dump_dir, or a temporary one below TMPDIR, removed afterwards) is then restored
 * into that database with pg_restore (db_restore.h, db_restore_dump_dir), once every entry of
 * the archive has passed its checks; an archive without a database/ is ST_ERR_NOTFOUND then.
 * Every table's row count and the schema version are then verified against the database facts
 * the manifest carries (its "db_info"; an archive without them is restored unverified). With
 * to_profile (which needs to_dsn), an AiiDA profile entry for the restored database and
 * repository is added as restore_job.h adds one, in the format of the manifest's "profile"; the
 * name is checked before anything is written.
 */
#ifndef STRATA_ENGINE_ARCHIVE_RESTORE_H
#define STRATA_ENGINE_ARCHIVE_RESTORE_H

#include "engine/db_restore.h"

#include <stdbool.h>

#include <stddef.h>
#include <stdint.h>

typedef struct archive_restore_options {
	const char *input;        /* a file, or "-" for standard input */
	const char *target_root;  /* must be empty or absent */
	const char *dump_dir;     /* NULL: database entries checked, not written (unless to_dsn) */
	const char *to_dsn;       /* NULL: no database restore */
	int jobs;                 /* pg_restore --jobs */
	const char *to_profile;   /* NULL: no AiiDA profile entry */
	const char *config_dir;   /* for to_profile; NULL: through AIIDA_PATH */
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
	bool added_profile;
	char profile_path[4096];  /* the config.json written, when added_profile */
} archive_restore_result;

int archive_restore_run(const archive_restore_options *options, archive_restore_result *out);

#endif
