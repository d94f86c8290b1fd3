/*
 * db_dump.h - the database side of a backup: pg_dump at the scan's snapshot, stored as
 * deduplicated objects and zstd deltas.
 *
 * When the database did not change since the newest snapshot that holds it (the same data
 * version - scan_db_info.data_version - server and pg_dump), pg_dump does not run: that
 * snapshot's dump files are recorded for this one as they are (db_dump_stats.reused_from).
 * Otherwise db_dump_start() runs `pg_dump --snapshot=<exported id> --format=directory --jobs=N
 * --compress=0` in a background thread while the file pipeline works, into the destination's
 * scratch folder (dest_scratch_dir; cleaned by the next run if this one is killed).
 * db_dump_finish() waits for it, then puts every file of the dump into the store: a table's data file as a zstd delta against
 * its previous version when that is smaller (chains end with a full copy at least every
 * DB_DUMP_MAX_CHAIN snapshots, or earlier when the chain would cost more than a full copy),
 * otherwise in full.
 */
#ifndef STRATA_ENGINE_DB_DUMP_H
#define STRATA_ENGINE_DB_DUMP_H

#include "catalog/catalog.h"
#include "catalog/dest.h"
#include "scanner/source_db.h"
#include "store/store.h"

#include <stdint.h>

/* A full copy at least every this many snapshots. */
#define DB_DUMP_MAX_CHAIN 8

typedef struct db_dump db_dump;

typedef struct db_dump_stats {
	int64_t files;
	int64_t bytes;         /* size of the dump */
	int64_t delta_files;   /* stored as deltas */
	int64_t append_files;  /* of those, files that only grew: stored as their new rows */
	int64_t stored_bytes;  /* bytes added to packs */
	int64_t packs_new;
	double dump_seconds;   /* pg_dump itself */
	int64_t reused_from;   /* the snapshot whose dump this one is, the database unchanged; 0 if dumped */
	char server_version[PG_VERSION_MAX];
	char pg_dump_version[PG_VERSION_MAX];
} db_dump_stats;

/* Checks pg_dump, reads the database facts at the snapshot (schema version, size, row counts)
 * and starts pg_dump. dsn is the user's; its password goes to pg_dump's environment only. */
int db_dump_start(db_dump **out, dest *d, scan_db *db, const char *dsn, int jobs);

/* Waits for pg_dump to end (its outcome is db_dump_finish's to report); db_dump_finish waits
 * too, this lets a caller say which of the two steps it is in. */
void db_dump_wait(db_dump *dump);

/* Waits for pg_dump and puts its files into objects (sealing the last pack) for snapshot_id.
 * out_files and out_count are the rows to insert in the final transaction (free with
 * catalog_dump_files_free); out_db_info the JSON facts (caller frees). Always frees the dump,
 * also on failure. */
int db_dump_finish(db_dump *dump, store *objects, int64_t snapshot_id, catalog_dump_file **out_files,
		   size_t *out_count, char **out_db_info, db_dump_stats *stats);

/* Puts the files of an existing plain pg_dump directory (an imported one) into objects for
 * snapshot_id as db_dump_finish does - deltas against the previous versions of the same table,
 * a sealed last pack - with scratch (an existing folder) for the temporary files;
 * pg_restore (pg_tools.h, for a server of server_major) lists the dump's table of contents. */
int db_dump_store_dir(dest *d, store *objects, const char *dump_dir, const char *scratch, int server_major,
		      int64_t snapshot_id, catalog_dump_file **out_files, size_t *out_count, db_dump_stats *stats);

/* Stops waiting for the dump (joins pg_dump) and frees everything, storing nothing. */
void db_dump_abort(db_dump *dump);

#endif
