/*
 * source_db.h - the source database, read at one exported snapshot.
 *
 * Wraps libpq for the scanner. scan_db_open() connects, checks that the database is an AiiDA
 * database (it has db_dbnode), opens one REPEATABLE READ, READ ONLY transaction and exports its
 * snapshot with pg_export_snapshot(), so that everything this backup reads from the database
 * (the node list now, the logical dump later) describes the same instant. The transaction stays
 * open until scan_db_close(); the snapshot id stays importable while it does.
 *
 * Node lists are read through server-side cursors in batches, so memory does not grow with the
 * number of nodes. No credential from the DSN is ever put into an error message.
 */
#ifndef STRATA_SCANNER_SOURCE_DB_H
#define STRATA_SCANNER_SOURCE_DB_H

#include "scanner/pg_session.h"

#include "common/id_sums.h"

#include <stddef.h>
#include <stdint.h>

#define SCAN_UUID_LEN 36
/* Size of a data version (see scan_db_info.data_version). */
#define SCAN_DATA_VERSION_MAX 512

typedef struct scan_db scan_db;

/* What the snapshot says about the database. */
typedef struct scan_db_info {
	char snapshot_id[PG_SNAPSHOT_ID_MAX];  /* for pg_dump --snapshot */
	char server_version[PG_VERSION_MAX];   /* e.g. "15.18" */
	char database[PG_NAME_MAX];            /* current_database() */
	char system_id[PG_SYSTEM_ID_MAX];      /* the cluster's system identifier, "" if not readable */
	int64_t db_time_us;       /* the transaction's start time, microseconds since 1970 */
	int64_t max_node_id;      /* highest db_dbnode.id visible, 0 when empty */
	int64_t min_node_id;      /* lowest, 0 when empty */
	int64_t node_count;       /* rows of db_dbnode visible */
	/* What the database's content is at the snapshot, as a string that changes whenever it
	 * may have changed: "<system id>/<timeline>/<database>/<txid snapshot>/<md5 of the
	 * sequences' last values>". Every committed change of rows, schema or grants takes a
	 * transaction id, and the transaction snapshot (xmin:xmax:running ids) moves on as soon as
	 * one is assigned or ends; sequences advance without one, so their values are part of it.
	 * Equal strings mean a pg_dump now would write what it wrote then. "" when unknown (the
	 * system identifier not readable, or the running ids too many): never equal to anything. */
	char data_version[SCAN_DATA_VERSION_MAX];
} scan_db_info;

typedef struct scan_node {
	int64_t id;
	int64_t ctime_us; /* microseconds since 1970 */
	int64_t mtime_us; /* the same; moves on every save of the node (files, attributes, extras) */
	char uuid[SCAN_UUID_LEN + 1];
} scan_node;

typedef struct scan_cursor scan_cursor;

/* Connects with dsn (a libpq connection string or URI) and opens the snapshot transaction.
 * Errors are ST_ERR_DATABASE: unreachable server, refused credentials, missing db_dbnode. */
int scan_db_open(scan_db **out, const char *dsn);

/* Ends the transaction (rolls back: it is read-only) and disconnects. NULL is allowed. */
void scan_db_close(scan_db *db);

const scan_db_info *scan_db_get_info(const scan_db *db);

/* The connection, inside the snapshot transaction: queries on it see the snapshot. */
pg_session *scan_db_session(scan_db *db);

/* Opens another connection inside a transaction of its own that imports the snapshot (SET
 * TRANSACTION SNAPSHOT): its queries see what this scan_db sees, from another thread. Closed
 * with pg_session_close; it must be closed before db. ST_ERR_DATABASE when it cannot. */
int scan_db_open_session(pg_session **out, scan_db *db);

/* The bounds of a node selection (scan_db_select_nodes); INT64_MAX for a time bound not used. */
typedef struct scan_selection {
	int64_t watermark;     /* nodes with id > watermark */
	int64_t ctime_from_us; /* nodes with ctime >= this */
	int64_t mtime_from_us; /* nodes with mtime >= this */
	const int64_t *extra_ids; /* and these ids (may be NULL) */
	size_t extra_count;
} scan_selection;

/* Opens a cursor over the nodes to back up, ordered by id: the union of what sel names. With
 * indexes on ctime and mtime (AiiDA 2.x, the Django backend of 1.x) the server combines index
 * scans; without them (the SQLAlchemy backend of 1.x) it scans db_dbnode once. */
int scan_db_select_nodes(scan_cursor **out, scan_db *db, const scan_selection *sel);

/* Opens a cursor over every node with lo <= id <= hi, ordered by id (uuid, ctime and mtime
 * filled). */
int scan_db_nodes_between(scan_cursor **out, scan_db *db, int64_t lo, int64_t hi);

/* Starts computing the id aggregates (common/id_sums.h) of the nodes with lo <= id <= hi, in
 * buckets of width ids: bucket b covers lo + b * width to lo + (b + 1) * width - 1 (and no
 * further than hi). The query runs on the server while the caller works (on the catalog's
 * side of the comparison); scan_db_id_sums_end collects it and must follow before any other
 * use of db. Cost: one index range scan of the range, nothing per node sent. */
int scan_db_id_sums_begin(scan_db *db, int64_t lo, int64_t hi, int64_t width, size_t bucket_count);

/* Waits for the aggregates and fills bucket_count entries of out (zero where no node is). */
int scan_db_id_sums_end(scan_db *db, st_id_sums *out, size_t bucket_count);

/* Fills up to max nodes; *out_count == 0 means the cursor is exhausted. */
int scan_cursor_next(scan_cursor *cursor, scan_node *out, size_t max, size_t *out_count);

/* Closes the cursor; NULL is allowed. */
void scan_cursor_close(scan_cursor *cursor);

#endif
