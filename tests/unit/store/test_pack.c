/*
 * test_pack.c - pack files: writing, reading back, and detecting damage (store/pack.h).
 *
 * Packs are written and read through a local backend rooted at the test's directory, so a
 * pack named N is the file <tmp>/packs/N.
 */
#include "../testutil.h"
#include "tests.h"

#include "catalog/backend.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "store/pack.h"

#include <errno.h>
#include <libgen.h>

/* A local backend rooted at dir, with its packs folder. */
static backend *backend_at(const char *dir)
{
	char packs[TU_PATH_MAX];
	tu_join(packs, dir, "packs");
	if (mkdir(packs, 0700) != 0)
		assert_int_equal(errno, EEXIST);
	backend *b = NULL;
	assert_int_equal(backend_local_new(&b, dir), 0);
	return b;
}

/* The pack file at path (<root>/packs/<name>), open for reading; *out_b must be freed after
 * *out_r is closed. */
static int open_pack_file(const char *path, backend **out_b, backend_read **out_r)
{
	char copy[TU_PATH_MAX], name[TU_PATH_MAX];
	snprintf(copy, sizeof copy, "%s", path);
	snprintf(name, sizeof name, "%s", basename(copy));
	snprintf(copy, sizeof copy, "%s", path);
	char *packs = dirname(copy);
	*out_b = backend_at(dirname(packs));
	int rc = backend_open_read(*out_b, BACKEND_SPACE_PACKS, name, out_r);
	assert_int_equal(rc, 0);
	return rc;
}

static void close_pack_file(backend *b, backend_read *r)
{
	backend_read_close(r);
	backend_free(b);
}

#define OBJECTS 6

/* One object as the writer stored it. */
typedef struct object {
	unsigned char *raw;
	size_t raw_len;
	st_hash hash;
	pack_location loc;
} object;

typedef struct pack_fixture {
	char path[TU_PATH_MAX];
	char name[64];
	object objects[OBJECTS];
	size_t count;
	uint64_t size;
} pack_fixture;

/* Appends data as one object (compressed when it pays). */
static void add_object(pack_fixture *f, pack_writer *w, unsigned char *raw, size_t len)
{
	object *o = &f->objects[f->count++];
	o->raw = raw;
	o->raw_len = len;
	st_hash_buffer(&o->hash, raw, len);
	void *stored = NULL;
	size_t stored_len = 0;
	codec_kind kind = CODEC_RAW;
	codec_compress(&stored, &stored_len, &kind, raw, len, 3);
	uint64_t before = pack_writer_size(w);
	uint64_t offset = 0;
	assert_int_equal(pack_writer_append(w, &o->hash, kind, len, stored ? stored : raw, stored_len, &offset), 0);
	assert_int_equal(offset, before);
	assert_int_equal(pack_writer_size(w), before + PACK_RECORD_HEADER_SIZE + stored_len);
	o->loc = (pack_location){.pack_id = 1, .offset = offset, .raw_size = len, .stored_size = stored_len,
				 .codec = kind};
	free(stored);
}

/* Writes a pack of mixed objects: compressible, random (raw), empty, and one larger than the
 * writer's 1 MiB buffer between small ones. */
static void write_pack(pack_fixture *f, const char *dir, const char *name, bool large)
{
	memset(f, 0, sizeof *f);
	char packs[TU_PATH_MAX];
	tu_join(packs, dir, "packs");
	tu_join(f->path, packs, name);
	snprintf(f->name, sizeof f->name, "%s", name);
	backend *b = backend_at(dir);
	pack_writer *w = NULL;
	assert_int_equal(pack_writer_open(&w, b, name), 0);
	assert_int_equal(pack_writer_size(w), PACK_FILE_HEADER_SIZE);
	add_object(f, w, text_data(5000, 1), 5000);
	add_object(f, w, random_data(700, 2), 700);
	add_object(f, w, text_data(0, 0), 0);
	if (large)
		add_object(f, w, random_data(1536 * 1024, 3), 1536 * 1024);
	add_object(f, w, text_data(100, 4), 100);
	add_object(f, w, random_data(1, 5), 1);
	f->size = pack_writer_size(w);
	assert_int_equal(pack_writer_seal(w), 0);
	backend_free(b);
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, f->size);
}

