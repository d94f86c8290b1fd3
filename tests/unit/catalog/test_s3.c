/*
 * test_s3.c - the parts of the S3 backend that need no gateway (catalog/backend_s3.c,
 * catalog/s3_http.c): the s3: URL and its refusals, credentials from the environment, key
 * encoding, the ListObjectsV2 reader on hostile answers, the split of an object into multipart
 * parts and the documents of multipart uploads, and an unreachable endpoint. The
 * requests themselves are tested against a real gateway by tests/integration/s3_*.sh.
 */
#include "../testutil.h"
#include "tests.h"

#include "catalog/backend.h"
#include "catalog/s3_http.h"
#include "catalog/s3_multipart.h"
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

/* The parts cover [0, size) in order, each of part bytes but the last (1..part bytes). */
static void expect_plan(uint64_t size, uint64_t part_size, uint64_t part, size_t count)
{
	s3_part *parts = NULL;
	size_t n = 0;
	s3_part_plan(size, part_size, &parts, &n);
	assert_int_equal(n, count);
	assert_true(n <= S3_PARTS_MAX);
	uint64_t at = 0;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(parts[i].offset, at);
		if (i + 1 < n)
			assert_int_equal(parts[i].len, part);
		else
			assert_true(parts[i].len <= part && (parts[i].len > 0 || size == 0));
		at += parts[i].len;
	}
	assert_int_equal(at, size);
	free(parts);
}

static void test_s3_part_plan(void **state)
{
	(void)state;
	const uint64_t mib = S3_MIB;
	/* A pack of the store's target size (64 MiB) and a little more: four parts, then a fifth. */
	expect_plan(64 * mib, S3_PART_SIZE, S3_PART_SIZE, 4);
	expect_plan(64 * mib + 7, S3_PART_SIZE, S3_PART_SIZE, 5);
	expect_plan(S3_MULTIPART_THRESHOLD + 1, S3_PART_SIZE, S3_PART_SIZE, 3);
	expect_plan(1, S3_PART_SIZE, S3_PART_SIZE, 1);
	expect_plan(0, S3_PART_SIZE, S3_PART_SIZE, 1);
	/* Parts below S3's minimum are raised to it. */
	expect_plan(12 * mib, 1024, S3_PART_MIN, 3);
	/* More than S3_PARTS_MAX parts: the part grows to a multiple of 1 MiB that fits. */
	expect_plan(S3_PARTS_MAX * (uint64_t)S3_PART_SIZE, S3_PART_SIZE, S3_PART_SIZE, S3_PARTS_MAX);
	expect_plan(S3_PARTS_MAX * (uint64_t)S3_PART_SIZE + 1, S3_PART_SIZE, S3_PART_SIZE + mib,
		    (size_t)((S3_PARTS_MAX * (uint64_t)S3_PART_SIZE + 1 + S3_PART_SIZE + mib - 1) / (S3_PART_SIZE + mib)));
	/* The threshold gives at least two parts of at least S3_PART_MIN. */
	assert_true(S3_MULTIPART_THRESHOLD >= 2 * S3_PART_SIZE && S3_PART_SIZE >= S3_PART_MIN);
}

