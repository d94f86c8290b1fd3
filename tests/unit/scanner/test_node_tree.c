/*
 * test_node_tree.c - unit_scanner: node folder paths and the walk of a node's tree
 * (scanner/node_tree.h).
 */
#include "../testutil.h"
#include "tests.h"

#include "common/error.h"
#include "scanner/node_tree.h"

#include <errno.h>
#include <pwd.h>

static const char uuid[] = "0123abcd-ef45-6789-abcd-ef0123456789";

static void test_node_dir_layout(void **state)
{
	(void)state;
	char out[256];
	assert_int_equal(scan_node_dir(out, sizeof out, "/repo", uuid), 0);
	assert_string_equal(out, "/repo/node/01/23/abcd-ef45-6789-abcd-ef0123456789");
	assert_int_equal(scan_node_dir(out, sizeof out, "relative/repo", uuid), 0);
	assert_string_equal(out, "relative/repo/node/01/23/abcd-ef45-6789-abcd-ef0123456789");

	/* An exact fit, and one byte less. */
	size_t need = strlen("/r/node/01/23/abcd-ef45-6789-abcd-ef0123456789") + 1;
	assert_int_equal(scan_node_dir(out, need, "/r", uuid), 0);
	assert_string_equal(out, "/r/node/01/23/abcd-ef45-6789-abcd-ef0123456789");
	assert_int_equal(scan_node_dir(out, need - 1, "/r", uuid), ST_ERR_GENERIC);
	assert_non_null(strstr(st_error_message(), "too long"));
	st_error_clear();
}

static void test_node_dir_rejects_malformed_uuids(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"0123abcd",
		"0123abcd-ef45-6789-abcd-ef012345678",   /* 35 */
		"0123abcd-ef45-6789-abcd-ef01234567890", /* 37 */
		"0123ABCD-EF45-6789-ABCD-EF0123456789",  /* upper case */
		"0123abcd-ef45-6789-abcd-ef012345678g",
		"../../../../../../../../../../etc/pas",
		"0123abcd/ef45/6789/abcd/ef0123456789",
		"0123abcd-ef45-6789-abcd-ef01234567 9",
		"0123abcd-ef45-6789-abcd-ef012345678\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char out[256] = "untouched";
		st_error_clear();
		assert_int_equal(scan_node_dir(out, sizeof out, "/repo", bad[i]), ST_ERR_GENERIC);
		assert_int_equal(st_error_code(), ST_ERR_GENERIC);
		assert_non_null(strstr(st_error_message(), "invalid node uuid"));
	}
	st_error_clear();
}

static void make_dir(const char *root, const char *rel, mode_t mode)
{
	char path[TU_PATH_MAX];
	tu_join(path, root, rel);
	assert_int_equal(mkdir(path, mode), 0);
	assert_int_equal(chmod(path, mode), 0); /* whatever the umask */
}

static void make_file(const char *root, const char *rel, const char *content, mode_t mode)
{
	char path[TU_PATH_MAX];
	tu_join(path, root, rel);
	tu_write_file(path, content, strlen(content));
	assert_int_equal(chmod(path, mode), 0);
}

static void make_link(const char *root, const char *rel, const char *target)
{
	char path[TU_PATH_MAX];
	tu_join(path, root, rel);
	assert_int_equal(symlink(target, path), 0);
}

