/*
 * restore.h - the restore job: a snapshot's node folders, byte for byte, into a new root.
 *
 * A snapshot of an AiiDA 2.x container is restored as a container instead
 * (restore_container.h); what follows is about AiiDA 1.x node folders.
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
	bool loose;                /* AiiDA 2.x: write loose objects, not packs (restore_container.h) */
	/* A selection (both empty: every node). nodes: whole node folders, by uuid (each must be in
	 * the snapshot, else ST_ERR_NOTFOUND naming it). paths: fnmatch patterns (flags 0, so '*'
	 * also matches '/') on "node/<u[0:2]>/<u[2:4]>/<u[4:]>[/<entry path>]"; an entry is restored
	 * when it or a directory above it matches, with the directories above it. Only the selected
	 * nodes' entries are read from the catalog (by uuid, or by the uuid prefix that a pattern's
	 * literal start fixes), and only the selected files' content from the packs. nodes must be
	 * sorted (strcmp) without duplicates. */
	const char *const *nodes;
	size_t node_count;
	const char *const *paths;
	size_t path_count;
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

/* Writes the content of file path of node uuid in snapshot wanted (or RESTORE_LATEST) to fd,
 * checked against its hash; *out_snapshot is the snapshot read. A node or path the snapshot
 * does not hold is ST_ERR_NOTFOUND; a directory or link is ST_ERR_USAGE. Only that node's
 * entries and that file's pack ranges are read. */
int restore_cat(const char *dest_path, int64_t wanted, const char *uuid, const char *path, int fd,
		int64_t *out_snapshot);

/* What a snapshot holds, for a restore to plan: wanted may be RESTORE_LATEST. */
typedef struct restore_snapshot_info {
	int64_t id;
	int64_t time_us;          /* wall-clock start of its backup */
	bool has_files;
	bool has_database;
	bool container;           /* its files are an AiiDA 2.x container (restore_container.h) */
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
