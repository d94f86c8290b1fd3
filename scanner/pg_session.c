/*
 * pg_session.c - PostgreSQL connections and DSN helpers (see pg_session.h).
 */
#include "scanner/pg_session_internal.h"

#include "common/error.h"
#include "common/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pg_session {
	PGconn *conn;
};

const char *pg_first_line(const char *message, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", message ? message : "");
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

PGconn *pg_session_conn(pg_session *s)
{
	return s->conn;
}

const char *pg_session_dbname(const pg_session *s)
{
	return PQdb(s->conn);
}

/* Connection keywords and values of dsn, with overrides; PQconnectdbParams takes them. */
static int connect_params(PGconn **out, const char *dsn, const char *dbname)
{
	const char *keys[] = {"dbname", "dbname", NULL};
	const char *values[] = {dsn, dbname, NULL};
	/* expand_dbname=1 expands the first dbname as a connection string; the second, when
	 * given, overrides the database it names. */
	if (dbname == NULL)
		keys[1] = NULL;
	*out = PQconnectdbParams(keys, values, 1);
	return *out == NULL ? st_error_set(ST_ERR_DATABASE, "unable to connect: out of memory") : 0;
}

/* Server notices (warnings) are not strata's output: each failure is reported once, by us. */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

int pg_session_open(pg_session **out, const char *dsn, const char *dbname)
{
	pg_session *s = st_calloc(1, sizeof *s);
	char line[PG_LINE_MAX];
	int rc = connect_params(&s->conn, dsn, dbname);
	if (rc == 0 && PQstatus(s->conn) != CONNECTION_OK) {
		const char *host = PQhost(s->conn), *port = PQport(s->conn), *name = PQdb(s->conn);
		rc = st_error_set(ST_ERR_DATABASE, "unable to connect to database '%s' at '%s:%s': %s", name ? name : "",
				  host ? host : "", port ? port : "", pg_first_line(PQerrorMessage(s->conn), line, sizeof line));
	}
	if (rc == 0) {
		PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
		rc = pg_session_exec(s, "SET application_name = 'strata'");
	}
	if (rc != 0) {
		pg_session_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void pg_session_close(pg_session *s)
{
	if (s == NULL)
		return;
	PQfinish(s->conn);
	free(s);
}

int pg_session_exec_status(pg_session *s, const char *sql, ExecStatusType expected, PGresult **out)
{
	PGresult *res = PQexec(s->conn, sql);
	if (PQresultStatus(res) != expected) {
		char line[PG_LINE_MAX];
		int rc = st_error_set(ST_ERR_DATABASE, "query failed on database '%s': %s", PQdb(s->conn),
				      pg_first_line(PQresultErrorMessage(res), line, sizeof line));
		PQclear(res);
		return rc;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return 0;
}

int pg_session_exec(pg_session *s, const char *sql)
{
	PGresult *res = PQexec(s->conn, sql);
	ExecStatusType status = PQresultStatus(res);
	int rc = 0;
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
		char line[PG_LINE_MAX];
		rc = st_error_set(ST_ERR_DATABASE, "query failed on database '%s': %s", PQdb(s->conn),
				  pg_first_line(PQresultErrorMessage(res), line, sizeof line));
	}
	PQclear(res);
	return rc;
}

int pg_session_query_text(pg_session *s, const char *sql, char **out)
{
	PGresult *res = NULL;
	*out = NULL;
	int rc = pg_session_exec_status(s, sql, PGRES_TUPLES_OK, &res);
	if (rc != 0)
		return rc;
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		*out = st_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int pg_session_server_major(pg_session *s)
{
	return PQserverVersion(s->conn) / 10000;
}

#define USER_TABLES                                                                           \
	" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')" \
	" AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"

int pg_session_count_tables(pg_session *s, int64_t *out)
{
	char *text = NULL;
	int rc = pg_session_query_text(s, "SELECT count(*)" USER_TABLES, &text);
	if (rc == 0)
		*out = text ? strtoll(text, NULL, 10) : 0;
	free(text);
	return rc;
}

int pg_session_table_counts(pg_session *s, pg_table_rows **out, size_t *out_count)
{
	PGresult *tables = NULL;
	int rc = pg_session_exec_status(s, "SELECT n.nspname, c.relname" USER_TABLES " ORDER BY 1, 2",
					PGRES_TUPLES_OK, &tables);
	if (rc != 0)
		return rc;
	size_t count = (size_t)PQntuples(tables);
	pg_table_rows *rows = st_calloc(count ? count : 1, sizeof *rows);
	for (size_t i = 0; i < count && rc == 0; i++) {
		rows[i].schema = st_strdup(PQgetvalue(tables, (int)i, 0));
		rows[i].table = st_strdup(PQgetvalue(tables, (int)i, 1));
		char *schema = pg_quote_identifier(s, rows[i].schema);
		char *table = pg_quote_identifier(s, rows[i].table);
		char *sql = st_sprintf("SELECT count(*) FROM %s.%s", schema, table);
		char *text = NULL;
		rc = pg_session_query_text(s, sql, &text);
		rows[i].rows = text ? strtoll(text, NULL, 10) : 0;
		free(text);
		free(sql);
		free(schema);
		free(table);
	}
	PQclear(tables);
	if (rc != 0) {
		pg_table_rows_free(rows, count);
		return rc;
	}
	*out = rows;
	*out_count = count;
	return 0;
}

void pg_table_rows_free(pg_table_rows *rows, size_t count)
{
	for (size_t i = 0; rows != NULL && i < count; i++) {
		free(rows[i].schema);
		free(rows[i].table);
	}
	free(rows);
}

int pg_session_schema_version(pg_session *s, char **out)
{
	char *has_alembic = NULL, *has_setting = NULL;
	*out = NULL;
	int rc = pg_session_query_text(s, "SELECT to_regclass('alembic_version') IS NOT NULL", &has_alembic);
	if (rc == 0)
		rc = pg_session_query_text(s, "SELECT to_regclass('db_dbsetting') IS NOT NULL", &has_setting);
	if (rc == 0 && has_alembic && strcmp(has_alembic, "t") == 0)
		rc = pg_session_query_text(s, "SELECT version_num FROM alembic_version LIMIT 1", out);
	if (rc == 0 && *out == NULL && has_setting && strcmp(has_setting, "t") == 0)
		rc = pg_session_query_text(s, "SELECT val #>> '{}' FROM db_dbsetting WHERE key = 'db|schemaversion'", out);
	free(has_alembic);
	free(has_setting);
	return rc;
}

char *pg_quote_identifier(pg_session *s, const char *name)
{
	char *quoted = PQescapeIdentifier(s->conn, name, strlen(name));
	char *copy = st_strdup(quoted ? quoted : "\"\"");
	PQfreemem(quoted);
	return copy;
}

char *pg_quote_literal(pg_session *s, const char *text)
{
	char *quoted = PQescapeLiteral(s->conn, text, strlen(text));
	char *copy = st_strdup(quoted ? quoted : "''");
	PQfreemem(quoted);
	return copy;
}

/* Appends "key='value'" (escaped) to buf. */
static void append_pair(char **buf, size_t *len, const char *key, const char *value)
{
	size_t need = strlen(key) + 2 * strlen(value) + 6;
	*buf = st_realloc(*buf, *len + need);
	char *p = *buf + *len;
	p += sprintf(p, "%s%s='", *len ? " " : "", key);
	for (const char *c = value; *c; c++) {
		if (*c == '\'' || *c == '\\')
			*p++ = '\\';
		*p++ = *c;
	}
	*p++ = '\'';
	*p = '\0';
	*len = (size_t)(p - *buf);
}

/* As libpq connects (expand_dbname), a DSN without '=' that is not a URI is a database name. */
static bool is_plain_database_name(const char *dsn)
{
	return strchr(dsn, '=') == NULL && strncmp(dsn, "postgresql://", 13) != 0 && strncmp(dsn, "postgres://", 11) != 0;
}

/* Rebuilds dsn as key='value' pairs, replacing the password and dbname as asked. */
static int rebuild(const char *dsn, bool drop_password, const char *dbname, char **out_dsn, char **out_password,
		   char **out_dbname)
{
	char *error = NULL;
	char *named = NULL;
	size_t named_len = 0;
	if (is_plain_database_name(dsn)) {
		append_pair(&named, &named_len, "dbname", dsn);
		dsn = named;
	}
	PQconninfoOption *options = PQconninfoParse(dsn, &error);
	free(named);
	if (options == NULL) {
		char line[PG_LINE_MAX];
		int rc = st_error_set(ST_ERR_USAGE, "invalid connection string: %s",
				      pg_first_line(error ? error : "out of memory", line, sizeof line));
		PQfreemem(error);
		return rc;
	}
	char *buf = st_strdup("");
	size_t len = 0;
	for (PQconninfoOption *o = options; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL) {
			if (out_password)
				*out_password = st_strdup(o->val);
			if (drop_password)
				continue;
		}
		if (strcmp(o->keyword, "dbname") == 0) {
			if (out_dbname && o->val)
				*out_dbname = st_strdup(o->val);
			if (dbname != NULL)
				continue;
		}
		if (o->val != NULL && o->val[0] != '\0')
			append_pair(&buf, &len, o->keyword, o->val);
	}
	if (dbname != NULL)
		append_pair(&buf, &len, "dbname", dbname);
	PQconninfoFree(options);
	*out_dsn = buf;
	return 0;
}

int pg_dsn_split(const char *dsn, char **out_dsn, char **out_password, char **out_dbname)
{
	*out_password = NULL;
	*out_dbname = NULL;
	return rebuild(dsn, true, NULL, out_dsn, out_password, out_dbname);
}

int pg_dsn_check(const char *dsn)
{
	char *rebuilt = NULL;
	int rc = rebuild(dsn, false, NULL, &rebuilt, NULL, NULL);
	free(rebuilt);
	return rc;
}

int pg_dsn_with_dbname(const char *dsn, const char *dbname, char **out)
{
	return rebuild(dsn, false, dbname, out, NULL, NULL);
}

int pg_dsn_dbname(const char *dsn, char **out)
{
	char *rebuilt = NULL, *name = NULL;
	int rc = rebuild(dsn, false, NULL, &rebuilt, NULL, &name);
	free(rebuilt);
	if (rc != 0)
		return rc;
	if (name == NULL) {
		/* libpq's default: PGDATABASE, else the user name. */
		const char *env = getenv("PGDATABASE");
		if (env == NULL || *env == '\0') {
			char *user_dsn = NULL;
			PQconninfoOption *defaults = PQconninfoParse(dsn, NULL);
			for (PQconninfoOption *o = defaults; o && o->keyword; o++)
				if (strcmp(o->keyword, "user") == 0 && o->val)
					user_dsn = st_strdup(o->val);
			PQconninfoFree(defaults);
			if (user_dsn == NULL) {
				const char *user = getenv("PGUSER");
				user_dsn = st_strdup(user && *user ? user : (getenv("USER") ? getenv("USER") : "postgres"));
			}
			name = user_dsn;
		} else {
			name = st_strdup(env);
		}
	}
	*out = name;
	return 0;
}

static char *conninfo_value(const PQconninfoOption *options, const char *keyword)
{
	for (const PQconninfoOption *o = options; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, keyword) == 0 && o->val != NULL && o->val[0] != '\0')
			return st_strdup(o->val);
	return NULL;
}

int pg_dsn_parts_get(const char *dsn, pg_dsn_parts *out)
{
	memset(out, 0, sizeof *out);
	char *rebuilt = NULL;
	/* The rebuilt form also reads a bare database name, as libpq does. */
	int rc = rebuild(dsn, false, NULL, &rebuilt, NULL, NULL);
	if (rc != 0)
		return rc;
	PQconninfoOption *given = PQconninfoParse(rebuilt, NULL);
	PQconninfoOption *defaults = PQconndefaults();
	char **fields[] = {&out->host, &out->port, &out->user, &out->password, &out->dbname};
	static const char *const keys[] = {"host", "port", "user", "password", "dbname"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		*fields[i] = conninfo_value(given, keys[i]);
		if (*fields[i] == NULL && strcmp(keys[i], "password") != 0)
			*fields[i] = conninfo_value(defaults, keys[i]);
	}
	if (out->dbname == NULL && out->user != NULL)
		out->dbname = st_strdup(out->user);
	PQconninfoFree(given);
	PQconninfoFree(defaults);
	free(rebuilt);
	return 0;
}

void pg_dsn_parts_release(pg_dsn_parts *parts)
{
	if (parts->password != NULL)
		memset(parts->password, 0, strlen(parts->password));
	free(parts->host);
	free(parts->port);
	free(parts->user);
	free(parts->password);
	free(parts->dbname);
	memset(parts, 0, sizeof *parts);
}