static void free_pack(pack_fixture *f)
{
	for (size_t i = 0; i < f->count; i++)
		free(f->objects[i].raw);
}

/* Reads object i from the pack at path; returns pack_read_object's code. */
static int read_back(const char *path, const object *o, const st_hash *expected)
{
	backend *b = NULL;
	backend_read *r = NULL;
	open_pack_file(path, &b, &r);
	unsigned char *out = malloc(o->raw_len ? o->raw_len : 1);
	assert_non_null(out);
	int rc = pack_read_object(out, r, &o->loc, expected);
	if (rc == 0)
		assert_memory_equal(out, o->raw, o->raw_len);
	free(out);
	close_pack_file(b, r);
	return rc;
}

static void flip_byte(const char *path, uint64_t offset, unsigned char mask)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	unsigned char b;
	assert_int_equal(pread(fd, &b, 1, (off_t)offset), 1);
	b ^= mask;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)offset), 1);
	close(fd);
}

static void test_write_and_read_back(void **state)
{
	const char *tmp = *state;
	pack_fixture f;
	write_pack(&f, tmp, "0000000000000001.pack", true);

	/* Offsets are consecutive records after the file header. */
	uint64_t expected_offset = PACK_FILE_HEADER_SIZE;
	bool saw_raw = false, saw_zstd = false;
	for (size_t i = 0; i < f.count; i++) {
		assert_int_equal(f.objects[i].loc.offset, expected_offset);
		expected_offset += PACK_RECORD_HEADER_SIZE + f.objects[i].loc.stored_size;
		saw_raw |= f.objects[i].loc.codec == CODEC_RAW;
		saw_zstd |= f.objects[i].loc.codec == CODEC_ZSTD;
	}
	assert_int_equal(expected_offset, f.size);
	assert_true(saw_raw && saw_zstd);

	backend *b = NULL;
	backend_read *r = NULL;
	open_pack_file(f.path, &b, &r);
	assert_int_equal(pack_check_file_header(r), 0);
	for (size_t i = 0; i < f.count; i++) {
		pack_record rec;
		assert_int_equal(pack_read_record_header(&rec, r, f.objects[i].loc.offset), 0);
		assert_true(st_hash_equal(&rec.hash, &f.objects[i].hash));
		assert_int_equal(rec.raw_size, f.objects[i].loc.raw_size);
		assert_int_equal(rec.stored_size, f.objects[i].loc.stored_size);
		assert_int_equal(rec.codec, f.objects[i].loc.codec);
	}
	close_pack_file(b, r);
	/* In reverse order too: reads are positional. */
	for (size_t i = f.count; i-- > 0;)
		assert_int_equal(read_back(f.path, &f.objects[i], &f.objects[i].hash), 0);
	free_pack(&f);
}

static void test_open_refuses_existing_file(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	backend *b = backend_at(tmp);
	tu_join(path, tmp, "packs/exists.pack");
	tu_write_file(path, "keep me", 7);
	pack_writer *w = NULL;
	assert_int_equal(pack_writer_open(&w, b, "exists.pack"), ST_ERR_DEST);
	assert_non_null(strstr(st_error_message(), "exists.pack"));
	size_t len = 0;
	unsigned char *back = tu_read_file(path, &len);
	assert_int_equal(len, 7);
	assert_memory_equal(back, "keep me", 7);
	free(back);

	tu_join(path, tmp, "missing-dir/x.pack");
	assert_int_equal(pack_writer_open(&w, b, "missing-dir/x.pack"), ST_ERR_DEST);
	backend_free(b);
}

static void test_abandon_leaves_an_orphan(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	backend *b = backend_at(tmp);
	tu_join(path, tmp, "packs/abandoned.pack");
	pack_writer *w = NULL;
	assert_int_equal(pack_writer_open(&w, b, "abandoned.pack"), 0);
	st_hash h;
	st_hash_buffer(&h, "x", 1);
	uint64_t offset = 0;
	assert_int_equal(pack_writer_append(w, &h, CODEC_RAW, 1, "x", 1, &offset), 0);
	pack_writer_abandon(w);
	pack_writer_abandon(NULL);
	assert_true(tu_exists(path));
	backend_free(b);
}

