/*
 * test_db_info.c - the database facts of a snapshot (engine/db_info.h): the JSON the catalog
 * keeps, names escaped, read back field by field, and refused when damaged.
 */
#include "../testutil.h"

#include "engine/db_info.h"

#include "common/mem.h"

int run_db_info_tests(void);

static void test_round_trip(void **state)
{
	(void)state;
	/* -Wwrite-strings: the structs hold char *, so the test's strings live in arrays. */
	char public_[] = "public", node[] = "db_dbnode", weird[] = "we\"ird\\name", dotted[] = "my.schema", t[] = "t";
	char server[] = "15.4", dump[] = "15.5", schema[] = "main_0002", database[] = "aiida \"prod\"";
	pg_table_rows tables[] = {
		{.schema = public_, .table = node, .rows = 12},
		{.schema = public_, .table = weird, .rows = 0},
		{.schema = dotted, .table = t, .rows = 5},
	};
	db_info info = {.server_version = server, .pg_dump_version = dump, .schema_version = schema,
			.database = database, .size_bytes = 123456, .tables = tables, .table_count = 3};
	char *json = db_info_to_json(&info);
	assert_string_equal(json, "{\"server_version\": \"15.4\", \"pg_dump_version\": \"15.5\", \"schema_version\": "
				  "\"main_0002\", \"database\": \"aiida \\\"prod\\\"\", \"size_bytes\": 123456, \"tables\": "
				  "{\"public.db_dbnode\": 12, \"public.we\\\"ird\\\\name\": 0, \"my.schema.t\": 5}}");
	db_info back;
	assert_int_equal(db_info_parse(&back, json, 7), 0);
	assert_string_equal(back.server_version, "15.4");
	assert_string_equal(back.pg_dump_version, "15.5");
	assert_string_equal(back.schema_version, "main_0002");
	assert_string_equal(back.database, "aiida \"prod\"");
	assert_int_equal(back.size_bytes, 123456);
	assert_int_equal(back.table_count, 3);
	assert_string_equal(back.tables[1].schema, "public");
	assert_string_equal(back.tables[1].table, "we\"ird\\name");
	assert_int_equal(back.tables[0].rows, 12);
	/* A schema with a '.' cannot be told apart from its table: the first '.' splits. */
	assert_string_equal(back.tables[2].schema, "my");
	assert_string_equal(back.tables[2].table, "schema.t");
	db_info_release(&back);
	char version[32];
	db_info_schema_version(version, sizeof version, json);
	assert_string_equal(version, "main_0002");
	free(json);
}

static void test_no_schema_version(void **state)
{
	(void)state;
	char version_text[] = "16.1", name[] = "d";
	db_info info = {.server_version = version_text, .pg_dump_version = version_text, .database = name};
	char *json = db_info_to_json(&info);
	assert_non_null(strstr(json, "\"schema_version\": null"));
	assert_non_null(strstr(json, "\"tables\": {}"));
	db_info back;
	assert_int_equal(db_info_parse(&back, json, 1), 0);
	assert_null(back.schema_version);
	assert_int_equal(back.table_count, 0);
	db_info_release(&back);
	char version[32] = "x";
	db_info_schema_version(version, sizeof version, json);
	assert_string_equal(version, "");
	db_info_schema_version(version, sizeof version, NULL);
	assert_string_equal(version, "");
	free(json);
}

static void test_damaged(void **state)
{
	(void)state;
	db_info back;
	st_error_clear();
	assert_int_equal(db_info_parse(&back, "{\"tables\": {\"public.a\": ", 4), ST_ERR_CORRUPT);
	assert_non_null(strstr(st_error_message(), "snapshot 4"));
	assert_int_equal(db_info_parse(&back, "{\"tables\": {\"public.a\": 1, \"public.b\": \"x\"}}", 5), ST_ERR_CORRUPT);
	assert_non_null(strstr(st_error_message(), "'public.b'"));
	/* db_info_schema_version reads what it can and leaves the error record alone. */
	st_error_clear();
	char version[32] = "x";
	db_info_schema_version(version, sizeof version, "not json");
	assert_string_equal(version, "");
	assert_int_equal(st_error_code(), ST_OK);
}

int run_db_info_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_no_schema_version),
		cmocka_unit_test(test_damaged),
	};
	return cmocka_run_group_tests_name("engine/db_info", tests, NULL, NULL);
}
