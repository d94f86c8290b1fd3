/*
 * container_refs.c - the references of an AiiDA 2.x database checked against a container (see
 * container_refs.h).
 *
 * PostgreSQL extracts the keys itself (jsonb_path_query over the whole tree, distinct per node),
 * so nothing here parses a tree: rows of (node uuid, key) arrive in node order, a batch at a
 * time through a cursor.
 */
#include "scanner/container_refs.h"

#include "common/error.h"
#include "common/mem.h"
#include "scanner/container_format.h"
#include "scanner/pg_session_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows fetched per round trip. */
#define REFS_BATCH 10000

/* Every file key of every node's tree, once per node: a folder named "k" is an object, not a
 * string, so only file entries match. */
#define REFS_QUERY                                                                                  \
	"DECLARE strata_refs NO SCROLL CURSOR FOR SELECT n.uuid::text, r.k FROM db_dbnode n"          \
	" CROSS JOIN LATERAL (SELECT DISTINCT v #>> '{}' AS k FROM jsonb_path_query(n.repository_metadata," \
	" 'strict $.**.k ? (@.type() == \"string\")') AS v) r ORDER BY n.id, r.k"

typedef struct refs_check {
	const char *dir;
	container_config config;
	container_index *index;
	container_refs_missing_fn on_missing;
	void *ctx;
	container_refs_result *out;
} refs_check;

static int holds(refs_check *c, const char *key, bool *out)
{
	uint64_t size = 0;
	container_object obj;
	*out = false;
	if (!container_key_valid(key))
		return 0;
	int rc = container_loose_stat(c->dir, &c->config, key, out, &size);
	if (rc == 0 && !*out)
		rc = container_index_find(c->index, key, &obj, out);
	return rc;
}

static int check_one(refs_check *c, const char *uuid, const char *key)
{
	bool found = false;
	c->out->keys++;
	int rc = holds(c, key, &found);
	if (rc != 0 || found)
		return rc;
	rc = c->on_missing(c->ctx, uuid, key, &found);
	if (rc == 0 && found)
		c->out->resolved++;
	else if (rc == 0)
		c->out->missing++;
	return rc;
}

static int check_batch(refs_check *c, pg_session *s, bool *out_done)
{
	PGresult *res = NULL;
	char sql[64];
	snprintf(sql, sizeof sql, "FETCH %d FROM strata_refs", REFS_BATCH);
	int rc = pg_session_exec_status(s, sql, PGRES_TUPLES_OK, &res);
	if (rc != 0)
		return rc;
	int rows = PQntuples(res);
	for (int i = 0; i < rows && rc == 0; i++)
		rc = check_one(c, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
	*out_done = rows == 0;
	PQclear(res);
	return rc;
}

static int check_all(refs_check *c, pg_session *s)
{
	int rc = pg_session_exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (rc == 0)
		rc = pg_session_exec(s, REFS_QUERY);
	bool done = false;
	while (rc == 0 && !done)
		rc = check_batch(c, s, &done);
	if (rc == 0)
		rc = pg_session_exec(s, "COMMIT");
	return rc;
}

int container_refs_check(const char *dsn, const char *dir, container_refs_missing_fn on_missing, void *ctx,
			 container_refs_result *out)
{
	refs_check c = {.dir = dir, .on_missing = on_missing, .ctx = ctx, .out = out};
	pg_session *s = NULL;
	char *text = NULL;
	memset(out, 0, sizeof *out);
	int rc = container_config_read(&c.config, &text, dir);
	if (rc == 0)
		rc = container_index_open(&c.index, dir);
	if (rc == 0)
		rc = pg_session_open(&s, dsn, NULL);
	if (rc == 0)
		rc = check_all(&c, s);
	pg_session_close(s);
	container_index_close(c.index);
	free(text);
	return rc;
}