static const scan_entry *find_entry(const scan_tree *tree, const char *path)
{
	for (size_t i = 0; i < tree->count; i++)
		if (strcmp(tree->entries[i].path, path) == 0)
			return &tree->entries[i];
	return NULL;
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Checks that every entry agrees with lstat of the file it names. */
static void check_against_lstat(const scan_tree *tree, const char *root)
{
	for (size_t i = 0; i < tree->count; i++) {
		const scan_entry *e = &tree->entries[i];
		char path[TU_PATH_MAX];
		struct stat st;
		tu_join(path, root, e->path);
		assert_int_equal(lstat(path, &st), 0);
		assert_int_equal(e->mode, st.st_mode & 07777);
		assert_int_equal(e->mtime_ns, mtime_ns(&st));
		assert_int_equal(e->inode, st.st_ino);
		if (S_ISREG(st.st_mode)) {
			assert_int_equal(e->type, SCAN_ENTRY_FILE);
			assert_int_equal(e->size, st.st_size);
			assert_null(e->target);
		} else if (S_ISDIR(st.st_mode)) {
			assert_int_equal(e->type, SCAN_ENTRY_DIR);
			assert_null(e->target);
		} else {
			assert_true(S_ISLNK(st.st_mode));
			assert_int_equal(e->type, SCAN_ENTRY_SYMLINK);
			char target[TU_PATH_MAX];
			ssize_t n = readlink(path, target, sizeof target - 1);
			assert_true(n >= 0);
			target[n] = '\0';
			assert_non_null(e->target);
			assert_string_equal(e->target, target);
		}
	}
}

/* Entries are sorted by path (strcmp), unique, and every parent directory comes first. */
static void check_order(const scan_tree *tree)
{
	for (size_t i = 0; i < tree->count; i++) {
		const char *path = tree->entries[i].path;
		assert_true(path[0] != '\0' && path[0] != '/');
		if (i > 0)
			assert_true(strcmp(tree->entries[i - 1].path, path) < 0);
		const char *slash = strrchr(path, '/');
		if (slash == NULL)
			continue;
		char parent[TU_PATH_MAX];
		snprintf(parent, sizeof parent, "%.*s", (int)(slash - path), path);
		bool found = false;
		for (size_t j = 0; j < i; j++)
			if (strcmp(tree->entries[j].path, parent) == 0) {
				assert_int_equal(tree->entries[j].type, SCAN_ENTRY_DIR);
				found = true;
			}
		assert_true(found);
	}
}

static void test_tree_read(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX];
	tu_join(root, tmp, "node");
	assert_int_equal(mkdir(root, 0750), 0);
	assert_int_equal(chmod(root, 0750), 0);

	make_dir(root, "a", 0750);
	make_dir(root, "a/b", 0700);
	make_file(root, "a/b/deep.txt", "deep content", 0640);
	make_dir(root, "a-sibling", 0755);
	make_file(root, "a-sibling/x", "x", 0644);
	make_file(root, "empty", "", 0600);
	make_file(root, "with space.txt", "spaces", 0644);
	make_file(root, "\xc3\xbcnic\xc3\xb8" "de.dat", "unicode", 0644); /* "ünicøde.dat" */
	make_file(root, "-dash", "dash", 0755);
	make_file(root, "exec.sh", "#!/bin/sh\n", 04755);
	make_dir(root, "emptydir", 0711);
	make_link(root, "link_file", "a/b/deep.txt");
	make_link(root, "link_dir", "a");
	make_link(root, "dangling", "does/not/exist");
	make_link(root, "a/up", "..");
	char fifo[TU_PATH_MAX];
	tu_join(fifo, root, "a/fifo");
	assert_int_equal(mkfifo(fifo, 0644), 0);

	/* A precise mtime, to the nanosecond. */
	char timed[TU_PATH_MAX];
	tu_join(timed, root, "with space.txt");
	struct timespec times[2] = {{.tv_sec = 1234567890, .tv_nsec = 123456789},
				    {.tv_sec = 1234567890, .tv_nsec = 123456789}};
	assert_int_equal(utimensat(AT_FDCWD, timed, times, AT_SYMLINK_NOFOLLOW), 0);
	/* Directory times last: creating children changed them. */
	char dir_b[TU_PATH_MAX];
	tu_join(dir_b, root, "a/b");
	struct timespec dir_times[2] = {{.tv_sec = 1000000000, .tv_nsec = 1},
					{.tv_sec = 1000000000, .tv_nsec = 1}};
	assert_int_equal(utimensat(AT_FDCWD, dir_b, dir_times, 0), 0);

	scan_tree tree;
	assert_int_equal(scan_tree_read(&tree, root), 0);
	assert_true(tree.exists);
	/* The fifo is left out, and counted: the backup reports it (exit code 11). */
	assert_int_equal(tree.special_skipped, 1);

	static const struct {
		const char *path;
		scan_entry_type type;
	} expected[] = {
		{"-dash", SCAN_ENTRY_FILE},
		{"a", SCAN_ENTRY_DIR},
		{"a-sibling", SCAN_ENTRY_DIR},
		{"a-sibling/x", SCAN_ENTRY_FILE},
		{"a/b", SCAN_ENTRY_DIR},
		{"a/b/deep.txt", SCAN_ENTRY_FILE},
		{"a/up", SCAN_ENTRY_SYMLINK},
		{"dangling", SCAN_ENTRY_SYMLINK},
		{"empty", SCAN_ENTRY_FILE},
		{"emptydir", SCAN_ENTRY_DIR},
		{"exec.sh", SCAN_ENTRY_FILE},
		{"link_dir", SCAN_ENTRY_SYMLINK},
		{"link_file", SCAN_ENTRY_SYMLINK},
		{"with space.txt", SCAN_ENTRY_FILE},
		{"\xc3\xbcnic\xc3\xb8" "de.dat", SCAN_ENTRY_FILE},
	};
	size_t n = sizeof expected / sizeof expected[0];
	assert_int_equal(tree.count, n); /* the fifo is skipped; links are not followed */
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(tree.entries[i].path, expected[i].path);
		assert_int_equal(tree.entries[i].type, expected[i].type);
	}
	check_order(&tree);
	check_against_lstat(&tree, root);

	const scan_entry *e = find_entry(&tree, "link_dir");
	assert_string_equal(e->target, "a");
	assert_null(find_entry(&tree, "link_dir/b")); /* not followed */
	assert_null(find_entry(&tree, "a/up/a"));
	assert_string_equal(find_entry(&tree, "dangling")->target, "does/not/exist");
	assert_string_equal(find_entry(&tree, "link_file")->target, "a/b/deep.txt");
	assert_string_equal(find_entry(&tree, "a/up")->target, "..");
	assert_null(find_entry(&tree, "a/fifo"));

	e = find_entry(&tree, "empty");
	assert_int_equal(e->size, 0);
	assert_int_equal(e->mode, 0600);
	e = find_entry(&tree, "a/b/deep.txt");
	assert_int_equal(e->size, strlen("deep content"));
	assert_int_equal(e->mode, 0640);
	assert_int_equal(find_entry(&tree, "exec.sh")->mode, 04755);
	assert_int_equal(find_entry(&tree, "emptydir")->mode, 0711);
	assert_int_equal(find_entry(&tree, "with space.txt")->mtime_ns, 1234567890123456789LL);
	assert_int_equal(find_entry(&tree, "a/b")->mtime_ns, 1000000000000000001LL);

	struct stat st;
	assert_int_equal(stat(root, &st), 0);
	assert_int_equal(tree.root_mode, 0750);
	assert_int_equal(tree.root_mtime_ns, mtime_ns(&st));

	scan_tree_release(&tree);
	assert_int_equal(tree.count, 0);
	assert_null(tree.entries);
	scan_tree_release(&tree); /* releasing twice is harmless */
}

