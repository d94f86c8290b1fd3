/*
 * test_backup_info.c - unit_engine: backup_info.json (engine/backup_info.h): every known case
 * of the 1.x script's tests (aiida-reference.md), the rounds, timestamps and their write-back.
 */
#include "../testutil.h"

#include "common/error.h"
#include "engine/backup_info.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int run_backup_info_tests(void);

#define OLDEST "2014-07-18 13:54:53.688484+00:00"

static backup_info *parse_ok(const char *text)
{
	backup_info *bi = NULL;
	if (backup_info_parse(&bi, text, "b.json") != 0)
		fail_msg("parse failed: %s", st_error_message());
	return bi;
}

static int64_t at(const char *text)
{
	int64_t us = 0;
	int offset = 0;
	assert_int_equal(backup_info_parse_time(text, &us, &offset), 0);
	return us;
}

static void assert_time(int64_t us, const char *want)
{
	char got[48];
	backup_info_format_time(got, sizeof got, us, 0);
	assert_string_equal(got, want);
}

static void test_known_cases(void **state)
{
	(void)state;
	/* threshold 2, periodicity 2, no end: the end is open. */
	backup_info *bi = parse_ok("{\"oldest_object_backedup\": \"" OLDEST "\", \"backup_dir\": \"/scratch/./a////b//\","
				   " \"days_to_backup\": null, \"end_date_of_backup\": null, \"periodicity\": 2,"
				   " \"backup_length_threshold\": 2}");
	assert_false(bi->has_internal_end);
	assert_string_equal(bi->backup_dir, "/scratch/a/b");
	assert_int_equal(bi->periodicity, 2);
	assert_int_equal(bi->threshold_hours, 2);
	assert_time(bi->oldest_us, OLDEST);
	backup_info_free(bi);
	/* days_to_backup = 2: the internal end is two days after the oldest. */
	bi = parse_ok("{\"oldest_object_backedup\": \"" OLDEST "\", \"backup_dir\": \"/b\", \"days_to_backup\": 2,"
		      " \"end_date_of_backup\": null, \"periodicity\": 2, \"backup_length_threshold\": 2}");
	assert_true(bi->has_internal_end);
	assert_time(bi->internal_end_us, "2014-07-20 13:54:53.688484+00:00");
	backup_info_free(bi);
	/* end_date_of_backup: the internal end is that date. */
	bi = parse_ok("{\"oldest_object_backedup\": \"" OLDEST "\", \"backup_dir\": \"/b\", \"days_to_backup\": null,"
		      " \"end_date_of_backup\": \"2014-07-22 14:54:53.688484+00:00\", \"periodicity\": 2,"
		      " \"backup_length_threshold\": 2}");
	assert_true(bi->has_internal_end);
	assert_time(bi->internal_end_us, "2014-07-22 14:54:53.688484+00:00");
	backup_info_free(bi);
	/* Both ends set: an error. */
	bi = NULL;
	assert_int_equal(backup_info_parse(&bi,
					   "{\"oldest_object_backedup\": \"" OLDEST "\", \"backup_dir\": \"/b\","
					   " \"days_to_backup\": 2, \"end_date_of_backup\": \"2014-07-22 14:54:53+00:00\","
					   " \"periodicity\": 2, \"backup_length_threshold\": 2}",
					   "b.json"),
			 ST_ERR_USAGE);
	assert_non_null(strstr(st_error_message(), "only one end of backup"));
	assert_null(bi);
}

