/*
 * genrepo_db.c - libpq wrapper of strata-genrepo (see genrepo_db.h).
 *
 * The schema text comes from aiida_schema.sql, compiled in as the byte
 * array aiida_schema_sql by bench/CMakeLists.txt. Server messages are cut
 * to their primary line so that errors stay on one line.
 */
#include "genrepo_db.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "aiida_schema_sql.h"

#define TIME_INDEXES_BEGIN "-- time-indexes-begin"
#define TIME_INDEXES_END "-- time-indexes-end"

struct gen_db {
    PGconn *conn;
};

/* ---- errors ---------------------------------------------------------- */

/* Copies the first line of msg, without the "ERROR:  " prefix. */
static void first_line(char *out, size_t size, const char *msg)
{
    size_t n;

    if (msg == NULL || *msg == '\0')
        msg = "unknown error";
    if (strncmp(msg, "ERROR:  ", 8) == 0)
        msg += 8;
    n = strcspn(msg, "\n");
    if (n >= size)
        n = size - 1;
    memcpy(out, msg, n);
    out[n] = '\0';
}

static void set_conn_error(gen_db *db, const char *what, gen_error *err)
{
    char line[512];

    first_line(line, sizeof(line), PQerrorMessage(db->conn));
    gen_error_set(err, "%s: %s", what, line);
}

static void set_result_error(gen_db *db, const PGresult *res, const char *what, gen_error *err)
{
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *context = res ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;
    char line[512];
    char where[256];

    if (primary == NULL) {
        set_conn_error(db, what, err);
        return;
    }
    first_line(line, sizeof(line), primary);
    if (context == NULL) {
        gen_error_set(err, "%s: %s", what, line);
        return;
    }
    first_line(where, sizeof(where), context);
    gen_error_set(err, "%s: %s (%s)", what, line, where);
}

/* ---- statements ------------------------------------------------------ */

static int check_result(gen_db *db, PGresult *res, const char *what, gen_error *err)
{
    const ExecStatusType status = PQresultStatus(res);

    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return 0;
    set_result_error(db, res, what, err);
    return -1;
}

static int exec_sql(gen_db *db, const char *sql, const char *what, gen_error *err)
{
    PGresult *res = PQexec(db->conn, sql);
    const int rc = check_result(db, res, what, err);

    PQclear(res);
    return rc;
}

/* Runs a query returning one value (text params only). *out_null tells
 * a SQL NULL apart; out may be NULL when only the text is wanted. */
static int query_value(gen_db *db, const char *sql, int nparams, const char *const *params,
                       const char *what, char *out, size_t size, bool *out_null,
                       gen_error *err)
{
    PGresult *res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    int rc = check_result(db, res, what, err);

    if (rc == 0 && (PQntuples(res) != 1 || PQnfields(res) < 1)) {
        gen_error_set(err, "%s: expected one row, got %d", what, PQntuples(res));
        rc = -1;
    }
    if (rc == 0) {
        *out_null = PQgetisnull(res, 0, 0) != 0;
        snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return rc;
}

static int query_int(gen_db *db, const char *sql, int nparams, const char *const *params,
                     const char *what, int64_t *out, bool *out_null, gen_error *err)
{
    char text[64];

    if (query_value(db, sql, nparams, params, what, text, sizeof(text), out_null, err) != 0)
        return -1;
    *out = *out_null ? 0 : strtoll(text, NULL, 10);
    return 0;
}

/* ---- connection and transaction -------------------------------------- */

int gen_db_connect(gen_db **out, const char *dsn, gen_error *err)
{
    gen_db *db = calloc(1, sizeof(*db));

    *out = NULL;
    if (db == NULL) {
        gen_error_set(err, "connect: out of memory");
        return -1;
    }
    db->conn = PQconnectdb(dsn);
    if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
        if (db->conn == NULL)
            gen_error_set(err, "connect: out of memory");
        else
            set_conn_error(db, "connect", err);
        gen_db_free(db);
        return -1;
    }
    if (PQsetClientEncoding(db->conn, "UTF8") != 0
        || exec_sql(db, "SET client_min_messages = warning", "connect", err) != 0) {
        set_conn_error(db, "set client encoding", err);
        gen_db_free(db);
        return -1;
    }
    *out = db;
    return 0;
}

