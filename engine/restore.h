/*
 * restore.h - the restore job: a snapshot's node folders, byte for byte, into a new root.
 *
 * Writes <target>/repository/node/<u[0:2]>/<u[2:4]>/<u[4:]>/... with modes, mtimes, symlinks
 * (created as links, never followed), empty files and folders. Every file's content is
 * checked against its hash as it is written. Paths from the catalog are validated so nothing
 * is written outside the target; a non-empty target is refused unless force is set. Many
 * threads create files (creation latency, not bandwidth, is the cost); one syncfs at the end
 * makes the result durable.
 *
 * Directory mtimes: every directory inside a node folder, and the node folder itself, gets its
 * recorded mode and mtime after its contents are written. Once every node is written, the
 * folders above them get theirs too, deepest first (the shard levels node/xx/yy and node/xx,
 * then repository/node, then repository): for each, the newest record of a snapshot up to the
 * restored one (a backup records repository and repository/node every time, a shard folder when
 * it read or lost a node in it). Only folders the target has are set, reached without following
 * a link; a recorded path of another shape, or a mode with more than permission bits, is
 * ST_ERR_CORRUPT and nothing is set.
 */
#ifndef STRATA_ENGINE_RESTORE_H
#define STRATA_ENGINE_RESTORE_H

#include "catalog/catalog.h"
#include "engine/db_info.h"

#include <stdbool.h>
#include <stdint.h>

#define RESTORE_LATEST (-1)

typedef struct restore_options {
	const char *dest_path;
	int64_t snapshot_id;       /* or RESTORE_LATEST */
	const char *target_root;   /* receives repository/node/... */
	int jobs;
	bool force;                /* allow a non-empty target, overwriting files */
} restore_options;

typedef struct restore_result {
	int64_t snapshot_id;
	int64_t nodes;
	int64_t folders;
	int64_t files;
	int64_t directories;
	int64_t symlinks;
	int64_t bytes;
	double seconds;
} restore_result;

int restore_run(const restore_options *options, restore_result *out);

/* What a snapshot holds, for a restore to plan: wanted may be RESTORE_LATEST. */
typedef struct restore_snapshot_info {
	int64_t id;
	bool has_files;
	bool has_database;
	char schema_version[DB_INFO_SCHEMA_VERSION_MAX];
	char *profile;            /* the AiiDA profile record (JSON) or NULL; the caller frees it */
} restore_snapshot_info;

int restore_resolve_snapshot(const char *dest_path, int64_t wanted, restore_snapshot_info *out);

/* 0 when path is relative, non-empty, and has no "", "." or ".." component; otherwise
 * ST_ERR_TARGET naming it. */
int restore_check_path(const char *path);

/* 0 when a folder record read from the catalog is one a restore sets: its path exactly
 * "repository", "repository/node", "repository/node/xx" or "repository/node/xx/yy" (xx, yy two
 * lowercase hex digits) and its mode permission bits only; otherwise ST_ERR_CORRUPT naming it. */
int restore_check_folder(const catalog_folder *folder);

#endif
