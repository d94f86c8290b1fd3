/*
 * test_mem.c - allocation that never returns NULL (common/mem.h).
 */
#include "../testutil.h"
#include "tests.h"

#include "common/mem.h"

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <unistd.h>

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

int run_mem_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_helpers),
		cmocka_unit_test(test_out_of_memory_aborts),
	};
	return cmocka_run_group_tests_name("common/mem", tests, NULL, NULL);
}
