/*
 * test_source.c - the source interface (scanner/source.h) with the AiiDA 1.x node-folder kind:
 * kind detection from a root's shape, a node's tree and its entries' bytes through the
 * interface, missing nodes, files that vanish, change or shrink, and many threads at once.
 */
#include "../testutil.h"
#include "tests.h"

#include "common/error.h"
#include "scanner/node_tree.h"
#include "scanner/source.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>

static const char uuid[] = "0123abcd-ef45-6789-abcd-ef0123456789";

static scan_node node_of(const char *node_uuid, int64_t id)
{
	scan_node node = {.id = id, .ctime_us = 0};
	snprintf(node.uuid, sizeof node.uuid, "%s", node_uuid);
	return node;
}

/* <tmp>/<name>, created, into out. */
static void make_root(char *out, const char *tmp, const char *name)
{
	tu_join(out, tmp, name);
	assert_int_equal(mkdir(out, 0755), 0);
}

static void mkdirs(const char *root, const char *rel)
{
	char path[TU_PATH_MAX];
	tu_join(path, root, rel);
	assert_int_equal(st_mkdir_p(path, 0755), 0);
}

/* The folder of node_uuid below a 1.x root, created, into out. */
static void make_node_dir(char *out, const char *root, const char *node_uuid)
{
	char repository[TU_PATH_MAX];
	tu_join(repository, root, "repository");
	assert_int_equal(scan_node_dir(out, TU_PATH_MAX, repository, node_uuid), 0);
	assert_int_equal(st_mkdir_p(out, 0755), 0);
}

/* A 1.x root <tmp>/aiida1 holding the folder of the node uuid: both paths into root and
 * node_dir. */
static void make_root_with_node(char *root, char *node_dir, const char *tmp)
{
	make_root(root, tmp, "aiida1");
	make_node_dir(node_dir, root, uuid);
}

static void put_file(const char *dir, const char *rel, const void *data, size_t len)
{
	char path[TU_PATH_MAX];
	tu_join(path, dir, rel);
	tu_write_file(path, data, len);
}

/* Opens the source at root and reads node's tree, both of which must succeed. */
static void open_and_walk(source **src, scan_tree *tree, const char *root, const scan_node *node)
{
	assert_int_equal(source_open(src, root), 0);
	assert_int_equal(source_node_tree(tree, *src, node), 0);
}

static const scan_entry *find_entry(const scan_tree *tree, const char *path)
{
	for (size_t i = 0; i < tree->count; i++)
		if (strcmp(tree->entries[i].path, path) == 0)
			return &tree->entries[i];
	return NULL;
}

/* source_open on root must fail with ST_ERR_SOURCE, a message holding each of the parts, and
 * no source. */
static void expect_refused(const char *root, const char *part1, const char *part2)
{
	source *src = (source *)&src; /* not NULL: the call must clear it */
	st_error_clear();
	assert_int_equal(source_open(&src, root), ST_ERR_SOURCE);
	assert_null(src);
	assert_int_equal(st_error_code(), ST_ERR_SOURCE);
	assert_non_null(strstr(st_error_message(), part1));
	assert_non_null(strstr(st_error_message(), part2));
	assert_null(strchr(st_error_message(), '\n'));
	st_error_clear();
}

static void test_detects_node_folders(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX], resolved[PATH_MAX], expected[TU_PATH_MAX + 16];
	make_root(root, tmp, "aiida1");
	mkdirs(root, "repository/node");
	assert_non_null(realpath(root, resolved));
	snprintf(expected, sizeof expected, "%s/repository", resolved);

	source *src = NULL;
	assert_int_equal(source_open(&src, root), 0);
	assert_non_null(src);
	assert_int_equal(source_get_kind(src), SOURCE_KIND_NODE_FOLDERS);
	assert_string_equal(source_path(src), expected);
	source_close(src);

	/* A root named through a link and with a trailing slash resolves to the same place. */
	char link[TU_PATH_MAX], named[TU_PATH_MAX + 1];
	tu_join(link, tmp, "link-to-aiida1");
	assert_int_equal(symlink(root, link), 0);
	snprintf(named, sizeof named, "%s/", link);
	assert_int_equal(source_open(&src, named), 0);
	assert_string_equal(source_path(src), expected);
	source_close(src);

	/* A root that holds both shapes is read as node folders (they are what it has in use). */
	mkdirs(root, "container");
	assert_int_equal(source_open(&src, root), 0);
	assert_int_equal(source_get_kind(src), SOURCE_KIND_NODE_FOLDERS);
	source_close(src);
	source_close(NULL);
}