void gen_db_free(gen_db *db)
{
    if (db == NULL)
        return;
    PQfinish(db->conn);
    free(db);
}

/* Foreign keys are checked as each COPY ends rather than at COMMIT, so the
 * checks overlap with the workers writing files instead of following them. */
int gen_db_begin(gen_db *db, gen_error *err)
{
    return exec_sql(db, "BEGIN; SET CONSTRAINTS ALL IMMEDIATE", "begin transaction", err);
}

int gen_db_commit(gen_db *db, gen_error *err)
{
    return exec_sql(db, "COMMIT", "commit", err);
}

/* ---- schema ---------------------------------------------------------- */

static int table_exists(gen_db *db, const char *table, bool *out, gen_error *err)
{
    const char *params[1] = {table};
    char text[8];
    bool null;

    if (query_value(db, "SELECT to_regclass($1) IS NOT NULL", 1, params, "look up table", text,
                    sizeof(text), &null, err) != 0)
        return -1;
    *out = text[0] == 't';
    return 0;
}

/* The schema script, without the ctime/mtime indexes if not wanted. */
static void schema_script(gen_buf *out, bool time_indexes)
{
    const char *line = aiida_schema_sql;
    bool skipping = false;

    while (*line != '\0') {
        const size_t len = strcspn(line, "\n");
        const size_t next = len + (line[len] == '\n');

        if (strncmp(line, TIME_INDEXES_BEGIN, strlen(TIME_INDEXES_BEGIN)) == 0)
            skipping = !time_indexes;
        else if (strncmp(line, TIME_INDEXES_END, strlen(TIME_INDEXES_END)) == 0)
            skipping = false;
        else if (!skipping)
            gen_buf_add(out, line, next);
        line += next;
    }
}

static int create_schema(gen_db *db, bool time_indexes, gen_error *err)
{
    gen_buf script;
    int rc;

    gen_buf_init(&script);
    schema_script(&script, time_indexes);
    rc = exec_sql(db, script.data, "create schema", err);
    gen_buf_release(&script);
    return rc;
}

static const char base_rows_sql[] =
    "INSERT INTO db_dbuser (email, first_name, last_name, institution) "
    "VALUES ('aiida@localhost', 'AiiDA', 'Generator', 'strata bench') "
    "ON CONFLICT DO NOTHING;\n"
    "INSERT INTO db_dbauthinfo (aiidauser_id, dbcomputer_id, metadata, auth_params, enabled) "
    "SELECT u.id, c.id, '{}', '{\"safe_interval\": 0.0, \"use_login_shell\": true}', true "
    "FROM db_dbuser u, db_dbcomputer c "
    "WHERE u.email = 'aiida@localhost' AND c.name = 'localhost' ON CONFLICT DO NOTHING;\n"
    "INSERT INTO db_dbsetting (key, val, description, time) VALUES "
    "('db|schemaversion', '\"1.0.45\"', 'The version of the schema used in this database.', "
    "now()), "
    "('schema_generation', '\"1\"', 'Database schema generation', now()) "
    "ON CONFLICT (key) DO NOTHING;\n"
    "INSERT INTO django_migrations (app, name, applied) "
    "SELECT v.app, v.name, now() FROM (VALUES ('contenttypes', '0001_initial'), "
    "('auth', '0001_initial'), ('db', '0001_initial'), ('db', '0044_dbgroup_type_string'), "
    "('db', '0045_dbgroup_extras')) AS v (app, name) "
    "WHERE NOT EXISTS (SELECT 1 FROM django_migrations);\n";