static void test_flipped_payload_byte(void **state)
{
	const char *tmp = *state;
	pack_fixture f;
	write_pack(&f, tmp, "payload.pack", false);
	for (size_t i = 0; i < f.count; i++) {
		object *o = &f.objects[i];
		if (o->loc.stored_size == 0)
			continue;
		/* First, middle and last payload byte. */
		uint64_t first = o->loc.offset + PACK_RECORD_HEADER_SIZE;
		uint64_t positions[3] = {first, first + o->loc.stored_size / 2, first + o->loc.stored_size - 1};
		for (int p = 0; p < 3; p++) {
			flip_byte(f.path, positions[p], 0x01);
			st_error_clear();
			assert_int_equal(read_back(f.path, o, &o->hash), ST_ERR_CORRUPT);
			assert_non_null(strstr(st_error_message(), f.name));
			flip_byte(f.path, positions[p], 0x01);
			assert_int_equal(read_back(f.path, o, &o->hash), 0);
		}
	}
	free_pack(&f);
}

static void test_flipped_header_byte(void **state)
{
	const char *tmp = *state;
	pack_fixture f;
	write_pack(&f, tmp, "header.pack", false);
	object *o = &f.objects[1];
	backend *be = NULL;
	backend_read *r = NULL;
	open_pack_file(f.path, &be, &r);
	/* Every byte of the record header is covered: magic, codec, reserved, sizes, hash, checksum. */
	for (uint64_t b = 0; b < PACK_RECORD_HEADER_SIZE; b++) {
		flip_byte(f.path, o->loc.offset + b, 0x80);
		assert_int_equal(read_back(f.path, o, &o->hash), ST_ERR_CORRUPT);
		pack_record rec;
		assert_int_equal(pack_read_record_header(&rec, r, o->loc.offset), ST_ERR_CORRUPT);
		char offset_text[32];
		snprintf(offset_text, sizeof offset_text, "offset %llu", (unsigned long long)o->loc.offset);
		assert_non_null(strstr(st_error_message(), offset_text));
		flip_byte(f.path, o->loc.offset + b, 0x80);
	}
	assert_int_equal(read_back(f.path, o, &o->hash), 0);
	close_pack_file(be, r);
	free_pack(&f);
}

static void test_wrong_expectations(void **state)
{
	const char *tmp = *state;
	pack_fixture f;
	write_pack(&f, tmp, "expect.pack", false);
	object *o = &f.objects[0];

	st_hash other = o->hash;
	other.bytes[15] ^= 1;
	assert_int_equal(read_back(f.path, o, &other), ST_ERR_CORRUPT);

	/* The catalog's location disagrees with the record: size, codec, offset. */
	object wrong = *o;
	wrong.loc.raw_size++;
	assert_int_equal(read_back(f.path, &wrong, &o->hash), ST_ERR_CORRUPT);
	wrong = *o;
	wrong.loc.codec = wrong.loc.codec == CODEC_RAW ? CODEC_ZSTD : CODEC_RAW;
	assert_int_equal(read_back(f.path, &wrong, &o->hash), ST_ERR_CORRUPT);
	wrong = *o;
	wrong.loc.offset += 1;
	assert_int_equal(read_back(f.path, &wrong, &o->hash), ST_ERR_CORRUPT);
	/* Another object's location under this hash. */
	wrong = f.objects[1];
	assert_int_equal(read_back(f.path, &wrong, &o->hash), ST_ERR_CORRUPT);
	/* A location past the end of the file. */
	wrong = *o;
	wrong.loc.offset = f.size;
	assert_int_equal(read_back(f.path, &wrong, &o->hash), ST_ERR_CORRUPT);
	free_pack(&f);
}

typedef struct oversized {
	const char *path;
	pack_location loc;
	st_hash hash;
} oversized;

