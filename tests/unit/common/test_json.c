/*
 * test_json.c - JSON documents through jansson (common/json.h): the exact one-line shape the
 * --json outputs have, escaping of names, repair of bytes that are not UTF-8, and reading back.
 */
#include "../testutil.h"
#include "tests.h"

#include "common/json.h"

static void test_dump_keeps_order_and_shape(void **state)
{
	(void)state;
	st_json *doc = st_json_object();
	st_json_set_int(doc, "snapshot", 3);
	st_json_set_string(doc, "name", "db");
	st_json_set_bool(doc, "verified", true);
	st_json_set_bool(doc, "resumed", false);
	st_json_set_real(doc, "seconds", 1.25);
	st_json_set_string(doc, "schema_version", NULL);
	st_json *inner = st_json_object();
	st_json_set_int(inner, "rows", -7);
	st_json_set(doc, "database", inner);
	st_json_set(doc, "none", NULL);
	char *text = st_json_dump(doc);
	assert_string_equal(text, "{\"snapshot\": 3, \"name\": \"db\", \"verified\": true, \"resumed\": false,"
				  " \"seconds\": 1.25, \"schema_version\": null, \"database\": {\"rows\": -7},"
				  " \"none\": null}");
	free(text);
	st_json_free(doc);
}

static void test_arrays(void **state)
{
	(void)state;
	st_json *doc = st_json_object();
	st_json *list = st_json_array();
	for (int i = 1; i <= 2; i++) {
		st_json *item = st_json_object();
		st_json_set_int(item, "id", i);
		st_json_append(list, item);
	}
	st_json_append(list, NULL);
	st_json_set(doc, "snapshots", list);
	st_json_set(doc, "empty", st_json_array());
	st_json *problems = st_json_array();
	st_json_append_string(problems, "pack 'x' is missing");
	st_json_append_string(problems, "bad \xff byte");
	st_json_append_string(problems, NULL);
	st_json_set(doc, "problems", problems);
	char *text = st_json_dump(doc);
	assert_string_equal(text, "{\"snapshots\": [{\"id\": 1}, {\"id\": 2}, null], \"empty\": [],"
				  " \"problems\": [\"pack 'x' is missing\", \"bad ? byte\", null]}");
	free(text);
	st_json_free(doc);
}

static void test_names_are_escaped(void **state)
{
	(void)state;
	st_json *doc = st_json_object();
	st_json_set_int(doc, "public.we\"ird\\table\n", 1);
	st_json_set_string(doc, "path", "a\tb\x01\"c");
	char *text = st_json_dump(doc);
	assert_string_equal(text, "{\"public.we\\\"ird\\\\table\\n\": 1, \"path\": \"a\\tb\\u0001\\\"c\"}");
	/* What is written reads back to the same names. */
	st_json *back = NULL;
	assert_int_equal(st_json_parse(&back, text, "test"), 0);
	int64_t n = 0;
	assert_true(st_json_int_value(st_json_get(back, "public.we\"ird\\table\n"), &n));
	assert_int_equal(n, 1);
	assert_string_equal(st_json_string_value(st_json_get(back, "path")), "a\tb\x01\"c");
	st_json_free(back);
	free(text);
	st_json_free(doc);
}

static void test_invalid_utf8_is_repaired(void **state)
{
	(void)state;
	st_json *doc = st_json_object();
	/* é is valid UTF-8 and stays; a lone 0xff, a truncated sequence and an overlong '/' do not. */
	st_json_set_string(doc, "v", "caf\xc3\xa9 \xff x\xe2\x82 \xc0\xaf");
	st_json_set_int(doc, "k\xfe", 2);
	char *text = st_json_dump(doc);
	assert_string_equal(text, "{\"v\": \"caf\xc3\xa9 ? x?? ??\", \"k?\": 2}");
	free(text);
	st_json_free(doc);
}

static void test_real_precision(void **state)
{
	(void)state;
	st_json *doc = st_json_object();
	st_json_set_real(doc, "a", 0.1 + 0.2);
	st_json_set_real(doc, "b", 12.0);
	char *text = st_json_dump(doc);
	assert_string_equal(text, "{\"a\": 0.3, \"b\": 12.0}");
	free(text);
	st_json_free(doc);
}

typedef struct seen {
	char keys[4][16];
	int64_t values[4];
	int count;
	int stop_at;
} seen;

static int collect(void *ctx, const char *key, const st_json *value)
{
	seen *s = ctx;
	snprintf(s->keys[s->count], sizeof s->keys[0], "%s", key);
	if (!st_json_int_value(value, &s->values[s->count]))
		s->values[s->count] = -1;
	s->count++;
	return s->count == s->stop_at ? 42 : 0;
}