static void write_config(const char *root, const char *text)
{
	char path[TU_PATH_MAX];
	tu_join(path, root, "container/config.json");
	tu_write_file(path, text, strlen(text));
}

/* A container is read once its config.json is one strata can read; every other one is refused
 * with a line that names the file and the reason. */
static void test_container_configuration(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX];
	make_root(root, tmp, "aiida2");
	mkdirs(root, "container/loose");
	mkdirs(root, "container/packs");
	expect_refused(root, "unable to read container configuration", "config.json");

	static const char *const bad[][2] = {
		{"[1]", "is not a JSON object"},
		{"{\"container_version\": 2}", "'container_version' is missing or not an integer from 1 to 1"},
		{"{\"container_version\": 1, \"loose_prefix_len\": 99}", "'loose_prefix_len'"},
		{"{\"container_version\": 1, \"loose_prefix_len\": 2}", "'pack_size_target'"},
		{"{\"container_version\": 1, \"loose_prefix_len\": 2, \"pack_size_target\": 10, \"hash_type\": \"md5\"}",
		 "hash_type 'md5' is not 'sha256'"},
		{"{\"container_version\": 1, \"loose_prefix_len\": 2, \"pack_size_target\": 10, \"hash_type\": \"sha256\","
		 " \"compression_algorithm\": \"zstd+1\"}",
		 "compression_algorithm 'zstd+1' is not zlib"},
		{"{\"container_version\": 1, \"loose_prefix_len\": 2, \"pack_size_target\": 10, \"hash_type\": \"sha256\","
		 " \"compression_algorithm\": \"zlib+1\", \"container_id\": \"../x\"}",
		 "container_id is missing"},
		{"not json", "config.json"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_config(root, bad[i][0]);
		expect_refused(root, bad[i][1], "config.json");
	}

	write_config(root, "{\"container_version\": 1, \"loose_prefix_len\": 2, \"pack_size_target\": 4294967296,"
			   " \"hash_type\": \"sha256\", \"container_id\": \"0123abcd\", \"compression_algorithm\": \"zlib+1\"}");
	source *src = NULL;
	assert_int_equal(source_open(&src, root), 0);
	assert_int_equal(source_get_kind(src), SOURCE_KIND_CONTAINER);
	assert_non_null(strstr(source_container_config_text(src), "\"0123abcd\""));
	assert_non_null(strstr(source_path(src), "/container"));
	source_close(src);

	/* A packs.idx that is not a file, or not SQLite, is refused. */
	mkdirs(root, "container/packs.idx");
	expect_refused(root, "pack index", "is not a regular file");
}

static void test_refuses_other_shapes(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX], path[TU_PATH_MAX];
	static const char neither[] = "is not an AiiDA repository: it holds neither 'repository/node' nor 'container'";

	make_root(root, tmp, "empty");
	expect_refused(root, neither, root);

	make_root(root, tmp, "no-node");
	mkdirs(root, "repository");
	expect_refused(root, neither, root);

	/* Files where the folders should be are not the shape either. */
	make_root(root, tmp, "files");
	mkdirs(root, "repository");
	tu_join(path, root, "repository/node");
	tu_write_file(path, "x", 1);
	tu_join(path, root, "container");
	tu_write_file(path, "x", 1);
	expect_refused(root, neither, root);

	tu_join(path, tmp, "no-such-root");
	expect_refused(path, "is not accessible", path);

	tu_join(path, tmp, "a-file");
	tu_write_file(path, "x", 1);
	expect_refused(path, "is not a directory", path);
}