static void test_round_trip(void **state)
{
	char path[TU_PATH_MAX];
	tu_join(path, *state, "backup_info.json");
	const char *text = "{\"oldest_object_backedup\": \"" OLDEST "\", \"backup_dir\": \"/b\", \"days_to_backup\": null,"
			   " \"end_date_of_backup\": null, \"periodicity\": 2, \"backup_length_threshold\": 2,"
			   " \"strata\": {\"profile\": \"p\"}}";
	tu_write_file(path, text, strlen(text));
	backup_info *bi = NULL;
	assert_int_equal(backup_info_load(&bi, path), 0);
	assert_int_equal(backup_info_save(bi, path, bi->oldest_us), 0);
	backup_info_free(bi);
	assert_int_equal(backup_info_load(&bi, path), 0);
	assert_time(bi->oldest_us, OLDEST);
	assert_int_equal(bi->periodicity, 2);
	assert_int_equal(bi->threshold_hours, 2);
	assert_false(bi->has_days);
	assert_false(bi->has_end);
	assert_string_equal(st_json_string_value(st_json_get(st_json_get(bi->doc, "strata"), "profile")), "p");
	assert_string_equal(st_json_string_value(st_json_get(bi->doc, "oldest_object_backedup")), OLDEST);
	/* A new value keeps the format and the offset the file had. */
	assert_int_equal(backup_info_save(bi, path, at("2014-07-20 11:00:00+02:00")), 0);
	backup_info_free(bi);
	assert_int_equal(backup_info_load(&bi, path), 0);
	assert_string_equal(st_json_string_value(st_json_get(bi->doc, "oldest_object_backedup")),
			    "2014-07-20 09:00:00+00:00");
	backup_info_free(bi);
}

