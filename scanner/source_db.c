/*
 * source_db.c - the source database at one exported snapshot (see source_db.h).
 */
#include "scanner/source_db.h"

#include "scanner/pg_session_internal.h"

#include "common/error.h"
#include "common/mem.h"

#include <inttypes.h>
#include <stdbool.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CURSOR_BATCH 10000

struct scan_db {
	pg_session *session;
	PGconn *conn; /* the session's, for cursors */
	char *dsn;    /* for the sessions that import the snapshot (scan_db_open_session) */
	scan_db_info info;
	int cursor_serial;
	bool jit_off;      /* SET LOCAL jit = off done in this transaction */
	bool sums_pending; /* a scan_db_id_sums_begin query is in flight */
};

/* Size of a cursor's name ("strata_nodes_N"). */
#define CURSOR_NAME_MAX 32

struct scan_cursor {
	scan_db *db;
	char name[CURSOR_NAME_MAX];
	PGresult *batch;
	int row;
	bool done;
};

static int exec_sql(scan_db *db, const char *sql, ExecStatusType expected, PGresult **out)
{
	return pg_session_exec_status(db->session, sql, expected, out);
}

static int check_aiida_schema(scan_db *db)
{
	PGresult *res = NULL;
	int rc = exec_sql(db, "SELECT to_regclass('db_dbnode') IS NOT NULL", PGRES_TUPLES_OK, &res);
	if (rc != 0)
		return rc;
	bool present = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!present)
		return st_error_set(ST_ERR_DATABASE,
				    "database '%s' is not an AiiDA database: table 'db_dbnode' not found",
				    PQdb(db->conn));
	return 0;
}

static void copy_field(char *dst, size_t cap, PGresult *res, int col)
{
	snprintf(dst, cap, "%s", PQgetisnull(res, 0, col) ? "" : PQgetvalue(res, 0, col));
}

/* The sequences' state, which moves without a transaction id (source_db.h, data_version). */
#define SEQUENCES_DIGEST_SQL                                                                          \
	"(SELECT md5(coalesce(string_agg(schemaname || '.' || sequencename || '=' ||"                 \
	" coalesce(last_value::text, '-'), ',' ORDER BY schemaname, sequencename), '')) FROM pg_sequences)"

static int read_info(scan_db *db)
{
	PGresult *res = NULL;
	/* One statement: the transaction snapshot it reports is the one exported. */
	int rc = exec_sql(db,
			  "SELECT pg_export_snapshot(), current_setting('server_version'), current_database(),"
			  " (extract(epoch from now()) * 1000000)::bigint,"
			  " (SELECT coalesce(max(id), 0) FROM db_dbnode), (SELECT count(*) FROM db_dbnode),"
			  " (SELECT coalesce(min(id), 0) FROM db_dbnode), txid_current_snapshot()::text, "
			  SEQUENCES_DIGEST_SQL,
			  PGRES_TUPLES_OK, &res);
	if (rc != 0)
		return rc;
	copy_field(db->info.snapshot_id, sizeof db->info.snapshot_id, res, 0);
	copy_field(db->info.server_version, sizeof db->info.server_version, res, 1);
	db->info.server_version[strcspn(db->info.server_version, " ")] = '\0';
	copy_field(db->info.database, sizeof db->info.database, res, 2);
	db->info.db_time_us = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	db->info.max_node_id = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	db->info.node_count = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
	db->info.min_node_id = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
	char *txid_snapshot = st_strdup(PQgetvalue(res, 0, 7));
	char *sequences = st_strdup(PQgetvalue(res, 0, 8));
	PQclear(res);

	/* The system identifier tells clusters apart, the timeline a cluster from its own past
	 * after a point-in-time recovery; reading them may need privileges we lack. */
	char timeline[16] = "";
	res = PQexec(db->conn, "SAVEPOINT sysid; SELECT s.system_identifier::text, c.timeline_id::text"
			       " FROM pg_control_system() s, pg_control_checkpoint() c");
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		copy_field(db->info.system_id, sizeof db->info.system_id, res, 0);
		copy_field(timeline, sizeof timeline, res, 1);
	}
	PQclear(res);
	res = PQexec(db->conn, "ROLLBACK TO SAVEPOINT sysid");
	PQclear(res);
	int length = snprintf(db->info.data_version, sizeof db->info.data_version, "%s/%s/%s/%s/%s",
			      db->info.system_id, timeline, db->info.database, txid_snapshot, sequences);
	if (db->info.system_id[0] == '\0' || timeline[0] == '\0' || length < 0 ||
	    (size_t)length >= sizeof db->info.data_version)
		db->info.data_version[0] = '\0';
	free(txid_snapshot);
	free(sequences);
	return 0;
}