static void test_node_tree_through_the_interface(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX], node_dir[TU_PATH_MAX], link[TU_PATH_MAX];
	make_root_with_node(root, node_dir, tmp);
	mkdirs(node_dir, "path/sub");
	put_file(node_dir, "path/input.txt", "input", 5);
	put_file(node_dir, "path/sub/empty", "", 0);
	put_file(node_dir, "_aiidasubmit.sh", "#!/bin/sh\n", 10);
	tu_join(link, node_dir, "path/latest");
	assert_int_equal(symlink("input.txt", link), 0);

	source *src = NULL;
	assert_int_equal(source_open(&src, root), 0);
	scan_node node = node_of(uuid, 7);
	bool exists = false;
	assert_int_equal(source_node_exists(&exists, src, &node), 0);
	assert_true(exists);

	scan_tree tree, direct;
	assert_int_equal(source_node_tree(&tree, src, &node), 0);
	assert_int_equal(scan_tree_read(&direct, node_dir), 0);
	assert_true(tree.exists);
	/* The interface gives the walk of the node's folder, entry for entry. */
	assert_int_equal(tree.count, 6);
	assert_int_equal(tree.count, direct.count);
	assert_int_equal(tree.root_mode, direct.root_mode);
	assert_int_equal(tree.root_mtime_ns, direct.root_mtime_ns);
	for (size_t i = 0; i < tree.count; i++) {
		assert_string_equal(tree.entries[i].path, direct.entries[i].path);
		assert_int_equal(tree.entries[i].type, direct.entries[i].type);
		assert_int_equal(tree.entries[i].size, direct.entries[i].size);
		assert_int_equal(tree.entries[i].mtime_ns, direct.entries[i].mtime_ns);
	}
	const scan_entry *e = find_entry(&tree, "path/latest");
	assert_non_null(e);
	assert_int_equal(e->type, SCAN_ENTRY_SYMLINK);
	assert_string_equal(e->target, "input.txt");
	e = find_entry(&tree, "path/sub");
	assert_non_null(e);
	assert_int_equal(e->type, SCAN_ENTRY_DIR);
	scan_tree_release(&tree);
	scan_tree_release(&direct);
	source_close(src);
}

static void test_missing_node_folder(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX], node_dir[TU_PATH_MAX];
	make_root_with_node(root, node_dir, tmp);

	source *src = NULL;
	assert_int_equal(source_open(&src, root), 0);
	/* Same shard folders, another node: it has no folder, which is normal. */
	scan_node other = node_of("0123abcd-0000-0000-0000-000000000000", 8);
	bool exists = true;
	assert_int_equal(source_node_exists(&exists, src, &other), 0);
	assert_false(exists);
	scan_tree tree;
	memset(&tree, 0xab, sizeof tree);
	st_error_clear();
	assert_int_equal(source_node_tree(&tree, src, &other), 0);
	assert_false(tree.exists);
	assert_int_equal(tree.count, 0);
	assert_null(tree.entries);
	assert_int_equal(st_error_code(), ST_OK);
	scan_tree_release(&tree);

	/* A file where the node's folder should be is not a folder: it does not exist as one, and
	 * walking it is an error of the source. */
	char shard[TU_PATH_MAX];
	scan_node blocked = node_of("fedcba98-7654-3210-fedc-ba9876543210", 9);
	make_node_dir(shard, root, "fedcba98-0000-0000-0000-000000000000");
	put_file(shard, "../ba98-7654-3210-fedc-ba9876543210", "x", 1);
	assert_int_equal(source_node_exists(&exists, src, &blocked), 0);
	assert_false(exists);
	assert_int_equal(source_node_tree(&tree, src, &blocked), ST_ERR_SOURCE);
	assert_non_null(strstr(st_error_message(), "ba98-7654-3210-fedc-ba9876543210"));
	scan_tree_release(&tree);

	/* A malformed uuid never becomes a path. */
	scan_node bad = node_of("../../../../../../../../etc/passwd00", 10);
	assert_int_equal(source_node_exists(&exists, src, &bad), ST_ERR_GENERIC);
	assert_false(exists);
	assert_int_equal(source_node_tree(&tree, src, &bad), ST_ERR_GENERIC);
	assert_non_null(strstr(st_error_message(), "invalid node uuid"));
	scan_tree_release(&tree);
	st_error_clear();
	source_close(src);
}