static void test_s3_multipart_documents(void **state)
{
	(void)state;
	char *id = NULL;
	const char *created = "<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
			      "<UploadId>2~a&amp;b</UploadId></InitiateMultipartUploadResult>";
	assert_int_equal(s3_parse_upload_id(created, strlen(created), &id), 0);
	assert_string_equal(id, "2~a&b");
	free(id);
	const char *no_id[] = {"", "<Error><Code>AccessDenied</Code></Error>",
			       "<InitiateMultipartUploadResult><UploadId></UploadId></InitiateMultipartUploadResult>",
			       "<InitiateMultipartUploadResult></InitiateMultipartUploadResult>"};
	for (size_t i = 0; i < sizeof no_id / sizeof no_id[0]; i++) {
		assert_int_equal(s3_parse_upload_id(no_id[i], strlen(no_id[i]), &id), ST_ERR_REMOTE);
		st_error_clear();
	}

	char e1[] = "aa11", e2[] = "bb<22";
	char *etags[] = {e1, e2};
	size_t len = 0;
	char *body = s3_complete_body(etags, 2, &len);
	assert_int_equal(strlen(body), len);
	assert_non_null(strstr(body, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"));
	assert_non_null(strstr(body, "<Part><PartNumber>1</PartNumber><ETag>\"aa11\"</ETag></Part>"));
	assert_non_null(strstr(body, "<Part><PartNumber>2</PartNumber><ETag>\"bb&lt;22\"</ETag></Part>"));
	free(body);

	const char *done = "<CompleteMultipartUploadResult><ETag>\"x-2\"</ETag></CompleteMultipartUploadResult>";
	assert_int_equal(s3_parse_complete(done, strlen(done)), 0);
	/* S3 may answer 200 with an error document when the completion fails late. */
	const char *failed = "<Error><Code>InternalError</Code></Error>";
	assert_int_equal(s3_parse_complete(failed, strlen(failed)), ST_ERR_REMOTE);
	assert_non_null(strstr(st_error_message(), "InternalError"));
	st_error_clear();
	assert_int_equal(s3_parse_complete("", 0), ST_ERR_REMOTE);
	st_error_clear();

	s3_upload *uploads = NULL;
	size_t count = 0;
	char *key_marker = NULL, *id_marker = NULL;
	const char *page = "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated>"
			   "<NextKeyMarker>p/packs/b</NextKeyMarker><NextUploadIdMarker>2~z</NextUploadIdMarker>"
			   "<Upload><Key>p/packs/a</Key><UploadId>2~y</UploadId></Upload>"
			   "<Upload><Key>p/packs/b</Key><UploadId>2~z</UploadId></Upload></ListMultipartUploadsResult>";
	assert_int_equal(s3_parse_uploads(page, strlen(page), &uploads, &count, &key_marker, &id_marker), 0);
	assert_int_equal(count, 2);
	assert_string_equal(uploads[1].key, "p/packs/b");
	assert_string_equal(uploads[1].upload_id, "2~z");
	assert_string_equal(key_marker, "p/packs/b");
	assert_string_equal(id_marker, "2~z");
	free(key_marker);
	free(id_marker);
	const char *last = "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>";
	assert_int_equal(s3_parse_uploads(last, strlen(last), &uploads, &count, &key_marker, &id_marker), 0);
	assert_int_equal(count, 2);
	assert_null(key_marker);
	assert_null(id_marker);
	const char *bad[] = {"", "<ListBucketResult/>",
			     "<ListMultipartUploadsResult><Upload><Key>k</Key></Upload></ListMultipartUploadsResult>",
			     "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated></ListMultipartUploadsResult>"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(s3_parse_uploads(bad[i], strlen(bad[i]), &uploads, &count, &key_marker, &id_marker),
				 ST_ERR_REMOTE);
		assert_null(key_marker);
		assert_null(id_marker);
		st_error_clear();
	}
	assert_int_equal(count, 2);
	s3_uploads_free(uploads, count);
}

static void test_s3_many_unreachable(void **state)
{
	(void)state;
	set_credentials();
	s3_client *c = NULL;
	assert_int_equal(s3_client_new(&c, "http://127.0.0.1:9", "bucket"), 0);
	s3_request reqs[3];
	s3_response resps[3];
	for (size_t i = 0; i < 3; i++) {
		s3_request r = S3_REQUEST_INIT;
		r.method = "HEAD";
		r.key = "k";
		reqs[i] = r;
	}
	assert_int_equal(s3_perform_many(c, reqs, 0, resps, 2), 0);
	/* Refused connections are retried with backoff, then the first failure ends the run. */
	assert_int_equal(s3_perform_many(c, reqs, 3, resps, 2), ST_ERR_REMOTE);
	assert_non_null(strstr(st_error_message(), "unable to reach 'http://127.0.0.1:9/bucket/k'"));
	assert_non_null(strstr(st_error_message(), "gave up after retries"));
	st_error_clear();
	/* A multipart upload stops at its first step. */
	assert_int_equal(s3_multipart_upload(c, "k", -1, 40 * S3_MIB), ST_ERR_REMOTE);
	st_error_clear();
	s3_client_free(c);
}

int run_s3_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s3_url_forms),
		cmocka_unit_test(test_s3_credentials),
		cmocka_unit_test(test_s3_encode),
		cmocka_unit_test(test_s3_parse_list),
		cmocka_unit_test(test_s3_unreachable),
		cmocka_unit_test(test_s3_part_plan),
		cmocka_unit_test(test_s3_multipart_documents),
		cmocka_unit_test(test_s3_many_unreachable),
	};
	return cmocka_run_group_tests_name("catalog/s3", tests, NULL, NULL);
}