int scan_db_open(scan_db **out, const char *dsn)
{
	scan_db *db = st_calloc(1, sizeof *db);
	db->dsn = st_strdup(dsn);
	int rc = pg_session_open(&db->session, dsn, NULL);
	if (rc == 0) {
		db->conn = pg_session_conn(db->session);
		rc = check_aiida_schema(db);
	}
	if (rc == 0)
		rc = exec_sql(db, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", PGRES_COMMAND_OK, NULL);
	if (rc == 0)
		rc = read_info(db);
	if (rc != 0) {
		scan_db_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

/* The first result of the query in flight; the rest (there is none for one statement) dropped. */
static PGresult *collect_result(scan_db *db)
{
	PGresult *first = PQgetResult(db->conn), *more;
	while ((more = PQgetResult(db->conn)) != NULL)
		PQclear(more);
	db->sums_pending = false;
	return first;
}

void scan_db_close(scan_db *db)
{
	if (db == NULL)
		return;
	if (db->sums_pending)
		PQclear(collect_result(db));
	if (db->conn != NULL && PQtransactionStatus(db->conn) != PQTRANS_IDLE &&
	    PQtransactionStatus(db->conn) != PQTRANS_UNKNOWN)
		PQclear(PQexec(db->conn, "ROLLBACK"));
	pg_session_close(db->session);
	free(db->dsn);
	free(db);
}

const scan_db_info *scan_db_get_info(const scan_db *db)
{
	return &db->info;
}

pg_session *scan_db_session(scan_db *db)
{
	return db->session;
}

static int open_cursor(scan_cursor **out, scan_db *db, const char *query, const char *array_param)
{
	scan_cursor *cursor = st_calloc(1, sizeof *cursor);
	cursor->db = db;
	snprintf(cursor->name, sizeof cursor->name, "strata_nodes_%d", ++db->cursor_serial);
	char *sql = st_sprintf("DECLARE %s NO SCROLL CURSOR FOR %s", cursor->name, query);
	const char *params[1] = {array_param};
	PGresult *res = PQexecParams(db->conn, sql, array_param ? 1 : 0, NULL, params, NULL, NULL, 0);
	free(sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		char line[PG_LINE_MAX];
		int rc = st_error_set(ST_ERR_DATABASE, "unable to list nodes of database '%s': %s",
				      PQdb(db->conn), pg_first_line(PQresultErrorMessage(res), line, sizeof line));
		PQclear(res);
		free(cursor);
		return rc;
	}
	PQclear(res);
	*out = cursor;
	return 0;
}

/* A PostgreSQL array literal of the ids, e.g. "{1,5,9}". */
static char *id_array_literal(const int64_t *ids, size_t count)
{
	size_t cap = 3 + count * 21;
	char *text = st_malloc(cap);
	size_t len = 0;
	text[len++] = '{';
	for (size_t i = 0; i < count; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s%" PRId64, i ? "," : "", ids[i]);
	text[len++] = '}';
	text[len] = '\0';
	return text;
}

#define NODE_COLUMNS                                                                                 \
	"id, uuid::text, (extract(epoch from ctime) * 1000000)::bigint,"                               \
	" (extract(epoch from mtime) * 1000000)::bigint"

/* A time bound as SQL: INT64_MAX (none) is the last second of year 9999, later than any node. */
static int64_t time_bound(int64_t us)
{
	return us == INT64_MAX ? INT64_C(253402300799000000) : us;
}

int scan_db_select_nodes(scan_cursor **out, scan_db *db, const scan_selection *sel)
{
	char *query = st_sprintf("SELECT " NODE_COLUMNS " FROM db_dbnode WHERE id > %" PRId64
				 " OR ctime >= to_timestamp(%" PRId64 " / 1000000.0)"
				 " OR mtime >= to_timestamp(%" PRId64 " / 1000000.0)"
				 " OR id = ANY($1::bigint[]) ORDER BY id",
				 sel->watermark, time_bound(sel->ctime_from_us), time_bound(sel->mtime_from_us));
	char *ids = id_array_literal(sel->extra_ids, sel->extra_count);
	int rc = open_cursor(out, db, query, ids);
	free(ids);
	free(query);
	return rc;
}

int scan_db_nodes_between(scan_cursor **out, scan_db *db, int64_t lo, int64_t hi)
{
	char *query = st_sprintf("SELECT " NODE_COLUMNS " FROM db_dbnode WHERE id BETWEEN %" PRId64 " AND %" PRId64
				 " ORDER BY id",
				 lo, hi);
	int rc = open_cursor(out, db, query, NULL);
	free(query);
	return rc;
}

/* One lateral index range scan per bucket: the planner cannot know that the bucket number grows
 * with the id, so a GROUP BY over the range would sort or hash all of it. */
#define ID_SUMS_NORMALISED(x) "mod(mod(" x ", " ST_ID_SUMS_MODULUS_SQL ") + " ST_ID_SUMS_MODULUS_SQL ", " \
	ST_ID_SUMS_MODULUS_SQL ")::int8"
#define ID_SUMS_QUERY                                                                              \
	"SELECT g.b, s.c, " ID_SUMS_NORMALISED("s.s") ", " ID_SUMS_NORMALISED("s.h")                  \
	" FROM generate_series(0, %zu) g(b) CROSS JOIN LATERAL"                                       \
	" (SELECT count(*) AS c, sum(id) AS s, sum(" ST_ID_HASH_SQL("id") ") AS h FROM db_dbnode"      \
	" WHERE id BETWEEN %" PRId64 " + g.b::int8 * %" PRId64 " AND least(%" PRId64 ", %" PRId64      \
	" + g.b::int8 * %" PRId64 " + %" PRId64 ")) s WHERE s.c > 0"

int scan_db_id_sums_begin(scan_db *db, int64_t lo, int64_t hi, int64_t width, size_t bucket_count)
{
	if (!db->jit_off) {
		/* Compiling the query would cost more than running it. */
		int rc = exec_sql(db, "SET LOCAL jit = off", PGRES_COMMAND_OK, NULL);
		if (rc != 0)
			return st_error_prefix("unable to compare node ids");
		db->jit_off = true;
	}
	char *sql = st_sprintf(ID_SUMS_QUERY, bucket_count > 0 ? bucket_count - 1 : 0, lo, width, hi, lo, width,
			       width - 1);
	int sent = PQsendQuery(db->conn, sql);
	free(sql);
	if (!sent) {
		char line[PG_LINE_MAX];
		return st_error_set(ST_ERR_DATABASE, "unable to compare node ids of database '%s': %s", PQdb(db->conn),
				    pg_first_line(PQerrorMessage(db->conn), line, sizeof line));
	}
	db->sums_pending = true;
	return 0;
}

int scan_db_id_sums_end(scan_db *db, st_id_sums *out, size_t bucket_count)
{
	memset(out, 0, bucket_count * sizeof *out);
	if (!db->sums_pending)
		return st_error_set(ST_ERR_GENERIC, "no comparison of node ids in progress");
	PGresult *res = collect_result(db);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		char line[PG_LINE_MAX];
		int rc = st_error_set(ST_ERR_DATABASE, "unable to compare node ids of database '%s': %s", PQdb(db->conn),
				      pg_first_line(PQresultErrorMessage(res), line, sizeof line));
		PQclear(res);
		return rc;
	}
	for (int row = 0; row < PQntuples(res); row++) {
		int64_t b = strtoll(PQgetvalue(res, row, 0), NULL, 10);
		if (b < 0 || (uint64_t)b >= bucket_count)
			continue;
		out[b].count = strtoll(PQgetvalue(res, row, 1), NULL, 10);
		out[b].sum = strtoll(PQgetvalue(res, row, 2), NULL, 10);
		out[b].hash_sum = strtoll(PQgetvalue(res, row, 3), NULL, 10);
	}
	PQclear(res);
	return 0;
}

static int fetch_batch(scan_cursor *cursor)
{
	char sql[96];
	PQclear(cursor->batch);
	cursor->batch = NULL;
	cursor->row = 0;
	snprintf(sql, sizeof sql, "FETCH %d FROM %s", CURSOR_BATCH, cursor->name);
	int rc = exec_sql(cursor->db, sql, PGRES_TUPLES_OK, &cursor->batch);
	if (rc != 0)
		return st_error_prefix("unable to list nodes");
	if (PQntuples(cursor->batch) == 0)
		cursor->done = true;
	return 0;
}

int scan_cursor_next(scan_cursor *cursor, scan_node *out, size_t max, size_t *out_count)
{
	size_t n = 0;
	while (n < max && !cursor->done) {
		if (cursor->batch == NULL || cursor->row >= PQntuples(cursor->batch)) {
			int rc = fetch_batch(cursor);
			if (rc != 0)
				return rc;
			continue;
		}
		PGresult *res = cursor->batch;
		int row = cursor->row++;
		out[n].id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
		snprintf(out[n].uuid, sizeof out[n].uuid, "%s", PQgetvalue(res, row, 1));
		out[n].ctime_us = PQgetisnull(res, row, 2) ? 0 : strtoll(PQgetvalue(res, row, 2), NULL, 10);
		out[n].mtime_us = PQgetisnull(res, row, 3) ? 0 : strtoll(PQgetvalue(res, row, 3), NULL, 10);
		n++;
	}
	*out_count = n;
	return 0;
}

void scan_cursor_close(scan_cursor *cursor)
{
	if (cursor == NULL)
		return;
	PQclear(cursor->batch);
	char *sql = st_sprintf("CLOSE %s", cursor->name);
	PQclear(PQexec(cursor->db->conn, sql));
	free(sql);
	free(cursor);
}

int scan_db_open_session(pg_session **out, scan_db *db)
{
	pg_session *s = NULL;
	*out = NULL;
	int rc = pg_session_open(&s, db->dsn, NULL);
	if (rc == 0)
		rc = pg_session_exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
	if (rc == 0) {
		/* The id comes from pg_export_snapshot(), yet it is quoted like any text. */
		char *id = pg_quote_literal(s, db->info.snapshot_id);
		char *sql = st_sprintf("SET TRANSACTION SNAPSHOT %s", id);
		rc = pg_session_exec(s, sql);
		free(sql);
		free(id);
	}
	if (rc != 0) {
		pg_session_close(s);
		return rc;
	}
	*out = s;
	return 0;
}
