/*
 * test_error.c - the per-thread error record and the code tables (common/error.h).
 */
#include "../testutil.h"
#include "tests.h"

#include "common/error.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

static void test_set_returns_code_and_formats(void **state)
{
	(void)state;
	st_error_clear();
	assert_int_equal(st_error_code(), ST_OK);
	assert_string_equal(st_error_message(), "");

	int rc = st_error_set(ST_ERR_SOURCE, "unable to open '%s': %d", "x", 42);
	assert_int_equal(rc, ST_ERR_SOURCE);
	assert_int_equal(st_error_code(), ST_ERR_SOURCE);
	assert_string_equal(st_error_message(), "unable to open 'x': 42");

	/* A second set replaces the first. */
	st_error_set(ST_ERR_DEST, "second");
	assert_int_equal(st_error_code(), ST_ERR_DEST);
	assert_string_equal(st_error_message(), "second");

	st_error_clear();
	assert_int_equal(st_error_code(), ST_OK);
	assert_string_equal(st_error_message(), "");
}

static void test_prefix_prepends_context(void **state)
{
	(void)state;
	st_error_set(ST_ERR_CORRUPT, "pack 'a' is corrupt");
	int rc = st_error_prefix("restoring node %d", 7);
	assert_int_equal(rc, ST_ERR_CORRUPT);
	assert_int_equal(st_error_code(), ST_ERR_CORRUPT);
	assert_string_equal(st_error_message(), "restoring node 7: pack 'a' is corrupt");

	rc = st_error_prefix("backup");
	assert_int_equal(rc, ST_ERR_CORRUPT);
	assert_string_equal(st_error_message(), "backup: restoring node 7: pack 'a' is corrupt");
	st_error_clear();
}

static void test_set_errno_appends_strerror(void **state)
{
	(void)state;
	char expected[ST_ERROR_MESSAGE_MAX];

	int rc = st_error_set_errno(ST_ERR_SOURCE, EACCES, "unable to open '%s'", "f");
	assert_int_equal(rc, ST_ERR_SOURCE);
	assert_int_equal(st_error_code(), ST_ERR_SOURCE);
	snprintf(expected, sizeof expected, "unable to open 'f': %s", strerror(EACCES));
	assert_string_equal(st_error_message(), expected);

	rc = st_error_set_errno(ST_ERR_GENERIC, ENOSPC, "unable to write '%s'", "p");
	assert_int_equal(rc, ST_ERR_NOSPACE);
	assert_int_equal(st_error_code(), ST_ERR_NOSPACE);
	snprintf(expected, sizeof expected, "unable to write 'p': %s", strerror(ENOSPC));
	assert_string_equal(st_error_message(), expected);

	rc = st_error_set_errno(ST_ERR_DEST, EDQUOT, "unable to write '%s'", "q");
	assert_int_equal(rc, ST_ERR_NOSPACE);
	assert_int_equal(st_error_code(), ST_ERR_NOSPACE);
	st_error_clear();
}

static void test_long_messages_are_truncated(void **state)
{
	(void)state;
	char big[3 * ST_ERROR_MESSAGE_MAX];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';

	st_error_set(ST_ERR_GENERIC, "%s", big);
	assert_int_equal(strlen(st_error_message()), ST_ERROR_MESSAGE_MAX - 1);

	st_error_prefix("%s", big);
	assert_int_equal(strlen(st_error_message()), ST_ERROR_MESSAGE_MAX - 1);
	assert_int_equal(st_error_code(), ST_ERR_GENERIC);

	st_error_set_errno(ST_ERR_GENERIC, EIO, "%s", big);
	assert_int_equal(strlen(st_error_message()), ST_ERROR_MESSAGE_MAX - 1);

	/* The context is kept whole when it fits and the tail of the message is what is cut. */
	st_error_set(ST_ERR_GENERIC, "%s", big);
	st_error_prefix("ctx");
	assert_int_equal(strncmp(st_error_message(), "ctx: xxx", 8), 0);
	assert_int_equal(strlen(st_error_message()), ST_ERROR_MESSAGE_MAX - 1);
	st_error_clear();
}

static void test_exit_codes_and_names(void **state)
{
	(void)state;
	static const struct {
		int code;
		int exit_code;
		const char *name;
	} table[] = {
		{ST_OK, 0, "ok"},
		{ST_ERR_GENERIC, 1, "error"},
		{ST_ERR_USAGE, 2, "usage"},
		{ST_ERR_DEST, 3, "destination"},
		{ST_ERR_LOCKED, 4, "locked"},
		{ST_ERR_DATABASE, 5, "database"},
		{ST_ERR_SOURCE, 6, "source"},
		{ST_ERR_NOTFOUND, 7, "not-found"},
		{ST_ERR_CORRUPT, 8, "corrupt"},
		{ST_ERR_TARGET, 9, "target"},
		{ST_ERR_NOSPACE, 10, "no-space"},
		{ST_ERR_INTERRUPTED, 130, "interrupted"},
		{ST_ERR_CHANGED, 6, "changed"}, /* a source file changed: a source error if it escapes */
		{ST_ERR_REMOTE, 12, "remote"},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		assert_int_equal(st_error_exit_code(table[i].code), table[i].exit_code);
		assert_string_equal(st_error_name(table[i].code), table[i].name);
	}
	/* Codes outside the table are internal errors. */
	assert_int_equal(st_error_exit_code(ST_ERR_KIND_END), 1);
	assert_int_equal(st_error_exit_code(-1000), 1);
	assert_int_equal(st_error_exit_code(3), 1);
	assert_string_equal(st_error_name(ST_ERR_KIND_END), "error");
	assert_string_equal(st_error_name(5), "error");
}

