/*
 * test_profile.c - unit_engine: AiiDA profiles (engine/aiida_profile.h): config.json found
 * through AIIDA_PATH lists, both formats, every one-line error, the connection string, the
 * non-secret record, and new profile entries.
 */
#include "../testutil.h"

#include "common/error.h"
#include "engine/aiida_profile.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int run_profile_tests(void);

static const char config_1x[] =
	"{\"CONFIG_VERSION\": {\"CURRENT\": 5, \"OLDEST_COMPATIBLE\": 5}, \"default_profile\": \"old\","
	" \"profiles\": {\"old\": {\"PROFILE_UUID\": \"u1\", \"AIIDADB_ENGINE\": \"postgresql_psycopg2\","
	" \"AIIDADB_BACKEND\": \"django\", \"AIIDADB_HOST\": \"db.example\", \"AIIDADB_PORT\": 5433,"
	" \"AIIDADB_NAME\": \"aiida_old\", \"AIIDADB_USER\": \"alice\", \"AIIDADB_PASS\": \"s3cr'et\\\\x\","
	" \"AIIDADB_REPOSITORY_URI\": \"file:///srv/aiida/old\", \"options\": {\"verbosity\": \"INFO\"},"
	" \"BROKER_PASSWORD\": \"guest\"}}}";

static const char config_2x[] =
	"{\"CONFIG_VERSION\": {\"CURRENT\": 9, \"OLDEST_COMPATIBLE\": 9}, \"default_profile\": \"new\","
	" \"profiles\": {"
	"  \"new\": {\"PROFILE_UUID\": \"u2\", \"storage\": {\"backend\": \"core.psql_dos\", \"config\": {"
	"   \"database_engine\": \"postgresql_psycopg\", \"database_hostname\": \"localhost\","
	"   \"database_port\": \"5432\", \"database_username\": \"bob\", \"database_password\": \"pw2\","
	"   \"database_name\": \"aiida_new\", \"repository_uri\": \"file:///home/bob/.aiida/repository/new\"}},"
	"   \"process_control\": {\"backend\": \"core.rabbitmq\", \"config\": {\"broker_password\": \"guest\","
	"   \"broker_host\": \"127.0.0.1\"}}},"
	"  \"lite\": {\"storage\": {\"backend\": \"core.sqlite_dos\", \"config\": {\"filepath\": \"/x\"}}},"
	"  \"s3\": {\"storage\": {\"backend\": \"core.psql_dos\", \"config\": {\"database_name\": \"d\","
	"   \"repository_uri\": \"s3://bucket/x\"}}},"
	"  \"badport\": {\"storage\": {\"backend\": \"core.psql_dos\", \"config\": {\"database_name\": \"d\","
	"   \"database_port\": \"fifty\", \"repository_uri\": \"file:///r\"}}}"
	" }}";

static void write_config(const char *dir, const char *text)
{
	char path[TU_PATH_MAX];
	mkdir(dir, 0700);
	tu_join(path, dir, "config.json");
	tu_write_file(path, text, strlen(text));
}

static void expect_error(int rc, const char *needle)
{
	assert_int_equal(rc, ST_ERR_USAGE);
	if (strstr(st_error_message(), needle) == NULL)
		fail_msg("expected '%s' in: %s", needle, st_error_message());
	assert_null(strchr(st_error_message(), '\n'));
}

