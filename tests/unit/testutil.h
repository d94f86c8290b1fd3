/*
 * testutil.h - helpers shared by the unit test executables (header-only, included by each
 * module's tests): the cmocka prelude, temporary directories under /tmp that are removed
 * again, small file helpers and a deterministic random generator.
 *
 * Everything here is static inline so that a test file that uses only part of it compiles
 * cleanly under -Wunused-function and -Wmissing-prototypes.
 */
#ifndef STRATA_TESTS_UNIT_TESTUTIL_H
#define STRATA_TESTS_UNIT_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fsutil.h"

#define TU_PATH_MAX 4096

/* Creates a fresh directory /tmp/strata-unit-XXXXXX into out (TU_PATH_MAX bytes). */
static inline void tu_mkdtemp(char *out)
{
	snprintf(out, TU_PATH_MAX, "/tmp/strata-unit-XXXXXX");
	assert_non_null(mkdtemp(out));
}

static inline int tu_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR)
		return rmdir(path) == 0 ? 0 : -1;
	return unlink(path) == 0 ? 0 : -1;
}

/* Removes path and everything below it (links are removed, not followed); asserts it is gone. */
static inline void tu_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	assert_int_equal(nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
	assert_int_not_equal(lstat(path, &st), 0);
}

/* out = dir "/" name, asserting it fits. */
/* cmocka setup: a fresh temporary directory (a malloc'ed path) in *state. */
static inline int tu_tmpdir_setup(void **state)
{
	char *dir = malloc(TU_PATH_MAX);
	if (dir == NULL)
		return -1;
	tu_mkdtemp(dir);
	*state = dir;
	return 0;
}

/* cmocka teardown: removes the directory of tu_tmpdir_setup, and undoes what a test that
 * failed half way may have left: write fault injection and the error record. */
static inline int tu_tmpdir_teardown(void **state)
{
	char *dir = *state;
	st_sys_write = write;
	unsetenv("STRATA_FAULT_WRITE_ENOSPC");
	tu_rm_rf(dir);
	free(dir);
	st_error_clear();
	return 0;
}

static inline void tu_join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, TU_PATH_MAX, "%s/%s", dir, name);
	assert_true(n > 0 && n < TU_PATH_MAX);
}

static inline void tu_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
	assert_int_equal(close(fd), 0);
}

/* Reads a whole file into a new buffer (caller frees); *out_len receives its size. */
static inline unsigned char *tu_read_file(const char *path, size_t *out_len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	size_t len = (size_t)st.st_size;
	unsigned char *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	size_t done = 0;
	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);
		assert_true(n > 0);
		done += (size_t)n;
	}
	close(fd);
	*out_len = len;
	return buf;
}

static inline bool tu_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* xorshift64*: deterministic pseudo-random numbers, so a failing case can be replayed. */
static inline uint64_t tu_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static inline void tu_fill_random(void *buf, size_t len, uint64_t seed)
{
	unsigned char *p = buf;
	uint64_t state = seed;
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(tu_rand(&state) >> 56);
}

/* Sleeps ms milliseconds. Used by "this thread is still blocked" checks: a correct
 * implementation passes them whatever the timing; a broken one is caught when the other thread
 * gets to run during the sleep. */
static inline void tu_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

#ifdef STRATA_COVERAGE_BUILD
/* libgcov: writes the counters out now. A child that ends in _exit or abort would lose them. */
void __gcov_dump(void);

static inline void tu_child_abort_handler(int sig)
{
	__gcov_dump();
	_exit(128 + sig);
}
#endif

/* Runs fn(arg) in a child process and returns true when the child exited normally with status
 * 0, that is when fn returned 0. For calls that may crash or abort (a sanitizer report, an
 * allocation failure) without taking the test executable down with them. fn must not use cmocka
 * assertions: it reports through its return value. In the coverage build, what the child ran
 * counts, even when it aborts. */
static inline bool tu_run_in_child(int (*fn)(void *arg), void *arg)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core); /* an expected abort leaves no core file */
#ifdef STRATA_COVERAGE_BUILD
		signal(SIGABRT, tu_child_abort_handler);
#endif
		int rc = fn(arg);
#ifdef STRATA_COVERAGE_BUILD
		__gcov_dump();
#endif
		_exit(rc == 0 ? 0 : 1);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

#endif
