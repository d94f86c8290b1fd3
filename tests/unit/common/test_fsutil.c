/*
 * test_fsutil.c - file-system helpers and write fault injection (common/fsutil.h).
 */
#include "../testutil.h"
#include "tests.h"

#include "common/error.h"
#include "common/fsutil.h"

#include <dirent.h>
#include <errno.h>

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Number of entries of dir other than . and .. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void test_mkdir_p(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX], file[TU_PATH_MAX], below_file[TU_PATH_MAX];

	tu_join(path, tmp, "a/b/c/d");
	assert_int_equal(st_mkdir_p(path, 0755), 0);
	assert_true(is_dir(path));
	/* Again, when everything exists. */
	assert_int_equal(st_mkdir_p(path, 0755), 0);
	/* A trailing slash. */
	tu_join(path, tmp, "a/b/e/");
	assert_int_equal(st_mkdir_p(path, 0755), 0);
	assert_true(is_dir(path));
	/* The mode is applied (under the umask). */
	tu_join(path, tmp, "m");
	mode_t old_umask = umask(022);
	assert_int_equal(st_mkdir_p(path, 0700), 0);
	umask(old_umask);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* A component that is a file. */
	tu_join(file, tmp, "file");
	tu_write_file(file, "x", 1);
	assert_int_equal(st_mkdir_p(file, 0755), ST_ERR_GENERIC);
	assert_non_null(strstr(st_error_message(), file));
	tu_join(below_file, file, "sub/dir");
	assert_int_equal(st_mkdir_p(below_file, 0755), ST_ERR_GENERIC);
	assert_non_null(strstr(st_error_message(), "unable to create directory"));
	assert_false(tu_exists(below_file));
}

static int mkdir_p_empty(void *arg)
{
	(void)arg;
	return st_mkdir_p("", 0755) == ST_ERR_GENERIC ? 0 : 1;
}

/* An empty path is an error, not a read past the end of the copy of it (run in a child: under
 * ASan the overflow aborts the process). */
static void test_mkdir_p_empty_path(void **state)
{
	(void)state;
	assert_true(tu_run_in_child(mkdir_p_empty, NULL));
}

static void test_write_file_atomic(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	tu_join(path, tmp, "marker");

	const char first[] = "first version\n";
	assert_int_equal(st_write_file_atomic(path, first, strlen(first)), 0);
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(st_read_small_file(&text, &len, path, 4096), 0);
	assert_int_equal(len, strlen(first));
	assert_string_equal(text, first);
	free(text);

	/* Replacing it leaves only the new content and no temporary file. */
	const char second[] = "second";
	assert_int_equal(st_write_file_atomic(path, second, strlen(second)), 0);
	assert_int_equal(st_read_small_file(&text, &len, path, 4096), 0);
	assert_string_equal(text, second);
	free(text);
	assert_int_equal(count_entries(tmp), 1);

	/* An empty file. */
	assert_int_equal(st_write_file_atomic(path, "", 0), 0);
	assert_int_equal(st_read_small_file(&text, &len, path, 4096), 0);
	assert_int_equal(len, 0);
	assert_string_equal(text, "");
	free(text);

	/* Into a missing directory: an error naming the path, nothing created. */
	char missing[TU_PATH_MAX];
	tu_join(missing, tmp, "no/such/dir/file");
	assert_int_equal(st_write_file_atomic(missing, "x", 1), ST_ERR_GENERIC);
	assert_non_null(strstr(st_error_message(), "no/such/dir/file"));
	assert_int_equal(count_entries(tmp), 1);
}

static void test_dir_state(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX], file[TU_PATH_MAX];
	bool exists = true, empty = true;

	tu_join(path, tmp, "missing");
	assert_int_equal(st_dir_state(path, &exists, &empty), 0);
	assert_false(exists);
	assert_false(empty);

	tu_join(path, tmp, "d");
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(st_dir_state(path, &exists, &empty), 0);
	assert_true(exists);
	assert_true(empty);

	/* A hidden file makes it non-empty too. */
	tu_join(file, path, ".hidden");
	tu_write_file(file, "", 0);
	assert_int_equal(st_dir_state(path, &exists, &empty), 0);
	assert_true(exists);
	assert_false(empty);

	/* A regular file is not a directory: an error. */
	assert_int_not_equal(st_dir_state(file, &exists, &empty), 0);
	assert_non_null(strstr(st_error_message(), ".hidden"));
}