static void test_aiida_path(void **state)
{
	char a[TU_PATH_MAX], b[TU_PATH_MAX], c[TU_PATH_MAX], want[TU_PATH_MAX + 8];
	tu_join(a, *state, "a");
	tu_join(b, *state, "b");
	tu_join(c, *state, "c");
	mkdir(b, 0700);
	char bdir[TU_PATH_MAX + 8];
	snprintf(bdir, sizeof bdir, "%s/.aiida", b);
	mkdir(bdir, 0700);
	/* Empty entries skipped; the first existing one wins; ".aiida" appended. */
	char *list = NULL;
	assert_true(asprintf(&list, "::%s:%s:%s", a, b, c) > 0);
	setenv("AIIDA_PATH", list, 1);
	char *dir = aiida_config_dir(NULL);
	assert_string_equal(dir, bdir);
	free(dir);
	free(list);
	/* An entry that already ends with .aiida is taken as it is (trailing slash too). */
	assert_true(asprintf(&list, "%s/.aiida/", b) > 0);
	setenv("AIIDA_PATH", list, 1);
	dir = aiida_config_dir(NULL);
	assert_string_equal(dir, bdir);
	free(dir);
	free(list);
	/* None exists: the last one. */
	assert_true(asprintf(&list, "%s:%s", a, c) > 0);
	setenv("AIIDA_PATH", list, 1);
	dir = aiida_config_dir(NULL);
	snprintf(want, sizeof want, "%s/.aiida", c);
	assert_string_equal(dir, want);
	free(dir);
	free(list);
	/* Unset: ~/.aiida; --config-dir wins over all. */
	unsetenv("AIIDA_PATH");
	setenv("HOME", a, 1);
	dir = aiida_config_dir(NULL);
	snprintf(want, sizeof want, "%s/.aiida", a);
	assert_string_equal(dir, want);
	free(dir);
	dir = aiida_config_dir("/some/where");
	assert_string_equal(dir, "/some/where");
	free(dir);
}

static void test_format_1x(void **state)
{
	char dir[TU_PATH_MAX];
	tu_join(dir, *state, ".aiida");
	write_config(dir, config_1x);
	setenv("AIIDA_PATH", *state, 1);
	aiida_profile *p = NULL;
	assert_int_equal(aiida_profile_load(&p, NULL, NULL), 0);
	assert_string_equal(p->name, "old");
	assert_int_equal(p->format, AIIDA_FORMAT_1X);
	assert_int_equal(p->config_version, 5);
	assert_string_equal(p->backend, "django");
	assert_string_equal(p->host, "db.example");
	assert_string_equal(p->port, "5433");
	assert_string_equal(p->user, "alice");
	assert_string_equal(p->database, "aiida_old");
	assert_string_equal(p->repository, "/srv/aiida/old");
	char *dsn = aiida_profile_dsn(p);
	assert_string_equal(dsn, "host='db.example' port='5433' user='alice' password='s3cr\\'et\\\\x' dbname='aiida_old'");
	free(dsn);
	st_json *d = aiida_profile_describe(p);
	char *text = st_json_dump(d);
	assert_null(strstr(text, "s3cr"));
	assert_null(strstr(text, "guest"));
	assert_non_null(strstr(text, "\"format\": \"1.x\""));
	assert_non_null(strstr(text, "\"verbosity\": \"INFO\""));
	free(text);
	st_json_free(d);
	aiida_profile_free(p);
	unsetenv("AIIDA_PATH");
}

static void test_format_2x(void **state)
{
	write_config(*state, config_2x);
	aiida_profile *p = NULL;
	assert_int_equal(aiida_profile_load(&p, *state, "new"), 0);
	assert_int_equal(p->format, AIIDA_FORMAT_2X);
	assert_string_equal(p->backend, "core.psql_dos");
	assert_string_equal(p->port, "5432");
	assert_string_equal(p->password, "pw2");
	assert_string_equal(p->repository, "/home/bob/.aiida/repository/new");
	st_json *d = aiida_profile_describe(p);
	char *text = st_json_dump(d);
	assert_null(strstr(text, "pw2"));
	assert_null(strstr(text, "guest"));
	assert_non_null(strstr(text, "broker_host"));
	free(text);
	st_json_free(d);
	aiida_profile_free(p);
	/* The default profile, with the older backend name and an integer port. */
	const char *old_name = "{\"CONFIG_VERSION\": {\"CURRENT\": 6}, \"default_profile\": \"p\", \"profiles\":"
			       " {\"p\": {\"storage\": {\"backend\": \"psql_dos\", \"config\": {\"database_port\": 6000,"
			       " \"database_name\": \"n\", \"repository_uri\": \"file:///r\"}}}}}";
	assert_int_equal(aiida_profile_parse(&p, old_name, "x", NULL), 0);
	assert_string_equal(p->port, "6000");
	assert_int_equal(p->format, AIIDA_FORMAT_2X);
	aiida_profile_free(p);
}