static void test_long_link_targets(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX];
	tu_join(root, tmp, "links");
	assert_int_equal(mkdir(root, 0755), 0);
	/* Around the reader's first buffer size (256) and well beyond it. */
	static const size_t lengths[] = {255, 256, 257, 1000, 4000};
	char names[5][16];
	char *targets[5];
	for (size_t i = 0; i < 5; i++) {
		targets[i] = malloc(lengths[i] + 1);
		assert_non_null(targets[i]);
		for (size_t j = 0; j < lengths[i]; j++)
			targets[i][j] = (j % 10 == 9) ? '/' : (char)('a' + j % 26);
		targets[i][lengths[i]] = '\0';
		snprintf(names[i], sizeof names[i], "l%zu", i);
		make_link(root, names[i], targets[i]);
	}
	scan_tree tree;
	assert_int_equal(scan_tree_read(&tree, root), 0);
	assert_int_equal(tree.count, 5);
	for (size_t i = 0; i < 5; i++) {
		const scan_entry *e = find_entry(&tree, names[i]);
		assert_non_null(e);
		assert_int_equal(e->type, SCAN_ENTRY_SYMLINK);
		assert_int_equal(strlen(e->target), lengths[i]);
		assert_string_equal(e->target, targets[i]);
		free(targets[i]);
	}
	scan_tree_release(&tree);
}

static int read_empty_folder(void *arg)
{
	scan_tree tree;
	int rc = scan_tree_read(&tree, arg);
	bool ok = rc == 0 && tree.exists && tree.count == 0 && tree.special_skipped == 0 && tree.root_mode == 0755;
	scan_tree_release(&tree);
	return ok ? 0 : 1;
}

/* An empty node folder (common: a node whose folder holds nothing) is an empty tree. Run in a
 * child so that a sanitizer abort fails this test alone. */
static void test_empty_folder(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	tu_join(path, tmp, "empty-node");
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(chmod(path, 0755), 0);
	assert_true(tu_run_in_child(read_empty_folder, path));
}

static void test_missing_folder_and_file_as_folder(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	scan_tree tree;

	tu_join(path, tmp, "no-such-node");
	memset(&tree, 0xab, sizeof tree);
	st_error_clear();
	assert_int_equal(scan_tree_read(&tree, path), 0);
	assert_false(tree.exists);
	assert_int_equal(tree.count, 0);
	assert_null(tree.entries);
	assert_int_equal(st_error_code(), ST_OK);
	scan_tree_release(&tree);

	/* A file where the folder should be is an error of the source. */
	tu_join(path, tmp, "file-node");
	tu_write_file(path, "x", 1);
	assert_int_equal(scan_tree_read(&tree, path), ST_ERR_SOURCE);
	assert_non_null(strstr(st_error_message(), "file-node"));
	assert_false(tree.exists);
	scan_tree_release(&tree);
}