/* Reads the whole entry in pieces of the given sizes (cycled) and compares it with data. */
static void read_in_pieces(source_entry *file, const unsigned char *data, size_t len, const size_t *pieces,
			   size_t piece_count)
{
	unsigned char *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	size_t done = 0;
	for (size_t k = 0; done < len; k++) {
		size_t want = pieces[k % piece_count];
		if (want > len - done)
			want = len - done;
		assert_int_equal(source_entry_read(file, buf + done, want), 0);
		done += want;
	}
	assert_int_equal(source_entry_read(file, buf, 0), 0);
	assert_memory_equal(buf, data, len);
	free(buf);
}

static void test_reads_entry_bytes(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX], node_dir[TU_PATH_MAX];
	make_root_with_node(root, node_dir, tmp);
	mkdirs(node_dir, "path");
	enum { BIG = 300000 };
	unsigned char *big = malloc(BIG);
	assert_non_null(big);
	tu_fill_random(big, BIG, 42);
	put_file(node_dir, "path/big.bin", big, BIG);
	put_file(node_dir, "path/empty", "", 0);
	put_file(node_dir, "small.txt", "hello, node", 11);

	source *src = NULL;
	scan_tree tree;
	scan_node node = node_of(uuid, 1);
	open_and_walk(&src, &tree, root, &node);

	source_entry *file = NULL;
	static const size_t whole[] = {BIG}, uneven[] = {1, 4095, 65536, 7, 100000};
	const scan_entry *e = find_entry(&tree, "path/big.bin");
	assert_non_null(e);
	assert_int_equal(source_open_entry(&file, src, &node, e), 0);
	read_in_pieces(file, big, BIG, whole, 1);
	source_entry_close(file);
	assert_int_equal(source_open_entry(&file, src, &node, e), 0);
	read_in_pieces(file, big, BIG, uneven, sizeof uneven / sizeof uneven[0]);
	/* Past the end is content that ends early. */
	unsigned char extra;
	assert_int_equal(source_entry_read(file, &extra, 1), ST_ERR_CHANGED);
	assert_non_null(strstr(st_error_message(), "shrank while being read"));
	source_entry_close(file);

	assert_int_equal(source_open_entry(&file, src, &node, find_entry(&tree, "small.txt")), 0);
	read_in_pieces(file, (const unsigned char *)"hello, node", 11, whole, 1);
	source_entry_close(file);
	assert_int_equal(source_open_entry(&file, src, &node, find_entry(&tree, "path/empty")), 0);
	read_in_pieces(file, (const unsigned char *)"", 0, whole, 1);
	source_entry_close(file);
	source_entry_close(NULL);

	/* Only files have bytes. */
	file = (source_entry *)&file;
	assert_int_equal(source_open_entry(&file, src, &node, find_entry(&tree, "path")), ST_ERR_GENERIC);
	assert_null(file);
	assert_non_null(strstr(st_error_message(), "is not a file"));
	st_error_clear();
	scan_tree_release(&tree);
	source_close(src);
	free(big);
}