static void test_pread_all(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	tu_join(path, tmp, "ten");
	tu_write_file(path, "0123456789", 10);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);

	char buf[16] = {0};
	assert_int_equal(st_pread_all(fd, buf, 10, 0, "ten"), 0);
	assert_memory_equal(buf, "0123456789", 10);
	assert_int_equal(st_pread_all(fd, buf, 4, 6, "ten"), 0);
	assert_memory_equal(buf, "6789", 4);
	assert_int_equal(st_pread_all(fd, buf, 0, 10, "ten"), 0);

	/* Short reads are corruption: the file is shorter than its metadata says. */
	assert_int_equal(st_pread_all(fd, buf, 10, 5, "ten"), ST_ERR_CORRUPT);
	assert_non_null(strstr(st_error_message(), "'ten'"));
	assert_int_equal(st_pread_all(fd, buf, 1, 10, "ten"), ST_ERR_CORRUPT);
	assert_int_equal(st_pread_all(fd, buf, 1, 1u << 30, "ten"), ST_ERR_CORRUPT);
	close(fd);

	/* A read error is not corruption. */
	assert_int_equal(st_pread_all(-1, buf, 1, 0, "bad fd"), ST_ERR_GENERIC);
	assert_non_null(strstr(st_error_message(), "'bad fd'"));
}

static void test_read_small_file_limits(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	tu_join(path, tmp, "small");
	tu_write_file(path, "abcdef", 6);
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(st_read_small_file(&text, &len, path, 6), 0);
	assert_string_equal(text, "abcdef");
	free(text);
	text = NULL;
	assert_int_equal(st_read_small_file(&text, NULL, path, 5), ST_ERR_GENERIC);
	assert_null(text);
	tu_join(path, tmp, "absent");
	assert_int_equal(st_read_small_file(&text, NULL, path, 5), ST_ERR_GENERIC);
	assert_non_null(strstr(st_error_message(), "absent"));
	assert_null(text);
}

static void test_write_all_errors(void **state)
{
	(void)state;
	assert_int_equal(st_write_all(-1, "x", 1, "nowhere"), ST_ERR_GENERIC);
	assert_non_null(strstr(st_error_message(), "'nowhere'"));
	assert_non_null(strstr(st_error_message(), strerror(EBADF)));
}

static int interrupted_once;

/* Writes at most 3 bytes per call, and fails the first call with EINTR. */
static ssize_t dribble_write(int fd, const void *buf, size_t len)
{
	if (!interrupted_once) {
		interrupted_once = 1;
		errno = EINTR;
		return -1;
	}
	return write(fd, buf, len < 3 ? len : 3);
}

static void test_write_all_retries_short_and_interrupted_writes(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	tu_join(path, tmp, "dribble");
	char data[1000];
	tu_fill_random(data, sizeof data, 7);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	interrupted_once = 0;
	st_sys_write = dribble_write;
	int rc = st_write_all(fd, data, sizeof data, "dribble");
	st_sys_write = write;
	close(fd);
	assert_int_equal(rc, 0);
	assert_int_equal(interrupted_once, 1);
	size_t len = 0;
	unsigned char *back = tu_read_file(path, &len);
	assert_int_equal(len, sizeof data);
	assert_memory_equal(back, data, sizeof data);
	free(back);
}

static void test_fault_injection_second_write(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	tu_join(path, tmp, "faulty");
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);

	assert_int_equal(setenv("STRATA_FAULT_WRITE_ENOSPC", "2", 1), 0);
	st_fault_inject_from_env();
	assert_true(st_sys_write != write);
	int first = st_write_all(fd, "one", 3, "faulty");
	int second = st_write_all(fd, "two", 3, "faulty");
	int third = st_write_all(fd, "three", 5, "faulty");
	st_sys_write = write;
	unsetenv("STRATA_FAULT_WRITE_ENOSPC");
	close(fd);

	assert_int_equal(first, 0);
	assert_int_equal(second, ST_ERR_NOSPACE);
	assert_int_equal(third, ST_ERR_NOSPACE); /* every later write fails too */
	char expected[256];
	snprintf(expected, sizeof expected, "unable to write 'faulty': %s", strerror(ENOSPC));
	assert_string_equal(st_error_message(), expected);
	size_t len = 0;
	unsigned char *back = tu_read_file(path, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(back, "one", 3);
	free(back);
}