static void test_timestamps(void **state)
{
	(void)state;
	int64_t us = 0;
	int offset = 0;
	assert_int_equal(backup_info_parse_time("2014-07-18 15:54:53.5+02:00", &us, &offset), 0);
	assert_int_equal(offset, 7200);
	char text[48];
	backup_info_format_time(text, sizeof text, us, offset);
	assert_string_equal(text, "2014-07-18 15:54:53.500000+02:00");
	assert_time(us, "2014-07-18 13:54:53.500000+00:00");
	assert_time(at("2014-07-18T13:54:53Z"), "2014-07-18 13:54:53+00:00");
	assert_time(at("2014-07-18"), "2014-07-18 00:00:00+00:00"); /* TZ is UTC here */
	/* Naive timestamps take the local zone. */
	setenv("TZ", "CET-1", 1);
	tzset();
	assert_int_equal(backup_info_parse_time("2014-07-18 13:54:53", &us, &offset), 0);
	assert_int_equal(offset, 3600);
	assert_time(us, "2014-07-18 12:54:53+00:00");
	setenv("TZ", "UTC", 1);
	tzset();
	static const char *const bad[] = {"", "yesterday", "2014-13-01", "2014-07-18 25:00", "2014-07-18 13:54:53+0x",
					  "2014-07-18 13:54:53 junk"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(backup_info_parse_time(bad[i], &us, &offset), ST_ERR_USAGE);
}

static void test_rounds(void **state)
{
	(void)state;
	backup_info *bi = parse_ok("{\"oldest_object_backedup\": \"" OLDEST "\", \"backup_dir\": \"/b\","
				   " \"end_date_of_backup\": \"2014-07-22 14:54:53.688484+00:00\", \"periodicity\": 2,"
				   " \"backup_length_threshold\": 2}");
	int64_t now = at("2020-01-01 00:00:00+00:00");
	backup_info_plan plan;
	/* 4 days and 1 hour: two rounds of 2 days; the hour left is shorter than 2 hours. */
	backup_info_plan_rounds(bi, bi->oldest_us, now, &plan);
	assert_int_equal(plan.rounds, 2);
	assert_time(plan.start_us, "2014-07-18 13:52:53.688484+00:00");
	assert_time(plan.end_us, "2014-07-22 13:54:53.688484+00:00");
	assert_int_equal(plan.left_us, BACKUP_INFO_HOUR_US);
	/* Threshold 0: the hour is a round too, ending at the end date. */
	bi->threshold_hours = 0;
	backup_info_plan_rounds(bi, bi->oldest_us, now, &plan);
	assert_int_equal(plan.rounds, 3);
	assert_time(plan.end_us, "2014-07-22 14:54:53.688484+00:00");
	/* ... and once the end is reached, nothing is left to do. */
	backup_info_plan_rounds(bi, plan.end_us, now, &plan);
	assert_int_equal(plan.rounds, 0);
	/* A window shorter than the threshold is not run. */
	bi->threshold_hours = 200;
	backup_info_plan_rounds(bi, bi->oldest_us, now, &plan);
	assert_int_equal(plan.rounds, 0);
	assert_time(plan.end_us, OLDEST);
	/* An end in the future stops at now. */
	bi->threshold_hours = 0;
	backup_info_plan_rounds(bi, bi->oldest_us, at("2014-07-19 00:00:00+00:00"), &plan);
	assert_int_equal(plan.rounds, 1);
	assert_time(plan.end_us, "2014-07-19 00:00:00+00:00");
	backup_info_free(bi);
	/* days_to_backup counts from the oldest the run starts with. */
	bi = parse_ok("{\"oldest_object_backedup\": null, \"backup_dir\": \"/b\", \"days_to_backup\": 3,"
		      " \"periodicity\": 1, \"backup_length_threshold\": 0}");
	assert_false(bi->has_oldest);
	backup_info_plan_rounds(bi, at(OLDEST), now, &plan);
	assert_int_equal(plan.rounds, 3);
	assert_time(plan.end_us, "2014-07-21 13:54:53.688484+00:00");
	backup_info_free(bi);
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text, *needle;
	} cases[] = {
		{"{\"backup_dir\": ", "not valid JSON"},
		{"[1]", "not a JSON object"},
		{"{\"periodicity\": 1, \"backup_length_threshold\": 1}", "has no backup_dir"},
		{"{\"backup_dir\": \"/b\", \"backup_length_threshold\": 1}", "has no periodicity"},
		{"{\"backup_dir\": \"/b\", \"periodicity\": 1}", "has no backup_length_threshold"},
		{"{\"backup_dir\": \"/b\", \"periodicity\": \"x\", \"backup_length_threshold\": 1}", "periodicity in 'b.json' is not an integer"},
		{"{\"backup_dir\": \"/b\", \"periodicity\": 0, \"backup_length_threshold\": 1}", "must be at least 1"},
		{"{\"backup_dir\": \"/b\", \"periodicity\": 1, \"backup_length_threshold\": -1}", "negative"},
		{"{\"oldest_object_backedup\": \"soon\", \"backup_dir\": \"/b\", \"periodicity\": 1,"
		 " \"backup_length_threshold\": 1}", "oldest_object_backedup in 'b.json': 'soon' is not a timestamp"},
		{"{\"oldest_object_backedup\": 5, \"backup_dir\": \"/b\", \"periodicity\": 1,"
		 " \"backup_length_threshold\": 1}", "not a timestamp string"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		backup_info *bi = NULL;
		assert_int_equal(backup_info_parse(&bi, cases[i].text, "b.json"), ST_ERR_USAGE);
		if (strstr(st_error_message(), cases[i].needle) == NULL)
			fail_msg("case %zu: expected '%s' in: %s", i, cases[i].needle, st_error_message());
	}
	/* Integers as strings are read as the 1.x script's int() read them. */
	backup_info *bi = parse_ok("{\"backup_dir\": \"b/../c/\", \"periodicity\": \"3\", \"backup_length_threshold\": \"0\"}");
	assert_int_equal(bi->periodicity, 3);
	assert_string_equal(bi->backup_dir, "c");
	backup_info_free(bi);
	char *n = backup_info_normpath("/../a/./b/../c");
	assert_string_equal(n, "/a/c");
	free(n);
}

int run_backup_info_tests(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_cases),
		cmocka_unit_test_setup_teardown(test_round_trip, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_rounds),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests_name("engine/backup_info", tests, NULL, NULL);
}