static void test_entry_that_vanishes_changes_or_shrinks(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX], node_dir[TU_PATH_MAX], path[TU_PATH_MAX];
	make_root_with_node(root, node_dir, tmp);
	put_file(node_dir, "gone", "soon gone", 9);
	put_file(node_dir, "grows", "12345", 5);
	put_file(node_dir, "shrinks", "0123456789", 10);

	source *src = NULL;
	scan_tree tree;
	scan_node node = node_of(uuid, 1);
	open_and_walk(&src, &tree, root, &node);
	assert_int_equal(tree.count, 3);

	source_entry *file = NULL;
	tu_join(path, node_dir, "gone");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(source_open_entry(&file, src, &node, find_entry(&tree, "gone")), ST_ERR_CHANGED);
	assert_null(file);
	assert_non_null(strstr(st_error_message(), "vanished while being read"));
	assert_non_null(strstr(st_error_message(), path));

	tu_join(path, node_dir, "grows");
	put_file(node_dir, "grows", "123456", 6);
	assert_int_equal(source_open_entry(&file, src, &node, find_entry(&tree, "grows")), ST_ERR_CHANGED);
	assert_null(file);
	assert_non_null(strstr(st_error_message(), "changed while being read"));
	assert_non_null(strstr(st_error_message(), path));

	/* Same size, another mtime: changed too. */
	struct timespec times[2] = {{0, UTIME_OMIT}, {1000000000, 0}};
	put_file(node_dir, "grows", "12345", 5);
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	assert_int_equal(source_open_entry(&file, src, &node, find_entry(&tree, "grows")), ST_ERR_CHANGED);
	assert_non_null(strstr(st_error_message(), "changed while being read"));

	/* Truncated after it was opened: the read ends early. */
	tu_join(path, node_dir, "shrinks");
	assert_int_equal(source_open_entry(&file, src, &node, find_entry(&tree, "shrinks")), 0);
	assert_int_equal(truncate(path, 4), 0);
	char buf[10];
	assert_int_equal(source_entry_read(file, buf, 10), ST_ERR_CHANGED);
	assert_non_null(strstr(st_error_message(), "shrank while being read"));
	assert_non_null(strstr(st_error_message(), path));
	source_entry_close(file);
	st_error_clear();
	scan_tree_release(&tree);
	source_close(src);
}

enum { THREAD_NODES = 24, THREADS = 8 };

typedef struct thread_arg {
	source *src;
	const scan_node *nodes;
	int failures;
} thread_arg;

/* Every node's tree, and every file's bytes, which hold the node's uuid. */
static void *read_every_node(void *arg)
{
	thread_arg *t = arg;
	for (int round = 0; round < 4; round++) {
		for (size_t i = 0; i < THREAD_NODES; i++) {
			scan_tree tree;
			if (source_node_tree(&tree, t->src, &t->nodes[i]) != 0 || tree.count != 2) {
				t->failures++;
				scan_tree_release(&tree);
				continue;
			}
			const scan_entry *e = &tree.entries[0];
			source_entry *file = NULL;
			char buf[SCAN_UUID_LEN];
			if (source_open_entry(&file, t->src, &t->nodes[i], e) != 0 ||
			    source_entry_read(file, buf, sizeof buf) != 0 || memcmp(buf, t->nodes[i].uuid, sizeof buf) != 0)
				t->failures++;
			source_entry_close(file);
			scan_tree_release(&tree);
		}
	}
	return NULL;
}

static void test_many_threads_at_once(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX], node_dir[TU_PATH_MAX];
	make_root(root, tmp, "aiida1");
	scan_node nodes[THREAD_NODES];
	for (int i = 0; i < THREAD_NODES; i++) {
		char node_uuid[SCAN_UUID_LEN + 1];
		snprintf(node_uuid, sizeof node_uuid, "%08x-aaaa-bbbb-cccc-%012x", (unsigned)(i * 0x01010101), (unsigned)i);
		nodes[i] = node_of(node_uuid, i + 1);
		make_node_dir(node_dir, root, node_uuid);
		put_file(node_dir, "a.txt", node_uuid, SCAN_UUID_LEN);
		mkdirs(node_dir, "b");
	}
	source *src = NULL;
	assert_int_equal(source_open(&src, root), 0);
	pthread_t threads[THREADS];
	thread_arg args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		args[i] = (thread_arg){.src = src, .nodes = nodes};
		assert_int_equal(pthread_create(&threads[i], NULL, read_every_node, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_int_equal(args[i].failures, 0);
	}
	source_close(src);
}