static void test_many_entries(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX];
	tu_join(root, tmp, "big");
	assert_int_equal(mkdir(root, 0755), 0);
	/* Enough entries at several depths that the entry array grows while directories are being
	 * walked (the walk must not keep pointers into it). */
	enum { DIRS = 6, FILES = 40 };
	for (int d = 0; d < DIRS; d++) {
		char rel[64];
		snprintf(rel, sizeof rel, "d%d", d);
		make_dir(root, rel, 0755);
		snprintf(rel, sizeof rel, "d%d/sub", d);
		make_dir(root, rel, 0755);
		for (int f = 0; f < FILES; f++) {
			snprintf(rel, sizeof rel, "d%d/f%03d", d, f);
			make_file(root, rel, rel, 0644);
			snprintf(rel, sizeof rel, "d%d/sub/g%03d", d, f);
			make_file(root, rel, "", 0644);
		}
	}
	scan_tree tree;
	assert_int_equal(scan_tree_read(&tree, root), 0);
	assert_int_equal(tree.count, DIRS * (2 + 2 * FILES));
	check_order(&tree);
	check_against_lstat(&tree, root);
	const scan_entry *e = find_entry(&tree, "d5/sub/g039");
	assert_non_null(e);
	assert_int_equal(e->type, SCAN_ENTRY_FILE);
	e = find_entry(&tree, "d3/f017");
	assert_non_null(e);
	assert_int_equal(e->size, strlen("d3/f017"));
	scan_tree_release(&tree);
}

/* Runs scan_tree_read as an unprivileged user when we are root (root reads any directory):
 * seteuid keeps the saved set-user-id, so root can come back. Returns false when that is not
 * possible. */
static bool read_as_unprivileged(scan_tree *tree, const char *root, int *out_rc)
{
	if (geteuid() != 0) {
		*out_rc = scan_tree_read(tree, root);
		return true;
	}
	struct passwd *nobody = getpwnam("nobody");
	uid_t uid = nobody ? nobody->pw_uid : 65534;
	if (seteuid(uid) != 0)
		return false;
	*out_rc = scan_tree_read(tree, root);
	int back = seteuid(0);
	assert_int_equal(back, 0);
	return true;
}

static void test_unreadable_directory(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX], locked[TU_PATH_MAX];
	/* The unprivileged user must reach the node folder. */
	assert_int_equal(chmod(tmp, 0755), 0);
	tu_join(root, tmp, "node");
	assert_int_equal(mkdir(root, 0755), 0);
	make_file(root, "ok.txt", "ok", 0644);
	make_dir(root, "locked", 0000);
	tu_join(locked, root, "locked");

	scan_tree tree;
	int rc = 0;
	bool ran = read_as_unprivileged(&tree, root, &rc);
	assert_int_equal(chmod(locked, 0755), 0);
	if (!ran)
		skip();
	assert_int_equal(rc, ST_ERR_SOURCE);
	assert_non_null(strstr(st_error_message(), "locked"));
	assert_non_null(strstr(st_error_message(), strerror(EACCES)));
	/* On failure the tree is released. */
	assert_int_equal(tree.count, 0);
	assert_null(tree.entries);
	scan_tree_release(&tree);

	/* The unreadable node folder itself. */
	assert_int_equal(chmod(root, 0000), 0);
	ran = read_as_unprivileged(&tree, root, &rc);
	assert_int_equal(chmod(root, 0755), 0);
	assert_true(ran);
	assert_int_equal(rc, ST_ERR_SOURCE);
	assert_non_null(strstr(st_error_message(), root));
	scan_tree_release(&tree);
}

#define TREE_TEST(name) cmocka_unit_test_setup_teardown(name, tu_tmpdir_setup, tu_tmpdir_teardown)

int run_node_tree_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_dir_layout),
		cmocka_unit_test(test_node_dir_rejects_malformed_uuids),
		TREE_TEST(test_tree_read),
		TREE_TEST(test_long_link_targets),
		TREE_TEST(test_missing_folder_and_file_as_folder),
		TREE_TEST(test_empty_folder),
		TREE_TEST(test_many_entries),
		TREE_TEST(test_unreadable_directory),
	};
	return cmocka_run_group_tests_name("scanner/node_tree", tests, NULL, NULL);
}
