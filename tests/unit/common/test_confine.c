/*
 * test_confine.c - creating below a root descriptor never follows a link (common/confine.c).
 *
 * Every test runs twice: with openat2 (when the kernel has it) and with the component-by-
 * component walk, as on a kernel without it. A folder "outside" beside the root holds a victim
 * file; after each attack it must hold exactly what it held before.
 */
#include "../testutil.h"
#include "tests.h"

#include "common/confine.h"
#include "common/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct confine_fixture {
	char dir[TU_PATH_MAX];
	char root[TU_PATH_MAX];
	char outside[TU_PATH_MAX];
	char victim[TU_PATH_MAX];
	int root_fd;
} confine_fixture;

static int setup(void **state, int no_openat2)
{
	confine_fixture *f = calloc(1, sizeof *f);
	tu_mkdtemp(f->dir);
	tu_join(f->root, f->dir, "root");
	tu_join(f->outside, f->dir, "outside");
	tu_join(f->victim, f->outside, "victim");
	mkdir(f->outside, 0755);
	tu_write_file(f->victim, "precious", 8);
	assert_int_equal(st_confine_root_open(&f->root_fd, f->root, 0755), 0);
	st_confine_disable_openat2(no_openat2);
	*state = f;
	return 0;
}

static int setup_openat2(void **state)
{
	return setup(state, 0);
}

static int setup_walk(void **state)
{
	return setup(state, 1);
}

static int teardown(void **state)
{
	confine_fixture *f = *state;
	close(f->root_fd);
	tu_rm_rf(f->dir);
	free(f);
	st_confine_disable_openat2(0);
	st_error_clear();
	return 0;
}

/* The outside folder holds the victim, unchanged, and nothing else. */
static void assert_outside_untouched(const confine_fixture *f)
{
	size_t len = 0;
	unsigned char *data = tu_read_file(f->victim, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(data, "precious", 8);
	free(data);
	int entries = 0;
	DIR *d = opendir(f->outside);
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		entries += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(entries, 1);
}

static void plant_link(const confine_fixture *f, const char *rel, const char *to)
{
	char path[TU_PATH_MAX], parent[TU_PATH_MAX];
	tu_join(path, f->root, rel);
	snprintf(parent, sizeof parent, "%s", path);
	*strrchr(parent, '/') = '\0';
	char cmd[3 * TU_PATH_MAX];
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", path, parent);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(symlink(to, path), 0);
}

static void test_creates_folders_and_files(void **state)
{
	confine_fixture *f = *state;
	int dir = -1, file = -1;
	assert_int_equal(st_confine_dir(&dir, f->root_fd, "a/b/c", 0755, ST_CONFINE_CREATE, f->root), 0);
	assert_int_equal(st_confine_create_file(&file, dir, "x", 0600, 0, f->root), 0);
	assert_int_equal(write(file, "hello", 5), 5);
	close(file);
	close(dir);
	char path[TU_PATH_MAX];
	tu_join(path, f->root, "a/b/c/x");
	assert_true(tu_exists(path));
	/* Without create, a missing folder is an error; an existing file is refused. */
	assert_int_equal(st_confine_dir(&dir, f->root_fd, "a/missing", 0755, 0, f->root), ST_ERR_TARGET);
	assert_int_equal(st_confine_create_file(&file, f->root_fd, "a/b/c/x", 0600, 0, f->root), ST_ERR_TARGET);
	assert_non_null(strstr(st_error_message(), "already exists"));
	/* Replacing, it is unlinked and created anew. */
	assert_int_equal(st_confine_create_file(&file, f->root_fd, "a/b/c/x", 0600, ST_CONFINE_REPLACE, f->root), 0);
	close(file);
	size_t len = 1;
	free(tu_read_file(path, &len));
	assert_int_equal(len, 0);
}

static void test_refuses_bad_paths(void **state)
{
	confine_fixture *f = *state;
	static const char *const bad[] = {"..", "a/../..", "/etc", "a//b", "./a", "a/."};
	int fd = -1;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(st_confine_dir(&fd, f->root_fd, bad[i], 0755, ST_CONFINE_CREATE, f->root), ST_ERR_TARGET);
		assert_int_equal(st_confine_create_file(&fd, f->root_fd, bad[i], 0600, 0, f->root), ST_ERR_TARGET);
		assert_int_equal(fd, -1);
	}
	assert_outside_untouched(f);
}

/* A link planted at every level of a path: refused without replace, replaced (the link, not
 * its target) with it; nothing is ever created outside. */