/* The folders above the node folders: repository and repository/node always, the shards of
 * noted nodes once each, deepest first; a missing shard or one that is a link is left out, a
 * malformed uuid noted is ignored. */
static void test_folder_meta(void **state)
{
	const char *tmp = *state;
	char root[TU_PATH_MAX], node_dir[TU_PATH_MAX], path[TU_PATH_MAX], outside[TU_PATH_MAX];
	make_root_with_node(root, node_dir, tmp);
	make_node_dir(node_dir, root, "ab12cdef-0000-4000-8000-000000000000");
	mkdirs(root, "repository/node/ff/ff");
	make_root(outside, tmp, "outside");
	mkdirs(outside, "ef");
	tu_join(path, root, "repository/node/cd");
	assert_int_equal(symlink(outside, path), 0);
	tu_join(path, root, "repository/node/ab/12");
	assert_int_equal(chmod(path, 0750), 0);
	struct timespec times[2] = {{1000000000, 123}, {1000000000, 123}};
	tu_join(path, root, "repository/node/01/23");
	assert_int_equal(chmod(path, 0711), 0);
	tu_join(path, root, "repository/node/ab/12");
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);

	source *src = NULL;
	source_folder *folders = NULL;
	size_t count = 0;
	assert_int_equal(source_open(&src, root), 0);
	assert_int_equal(source_folder_meta(src, &folders, &count), 0);
	assert_int_equal(count, 2);
	assert_string_equal(folders[0].path, "repository/node");
	assert_string_equal(folders[1].path, "repository");
	free(folders);

	static const char *const noted[] = {
		"ab12cdef-0000-4000-8000-000000000000", uuid, "ab34cdef-0000-4000-8000-000000000000",
		"cdefcdef-0000-4000-8000-000000000000", "zz12cdef-0000-4000-8000-000000000000",
		"AB12CDEF-0000-4000-8000-000000000000", uuid,
	};
	for (size_t i = 0; i < sizeof noted / sizeof noted[0]; i++) {
		scan_node node = node_of(noted[i], (int64_t)i);
		source_note_node(src, &node);
	}
	assert_int_equal(source_folder_meta(src, &folders, &count), 0);
	static const char *const expected[] = {"repository/node/01/23", "repository/node/ab/12", "repository/node/01",
					       "repository/node/ab", "repository/node", "repository"};
	assert_int_equal(count, sizeof expected / sizeof expected[0]);
	for (size_t i = 0; i < count; i++)
		assert_string_equal(folders[i].path, expected[i]);
	assert_int_equal(folders[1].mode, 0750);
	assert_int_equal(folders[1].mtime_ns, 1000000000LL * 1000000000 + 123);
	assert_int_equal(folders[0].mode, 0711);
	free(folders);
	source_close(src);
}

#define SOURCE_TEST(name) cmocka_unit_test_setup_teardown(name, tu_tmpdir_setup, tu_tmpdir_teardown)

int run_source_tests(void)
{
	const struct CMUnitTest tests[] = {
		SOURCE_TEST(test_detects_node_folders),
		SOURCE_TEST(test_container_configuration),
		SOURCE_TEST(test_refuses_other_shapes),
		SOURCE_TEST(test_node_tree_through_the_interface),
		SOURCE_TEST(test_missing_node_folder),
		SOURCE_TEST(test_reads_entry_bytes),
		SOURCE_TEST(test_entry_that_vanishes_changes_or_shrinks),
		SOURCE_TEST(test_many_threads_at_once),
		SOURCE_TEST(test_folder_meta),
	};
	return cmocka_run_group_tests_name("scanner/source", tests, NULL, NULL);
}
