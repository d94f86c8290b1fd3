/*
 * export.h - strata export: one snapshot as a portable tar archive that stock tools restore.
 *
 * The archive holds, in this order: manifest.json (first, so a streaming reader has it before
 * the files), the repository tree exactly as restore writes it (repository/node/..., modes,
 * mtimes, symbolic links as links, folders with their mtimes), and database/, the plain
 * pg_dump directory (toc.dat and the NNNN.dat.gz files as pg_dump -Fd wrote them, rebuilt from
 * the stored deltas and checked). `tar -xf` and `pg_restore -d DB database/` restore it without
 * strata.
 *
 * The manifest (JSON): {"format": "strata-archive", "version": 1, "snapshot": {"id", "time"},
 * "schema_version", "profile" (the profile record the snapshot keeps, which holds no secret),
 * "hash": "xxh3-128", "entries": [{"path", "type": "file"|"dir"|"symlink", "size", "hash"
 * (files: XXH3-128 hex, as strata stores), "target" (links)}]}. For strata import (import.h)
 * it also carries the snapshot's record: "snapshot" has "db_time_us" and "watermark",
 * "db_info" is the database facts (db_info.h: versions, every table's row count; null without a
 * database), and "nodes" lists every node of the snapshot: [{"uuid", "id", "ctime_us",
 * "folder": whether it has a node folder}]. Readers ignore members they do not know.
 *
 * How: it streams. The repository's entries (AiiDA 1.x) come straight from the catalog - names,
 * modes, mtimes, sizes, XXH3-128 hashes and link targets, the folders above the node folders
 * with the modes and mtimes restore gives them - and each file's content from the store, in
 * pieces checked against their hashes on the way: nothing of the repository is written to
 * disk, and memory does not depend on the number of entries. A first pass writes the manifest
 * to a temporary file below TMPDIR, entry by entry (tar needs its size before its content); a
 * second pass writes the archive. The dump (its files may be deltas to rebuild) and an AiiDA
 * 2.x snapshot's container (restore_container.h builds its packs and packs.idx) are a handful
 * of files: they are restored into that temporary folder first (restore_job.h, verified), which
 * then needs their size on disk. The temporary folder is removed on every path; a failed export
 * removes its output file.
 */
#ifndef STRATA_ENGINE_EXPORT_H
#define STRATA_ENGINE_EXPORT_H

#include "engine/archive.h"

#include <stdint.h>

#define EXPORT_MANIFEST_NAME "manifest.json"
#define EXPORT_MANIFEST_VERSION 1

typedef struct export_options {
	const char *dest_path;
	int64_t snapshot_id;      /* or RESTORE_LATEST */
	const char *output;       /* a file name, or "-" for standard output */
	archive_kind kind;
	int jobs;
} export_options;

typedef struct export_result {
	int64_t snapshot_id;
	int64_t files;
	int64_t directories;
	int64_t symlinks;
	int64_t bytes;            /* content bytes of the files archived */
	double seconds;
} export_result;

int export_run(const export_options *options, export_result *out);

#endif