static void test_errors(void **state)
{
	aiida_profile *p = NULL;
	char missing[TU_PATH_MAX];
	tu_join(missing, *state, "nowhere");
	expect_error(aiida_profile_load(&p, missing, NULL), "does not exist");
	expect_error(aiida_profile_parse(&p, "{\"profiles\": ", "c.json", NULL), "not valid JSON");
	expect_error(aiida_profile_parse(&p, "[]", "c.json", NULL), "has no profiles");
	expect_error(aiida_profile_parse(&p, "{\"profiles\": {}}", "c.json", NULL), "no default profile");
	expect_error(aiida_profile_parse(&p, config_2x, "c.json", "nope"), "has no profile 'nope' (profiles: 'new'");
	expect_error(aiida_profile_parse(&p, config_2x, "c.json", "lite"), "storage backend 'core.sqlite_dos'");
	expect_error(aiida_profile_parse(&p, config_2x, "c.json", "s3"), "'s3://bucket/x', which is not file://");
	expect_error(aiida_profile_parse(&p, config_2x, "c.json", "badport"), "port 'fifty'");
	expect_error(aiida_profile_parse(&p, "{\"CONFIG_VERSION\": {\"CURRENT\": 5}, \"profiles\": {\"a\": {"
					     "\"AIIDADB_BACKEND\": \"django\", \"AIIDADB_REPOSITORY_URI\": \"file:///r\"}}}",
					     "c.json", "a"),
		     "has no database name");
}

static void test_add_entry(void **state)
{
	char dir[TU_PATH_MAX], path[TU_PATH_MAX];
	tu_join(dir, *state, "conf");
	tu_join(path, dir, "config.json");
	aiida_profile *p = NULL;
	assert_int_equal(aiida_profile_parse(&p, config_1x, "c.json", "old"), 0);
	st_json *like = aiida_profile_describe(p);
	aiida_profile_entry e = {.name = "moved", .like = like, .host = "/tmp/sock", .port = "5499", .user = "carol",
				 .database = "aiida_moved", .repository = "/data/moved"};
	char *written = NULL;
	assert_int_equal(aiida_profile_add(dir, &e, false, &written), 0);
	assert_string_equal(written, path);
	free(written);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	aiida_profile *back = NULL;
	assert_int_equal(aiida_profile_load(&back, dir, NULL), 0);
	assert_string_equal(back->name, "moved");
	assert_int_equal(back->format, AIIDA_FORMAT_1X);
	assert_string_equal(back->backend, "django");
	assert_string_equal(back->port, "5499");
	assert_string_equal(back->database, "aiida_moved");
	assert_string_equal(back->repository, "/data/moved");
	assert_null(back->password);
	assert_string_not_equal(back->uuid, "u1");
	aiida_profile_free(back);
	/* An existing name is refused unless replaced. */
	assert_int_equal(aiida_profile_add(dir, &e, false, NULL), ST_ERR_TARGET);
	e.password = "pw";
	assert_int_equal(aiida_profile_add(dir, &e, true, NULL), 0);
	assert_int_equal(aiida_profile_load(&back, dir, "moved"), 0);
	assert_string_equal(back->password, "pw");
	aiida_profile_free(back);
	/* Without a recorded profile: a 2.x entry. */
	e.name = "fresh";
	e.like = NULL;
	assert_int_equal(aiida_profile_add(dir, &e, false, NULL), 0);
	assert_int_equal(aiida_profile_load(&back, dir, "fresh"), 0);
	assert_int_equal(back->format, AIIDA_FORMAT_1X); /* the file's own version decides */
	aiida_profile_free(back);
	st_json_free(like);
	aiida_profile_free(p);
}

int run_profile_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_aiida_path, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_format_1x, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_format_2x, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_errors, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_add_entry, tu_tmpdir_setup, tu_tmpdir_teardown),
	};
	return cmocka_run_group_tests_name("engine/aiida_profile", tests, NULL, NULL);
}