static int read_oversized(void *arg)
{
	oversized *o = arg;
	backend *b = NULL;
	backend_read *r = NULL;
	open_pack_file(o->path, &b, &r);
	unsigned char out[16];
	int rc = pack_read_object(out, r, &o->loc, &o->hash);
	close_pack_file(b, r);
	return rc == ST_ERR_CORRUPT ? 0 : 1;
}

/* A damaged catalog row can name any size. The record header at the offset says otherwise, so
 * this is a mismatch (ST_ERR_CORRUPT), not a reason to allocate the size the row names (which
 * aborts the process in st_malloc). Run in a child so that the abort fails only this test. */
static void test_oversized_location_is_corrupt(void **state)
{
	const char *tmp = *state;
	pack_fixture f;
	write_pack(&f, tmp, "oversized.pack", false);
	oversized o = {.path = f.path, .loc = f.objects[1].loc, .hash = f.objects[1].hash};
	o.loc.stored_size = 1ull << 50;
	bool ok = tu_run_in_child(read_oversized, &o);
	free_pack(&f);
	assert_true(ok);
}

static void test_truncated_pack(void **state)
{
	const char *tmp = *state;
	pack_fixture f;
	write_pack(&f, tmp, "truncated.pack", false);
	object *last = &f.objects[f.count - 1];
	object *before = &f.objects[f.count - 2];
	assert_int_equal(truncate(f.path, (off_t)(f.size - 1)), 0);
	assert_int_equal(read_back(f.path, last, &last->hash), ST_ERR_CORRUPT);
	assert_int_equal(read_back(f.path, before, &before->hash), 0);
	assert_int_equal(truncate(f.path, (off_t)(last->loc.offset + 10)), 0);
	assert_int_equal(read_back(f.path, last, &last->hash), ST_ERR_CORRUPT);
	free_pack(&f);
}

static int check_header_of(const char *path)
{
	backend *b = NULL;
	backend_read *r = NULL;
	open_pack_file(path, &b, &r);
	int rc = pack_check_file_header(r);
	close_pack_file(b, r);
	return rc;
}

static void test_file_header_checks(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	backend_free(backend_at(tmp));
	tu_join(path, tmp, "packs/not-a-pack");

	tu_write_file(path, "this is just some text, not a pack file\n", 41);
	assert_int_equal(check_header_of(path), ST_ERR_CORRUPT);
	assert_non_null(strstr(st_error_message(), "not a strata pack"));

	tu_write_file(path, "", 0);
	assert_int_equal(check_header_of(path), ST_ERR_CORRUPT);
	tu_write_file(path, "STRATAPK", 8);
	assert_int_equal(check_header_of(path), ST_ERR_CORRUPT);
	assert_non_null(strstr(st_error_message(), "truncated"));

	/* The right magic with another format number. */
	unsigned char header[PACK_FILE_HEADER_SIZE] = {'S', 'T', 'R', 'A', 'T', 'A', 'P', 'K', 2, 0, 0, 0};
	tu_write_file(path, header, sizeof header);
	assert_int_equal(check_header_of(path), ST_ERR_CORRUPT);
	header[8] = 1;
	tu_write_file(path, header, sizeof header);
	assert_int_equal(check_header_of(path), 0);

	/* A strata catalog is not a pack either. */
	tu_write_file(path, "SQLite format 3\0", 16);
	assert_int_equal(check_header_of(path), ST_ERR_CORRUPT);
}