static void test_links_at_every_level(void **state)
{
	confine_fixture *f = *state;
	static const char *const levels[] = {"repository", "repository/node/ab", "repository/node/ab/cd"};
	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
		plant_link(f, levels[i], f->outside);
		int fd = -1;
		int rc = st_confine_dir(&fd, f->root_fd, "repository/node/ab/cd/ef", 0755, ST_CONFINE_CREATE, f->root);
		assert_int_equal(rc, ST_ERR_TARGET);
		assert_non_null(strstr(st_error_message(), "symbolic link"));
		assert_non_null(strstr(st_error_message(), levels[i]));
		assert_int_equal(fd, -1);
		assert_outside_untouched(f);
		rc = st_confine_dir(&fd, f->root_fd, "repository/node/ab/cd/ef", 0755,
				    ST_CONFINE_CREATE | ST_CONFINE_REPLACE, f->root);
		assert_int_equal(rc, 0);
		int file = -1;
		assert_int_equal(st_confine_create_file(&file, fd, "new", 0600, 0, f->root), 0);
		close(file);
		close(fd);
		assert_outside_untouched(f);
		char path[TU_PATH_MAX];
		struct stat st;
		tu_join(path, f->root, levels[i]);
		assert_int_equal(lstat(path, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
	}
}

static void test_file_names_that_are_links(void **state)
{
	confine_fixture *f = *state;
	plant_link(f, "d/file", f->victim);
	int fd = -1;
	assert_int_equal(st_confine_create_file(&fd, f->root_fd, "d/file", 0600, 0, f->root), ST_ERR_TARGET);
	assert_non_null(strstr(st_error_message(), "symbolic link"));
	assert_int_equal(st_confine_create_file(&fd, f->root_fd, "d/file", 0600, ST_CONFINE_REPLACE, f->root), 0);
	assert_int_equal(write(fd, "overwritten", 11), 11);
	close(fd);
	assert_outside_untouched(f);

	/* A hard link to a file outside is unlinked, never truncated or written. */
	char hard[TU_PATH_MAX];
	tu_join(hard, f->root, "d/hard");
	assert_int_equal(link(f->victim, hard), 0);
	assert_int_equal(st_confine_create_file(&fd, f->root_fd, "d/hard", 0600, ST_CONFINE_REPLACE, f->root), 0);
	assert_int_equal(write(fd, "overwritten", 11), 11);
	close(fd);
	assert_outside_untouched(f);

	/* A link at a link's name, and a link's mtime: the planted link is replaced. */
	plant_link(f, "d/link", f->outside);
	assert_int_equal(st_confine_symlink(f->root_fd, "d/link", "target", 0, f->root), ST_ERR_TARGET);
	assert_int_equal(st_confine_symlink(f->root_fd, "d/link", "target", ST_CONFINE_REPLACE, f->root), 0);
	assert_int_equal(st_confine_set_mtime(f->root_fd, "d/link", 1000000000LL * 1234567, f->root), 0);
	char path[TU_PATH_MAX], buf[64] = {0};
	tu_join(path, f->root, "d/link");
	assert_int_equal(readlink(path, buf, sizeof buf - 1), 6);
	assert_string_equal(buf, "target");
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1234567);
	assert_int_equal(st_confine_unlink(f->root_fd, "d/link", f->root), 0);
	assert_false(tu_exists(path));
	assert_outside_untouched(f);
}

/* A file where a folder should be: refused, or replaced by a folder. */
static void test_file_in_the_way_of_a_folder(void **state)
{
	confine_fixture *f = *state;
	char path[TU_PATH_MAX];
	tu_join(path, f->root, "plain");
	tu_write_file(path, "x", 1);
	int fd = -1;
	assert_int_equal(st_confine_dir(&fd, f->root_fd, "plain/sub", 0755, ST_CONFINE_CREATE, f->root), ST_ERR_TARGET);
	assert_non_null(strstr(st_error_message(), "in the way"));
	assert_int_equal(st_confine_dir(&fd, f->root_fd, "plain/sub", 0755, ST_CONFINE_CREATE | ST_CONFINE_REPLACE, f->root),
			 0);
	close(fd);
	/* A folder is never removed to make room for a file. */
	assert_int_equal(st_confine_create_file(&fd, f->root_fd, "plain", 0600, ST_CONFINE_REPLACE, f->root), ST_ERR_TARGET);
}

/* Opening a folder only if it is there: a missing one, a link or a file at any level is no
 * folder (and no error); a bad path is refused. */
static void test_dir_existing(void **state)
{
	confine_fixture *f = *state;
	int fd = -1;
	assert_int_equal(st_confine_dir(&fd, f->root_fd, "repository/node/ab/cd", 0755, ST_CONFINE_CREATE, f->root), 0);
	close(fd);
	assert_int_equal(st_confine_dir_existing(&fd, f->root_fd, "repository/node/ab/cd", f->root), 0);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	close(fd);
	assert_int_equal(st_confine_dir_existing(&fd, f->root_fd, "", f->root), 0);
	assert_true(fd >= 0);
	close(fd);
	static const char *const absent[] = {"repository/node/ab/ef", "repository/node/12", "nothing/here"};
	for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
		fd = 99;
		assert_int_equal(st_confine_dir_existing(&fd, f->root_fd, absent[i], f->root), 0);
		assert_int_equal(fd, -1);
	}
	plant_link(f, "repository/node/12", f->outside);
	plant_link(f, "repository/node/ab/cd", f->outside);
	char path[TU_PATH_MAX];
	tu_join(path, f->root, "repository/node/34");
	tu_write_file(path, "x", 1);
	static const char *const not_folders[] = {"repository/node/12", "repository/node/12/cd",
						  "repository/node/ab/cd", "repository/node/34",
						  "repository/node/34/56"};
	for (size_t i = 0; i < sizeof not_folders / sizeof not_folders[0]; i++) {
		fd = 99;
		assert_int_equal(st_confine_dir_existing(&fd, f->root_fd, not_folders[i], f->root), 0);
		assert_int_equal(fd, -1);
	}
	assert_int_equal(st_confine_dir_existing(&fd, f->root_fd, "repository/../..", f->root), ST_ERR_TARGET);
	assert_int_equal(fd, -1);
	assert_outside_untouched(f);
}

int run_confine_tests(void)
{
#define BOTH(test) cmocka_unit_test_setup_teardown(test, setup_openat2, teardown), \
		   cmocka_unit_test_setup_teardown(test, setup_walk, teardown)
	const struct CMUnitTest tests[] = {
		BOTH(test_creates_folders_and_files),
		BOTH(test_refuses_bad_paths),
		BOTH(test_links_at_every_level),
		BOTH(test_file_names_that_are_links),
		BOTH(test_file_in_the_way_of_a_folder),
		BOTH(test_dir_existing),
	};
#undef BOTH
	return cmocka_run_group_tests_name("common/confine", tests, NULL, NULL);
}
