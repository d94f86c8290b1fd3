/*
 * db_info.c - the database facts of a snapshot as JSON (see db_info.h).
 */
#include "engine/db_info.h"

#include "common/error.h"
#include "common/json.h"
#include "common/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *db_info_to_json(const db_info *info)
{
	st_json *doc = st_json_object();
	st_json *tables = st_json_object();
	st_json_set_string(doc, "server_version", info->server_version ? info->server_version : "");
	st_json_set_string(doc, "pg_dump_version", info->pg_dump_version ? info->pg_dump_version : "");
	st_json_set_string(doc, "schema_version", info->schema_version);
	st_json_set_string(doc, "database", info->database ? info->database : "");
	st_json_set_int(doc, "size_bytes", info->size_bytes);
	for (size_t i = 0; i < info->table_count; i++) {
		char *name = st_sprintf("%s.%s", info->tables[i].schema, info->tables[i].table);
		st_json_set_int(tables, name, info->tables[i].rows);
		free(name);
	}
	st_json_set(doc, "tables", tables);
	char *text = st_json_dump(doc);
	st_json_free(doc);
	return text;
}

static char *string_field(const st_json *doc, const char *key)
{
	const char *value = st_json_string_value(st_json_get(doc, key));
	return value ? st_strdup(value) : NULL;
}

typedef struct table_reader {
	db_info *info;
	int64_t snapshot_id;
} table_reader;

static int add_table(void *ctx, const char *key, const st_json *value)
{
	table_reader *r = ctx;
	db_info *info = r->info;
	int64_t rows = 0;
	if (!st_json_int_value(value, &rows))
		return st_error_set(ST_ERR_CORRUPT, "database facts of snapshot %lld: the row count of '%s' is not an integer",
				    (long long)r->snapshot_id, key);
	pg_table_rows *t = &info->tables[info->table_count++];
	const char *dot = strchr(key, '.');
	t->schema = dot ? st_sprintf("%.*s", (int)(dot - key), key) : st_strdup("");
	t->table = st_strdup(dot ? dot + 1 : key);
	t->rows = rows;
	return 0;
}

/* Counts an object's members, for the one allocation of the table list. */
static int count_member(void *ctx, const char *key, const st_json *value)
{
	(void)key;
	(void)value;
	(*(size_t *)ctx)++;
	return 0;
}

int db_info_parse(db_info *out, const char *json, int64_t snapshot_id)
{
	memset(out, 0, sizeof *out);
	char what[64];
	snprintf(what, sizeof what, "database facts of snapshot %lld", (long long)snapshot_id);
	st_json *doc = NULL;
	int rc = st_json_parse(&doc, json ? json : "", what);
	if (rc != 0)
		return rc;
	out->server_version = string_field(doc, "server_version");
	out->pg_dump_version = string_field(doc, "pg_dump_version");
	out->schema_version = string_field(doc, "schema_version");
	out->database = string_field(doc, "database");
	st_json_int_value(st_json_get(doc, "size_bytes"), &out->size_bytes);
	const st_json *tables = st_json_get(doc, "tables");
	size_t count = 0;
	st_json_each(tables, count_member, &count);
	out->tables = st_calloc(count ? count : 1, sizeof *out->tables);
	table_reader reader = {.info = out, .snapshot_id = snapshot_id};
	rc = st_json_each(tables, add_table, &reader);
	st_json_free(doc);
	if (rc != 0)
		db_info_release(out);
	return rc;
}

void db_info_release(db_info *info)
{
	free(info->server_version);
	free(info->pg_dump_version);
	free(info->schema_version);
	free(info->database);
	pg_table_rows_free(info->tables, info->table_count);
	memset(info, 0, sizeof *info);
}

void db_info_schema_version(char *out, size_t cap, const char *json)
{
	db_info info;
	out[0] = '\0';
	if (json == NULL)
		return;
	st_error saved;
	st_error_save(&saved);
	if (db_info_parse(&info, json, 0) == 0) {
		snprintf(out, cap, "%s", info.schema_version ? info.schema_version : "");
		db_info_release(&info);
	}
	st_error_restore(&saved);
}