static void test_seal_reports_full_disk(void **state)
{
	const char *tmp = *state;
	backend *b = backend_at(tmp);
	pack_writer *w = NULL;
	assert_int_equal(pack_writer_open(&w, b, "full.pack"), 0);
	st_hash h;
	st_hash_buffer(&h, "data", 4);
	uint64_t offset = 0;
	assert_int_equal(pack_writer_append(w, &h, CODEC_RAW, 4, "data", 4, &offset), 0);

	assert_int_equal(setenv("STRATA_FAULT_WRITE_ENOSPC", "1", 1), 0);
	st_fault_inject_from_env();
	int rc = pack_writer_seal(w);
	st_sys_write = write;
	unsetenv("STRATA_FAULT_WRITE_ENOSPC");
	assert_int_equal(rc, ST_ERR_NOSPACE);
	assert_non_null(strstr(st_error_message(), "full.pack"));

	/* A large append goes straight to the file: the fault shows at append time. */
	assert_int_equal(pack_writer_open(&w, b, "full2.pack"), 0);
	size_t big = 2u << 20;
	unsigned char *data = random_data(big, 9);
	st_hash_buffer(&h, data, big);
	assert_int_equal(setenv("STRATA_FAULT_WRITE_ENOSPC", "1", 1), 0);
	st_fault_inject_from_env();
	rc = pack_writer_append(w, &h, CODEC_RAW, big, data, big, &offset);
	st_sys_write = write;
	unsetenv("STRATA_FAULT_WRITE_ENOSPC");
	assert_int_equal(rc, ST_ERR_NOSPACE);
	pack_writer_abandon(w);
	free(data);
	backend_free(b);
}

/* Mutates a copy of a small pack at random and checks that every object either reads back
 * intact (when none of its record's bytes changed) or is reported corrupt - never a crash,
 * never wrong content. */
static void test_random_corruption_is_always_detected(void **state)
{
	const char *tmp = *state;
	pack_fixture f;
	write_pack(&f, tmp, "fuzz-src.pack", false);
	size_t len = 0;
	unsigned char *original = tu_read_file(f.path, &len);
	assert_int_equal(len, f.size);
	unsigned char *copy = malloc(len);
	assert_non_null(copy);
	char path[TU_PATH_MAX];
	tu_join(path, tmp, "packs/fuzz.pack");

	uint64_t rng = 20240601;
	size_t detected = 0;
	for (int iteration = 0; iteration < 400; iteration++) {
		memcpy(copy, original, len);
		size_t cut = len;
		int mutations = 1 + (int)(tu_rand(&rng) % 4);
		for (int m = 0; m < mutations; m++)
			copy[tu_rand(&rng) % len] ^= (unsigned char)(1 + tu_rand(&rng) % 255);
		if (tu_rand(&rng) % 5 == 0)
			cut = (size_t)(tu_rand(&rng) % len);
		tu_write_file(path, copy, cut);

		backend *b = NULL;
		backend_read *r = NULL;
		open_pack_file(path, &b, &r);
		/* File header: magic and format are checked, the reserved bytes are not. */
		bool header_damaged = cut < PACK_FILE_HEADER_SIZE || memcmp(copy, original, 12) != 0;
		int rc = pack_check_file_header(r);
		assert_int_equal(rc, header_damaged ? ST_ERR_CORRUPT : 0);

		for (size_t i = 0; i < f.count; i++) {
			const object *o = &f.objects[i];
			size_t start = (size_t)o->loc.offset;
			size_t end = start + PACK_RECORD_HEADER_SIZE + (size_t)o->loc.stored_size;
			bool damaged = cut < end || memcmp(copy + start, original + start, end - start) != 0;
			unsigned char *out = malloc(o->raw_len ? o->raw_len : 1);
			assert_non_null(out);
			rc = pack_read_object(out, r, &o->loc, &o->hash);
			if (damaged) {
				assert_int_equal(rc, ST_ERR_CORRUPT);
				detected++;
			} else {
				assert_int_equal(rc, 0);
				assert_memory_equal(out, o->raw, o->raw_len);
			}
			free(out);

			pack_record rec;
			rc = pack_read_record_header(&rec, r, o->loc.offset);
			bool header_hit = cut < start + PACK_RECORD_HEADER_SIZE ||
					  memcmp(copy + start, original + start, PACK_RECORD_HEADER_SIZE) != 0;
			assert_int_equal(rc, header_hit ? ST_ERR_CORRUPT : 0);
		}
		close_pack_file(b, r);
	}
	assert_true(detected > 0);
	free(copy);
	free(original);
	free_pack(&f);
}

#define PACK_TEST(name) cmocka_unit_test_setup_teardown(name, tu_tmpdir_setup, tu_tmpdir_teardown)

