/*
 * pg_session.h - a PostgreSQL connection for strata: the source database and restore targets.
 *
 * The libpq wrapper of the scanner module (source_db.c builds on it). Error messages name the
 * database, host and port, never a password. DSN helpers split a connection string so that a
 * child process (pg_dump, pg_restore) gets the password through its environment, never on its
 * command line.
 */
#ifndef STRATA_SCANNER_PG_SESSION_H
#define STRATA_SCANNER_PG_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sizes of the short texts the server reports, terminator included. */
#define PG_VERSION_MAX 32       /* "15.18", of a server or of pg_dump */
#define PG_NAME_MAX 128         /* a database name (the server's limit is 63 bytes) */
#define PG_SNAPSHOT_ID_MAX 64   /* what pg_export_snapshot() returns */
#define PG_SYSTEM_ID_MAX 32     /* a cluster's system identifier, in decimal */

typedef struct pg_session pg_session;

/* Connects with dsn; with dbname non-NULL, to that database instead of the DSN's. Failures
 * are ST_ERR_DATABASE ("unable to connect to database 'x' at 'host:port': ..."). */
int pg_session_open(pg_session **out, const char *dsn, const char *dbname);
void pg_session_close(pg_session *s);

const char *pg_session_dbname(const pg_session *s);

/* Runs sql, discarding any rows. */
int pg_session_exec(pg_session *s, const char *sql);

/* The first column of the first row as a new string (caller frees); *out is NULL when there
 * is no row or the value is NULL. */
int pg_session_query_text(pg_session *s, const char *sql, char **out);

/* The server's major version (e.g. 15). */
int pg_session_server_major(pg_session *s);

/* The row count of one table. */
typedef struct pg_table_rows {
	char *schema;
	char *table;
	int64_t rows;
} pg_table_rows;

/* The row count of every ordinary table outside the system schemas, ordered by schema and
 * table (free with pg_table_rows_free). */
int pg_session_table_counts(pg_session *s, pg_table_rows **out, size_t *out_count);
void pg_table_rows_free(pg_table_rows *rows, size_t count);

/* The AiiDA schema version: alembic_version.version_num when that table exists, else
 * db_dbsetting 'db|schemaversion'; NULL when neither exists. */
int pg_session_schema_version(pg_session *s, char **out);

/* Number of ordinary tables outside the system schemas. */
int pg_session_count_tables(pg_session *s, int64_t *out);

/* Splits dsn into a DSN without password (caller frees), the password (NULL when none; caller
 * frees) and the database name it names (NULL when none; caller frees). */
int pg_dsn_split(const char *dsn, char **out_dsn, char **out_password, char **out_dbname);

/* Checks dsn without connecting: keyword=value pairs libpq knows, a postgresql:// URI, or a
 * bare database name (as libpq reads one). Anything else is ST_ERR_USAGE. */
int pg_dsn_check(const char *dsn);

/* The connection settings of a DSN, libpq's defaults (environment) filled in where it has
 * none; each NULL when unknown. Release with pg_dsn_parts_release (which wipes the password). */
typedef struct pg_dsn_parts {
	char *host;
	char *port;
	char *user;
	char *password;
	char *dbname;
} pg_dsn_parts;

int pg_dsn_parts_get(const char *dsn, pg_dsn_parts *out);
void pg_dsn_parts_release(pg_dsn_parts *parts);

/* dsn with its database replaced by dbname (caller frees). */
int pg_dsn_with_dbname(const char *dsn, const char *dbname, char **out);

/* The database name a DSN resolves to (libpq defaults applied); caller frees. */
int pg_dsn_dbname(const char *dsn, char **out);

/* Quotes an identifier or a string literal for SQL (caller frees). */
char *pg_quote_identifier(pg_session *s, const char *name);
char *pg_quote_literal(pg_session *s, const char *text);

#endif
