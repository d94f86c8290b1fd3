/*
 * test_s3.c - the parts of the S3 backend that need no gateway (catalog/backend_s3.c,
 * catalog/s3_http.c): the s3: URL and its refusals, credentials from the environment, key
 * encoding, the ListObjectsV2 reader on hostile answers, and an unreachable endpoint. The
 * requests themselves are tested against a real gateway by tests/integration/s3_*.sh.
 */
#include "../testutil.h"
#include "tests.h"

#include "catalog/backend.h"
#include "catalog/s3_http.h"
#include "common/error.h"

#include <stdlib.h>

static void set_credentials(void)
{
	setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "unit-test-secret", 1);
}

static void expect_usage(const char *dest, const char *fragment)
{
	backend *b = NULL;
	assert_int_equal(backend_s3_new(&b, dest), ST_ERR_USAGE);
	assert_null(b);
	assert_non_null(strstr(st_error_message(), fragment));
	st_error_clear();
}

static void test_s3_url_forms(void **state)
{
	(void)state;
	set_credentials();
	assert_true(backend_is_s3_url("s3:http://h/b"));
	assert_false(backend_is_s3_url("/srv/backup"));
	assert_false(backend_is_s3_url(NULL));
	expect_usage("s3:ftp://h/bucket", "is not of the form");
	expect_usage("s3:http:/h/bucket", "is not of the form");
	expect_usage("s3:http://host", "names no bucket");
	expect_usage("s3:http://host/", "is not a valid bucket name");
	expect_usage("s3:http://host/ab", "is not a valid bucket name");
	expect_usage("s3:http://host/Upper", "is not a valid bucket name");
	expect_usage("s3:http://host/bucket/a/../b", "prefix segment '..'");
	expect_usage("s3:http://host/bucket/a//b", "empty segment");
	expect_usage("s3:http://host/bucket/a b", "is not valid");
	expect_usage("s3:http://ho st/bucket", "may not hold ' '");
	/* Credentials in the URL are refused without repeating it. */
	backend *b = NULL;
	assert_int_equal(backend_s3_new(&b, "s3:http://key:hunter2@host/bucket"), ST_ERR_USAGE);
	assert_null(strstr(st_error_message(), "hunter2"));
	st_error_clear();

	assert_int_equal(backend_s3_new(&b, "s3:https://host:9000/my-bucket/a/b/"), 0);
	assert_string_equal(backend_kind(b), "s3");
	char *name = backend_describe(b, BACKEND_SPACE_PACKS, "0123.pack");
	assert_string_equal(name, "s3:https://host:9000/my-bucket/a/b/packs/0123.pack");
	free(name);
	name = backend_describe(b, BACKEND_SPACE_META, BACKEND_MARKER_NAME);
	assert_string_equal(name, "s3:https://host:9000/my-bucket/a/b/strata.dest");
	free(name);
	assert_true(backend_has_publish(b));
	backend_free(b);
	assert_int_equal(backend_s3_new(&b, "s3:http://host/bucket"), 0);
	name = backend_describe(b, BACKEND_SPACE_META, "catalog.db");
	assert_string_equal(name, "s3:http://host/bucket/catalog.db");
	free(name);
	backend_free(b);
}

static void test_s3_credentials(void **state)
{
	(void)state;
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
	backend *b = NULL;
	assert_int_equal(backend_s3_new(&b, "s3:http://host/bucket"), ST_ERR_REMOTE);
	assert_non_null(strstr(st_error_message(), "AWS_SECRET_ACCESS_KEY"));
	st_error_clear();
	set_credentials();
	setenv("AWS_SESSION_TOKEN", "token", 1);
	setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
	s3_client *c = NULL;
	assert_int_equal(s3_client_new(&c, "http://host", "bucket"), 0);
	char *url = s3_url(c, "a b/c");
	assert_string_equal(url, "http://host/bucket/a%20b/c");
	free(url);
	url = s3_url(c, NULL);
	assert_string_equal(url, "http://host/bucket");
	free(url);
	s3_client_free(c);
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_DEFAULT_REGION");
}

static void test_s3_encode(void **state)
{
	(void)state;
	char *e = s3_encode("a/b c~-_.%&", false);
	assert_string_equal(e, "a%2Fb%20c~-_.%25%26");
	free(e);
	e = s3_encode("a/b", true);
	assert_string_equal(e, "a/b");
	free(e);
	e = s3_encode("\xff", true);
	assert_string_equal(e, "%FF");
	free(e);
}

static int parse(const char *xml, char ***keys, size_t *count, char **token)
{
	*keys = NULL;
	*count = 0;
	return s3_parse_list(xml, strlen(xml), keys, count, token);
}

static void test_s3_parse_list(void **state)
{
	(void)state;
	char **keys = NULL;
	size_t count = 0;
	char *token = NULL;
	assert_int_equal(parse("<?xml version=\"1.0\"?><ListBucketResult><IsTruncated>true</IsTruncated>"
			       "<Contents><Key>p/a&amp;b</Key><Size>3</Size></Contents>"
			       "<Contents><Key>p/c</Key></Contents>"
			       "<NextContinuationToken>tok/1=</NextContinuationToken></ListBucketResult>",
			       &keys, &count, &token),
			 0);
	assert_int_equal(count, 2);
	assert_string_equal(keys[0], "p/a&b");
	assert_string_equal(keys[1], "p/c");
	assert_string_equal(token, "tok/1=");
	free(token);
	backend_list_free(keys, count);

	assert_int_equal(parse("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>", &keys, &count,
			       &token),
			 0);
	assert_int_equal(count, 0);
	assert_null(token);
	free(keys);

	const char *bad[] = {
		"",
		"not xml",
		"<Error><Code>NoSuchBucket</Code></Error>",
		"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key>",
		"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><ListBucketResult><Contents><Key>&e;</Key>"
		"</Contents></ListBucketResult>",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = parse(bad[i], &keys, &count, &token);
		if (rc == 0) {
			/* The external entity is never read: at most an empty key. */
			assert_int_equal(count, 1);
			assert_null(strstr(keys[0], "root:"));
		} else {
			assert_int_equal(rc, ST_ERR_REMOTE);
		}
		assert_null(token);
		backend_list_free(keys, count);
		st_error_clear();
	}
}

static void test_s3_unreachable(void **state)
{
	(void)state;
	set_credentials();
	backend *b = NULL;
	/* Port 9 on loopback: nothing listens; every attempt is refused at once. */
	assert_int_equal(backend_s3_new(&b, "s3:http://127.0.0.1:9/bucket/p"), 0);
	bool exists = false, empty = false;
	assert_int_equal(backend_state(b, &exists, &empty), ST_ERR_REMOTE);
	assert_non_null(strstr(st_error_message(), "unable to reach 'http://127.0.0.1:9/bucket"));
	st_error_clear();
	backend_free(b);
}

int run_s3_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s3_url_forms),
		cmocka_unit_test(test_s3_credentials),
		cmocka_unit_test(test_s3_encode),
		cmocka_unit_test(test_s3_parse_list),
		cmocka_unit_test(test_s3_unreachable),
	};
	return cmocka_run_group_tests_name("catalog/s3", tests, NULL, NULL);
}
