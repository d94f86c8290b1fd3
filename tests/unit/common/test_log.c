/*
 * test_log.c - messages on stderr and their levels (common/log.h), and allocation that never
 * returns NULL (common/mem.h).
 */
#include "../testutil.h"
#include "tests.h"

#include "common/log.h"
#include "common/mem.h"

#include <pthread.h>

#include <limits.h>

/* Runs emit_fn with stderr sent to a file under the test's directory; returns what it wrote
 * (caller frees). */
static char *capture_stderr(const char *dir, void (*emit_fn)(void))
{
	char path[TU_PATH_MAX];
	tu_join(path, dir, "stderr");
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
	emit_fn();
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	size_t len = 0;
	unsigned char *text = tu_read_file(path, &len);
	char *out = malloc(len + 1);
	assert_non_null(out);
	memcpy(out, text, len);
	out[len] = '\0';
	free(text);
	return out;
}

static void emit_all_three(void)
{
	st_log_warn("disk %s is %d%% full", "'/dest'", 93);
	st_log_info("backed up %d nodes", 12);
	st_log_debug("pack %s sealed", "p-1");
}

/* Each level prints its own messages and those of the levels below it, one line each, with
 * strata's prefix; a warning is printed at every level, quiet included. */
static void test_levels(void **state)
{
	const char *dir = *state;
	st_log_level saved = st_log_get_level();
	const struct {
		st_log_level level;
		const char *expected;
	} cases[] = {
		{ST_LOG_QUIET, "strata: warning: disk '/dest' is 93% full\n"},
		{ST_LOG_NORMAL, "strata: warning: disk '/dest' is 93% full\n"},
		{ST_LOG_VERBOSE, "strata: warning: disk '/dest' is 93% full\nstrata: backed up 12 nodes\n"},
		{ST_LOG_DEBUG, "strata: warning: disk '/dest' is 93% full\nstrata: backed up 12 nodes\n"
			       "strata: debug: pack p-1 sealed\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		st_log_set_level(cases[i].level);
		assert_int_equal(st_log_get_level(), cases[i].level);
		char *out = capture_stderr(dir, emit_all_three);
		st_log_set_level(saved);
		assert_string_equal(out, cases[i].expected);
		free(out);
	}
	st_log_set_level(saved);
}

typedef struct log_thread_arg {
	int id;
} log_thread_arg;

static void *log_from_thread(void *arg)
{
	const log_thread_arg *a = arg;
	for (int i = 0; i < 200; i++)
		st_log_warn("thread %d line %d", a->id, i);
	return NULL;
}

static void emit_from_threads(void)
{
	pthread_t threads[4];
	log_thread_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i].id = i;
		assert_int_equal(pthread_create(&threads[i], NULL, log_from_thread, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
}

/* Lines from several threads never interleave: each is whole. */
static void test_lines_stay_whole_across_threads(void **state)
{
	const char *dir = *state;
	char *out = capture_stderr(dir, emit_from_threads);
	int lines = 0;
	for (char *line = out, *end; *line != '\0'; line = end + 1) {
		end = strchr(line, '\n');
		assert_non_null(end);
		*end = '\0';
		int id = -1, n = -1, consumed = 0;
		assert_int_equal(sscanf(line, "strata: warning: thread %d line %d%n", &id, &n, &consumed), 2);
		assert_int_equal((size_t)consumed, strlen(line));
		assert_true(id >= 0 && id < 4 && n >= 0 && n < 200);
		lines++;
	}
	assert_int_equal(lines, 4 * 200);
	free(out);
}

static void test_mem_helpers(void **state)
{
	(void)state;
	char *s = st_sprintf("%s-%05d-%c", "pack", 42, 'x');
	assert_string_equal(s, "pack-00042-x");
	free(s);
	char *copy = st_strdup("catalog.db");
	assert_string_equal(copy, "catalog.db");
	free(copy);
	unsigned char *zeroed = st_calloc(16, 4);
	for (size_t i = 0; i < 64; i++)
		assert_int_equal(zeroed[i], 0);
	zeroed = st_realloc(zeroed, 4096);
	for (size_t i = 0; i < 64; i++)
		assert_int_equal(zeroed[i], 0); /* kept across the move */
	free(zeroed);
	/* Zero bytes is not a failure, whatever malloc returns for it. */
	free(st_malloc(0));
	free(st_realloc(NULL, 0));
}

static int allocate_too_much(void *arg)
{
	(void)arg;
	/* Silence the message in the test log; it goes to /dev/null. */
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd >= 0)
		dup2(fd, STDERR_FILENO);
	void *p = st_malloc(SIZE_MAX / 2);
	free(p);
	return 0; /* not reached: st_malloc aborts */
}

/* An allocation that fails aborts the process instead of returning NULL (child process; under
 * ASan, allocator_may_return_null decides, and the child dies either way). */
static void test_out_of_memory_aborts(void **state)
{
	(void)state;
	assert_false(tu_run_in_child(allocate_too_much, NULL));
}

int run_log_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_levels, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_lines_stay_whole_across_threads, tu_tmpdir_setup,
						tu_tmpdir_teardown),
		cmocka_unit_test(test_mem_helpers),
		cmocka_unit_test(test_out_of_memory_aborts),
	};
	return cmocka_run_group_tests_name("common/log", tests, NULL, NULL);
}
