/*
 * import.h - strata import: an exported archive (export.h) added to a destination as a new
 * snapshot, its content deduplicated against what the destination holds.
 *
 * The archive is untrusted input, read once, streaming, through archive_verify.h: every entry
 * is checked against the manifest as restore --from-archive checks it. Before anything is
 * stored, the manifest's shape is checked too: repository/ may hold only repository/node, the
 * shard folders node/<xx>/<yy> and node folders node/<xx>/<yy>/<u[4:]> (a well-formed uuid)
 * with their trees; database/ only the flat files of a pg_dump directory, with its toc.dat.
 * The first problem is ST_ERR_CORRUPT naming it.
 *
 * Order of work, as a backup's: take the destination's lock (waiting lock_wait_seconds);
 * discard what a killed run left; create a pending snapshot; put every file of the repository
 * through the store (content the destination holds costs nothing) and write the dump files to
 * the destination's scratch folder; then store the dump as a backup stores its own
 * (db_dump_store_dir: deltas against earlier versions of the same tables); then, in one catalog
 * transaction, end the current node versions, add the archive's nodes, the folders above them
 * and the dump files, and make the snapshot complete. Any failure before that commit discards
 * the pending snapshot: earlier snapshots are untouched.
 *
 * The new snapshot is a complete view of the archive: the nodes the destination held before and
 * the archive lacks are not in it (they stay in the earlier snapshots). It keeps what the
 * manifest carries of the exported snapshot's record: its time, database time and watermark,
 * the profile record, the database facts (so a restore verifies row counts), every node's id
 * and ctime (manifest "nodes"). An archive whose manifest lists no nodes gets node ids -1, -2,
 * ... (never a database's), so that a later backup of the real database reconciles every id.
 */
#ifndef STRATA_ENGINE_IMPORT_H
#define STRATA_ENGINE_IMPORT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct import_options {
	const char *dest_path;
	const char *input;           /* a file, or "-" for standard input */
	int64_t lock_wait_seconds;   /* 0: fail at once when another run holds the lock; <0: no limit */
	int compression_level;       /* 0: the store's default */
} import_options;

typedef struct import_result {
	int64_t snapshot_id;         /* the new snapshot */
	int64_t archive_snapshot_id; /* the exported snapshot's id (the manifest's) */
	int64_t nodes;
	int64_t files;               /* the repository's files */
	int64_t bytes;               /* and their bytes */
	int64_t dump_files;
	int64_t replaced_nodes;      /* node versions of the destination's view the import ended */
	int64_t objects_new;
	int64_t bytes_new;           /* raw bytes of the new objects */
	int64_t stored_bytes;        /* bytes added to packs */
	bool has_database;
	double seconds;
} import_result;

int import_run(const import_options *options, import_result *out);

#endif