static void test_fault_injection_atomic_write_leaves_nothing(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	tu_join(path, tmp, "atomic");
	assert_int_equal(setenv("STRATA_FAULT_WRITE_ENOSPC", "1", 1), 0);
	st_fault_inject_from_env();
	int rc = st_write_file_atomic(path, "content", 7);
	st_sys_write = write;
	unsetenv("STRATA_FAULT_WRITE_ENOSPC");
	assert_int_equal(rc, ST_ERR_NOSPACE);
	/* Neither the target nor its temporary file is left behind. */
	assert_int_equal(count_entries(tmp), 0);

	/* An existing file is kept intact when its replacement fails. */
	assert_int_equal(st_write_file_atomic(path, "old", 3), 0);
	assert_int_equal(setenv("STRATA_FAULT_WRITE_ENOSPC", "1", 1), 0);
	st_fault_inject_from_env();
	rc = st_write_file_atomic(path, "new", 3);
	st_sys_write = write;
	unsetenv("STRATA_FAULT_WRITE_ENOSPC");
	assert_int_equal(rc, ST_ERR_NOSPACE);
	char *text = NULL;
	assert_int_equal(st_read_small_file(&text, NULL, path, 16), 0);
	assert_string_equal(text, "old");
	free(text);
	assert_int_equal(count_entries(tmp), 1);
}

static void test_fault_injection_ignores_bad_values(void **state)
{
	(void)state;
	static const char *const values[] = {"", "0", "-3", "abc"};
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		assert_int_equal(setenv("STRATA_FAULT_WRITE_ENOSPC", values[i], 1), 0);
		st_fault_inject_from_env();
		assert_true(st_sys_write == write);
	}
	unsetenv("STRATA_FAULT_WRITE_ENOSPC");
	st_fault_inject_from_env();
	assert_true(st_sys_write == write);
}

static void test_fsync_helpers(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	assert_int_equal(st_fsync_dir(tmp), 0);
	tu_join(path, tmp, "missing");
	assert_int_equal(st_fsync_dir(path), ST_ERR_GENERIC);
	assert_non_null(strstr(st_error_message(), "missing"));
	assert_int_equal(st_fsync_fd(-1, "bad"), ST_ERR_GENERIC);

	double a = st_now_seconds();
	double b = st_now_seconds();
	assert_true(b >= a);
}

/* A directory opens but does not read: the error names it, nothing is returned. */
static void test_read_small_file_of_a_directory(void **state)
{
	const char *tmp = *state;
	char *text = NULL;
	size_t len = 99;
	assert_int_equal(st_read_small_file(&text, &len, tmp, SIZE_MAX / 2), ST_ERR_GENERIC);
	assert_non_null(strstr(st_error_message(), tmp));
	assert_non_null(strstr(st_error_message(), strerror(EISDIR)));
	assert_null(text);
	assert_int_equal(len, 99);
}

/* A name without a folder is written in the current directory, and synced there. */
static void test_write_file_atomic_relative_name(void **state)
{
	const char *tmp = *state;
	char cwd[TU_PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(tmp), 0);
	int rc = st_write_file_atomic("relative.txt", "here", 4);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rc, 0);
	char path[TU_PATH_MAX];
	tu_join(path, tmp, "relative.txt");
	size_t len = 0;
	unsigned char *back = tu_read_file(path, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(back, "here", 4);
	free(back);
	assert_int_equal(count_entries(tmp), 1);
}

/* When the final rename fails (a non-empty directory holds the name), the error names the
 * temporary file, the directory is untouched and no temporary file is left behind. */
static void test_write_file_atomic_rename_fails(void **state)
{
	const char *tmp = *state;
	char dir[TU_PATH_MAX], inside[TU_PATH_MAX];
	tu_join(dir, tmp, "taken");
	assert_int_equal(mkdir(dir, 0755), 0);
	tu_join(inside, dir, "keep");
	tu_write_file(inside, "k", 1);
	assert_int_equal(st_write_file_atomic(dir, "new", 3), ST_ERR_GENERIC);
	assert_non_null(strstr(st_error_message(), "unable to rename"));
	assert_non_null(strstr(st_error_message(), ".tmp."));
	assert_true(tu_exists(inside));
	assert_int_equal(count_entries(tmp), 1);
}

/* Removes a tree with files, folders, an empty folder and links; a link is removed, never
 * followed: what it points at survives. */
