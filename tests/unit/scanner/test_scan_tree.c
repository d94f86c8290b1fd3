/*
 * test_scan_tree.c - unit_scanner: a node's tree and its digest (scanner/scan_tree.h).
 */
#include "../testutil.h"
#include "tests.h"

#include "common/mem.h"
#include "scanner/scan_tree.h"

/* A tree of a folder and two files, as a kind returns it (sorted). */
static void make_tree(scan_tree *tree)
{
	memset(tree, 0, sizeof *tree);
	tree->exists = true;
	tree->root_mode = 0755;
	tree->root_mtime_ns = 1000;
	scan_entry *e = scan_tree_append(tree);
	*e = (scan_entry){.path = st_strdup("a.txt"), .key = st_strdup("k1"), .size = 3, .mode = 0644,
			  .mtime_ns = 10, .type = SCAN_ENTRY_FILE, .inode = 5};
	e = scan_tree_append(tree);
	*e = (scan_entry){.path = st_strdup("d"), .mode = 0755, .mtime_ns = 20, .type = SCAN_ENTRY_DIR};
	e = scan_tree_append(tree);
	*e = (scan_entry){.path = st_strdup("d/b"), .target = st_strdup("../a.txt"), .type = SCAN_ENTRY_SYMLINK};
}

static st_hash digest_of(const scan_tree *tree)
{
	st_hash h;
	scan_tree_digest(&h, tree);
	return h;
}

static void test_digest_follows_what_the_tree_says(void **state)
{
	(void)state;
	scan_tree tree;
	make_tree(&tree);
	st_hash base = digest_of(&tree);

	/* The same tree read again: the same digest; the read-order key does not count. */
	scan_tree again;
	make_tree(&again);
	again.entries[0].inode = 99;
	st_hash same = digest_of(&again);
	assert_true(st_hash_equal(&base, &same));

	/* Each field that says what the files are changes it. */
	static const char *const changed[] = {"key", "size", "mtime", "mode", "path", "target", "root mtime",
					      "count of entries"};
	for (size_t i = 0; i < sizeof changed / sizeof changed[0]; i++) {
		scan_tree t;
		make_tree(&t);
		switch (i) {
		case 0: t.entries[0].key[1] = '2'; break;
		case 1: t.entries[0].size = 4; break;
		case 2: t.entries[1].mtime_ns = 21; break;
		case 3: t.entries[0].mode = 0600; break;
		case 4: t.entries[0].path[0] = 'b'; break;
		case 5: t.entries[2].target[0] = 'x'; break;
		case 6: t.root_mtime_ns = 1001; break;
		default:
			free(t.entries[2].path);
			free(t.entries[2].target);
			t.count = 2;
			break;
		}
		st_hash other = digest_of(&t);
		if (st_hash_equal(&base, &other))
			fail_msg("a change of the %s leaves the digest as it was", changed[i]);
		scan_tree_release(&t);
	}

	/* Fields cannot run into one another: "ab" + "" differs from "a" + "b". */
	scan_tree x = {0}, y = {0};
	scan_entry *e = scan_tree_append(&x);
	*e = (scan_entry){.path = st_strdup("ab"), .key = st_strdup(""), .type = SCAN_ENTRY_FILE};
	e = scan_tree_append(&y);
	*e = (scan_entry){.path = st_strdup("a"), .key = st_strdup("b"), .type = SCAN_ENTRY_FILE};
	st_hash hx = digest_of(&x), hy = digest_of(&y);
	assert_false(st_hash_equal(&hx, &hy));

	/* No tree at all is a digest too, not the one of an empty folder that exists. */
	scan_tree none = {0}, empty = {.exists = true};
	st_hash hn = digest_of(&none), he = digest_of(&empty);
	assert_false(st_hash_equal(&hn, &he));

	scan_tree_release(&x);
	scan_tree_release(&y);
	scan_tree_release(&tree);
	scan_tree_release(&again);
}

int run_scan_tree_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_follows_what_the_tree_says),
	};
	return cmocka_run_group_tests_name("scanner/scan_tree", tests, NULL, NULL);
}