static const char computer_sql[] =
    "INSERT INTO db_dbcomputer (uuid, name, hostname, description, scheduler_type, "
    "transport_type, metadata) VALUES ($1, 'localhost', 'localhost', "
    "'generated by strata-genrepo', 'direct', 'local', "
    "'{\"shebang\": \"#!/bin/bash\", \"workdir\": \"/scratch/{username}/aiida_run/\", "
    "\"mpirun_command\": [\"mpirun\", \"-np\", \"{tot_num_mpiprocs}\"], "
    "\"default_mpiprocs_per_machine\": 1}') ON CONFLICT DO NOTHING";

static int insert_base_rows(gen_db *db, const char *computer_uuid, gen_error *err)
{
    const char *params[1] = {computer_uuid};
    PGresult *res = PQexecParams(db->conn, computer_sql, 1, NULL, params, NULL, NULL, 0);
    int rc = check_result(db, res, "insert computer", err);

    PQclear(res);
    if (rc != 0)
        return rc;
    return exec_sql(db, base_rows_sql, "insert user and settings", err);
}

int gen_db_prepare_create(gen_db *db, bool time_indexes, const char *computer_uuid,
                          gen_error *err)
{
    bool exists;
    bool null;
    int64_t max_id;

    if (table_exists(db, "db_dbnode", &exists, err) != 0)
        return -1;
    if (!exists) {
        if (create_schema(db, time_indexes, err) != 0)
            return -1;
    } else {
        if (query_int(db, "SELECT max(id) FROM db_dbnode", 0, NULL, "read 'db_dbnode'",
                      &max_id, &null, err) != 0)
            return -1;
        if (!null) {
            gen_error_set(err, "create: table 'db_dbnode' already has nodes (highest id %" PRId64
                               "): use --mode add or --mode import", max_id);
            return -1;
        }
    }
    return insert_base_rows(db, computer_uuid, err);
}

int gen_db_require_schema(gen_db *db, gen_error *err)
{
    bool exists;

    if (table_exists(db, "db_dbnode", &exists, err) != 0)
        return -1;
    if (!exists) {
        gen_error_set(err, "table 'db_dbnode' does not exist: run with --mode create first");
        return -1;
    }
    return 0;
}

int gen_db_owner(gen_db *db, int64_t *out_user, int64_t *out_computer, gen_error *err)
{
    bool null;

    if (query_int(db, "SELECT min(id) FROM db_dbuser", 0, NULL, "read 'db_dbuser'", out_user,
                  &null, err) != 0)
        return -1;
    if (null) {
        gen_error_set(err, "table 'db_dbuser' is empty: nodes need a user");
        return -1;
    }
    return query_int(db, "SELECT min(id) FROM db_dbcomputer", 0, NULL, "read 'db_dbcomputer'",
                     out_computer, &null, err);
}

/* ---- ids and groups -------------------------------------------------- */

int gen_db_reserve_node_ids(gen_db *db, int64_t count, int64_t *out_first, gen_error *err)
{
    char seq[256];
    char last_text[32];
    const char *params[2] = {seq, last_text};
    bool null;
    int64_t base;
    int64_t ignored;

    if (exec_sql(db, "LOCK TABLE db_dbnode IN SHARE ROW EXCLUSIVE MODE", "lock 'db_dbnode'",
                 err) != 0)
        return -1;
    if (query_value(db, "SELECT pg_get_serial_sequence('db_dbnode', 'id')", 0, NULL,
                    "find the id sequence of 'db_dbnode'", seq, sizeof(seq), &null, err) != 0)
        return -1;
    if (null) {
        gen_error_set(err, "column 'db_dbnode.id' has no sequence");
        return -1;
    }
    if (query_int(db, "SELECT GREATEST((SELECT coalesce(max(id), 0) FROM db_dbnode), "
                      "coalesce(pg_sequence_last_value($1::regclass), 0))",
                  1, params, "read the last node id", &base, &null, err) != 0)
        return -1;
    if (base + count > INT32_MAX) {
        gen_error_set(err, "--nodes: %" PRId64 " more nodes would overflow 'db_dbnode.id'",
                      count);
        return -1;
    }
    *out_first = base + 1;
    if (count == 0)
        return 0;
    snprintf(last_text, sizeof(last_text), "%" PRId64, base + count);
    return query_int(db, "SELECT setval($1::regclass, $2::bigint)", 2, params,
                     "advance the id sequence", &ignored, &null, err);
}

