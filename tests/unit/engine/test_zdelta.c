/*
 * test_zdelta.c - zstd deltas of dump files (engine/zdelta.h): COPY-like files changed as
 * AiiDA's nights change them (rows updated in place, rows deleted all through the file, rows
 * moved to the end, rows appended), cut into many small segments so that the window has to
 * follow the drift; every delta applied back byte for byte; damaged deltas refused.
 */
#include "../testutil.h"

#include "engine/zdelta.h"

#include "common/error.h"
#include "common/mem.h"

int run_zdelta_tests(void);

/* Small segments: a 3 MiB file is many segments, and deleting 5% of its rows shifts the later
 * ones by more than a margin. */
static const zdelta_params SMALL = {.segment = 256 << 10, .margin = 32 << 10};

typedef struct text {
	char *data;
	size_t len, cap;
} text;

static void add_row(text *t, uint64_t id, uint64_t version)
{
	if (t->cap - t->len < 256) {
		t->cap = t->cap ? 2 * t->cap : 1 << 20;
		t->data = st_realloc(t->data, t->cap);
	}
	uint64_t h = id * 0x9e3779b97f4a7c15ull;
	t->len += (size_t)snprintf(t->data + t->len, t->cap - t->len,
				   "%llu\t%016llx-%08llx\tdata.core.dict\t{\"mtime\": %llu, \"energy\": %llu.%04llu, "
				   "\"label\": \"node %llu\"}\n",
				   (unsigned long long)id, (unsigned long long)h, (unsigned long long)(h >> 20),
				   (unsigned long long)version, (unsigned long long)(h % 997), (unsigned long long)(h % 9973),
				   (unsigned long long)id);
}

#define ROWS 24000

/* The old file: rows 1..ROWS. The new one: every 100th row updated in place, every 20th
 * deleted, every 50th (not deleted) moved to the end with a new version, 1% new rows. */
static void make_versions(text *old_v, text *new_v)
{
	for (uint64_t id = 1; id <= ROWS; id++)
		add_row(old_v, id, 1);
	for (uint64_t id = 1; id <= ROWS; id++) {
		if (id % 20 == 0 || id % 50 == 7)
			continue;
		add_row(new_v, id, id % 100 == 3 ? 2 : 1);
	}
	for (uint64_t id = 7; id <= ROWS; id += 50)
		add_row(new_v, id, 2);
	for (uint64_t id = ROWS + 1; id <= ROWS + ROWS / 100; id++)
		add_row(new_v, id, 1);
}

/* Applies the delta at delta_path to the file at old_path and checks that the result is new_v;
 * the delta's size. */
static size_t apply_to(const char *dir, const char *old_path, const char *delta_path, const text *new_v)
{
	char out_path[TU_PATH_MAX];
	tu_join(out_path, dir, "out");
	int old_fd = open(old_path, O_RDONLY), delta_fd = open(delta_path, O_RDONLY);
	int out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(old_fd >= 0 && delta_fd >= 0 && out_fd >= 0);
	assert_int_equal(zdelta_patch_fd(old_fd, delta_fd, out_fd, "t"), 0);
	close(old_fd);
	close(delta_fd);
	close(out_fd);
	size_t got_len = 0, delta_len = 0;
	unsigned char *got = tu_read_file(out_path, &got_len);
	free(tu_read_file(delta_path, &delta_len));
	assert_int_equal(got_len, new_v->len);
	assert_memory_equal(got, new_v->data, new_v->len);
	free(got);
	return delta_len;
}

/* Makes the delta old -> new with params, applies it, checks the result; the delta's size. */
static size_t round_trip(const char *dir, const zdelta_params *params, const text *old_v, const text *new_v)
{
	char old_path[TU_PATH_MAX], new_path[TU_PATH_MAX], delta_path[TU_PATH_MAX];
	tu_join(old_path, dir, "old");
	tu_join(new_path, dir, "new");
	tu_join(delta_path, dir, "delta");
	tu_write_file(old_path, old_v->data, old_v->len);
	tu_write_file(new_path, new_v->data, new_v->len);
	assert_int_equal(zdelta_create_with(params, old_path, new_path, delta_path), 0);
	return apply_to(dir, old_path, delta_path, new_v);
}