/* A record header decodes from bytes only when all of it is there. */
static void test_pack_record_parse(void **state)
{
	const char *tmp = *state;
	char path[TU_PATH_MAX];
	tu_join(path, tmp, "packs/one.pack");
	backend *b = backend_at(tmp);
	pack_writer *writer = NULL;
	assert_int_equal(pack_writer_open(&writer, b, "one.pack"), 0);
	st_hash hash;
	st_hash_buffer(&hash, "hello", 5);
	uint64_t offset = 0;
	assert_int_equal(pack_writer_append(writer, &hash, CODEC_RAW, 5, "hello", 5, &offset), 0);
	assert_int_equal(pack_writer_seal(writer), 0);
	size_t len = 0;
	unsigned char *bytes = tu_read_file(path, &len);
	assert_int_equal(len, PACK_FILE_HEADER_SIZE + PACK_RECORD_HEADER_SIZE + 5);

	pack_record record;
	assert_int_equal(pack_record_parse(&record, bytes + offset, len - offset, offset, "one"), 0);
	assert_true(st_hash_equal(&record.hash, &hash));
	assert_int_equal(record.raw_size, 5);
	assert_int_equal(record.stored_size, 5);
	assert_int_equal(record.codec, CODEC_RAW);

	/* One byte short, or nothing at all: corrupt, naming the pack and the offset. */
	for (size_t cut = 0; cut < PACK_RECORD_HEADER_SIZE; cut += PACK_RECORD_HEADER_SIZE - 1) {
		st_error_clear();
		assert_int_equal(pack_record_parse(&record, bytes + offset, cut, offset, "one"), ST_ERR_CORRUPT);
		assert_non_null(strstr(st_error_message(), "'one'"));
		assert_non_null(strstr(st_error_message(), "truncated"));
		assert_non_null(strstr(st_error_message(), "offset 16"));
	}
	/* Any flipped header byte is caught by the magic or the header checksum. */
	for (size_t i = 0; i < PACK_RECORD_HEADER_SIZE; i++) {
		bytes[offset + i] ^= 0x40;
		assert_int_equal(pack_record_parse(&record, bytes + offset, PACK_RECORD_HEADER_SIZE, offset, "one"),
				 ST_ERR_CORRUPT);
		bytes[offset + i] ^= 0x40;
	}
	free(bytes);
	backend_free(b);
}

/* A catalog location larger than any object is refused before anything is sized from it. */
static void test_pack_check_location(void **state)
{
	(void)state;
	pack_location loc = {.pack_id = 1, .offset = 16, .raw_size = PACK_MAX_OBJECT_SIZE,
			     .stored_size = PACK_MAX_OBJECT_SIZE, .codec = CODEC_ZSTD};
	assert_int_equal(pack_check_location(&loc, "p"), 0);
	loc.raw_size = PACK_MAX_OBJECT_SIZE + 1;
	assert_int_equal(pack_check_location(&loc, "p"), ST_ERR_CORRUPT);
	assert_non_null(strstr(st_error_message(), "size out of range"));
	loc.raw_size = 1;
	loc.stored_size = UINT64_MAX;
	assert_int_equal(pack_check_location(&loc, "p"), ST_ERR_CORRUPT);
}

int run_pack_tests(void)
{
	const struct CMUnitTest tests[] = {
		PACK_TEST(test_write_and_read_back),
		PACK_TEST(test_open_refuses_existing_file),
		PACK_TEST(test_abandon_leaves_an_orphan),
		PACK_TEST(test_flipped_payload_byte),
		PACK_TEST(test_flipped_header_byte),
		PACK_TEST(test_wrong_expectations),
		PACK_TEST(test_oversized_location_is_corrupt),
		PACK_TEST(test_truncated_pack),
		PACK_TEST(test_file_header_checks),
		PACK_TEST(test_seal_reports_full_disk),
		PACK_TEST(test_random_corruption_is_always_detected),
		PACK_TEST(test_pack_record_parse),
		PACK_TEST(test_pack_check_location),
	};
	return cmocka_run_group_tests_name("store/pack", tests, NULL, NULL);
}