static void test_parse_and_read(void **state)
{
	(void)state;
	st_json *doc = NULL;
	assert_int_equal(st_json_parse(&doc, "{\"server_version\": \"15.4\", \"size\": 12, \"schema\": null,"
					     " \"tables\": {\"public.b\": 2, \"public.a\": 1, \"x\": \"y\"}}", "facts"), 0);
	assert_string_equal(st_json_string_value(st_json_get(doc, "server_version")), "15.4");
	assert_null(st_json_string_value(st_json_get(doc, "schema")));
	assert_null(st_json_string_value(st_json_get(doc, "size")));
	assert_null(st_json_get(doc, "absent"));
	assert_null(st_json_get(st_json_get(doc, "size"), "x"));
	int64_t n = 0;
	assert_false(st_json_int_value(st_json_get(doc, "server_version"), &n));
	assert_false(st_json_int_value(NULL, &n));
	bool b = false;
	assert_false(st_json_bool_value(st_json_get(doc, "size"), &b));
	assert_false(st_json_bool_value(NULL, &b));
	st_json *flags = NULL;
	assert_int_equal(st_json_parse(&flags, "{\"yes\": true, \"no\": false}", "flags"), 0);
	assert_true(st_json_bool_value(st_json_get(flags, "yes"), &b) && b);
	assert_true(st_json_bool_value(st_json_get(flags, "no"), &b) && !b);
	st_json_free(flags);
	seen s = {.stop_at = 0};
	assert_int_equal(st_json_each(st_json_get(doc, "tables"), collect, &s), 0);
	assert_int_equal(s.count, 3);
	assert_string_equal(s.keys[0], "public.b");
	assert_int_equal(s.values[0], 2);
	assert_string_equal(s.keys[1], "public.a");
	assert_int_equal(s.values[2], -1);
	seen stop = {.stop_at = 2};
	assert_int_equal(st_json_each(st_json_get(doc, "tables"), collect, &stop), 42);
	assert_int_equal(stop.count, 2);
	assert_int_equal(st_json_each(st_json_get(doc, "size"), collect, &stop), 0);
	st_json_free(doc);
}

static void test_parse_refuses_garbage(void **state)
{
	(void)state;
	st_json *doc = NULL;
	assert_int_equal(st_json_parse(&doc, "{\"a\": ", "database facts of snapshot 3"), ST_ERR_CORRUPT);
	assert_non_null(strstr(st_error_message(), "database facts of snapshot 3 is not valid JSON"));
	assert_null(doc);
	st_error_clear();
}

static void test_print(void **state)
{
	(void)state;
	char dir[TU_PATH_MAX], path[TU_PATH_MAX + 16];
	tu_mkdtemp(dir);
	snprintf(path, sizeof path, "%s/out.json", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	st_json *doc = st_json_object();
	st_json_set_int(doc, "a", 1);
	assert_int_equal(st_json_print(f, doc), 0);
	fclose(f);
	st_json_free(doc);
	char text[64] = {0};
	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(fread(text, 1, sizeof text - 1, f) > 0);
	fclose(f);
	assert_string_equal(text, "{\"a\": 1}\n");
	unlink(path);
	rmdir(dir);
}

static void test_print_failure(void **state)
{
	(void)state;
	/* /dev/full takes nothing: the write fails with ENOSPC, which is ST_ERR_NOSPACE. */
	FILE *f = fopen("/dev/full", "w");
	if (f == NULL)
		skip();
	st_json *doc = st_json_object();
	st_json_set_int(doc, "a", 1);
	assert_int_equal(st_json_print(f, doc), ST_ERR_NOSPACE);
	assert_non_null(strstr(st_error_message(), "unable to write a JSON document"));
	st_error_clear();
	/* A document written piece by piece, larger than the stdio buffer. */
	clearerr(f);
	st_json_writer *w = st_json_writer_begin(f, "the manifest");
	st_json_writer_array_begin(w, "items");
	for (int i = 0; i < 10000; i++)
		st_json_writer_element(w, st_json_copy(doc));
	st_json_writer_array_end(w);
	assert_int_equal(st_json_writer_end(w), ST_ERR_NOSPACE);
	assert_non_null(strstr(st_error_message(), "unable to write 'the manifest'"));
	fclose(f);
	st_json_free(doc);
	st_error_clear();
}

/* The text written piece by piece is the text st_json_dump gives for the same document. */
static void test_writer_matches_dump(void **state)
{
	(void)state;
	st_json *doc = st_json_object();
	st_json_set_string(doc, "format", "x \xff\"y\"");
	st_json *inner = st_json_object();
	st_json_set_int(inner, "id", 3);
	st_json_set(doc, "inner", inner);
	st_json_set(doc, "none", NULL);
	st_json *empty = st_json_array();
	st_json_set(doc, "empty", empty);
	st_json *items = st_json_array();
	for (int i = 0; i < 3; i++) {
		st_json *o = st_json_object();
		st_json_set_int(o, "i", i);
		st_json_set_string(o, "path", "a/b");
		st_json_append(items, o);
	}
	st_json_set(doc, "items", items);
	char *expected = st_json_dump(doc);

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	st_json_writer *w = st_json_writer_begin(f, "test document");
	st_json_writer_member(w, "format", st_json_string("x \xff\"y\""));
	st_json_writer_member(w, "inner", st_json_copy(inner));
	st_json_writer_member(w, "none", NULL);
	st_json_writer_array_begin(w, "empty");
	st_json_writer_array_end(w);
	st_json_writer_array_begin(w, "items");
	for (size_t i = 0; i < 3; i++)
		st_json_writer_element(w, st_json_copy(st_json_array_get(items, i)));
	st_json_writer_array_end(w);
	assert_int_equal(st_json_writer_end(w), 0);
	fclose(f);
	assert_string_equal(text, expected);
	free(text);
	free(expected);
	st_json_free(doc);

	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(st_json_writer_end(st_json_writer_begin(f, "empty document")), 0);
	fclose(f);
	assert_string_equal(text, "{}");
	free(text);
}

int run_json_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump_keeps_order_and_shape),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_names_are_escaped),
		cmocka_unit_test(test_invalid_utf8_is_repaired),
		cmocka_unit_test(test_real_precision),
		cmocka_unit_test(test_parse_and_read),
		cmocka_unit_test(test_parse_refuses_garbage),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_print_failure),
		cmocka_unit_test(test_writer_matches_dump),
	};
	return cmocka_run_group_tests_name("common/json", tests, NULL, NULL);
}