static void test_nightly_changes(void **state)
{
	text old_v = {0}, new_v = {0};
	make_versions(&old_v, &new_v);
	size_t small = round_trip(*state, &SMALL, &old_v, &new_v);
	size_t whole = round_trip(*state, &ZDELTA_DEFAULT, &old_v, &new_v);
	/* About 4% of the rows are new bytes (1% updated, 2% moved, 1% appended). Each segment must
	 * find its rows although the deletions shifted them by up to five margins: the delta stays
	 * within a few times the one-window delta and far below the file. */
	assert_true(whole < new_v.len / 10);
	assert_true(small < 2 * whole + 4096);
	free(old_v.data);
	free(new_v.data);
}

static void test_unchanged_and_empty(void **state)
{
	text old_v = {0}, new_v = {0}, empty = {.data = (char *)"", .len = 0};
	make_versions(&old_v, &new_v);
	assert_true(round_trip(*state, &SMALL, &old_v, &old_v) < old_v.len / 200);
	assert_int_equal(round_trip(*state, &SMALL, &old_v, &empty), 8); /* the magic alone */
	assert_true(round_trip(*state, &SMALL, &empty, &new_v) < new_v.len);
	free(old_v.data);
	free(new_v.data);
}

/* Applies a delta whose byte at offset has been changed (or which is cut at offset when cut). */
static int apply_damaged(const char *dir, size_t offset, bool cut)
{
	char old_path[TU_PATH_MAX], delta_path[TU_PATH_MAX], out_path[TU_PATH_MAX];
	tu_join(old_path, dir, "old");
	tu_join(delta_path, dir, "delta");
	tu_join(out_path, dir, "out");
	size_t len = 0;
	unsigned char *delta = tu_read_file(delta_path, &len);
	assert_true(offset < len);
	if (cut)
		len = offset;
	else
		delta[offset] ^= 0x5a;
	char damaged_path[TU_PATH_MAX];
	tu_join(damaged_path, dir, "damaged");
	tu_write_file(damaged_path, delta, len);
	free(delta);
	int old_fd = open(old_path, O_RDONLY), delta_fd = open(damaged_path, O_RDONLY);
	int out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int rc = zdelta_patch_fd(old_fd, delta_fd, out_fd, "t");
	close(old_fd);
	close(delta_fd);
	close(out_fd);
	return rc;
}

static void test_damage_refused(void **state)
{
	text old_v = {0}, new_v = {0};
	make_versions(&old_v, &new_v);
	size_t len = round_trip(*state, &SMALL, &old_v, &new_v);
	assert_int_equal(apply_damaged(*state, 0, false), ST_ERR_CORRUPT);      /* magic */
	assert_int_equal(apply_damaged(*state, 8 + 3, false), ST_ERR_CORRUPT);  /* a segment length */
	assert_int_equal(apply_damaged(*state, 8 + 14, false), ST_ERR_CORRUPT); /* an old offset past the end */
	assert_int_equal(apply_damaged(*state, len / 2, false), ST_ERR_CORRUPT); /* inside a frame */
	assert_int_equal(apply_damaged(*state, len - 3, true), ST_ERR_CORRUPT);  /* truncated */
	assert_int_equal(apply_damaged(*state, 20, true), ST_ERR_CORRUPT);       /* inside a header */
	free(old_v.data);
	free(new_v.data);
}

static void test_bad_params(void **state)
{
	char path[TU_PATH_MAX];
	tu_join(path, *state, "x");
	tu_write_file(path, "x", 1);
	const zdelta_params zero = {.segment = 0, .margin = 0};
	const zdelta_params huge = {.segment = (size_t)1 << 30, .margin = 0};
	assert_int_equal(zdelta_create_with(&zero, path, path, path), ST_ERR_USAGE);
	assert_int_equal(zdelta_create_with(&huge, path, path, path), ST_ERR_USAGE);
	char missing[TU_PATH_MAX], out[TU_PATH_MAX];
	tu_join(missing, *state, "missing");
	tu_join(out, *state, "out");
	assert_int_not_equal(zdelta_create(missing, path, out), 0);
	st_error_clear();
}