static void test_remove_tree(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX], path[TU_PATH_MAX], outside[TU_PATH_MAX], outside_file[TU_PATH_MAX];
	tu_join(outside, tmp, "outside");
	assert_int_equal(mkdir(outside, 0755), 0);
	tu_join(outside_file, outside, "precious");
	tu_write_file(outside_file, "p", 1);

	tu_join(root, tmp, "tree");
	tu_join(path, root, "a/b/c");
	assert_int_equal(st_mkdir_p(path, 0755), 0);
	tu_join(path, root, "a/b/c/file");
	tu_write_file(path, "1", 1);
	tu_join(path, root, "a/empty");
	assert_int_equal(mkdir(path, 0700), 0);
	tu_join(path, root, "a/link-to-outside");
	assert_int_equal(symlink(outside, path), 0);
	tu_join(path, root, "dangling");
	assert_int_equal(symlink("no/such/target", path), 0);
	tu_join(path, root, "top-file");
	tu_write_file(path, "2", 1);

	assert_int_equal(st_remove_tree(root), 0);
	assert_false(tu_exists(root));
	assert_true(tu_exists(outside_file));
	assert_int_equal(count_entries(tmp), 1);

	/* A missing path is fine; a plain file is removed like a tree of one. */
	assert_int_equal(st_remove_tree(root), 0);
	tu_join(path, tmp, "plain");
	tu_write_file(path, "x", 1);
	assert_int_equal(st_remove_tree(path), 0);
	assert_false(tu_exists(path));
}

/* A path that cannot be walked (a component is a file) is an error naming it. */
static void test_remove_tree_error(void **state)
{
	const char *tmp = *state;
	char file[TU_PATH_MAX], below[TU_PATH_MAX];
	tu_join(file, tmp, "file");
	tu_write_file(file, "x", 1);
	tu_join(below, file, "below");
	assert_int_equal(st_remove_tree(below), ST_ERR_GENERIC);
	assert_non_null(strstr(st_error_message(), "unable to remove"));
	assert_non_null(strstr(st_error_message(), below));
	assert_true(tu_exists(file));
}

/* A view of a range of a file shows its bytes, at offsets inside a page and across pages; an
 * empty range is the fallback buffer; a descriptor that can be neither mapped nor read is an
 * error naming what. */
static void test_view(void **state)
{
	char path[TU_PATH_MAX];
	tu_join(path, *state, "big");
	size_t len = 3 * 4096 + 123;
	unsigned char *data = malloc(len);
	tu_fill_random(data, len, 5);
	tu_write_file(path, data, len);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	char fallback[8192];
	const size_t cases[][2] = {{0, len}, {1, 100}, {4095, 4098}, {2 * 4096 + 7, len - 2 * 4096 - 7}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		st_view view;
		assert_int_equal(st_view_open(&view, fd, cases[i][0], cases[i][1], fallback, "big"), 0);
		assert_memory_equal(view.data, data + cases[i][0], cases[i][1]);
		st_view_close(&view);
		assert_null(view.data);
	}
	st_view view;
	assert_int_equal(st_view_open(&view, fd, 10, 0, fallback, "big"), 0);
	assert_ptr_equal(view.data, fallback);
	st_view_close(&view);
	close(fd);
	assert_int_equal(st_view_open(&view, -1, 0, 10, fallback, "nothing"), ST_ERR_GENERIC);
	assert_non_null(strstr(st_error_message(), "'nothing'"));
	st_error_clear();
	free(data);
}

#define FS_TEST(name) cmocka_unit_test_setup_teardown(name, tu_tmpdir_setup, tu_tmpdir_teardown)

int run_fsutil_tests(void)
{
	const struct CMUnitTest tests[] = {
		FS_TEST(test_mkdir_p),
		FS_TEST(test_mkdir_p_empty_path),
		FS_TEST(test_write_file_atomic),
		FS_TEST(test_dir_state),
		FS_TEST(test_pread_all),
		FS_TEST(test_view),
		FS_TEST(test_read_small_file_limits),
		FS_TEST(test_write_all_errors),
		FS_TEST(test_write_all_retries_short_and_interrupted_writes),
		FS_TEST(test_fault_injection_second_write),
		FS_TEST(test_fault_injection_atomic_write_leaves_nothing),
		FS_TEST(test_fault_injection_ignores_bad_values),
		FS_TEST(test_fsync_helpers),
		FS_TEST(test_read_small_file_of_a_directory),
		FS_TEST(test_write_file_atomic_relative_name),
		FS_TEST(test_write_file_atomic_rename_fails),
		FS_TEST(test_remove_tree),
		FS_TEST(test_remove_tree_error),
	};
	return cmocka_run_group_tests_name("common/fsutil", tests, NULL, NULL);
}
