/*
 * test_archive.c - tar archives (engine/archive.h) written and read back in each kind, and the
 * manifest parser of restore --from-archive (engine/archive_restore.h) refusing lies.
 */
#include "../testutil.h"

#include "engine/archive.h"
#include "engine/archive_restore.h"
#include "engine/archive_verify.h"

#include <string.h>

int run_archive_tests(void);

static void round_trip(const char *dir, archive_kind kind)
{
	char path[TU_PATH_MAX], data[TU_PATH_MAX];
	tu_join(path, dir, "a.tar");
	tu_join(data, dir, "content");
	tu_write_file(data, "hello\n", 6);
	archive_writer *w = NULL;
	assert_int_equal(archive_writer_new(&w, path, kind), 0);
	/* Content handed over in pieces. */
	assert_int_equal(archive_writer_begin_file(w, "manifest.json", 0644, 0, 2), 0);
	assert_int_equal(archive_writer_write(w, "{", 1), 0);
	assert_int_equal(archive_writer_write(w, "}", 1), 0);
	assert_int_equal(archive_writer_add_dir(w, "repository", 0750, 1500000000123456789), 0);
	int fd = open(data, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(archive_writer_add_file(w, "repository/f \xff", 0600, 1000000000, fd, 6), 0);
	close(fd);
	assert_int_equal(archive_writer_add_symlink(w, "repository/l", "f \xff", 0), 0);
	assert_int_equal(archive_writer_close(w), 0);
	archive_writer_free(w);

	archive_reader *r = NULL;
	archive_item item;
	char buf[64];
	size_t n = 0;
	assert_int_equal(archive_reader_new(&r, path), 0);
	assert_int_equal(archive_reader_next(r, &item), 1);
	assert_string_equal(item.name, "manifest.json");
	assert_int_equal(item.size, 2);
	assert_int_equal(archive_reader_data(r, buf, sizeof buf, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(buf, "{}", 2);
	assert_int_equal(archive_reader_next(r, &item), 1);
	assert_string_equal(item.name, "repository");
	assert_int_equal(item.type, ARCHIVE_ITEM_DIR);
	assert_int_equal(item.mode, 0750);
	assert_int_equal(item.mtime_ns, 1500000000123456789);
	assert_int_equal(archive_reader_next(r, &item), 1);
	assert_string_equal(item.name, "repository/f \xff");
	assert_int_equal(item.type, ARCHIVE_ITEM_FILE);
	assert_int_equal(archive_reader_data(r, buf, sizeof buf, &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "hello\n", 6);
	assert_int_equal(archive_reader_next(r, &item), 1);
	assert_int_equal(item.type, ARCHIVE_ITEM_SYMLINK);
	assert_string_equal(item.target, "f \xff");
	assert_int_equal(archive_reader_next(r, &item), 0);
	archive_reader_free(r);
}

static void test_round_trip_kinds(void **state)
{
	round_trip(*state, ARCHIVE_KIND_TAR);
	round_trip(*state, ARCHIVE_KIND_TAR_GZ);
	round_trip(*state, ARCHIVE_KIND_TAR_ZST);
}

static void test_kind_parse(void **state)
{
	(void)state;
	archive_kind kind;
	assert_int_equal(archive_kind_parse(&kind, "x/s.tar.zst", 1), 0);
	assert_int_equal(kind, ARCHIVE_KIND_TAR_ZST);
	assert_int_equal(archive_kind_parse(&kind, "s.tgz", 1), 0);
	assert_int_equal(kind, ARCHIVE_KIND_TAR_GZ);
	assert_int_equal(archive_kind_parse(&kind, "tar", 0), 0);
	assert_int_equal(kind, ARCHIVE_KIND_TAR);
	assert_int_equal(archive_kind_parse(&kind, "s.zip", 1), ST_ERR_USAGE);
	assert_int_equal(archive_kind_parse(&kind, "zip", 0), ST_ERR_USAGE);
	st_error_clear();
}

static int parse(const char *text)
{
	archive_manifest *m = NULL;
	int rc = archive_manifest_parse(&m, text, strlen(text));
	archive_manifest_free(m);
	return rc;
}

#define HEAD "{\"format\": \"strata-archive\", \"version\": 1, \"snapshot\": {\"id\": 3}, \"entries\": ["
#define FILE_ENTRY(p) "{\"path\": \"" p "\", \"type\": \"file\", \"mode\": 420, \"mtime_ns\": 0, \"size\": 1, " \
		      "\"hash\": \"00000000000000000000000000000000\"}"

static void test_manifest(void **state)
{
	(void)state;
	assert_int_equal(parse(HEAD FILE_ENTRY("repository/a") "]}"), 0);
	assert_int_equal(parse(HEAD FILE_ENTRY("database/toc.dat") "]}"), 0);
	assert_int_equal(parse(HEAD FILE_ENTRY("repository/a") ", " FILE_ENTRY("repository/a") "]}"), ST_ERR_CORRUPT);
	assert_int_equal(parse(HEAD FILE_ENTRY("repository/../x") "]}"), ST_ERR_CORRUPT);
	assert_int_equal(parse(HEAD FILE_ENTRY("/etc/passwd") "]}"), ST_ERR_CORRUPT);
	assert_int_equal(parse(HEAD FILE_ENTRY("elsewhere/a") "]}"), ST_ERR_CORRUPT);
	assert_int_equal(parse(HEAD FILE_ENTRY("repositoryx/a") "]}"), ST_ERR_CORRUPT);
	assert_int_equal(parse(HEAD "{\"path\": \"repository/a\", \"type\": \"fifo\", \"mode\": 0, \"mtime_ns\": 0}]}"),
			 ST_ERR_CORRUPT);
	assert_int_equal(parse(HEAD "{\"path\": \"repository/l\", \"type\": \"symlink\", \"mode\": 0, \"mtime_ns\": 0}]}"),
			 ST_ERR_CORRUPT);
	assert_int_equal(parse("{\"format\": \"strata-archive\", \"version\": 2, \"snapshot\": {\"id\": 3}, \"entries\": []}"),
			 ST_ERR_CORRUPT);
	assert_int_equal(parse("{\"format\": \"other\", \"version\": 1, \"snapshot\": {\"id\": 3}, \"entries\": []}"),
			 ST_ERR_CORRUPT);
	assert_int_equal(parse("not json"), ST_ERR_CORRUPT);
	archive_manifest *m = NULL;
	assert_int_equal(archive_manifest_parse(&m, "{\0}", 3), ST_ERR_CORRUPT);
	assert_null(m);
	st_error_clear();
}

int run_archive_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_kinds, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test(test_kind_parse),
		cmocka_unit_test(test_manifest),
	};
	return cmocka_run_group_tests_name("engine/archive", tests, NULL, NULL);
}