int gen_db_insert_group(gen_db *db, const char *uuid, const char *label,
                        const char *type_string, int64_t user_id, int64_t *out_id,
                        gen_error *err)
{
    char user_text[32];
    const char *params[4] = {uuid, label, type_string, user_text};
    bool null;

    snprintf(user_text, sizeof(user_text), "%" PRId64, user_id);
    return query_int(db, "INSERT INTO db_dbgroup (uuid, label, type_string, time, description, "
                         "extras, user_id) VALUES ($1, $2, $3, now(), "
                         "'nodes generated by strata-genrepo', '{}', $4) RETURNING id",
                     4, params, "insert group", out_id, &null, err);
}

/* ---- COPY ------------------------------------------------------------ */

int gen_db_copy_begin(gen_db *db, const char *copy_sql, gen_error *err)
{
    PGresult *res = PQexec(db->conn, copy_sql);
    int rc = 0;

    if (PQresultStatus(res) != PGRES_COPY_IN) {
        set_result_error(db, res, "start COPY", err);
        rc = -1;
    }
    PQclear(res);
    return rc;
}

int gen_db_copy_put(gen_db *db, const char *data, size_t len, gen_error *err)
{
    while (len > 0) {
        const size_t chunk = len < (size_t)INT_MAX / 2 ? len : (size_t)INT_MAX / 2;

        if (PQputCopyData(db->conn, data, (int)chunk) != 1) {
            set_conn_error(db, "send COPY data", err);
            return -1;
        }
        data += chunk;
        len -= chunk;
    }
    return 0;
}

int gen_db_copy_end(gen_db *db, gen_error *err)
{
    PGresult *res;
    int rc = 0;

    if (PQputCopyEnd(db->conn, NULL) != 1) {
        set_conn_error(db, "end COPY", err);
        return -1;
    }
    while ((res = PQgetResult(db->conn)) != NULL) {
        if (rc == 0 && check_result(db, res, "COPY", err) != 0)
            rc = -1;
        PQclear(res);
    }
    return rc;
}

/* ---- AiiDA 2.x ---------------------------------------------------------- */

int gen_db_prepare_container(gen_db *db, const char *container_id, gen_error *err)
{
    static const char sql[] =
        "ALTER TABLE db_dbnode ADD COLUMN IF NOT EXISTS repository_metadata jsonb NOT NULL "
        "DEFAULT '{}';\n"
        "CREATE TABLE IF NOT EXISTS alembic_version (version_num varchar(32) PRIMARY KEY);\n"
        "INSERT INTO alembic_version SELECT 'main_0002' "
        "WHERE NOT EXISTS (SELECT 1 FROM alembic_version);\n"
        "UPDATE db_dbsetting SET val = '\"2\"' WHERE key = 'schema_generation';\n";
    const char *params[1] = {container_id};
    PGresult *res;
    int rc;

    if (exec_sql(db, sql, "add the AiiDA 2.x columns", err) != 0)
        return -1;
    res = PQexecParams(db->conn,
                       "INSERT INTO db_dbsetting (key, val, description, time) VALUES "
                       "('repository|uuid', to_jsonb($1::text), 'UUID of the file repository', "
                       "now()) ON CONFLICT (key) DO UPDATE SET val = EXCLUDED.val",
                       1, NULL, params, NULL, NULL, 0);
    rc = check_result(db, res, "set 'repository|uuid'", err);
    PQclear(res);
    return rc;
}
