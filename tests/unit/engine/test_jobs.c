/*
 * test_jobs.c - the engine entry points that need no PostgreSQL: destination_init and
 * destination_snapshots (engine/destination.h), and what restore_job_run (engine/restore_job.h)
 * refuses before it starts either side.
 */
#include "../testutil.h"

#include "engine/destination.h"
#include "engine/restore_job.h"

int run_jobs_tests(void);

static void test_init_then_list(void **state)
{
	char dest[TU_PATH_MAX];
	tu_join(dest, *state, "dest");
	assert_int_equal(destination_init(dest), 0);
	catalog_snapshot *list = NULL;
	size_t count = 7;
	assert_int_equal(destination_snapshots(dest, &list, &count), 0);
	assert_int_equal(count, 0);
	catalog_snapshot_list_free(list, count);
}

static void test_list_missing_destination(void **state)
{
	char dest[TU_PATH_MAX];
	tu_join(dest, *state, "absent");
	catalog_snapshot *list = NULL;
	size_t count = 0;
	assert_int_equal(destination_snapshots(dest, &list, &count), ST_ERR_DEST);
	assert_null(list);
	assert_non_null(strstr(st_error_message(), "absent"));
}

static void test_restore_needs_a_side(void **state)
{
	char dest[TU_PATH_MAX];
	tu_join(dest, *state, "dest");
	assert_int_equal(destination_init(dest), 0);
	restore_job_options o = {.dest_path = dest, .snapshot_id = RESTORE_LATEST};
	restore_job_result r;
	assert_int_equal(restore_job_run(&o, &r), ST_ERR_USAGE);
	assert_false(r.restored_files);
	assert_false(r.restored_database);
}

static void test_restore_of_an_empty_destination(void **state)
{
	char dest[TU_PATH_MAX], target[TU_PATH_MAX];
	tu_join(dest, *state, "dest");
	tu_join(target, *state, "target");
	assert_int_equal(destination_init(dest), 0);
	/* Both sides asked for: the refusal comes before either starts, and nothing is written. */
	restore_job_options o = {.dest_path = dest, .snapshot_id = RESTORE_LATEST, .target_root = target,
				 .dump_dir = target};
	restore_job_result r;
	assert_int_equal(restore_job_run(&o, &r), ST_ERR_NOTFOUND);
	assert_non_null(strstr(st_error_message(), "no snapshot"));
	assert_int_equal(access(target, F_OK), -1);
	o.snapshot_id = 3;
	assert_int_equal(restore_job_run(&o, &r), ST_ERR_NOTFOUND);
}

int run_jobs_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_then_list, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_list_missing_destination, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_restore_needs_a_side, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_restore_of_an_empty_destination, tu_tmpdir_setup, tu_tmpdir_teardown),
	};
	return cmocka_run_group_tests_name("engine/jobs", tests, NULL, NULL);
}
