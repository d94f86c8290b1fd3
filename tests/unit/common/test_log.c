/*
 * test_log.c - messages through the program's sink (common/log.h): which kinds reach it at
 * which verbosity, and nothing without a sink.
 */
#include "../testutil.h"
#include "tests.h"

#include "common/log.h"

typedef struct captured {
	int count;
	st_log_kind kinds[8];
	char messages[8][64];
	size_t lengths[8];
} captured;

static void capture(void *ctx, st_log_kind kind, const char *message)
{
	captured *c = ctx;
	if (c->count < 8) {
		c->kinds[c->count] = kind;
		snprintf(c->messages[c->count], sizeof c->messages[0], "%s", message);
		c->lengths[c->count] = strlen(message);
	}
	c->count++;
}

static void log_each(void)
{
	st_log_warn("warn %d", 1);
	st_log_note("note %s", "x");
	st_log_info("info");
	st_log_debug("debug");
}

static void test_normal_verbosity(void **state)
{
	(void)state;
	captured c = {0};
	st_log_set_sink(capture, &c);
	st_log_set_level(ST_LOG_NORMAL);
	log_each();
	st_log_set_sink(NULL, NULL);
	assert_int_equal(c.count, 2);
	assert_int_equal(c.kinds[0], ST_LOG_KIND_WARNING);
	assert_string_equal(c.messages[0], "warn 1");
	assert_int_equal(c.kinds[1], ST_LOG_KIND_NOTE);
	assert_string_equal(c.messages[1], "note x");
}

static void test_verbose_and_debug(void **state)
{
	(void)state;
	captured c = {0};
	st_log_set_sink(capture, &c);
	st_log_set_level(ST_LOG_VERBOSE);
	log_each();
	assert_int_equal(c.count, 3);
	assert_int_equal(c.kinds[2], ST_LOG_KIND_INFO);
	st_log_set_level(ST_LOG_DEBUG);
	assert_int_equal(st_log_get_level(), ST_LOG_DEBUG);
	log_each();
	assert_int_equal(c.count, 7);
	assert_int_equal(c.kinds[6], ST_LOG_KIND_DEBUG);
	assert_string_equal(c.messages[6], "debug");
	st_log_set_sink(NULL, NULL);
	st_log_set_level(ST_LOG_NORMAL);
}

static void test_no_sink_drops(void **state)
{
	(void)state;
	captured c = {0};
	st_log_set_sink(capture, &c);
	st_log_set_sink(NULL, NULL);
	log_each();
	assert_int_equal(c.count, 0);
}

static void test_long_message_is_cut(void **state)
{
	(void)state;
	captured c = {0};
	char long_text[ST_LOG_LINE_MAX * 2];
	memset(long_text, 'a', sizeof long_text - 1);
	long_text[sizeof long_text - 1] = '\0';
	st_log_set_sink(capture, &c);
	st_log_warn("%s", long_text);
	st_log_set_sink(NULL, NULL);
	assert_int_equal(c.count, 1);
	assert_int_equal(c.lengths[0], ST_LOG_LINE_MAX - 1);
}

int run_log_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normal_verbosity),
		cmocka_unit_test(test_verbose_and_debug),
		cmocka_unit_test(test_no_sink_drops),
		cmocka_unit_test(test_long_message_is_cut),
	};
	return cmocka_run_group_tests_name("common/log", tests, NULL, NULL);
}