/* A file that only grew: a COPY file of 100,000 rows (more than one copy segment of 8 MiB) gets
 * 1% new rows before its end-of-data trailer. The delta, made without reading the old version,
 * turns the old version into the new one and costs about the new rows; a copy segment whose
 * lengths disagree is damage. */
static void test_append(void **state)
{
	const char *dir = *state;
	text old_v = {0}, new_v = {0};
	const char trailer[] = "\\.\n\n";
	for (uint64_t id = 1; id <= 100000; id++) {
		add_row(&old_v, id, 1);
		add_row(&new_v, id, 1);
	}
	size_t kept = old_v.len;
	for (uint64_t id = 100001; id <= 101000; id++)
		add_row(&new_v, id, 1);
	size_t added = new_v.len - kept;
	add_row(&old_v, 0, 0); /* room for the trailer */
	memcpy(old_v.data + kept, trailer, sizeof trailer);
	old_v.len = kept + sizeof trailer - 1;
	add_row(&new_v, 0, 0);
	memcpy(new_v.data + kept + added, trailer, sizeof trailer);
	new_v.len = kept + added + sizeof trailer - 1;
	assert_true(kept > ((size_t)8 << 20));

	char old_path[TU_PATH_MAX], new_path[TU_PATH_MAX], delta_path[TU_PATH_MAX];
	tu_join(old_path, dir, "old");
	tu_join(new_path, dir, "new");
	tu_join(delta_path, dir, "delta");
	tu_write_file(old_path, old_v.data, old_v.len);
	tu_write_file(new_path, new_v.data, new_v.len);
	assert_int_equal(zdelta_create_append(new_path, kept, delta_path), 0);
	size_t delta_len = apply_to(dir, old_path, delta_path, &new_v);
	assert_true(delta_len < added);
	assert_true(delta_len > 8 + 2 * 32);

	/* Patched into a stream that cannot be read back, the output is hashed as it is written. */
	{
		int old_fd = open(old_path, O_RDONLY), delta_fd = open(delta_path, O_RDONLY);
		int null_fd = open("/dev/null", O_WRONLY);
		st_hasher *hasher = st_hasher_new();
		assert_int_equal(zdelta_patch_fd_hashed(old_fd, delta_fd, null_fd, "t", hasher), 0);
		st_hash got, want;
		st_hasher_final(&got, hasher);
		st_hash_buffer(&want, new_v.data, new_v.len);
		assert_true(st_hash_equal(&got, &want));
		close(old_fd);
		close(delta_fd);
		close(null_fd);
	}

	/* The second copy segment claims another output length than its old range. */
	size_t len = 0;
	unsigned char *delta = tu_read_file(delta_path, &len);
	delta[8 + 32] ^= 1;
	tu_write_file(delta_path, delta, len);
	free(delta);
	char out_path[TU_PATH_MAX];
	tu_join(out_path, dir, "out");
	int old_fd = open(old_path, O_RDONLY), delta_fd = open(delta_path, O_RDONLY);
	int out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(zdelta_patch_fd(old_fd, delta_fd, out_fd, "t"), ST_ERR_CORRUPT);
	assert_non_null(strstr(st_error_message(), "copy segment"));
	st_error_clear();
	close(old_fd);
	close(delta_fd);
	close(out_fd);

	/* Longer than the file: refused. */
	assert_int_equal(zdelta_create_append(new_path, new_v.len + 1, delta_path), ST_ERR_GENERIC);
	st_error_clear();
	free(old_v.data);
	free(new_v.data);
}

int run_zdelta_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nightly_changes, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_unchanged_and_empty, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_damage_refused, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_bad_params, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_append, tu_tmpdir_setup, tu_tmpdir_teardown),
	};
	return cmocka_run_group_tests_name("zdelta", tests, NULL, NULL);
}