typedef struct thread_record {
	st_error saved;
	int code_at_start;
	char message_at_start[ST_ERROR_MESSAGE_MAX];
} thread_record;

static void *fail_in_thread(void *arg)
{
	thread_record *rec = arg;
	rec->code_at_start = st_error_code();
	snprintf(rec->message_at_start, sizeof rec->message_at_start, "%s", st_error_message());
	st_error_set_errno(ST_ERR_GENERIC, ENOSPC, "unable to write '%s'", "pack");
	st_error_prefix("writer");
	st_error_save(&rec->saved);
	return NULL;
}

static void test_record_is_per_thread_and_travels(void **state)
{
	(void)state;
	thread_record rec;
	memset(&rec, 0, sizeof rec);
	st_error_set(ST_ERR_USAGE, "main thread error");

	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, fail_in_thread, &rec), 0);
	assert_int_equal(pthread_join(thread, NULL), 0);

	/* The new thread started with an empty record, and its error did not touch ours. */
	assert_int_equal(rec.code_at_start, ST_OK);
	assert_string_equal(rec.message_at_start, "");
	assert_int_equal(st_error_code(), ST_ERR_USAGE);
	assert_string_equal(st_error_message(), "main thread error");

	/* Restoring makes the worker's error ours. */
	char expected[ST_ERROR_MESSAGE_MAX];
	snprintf(expected, sizeof expected, "writer: unable to write 'pack': %s", strerror(ENOSPC));
	assert_int_equal(rec.saved.code, ST_ERR_NOSPACE);
	assert_int_equal(st_error_restore(&rec.saved), ST_ERR_NOSPACE);
	assert_int_equal(st_error_code(), ST_ERR_NOSPACE);
	assert_string_equal(st_error_message(), expected);

	/* save/restore round trip in one thread. */
	st_error copy;
	st_error_save(&copy);
	st_error_clear();
	assert_int_equal(st_error_restore(&copy), ST_ERR_NOSPACE);
	assert_string_equal(st_error_message(), expected);
	st_error_clear();
}

/* A message built from the current message (a common way to change an error's kind) stays
 * whole, and reclassifying keeps the message and a full disk's kind. */
static void test_set_from_its_own_text(void **state)
{
	(void)state;
	st_error_set(ST_ERR_GENERIC, "unable to open directory '%s': Not a directory", "/tmp/x");
	assert_int_equal(st_error_set(ST_ERR_DEST, "%s", st_error_message()), ST_ERR_DEST);
	assert_string_equal(st_error_message(), "unable to open directory '/tmp/x': Not a directory");
	st_error_set(ST_ERR_GENERIC, "inner");
	st_error_set(ST_ERR_DEST, "outer '%s': %s", "d", st_error_message());
	assert_string_equal(st_error_message(), "outer 'd': inner");

	st_error_set(ST_ERR_GENERIC, "unable to create 'x'");
	assert_int_equal(st_error_reclassify(ST_ERR_TARGET), ST_ERR_TARGET);
	assert_string_equal(st_error_message(), "unable to create 'x'");
	st_error_set_errno(ST_ERR_GENERIC, ENOSPC, "unable to create 'y'");
	assert_int_equal(st_error_reclassify(ST_ERR_TARGET), ST_ERR_NOSPACE);
	assert_int_equal(st_error_code(), ST_ERR_NOSPACE);
	st_error_clear();
}

/* A control character that comes in with an argument (a file name, a parser's quote of broken
 * input) is written as '?': the record always holds one line. Found by fuzz_container_config. */
static void test_message_stays_on_one_line(void **state)
{
	(void)state;
	st_error_set(ST_ERR_CORRUPT, "'%s' is not valid JSON: %s", "config.json", "near '\"a\\\n\tb\x7f'");
	assert_string_equal(st_error_message(), "'config.json' is not valid JSON: near '\"a\\??b?'");
	st_error_set_errno(ST_ERR_SOURCE, ENOENT, "unable to open '%s'", "x\ny");
	assert_null(strchr(st_error_message(), '\n'));
	assert_string_equal(st_error_message(), "unable to open 'x?y': No such file or directory");
	st_error_prefix("node\r%d", 3);
	assert_string_equal(st_error_message(), "node?3: unable to open 'x?y': No such file or directory");
	st_error_clear();
}

int run_error_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_returns_code_and_formats),
		cmocka_unit_test(test_prefix_prepends_context),
		cmocka_unit_test(test_set_errno_appends_strerror),
		cmocka_unit_test(test_long_messages_are_truncated),
		cmocka_unit_test(test_exit_codes_and_names),
		cmocka_unit_test(test_record_is_per_thread_and_travels),
		cmocka_unit_test(test_set_from_its_own_text),
		cmocka_unit_test(test_message_stays_on_one_line),
	};
	return cmocka_run_group_tests_name("common/error", tests, NULL, NULL);
}
