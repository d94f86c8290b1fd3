/*
 * test_store.c - the object store end to end on a real destination (store/store.h): put/get
 * round trips, dedup, chunked content, sealing by time, a leftover unsealed pack, corrupt
 * records, orphans.
 */
#include "../testutil.h"
#include "tests.h"

#include "catalog/dest.h"
#include "common/error.h"
#include "store/store.h"

#include <errno.h>

typedef struct store_fixture {
	char tmp[TU_PATH_MAX];
	char path[TU_PATH_MAX]; /* the destination */
	dest *d;
	store *s;
} store_fixture;

static void open_session(store_fixture *f)
{
	assert_int_equal(dest_open(&f->d, f->path, DEST_WRITE), 0);
	assert_int_equal(store_open(&f->s, f->d, NULL), 0);
}

static void close_session(store_fixture *f)
{
	store_free(f->s);
	dest_close(f->d);
	f->s = NULL;
	f->d = NULL;
}

static int setup(void **state)
{
	store_fixture *f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	tu_mkdtemp(f->tmp);
	tu_join(f->path, f->tmp, "dest");
	assert_int_equal(dest_init(f->path), 0);
	open_session(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	store_fixture *f = *state;
	close_session(f);
	st_sys_write = write;
	unsetenv("STRATA_FAULT_WRITE_ENOSPC");
	tu_rm_rf(f->tmp);
	free(f);
	st_error_clear();
	return 0;
}

/* Seals and publishes what the session stored, as a backup's final transaction would. */
static void seal_and_publish(store_fixture *f)
{
	assert_int_equal(store_flush(f->s), 0);
	assert_int_equal(store_publish(f->s), 0);
}

static void assert_gets(store *s, const st_hash *hash, const void *data, size_t len)
{
	void *back = NULL;
	size_t back_len = 0;
	assert_int_equal(store_get(s, hash, &back, &back_len), 0);
	assert_int_equal(back_len, len);
	if (len > 0)
		assert_memory_equal(back, data, len);
	free(back);
}

static size_t pack_files_on_disk(const store_fixture *f)
{
	char **names = NULL;
	size_t count = 0;
	backend *b = NULL;
	assert_int_equal(backend_local_new(&b, f->path), 0);
	assert_int_equal(backend_list(b, BACKEND_SPACE_PACKS, &names, &count), 0);
	backend_list_free(names, count);
	backend_free(b);
	return count;
}

static void test_put_get_round_trip(void **state)
{
	store_fixture *f = *state;
	static const size_t sizes[] = {0, 1, 63, 100, 5000, 200000};
	unsigned char *data[6];
	st_hash hashes[6];
	for (size_t i = 0; i < 6; i++) {
		data[i] = i % 2 ? random_data(sizes[i], i + 1) : text_data(sizes[i], (unsigned)i);
		assert_int_equal(store_put_buffer(f->s, data[i], sizes[i], &hashes[i]), 0);
		st_hash expected;
		st_hash_buffer(&expected, data[i], sizes[i]);
		assert_true(st_hash_equal(&hashes[i], &expected));
	}
	/* Nothing is visible before the pack is sealed and its objects published. */
	bool found = true;
	assert_int_equal(store_has(f->s, &hashes[2], &found), 0);
	assert_false(found);
	assert_int_equal(store_get(f->s, &hashes[2], &(void *){NULL}, &(size_t){0}), ST_ERR_NOTFOUND);
	assert_int_equal(store_flush(f->s), 0);
	assert_int_equal(store_has(f->s, &hashes[2], &found), 0);
	assert_false(found);
	assert_int_equal(store_publish(f->s), 0);

	store_stats stats;
	store_get_stats(f->s, &stats);
	assert_int_equal(stats.objects_new, 6);
	assert_int_equal(stats.packs_sealed, 1);
	assert_true(stats.stored_bytes > 0);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(store_has(f->s, &hashes[i], &found), 0);
		assert_true(found);
		assert_gets(f->s, &hashes[i], data[i], sizes[i]);
	}

	/* Into a descriptor, and from another session. */
	close_session(f);
	open_session(f);
	char path[TU_PATH_MAX];
	tu_join(path, f->tmp, "out");
	catalog_blob blob = {.hash = hashes[4], .size = sizes[4]};
	assert_int_equal(store_get_to_path(f->s, &blob, path), 0);
	assert_file_holds(path, data[4], sizes[4]);
	for (size_t i = 0; i < 6; i++)
		free(data[i]);
	assert_int_equal(store_put_buffer(f->s, "x", STORE_CHUNK_SIZE + 1, &hashes[0]), ST_ERR_GENERIC);
}

static void test_dedup_across_puts_and_sessions(void **state)
{
	store_fixture *f = *state;
	unsigned char *data = text_data(10000, 3);
	st_hash a, b;
	assert_int_equal(store_put_buffer(f->s, data, 10000, &a), 0);
	assert_int_equal(store_put_buffer(f->s, data, 10000, &b), 0);
	assert_true(st_hash_equal(&a, &b));
	bool is_new = true;
	assert_int_equal(store_claim(f->s, &a, &is_new), 0);
	assert_false(is_new);
	seal_and_publish(f);
	store_stats stats;
	store_get_stats(f->s, &stats);
	assert_int_equal(stats.objects_new, 1);

	close_session(f);
	open_session(f);
	assert_int_equal(store_put_buffer(f->s, data, 10000, &b), 0);
	seal_and_publish(f);
	store_get_stats(f->s, &stats);
	assert_int_equal(stats.objects_new, 0);
	assert_int_equal(stats.packs_sealed, 0);
	assert_int_equal(pack_files_on_disk(f), 1);
	assert_gets(f->s, &a, data, 10000);
	free(data);
}

/* Content larger than one chunk: chunk objects, deduplicated among themselves, read back whole. */
static void test_chunked_content(void **state)
{
	store_fixture *f = *state;
	size_t size = 3 * STORE_CHUNK_SIZE + 12345;
	unsigned char *data = random_data(size, 42);
	memcpy(data + STORE_CHUNK_SIZE, data, STORE_CHUNK_SIZE); /* chunk 1 repeats chunk 0 */
	char in[TU_PATH_MAX], out[TU_PATH_MAX];
	tu_join(in, f->tmp, "big");
	tu_join(out, f->tmp, "big.out");
	tu_write_file(in, data, size);

	assert_int_equal(store_chunk_count(STORE_CHUNK_SIZE), 0);
	assert_int_equal(store_chunk_count(STORE_CHUNK_SIZE + 1), 2);
	catalog_blob blob;
	assert_int_equal(store_put_file(f->s, in, &blob), 0);
	assert_int_equal(blob.size, size);
	assert_int_equal(blob.chunk_count, 4);
	assert_true(st_hash_equal(&blob.chunks[0], &blob.chunks[1]));
	st_hash whole;
	st_hash_buffer(&whole, data, size);
	assert_true(st_hash_equal(&blob.hash, &whole));
	seal_and_publish(f);
	store_stats stats;
	store_get_stats(f->s, &stats);
	assert_int_equal(stats.objects_new, 3);
	assert_int_equal(stats.bytes_new, (int64_t)(size - STORE_CHUNK_SIZE));

	assert_int_equal(store_get_to_path(f->s, &blob, out), 0);
	assert_file_holds(out, data, size);

	/* A chunk list whose whole hash is wrong is caught, and so is a missing chunk. */
	blob.hash.bytes[0] ^= 1;
	assert_int_equal(store_get_to_path(f->s, &blob, out), ST_ERR_CORRUPT);
	blob.hash.bytes[0] ^= 1;
	((st_hash *)blob.chunks)[3].bytes[0] ^= 1;
	assert_int_equal(store_get_to_path(f->s, &blob, out), ST_ERR_CORRUPT);
	free((st_hash *)blob.chunks);

	/* Exactly one chunk's size is one object. */
	tu_write_file(in, data, STORE_CHUNK_SIZE);
	assert_int_equal(store_put_file(f->s, in, &blob), 0);
	assert_int_equal(blob.chunk_count, 0);
	assert_null(blob.chunks);
	free(data);
	assert_int_equal(store_put_file(f->s, "/nonexistent/strata", &blob), ST_ERR_GENERIC);
}

typedef struct sink_log {
	store_object *objects[8];
	int count;
	size_t reserved, released;
} sink_log;

static int keep(void *ctx, store_object *obj)
{
	sink_log *log = ctx;
	log->objects[log->count++] = obj;
	return 0;
}

static void reserve(void *ctx, size_t len)
{
	((sink_log *)ctx)->reserved += len;
}

static void release(void *ctx, size_t len)
{
	((sink_log *)ctx)->released += len;
}

/* The pipeline's split: readers put into a sink, compressors encode, the writer appends. */
static void test_put_through_a_sink(void **state)
{
	store_fixture *f = *state;
	size_t size = STORE_CHUNK_SIZE + 100;
	unsigned char *data = text_data(size, 7);
	char in[TU_PATH_MAX];
	tu_join(in, f->tmp, "file");
	tu_write_file(in, data, size);
	int fd = open(in, O_RDONLY);
	assert_true(fd >= 0);
	sink_log log = {0};
	store_sink sink = {.send = keep, .reserve = reserve, .release = release, .ctx = &log};
	st_hash whole, chunks[2];
	assert_int_equal(store_put_fd(f->s, fd, size, in, &sink, &whole, chunks), 0);
	assert_int_equal(log.count, 2);
	assert_int_equal(log.reserved, size);
	assert_int_equal(log.released, 0);
	/* The same content again: claimed already, so nothing is sent and the budget comes back. */
	assert_int_equal(store_put_fd(f->s, fd, size, in, &sink, &whole, chunks), 0);
	assert_int_equal(log.count, 2);
	assert_int_equal(log.released, size);
	/* A file that shrank while being read. */
	st_hash shrunk_whole, shrunk_chunks[2];
	assert_int_equal(store_put_fd(f->s, fd, size + 10, in, &sink, &shrunk_whole, shrunk_chunks), ST_ERR_SOURCE);
	assert_non_null(strstr(st_error_message(), "shrank"));
	close(fd);

	for (int i = 0; i < log.count; i++) {
		store_object_encode(log.objects[i]);
		uint64_t stored = 0;
		bool full = true;
		assert_int_equal(store_append(f->s, log.objects[i], &stored, &full), 0);
		assert_true(stored > 0 && stored < store_object_size(log.objects[i]));
		assert_false(full);
		store_object_free(log.objects[i]);
	}
	store_object_free(NULL);
	catalog *cat = dest_catalog(f->d);
	bool sealed = false;
	assert_int_equal(catalog_begin(cat), 0);
	assert_int_equal(store_seal(f->s, &sealed), 0);
	assert_true(sealed);
	assert_int_equal(store_seal(f->s, &sealed), 0);
	assert_false(sealed);
	assert_int_equal(store_publish(f->s), 0);
	assert_int_equal(catalog_commit(cat), 0);
	catalog_blob blob = {.hash = whole, .size = size, .chunks = chunks, .chunk_count = 2};
	char out[TU_PATH_MAX];
	tu_join(out, f->tmp, "file.out");
	assert_int_equal(store_get_to_path(f->s, &blob, out), 0);
	assert_file_holds(out, data, size);
	free(data);
	store_thread_release();
}

/* A pack is due for sealing once it has been open for the seal interval: store_append says so
 * (a synchronous put seals it), store_flush_if_due seals it when nothing new arrives, and the
 * staged objects of the sealed packs are counted by catalog_object_staged_totals. */
static void test_seal_by_time(void **state)
{
	store_fixture *f = *state;
	store_free(f->s);
	store_options options = {.seal_seconds = 0.2};
	assert_int_equal(store_open(&f->s, f->d, &options), 0);
	double left = -1;
	store_stats stats;
	st_hash a, b, c;
	assert_false(store_seal_due_in(f->s, &left));
	assert_int_equal(store_put_buffer(f->s, "a", 1, &a), 0);
	assert_true(store_seal_due_in(f->s, &left));
	assert_true(left > 0 && left <= 0.2);
	assert_int_equal(store_flush_if_due(f->s), 0);
	store_get_stats(f->s, &stats);
	assert_int_equal(stats.packs_sealed, 0);
	tu_sleep_ms(250);
	assert_true(store_seal_due_in(f->s, &left));
	assert_true(left <= 0);
	assert_int_equal(store_flush_if_due(f->s), 0);
	store_get_stats(f->s, &stats);
	assert_int_equal(stats.packs_sealed, 1);
	assert_false(store_seal_due_in(f->s, &left));
	/* A put into a pack open longer than the interval seals it at once. */
	assert_int_equal(store_put_buffer(f->s, "b", 1, &b), 0);
	tu_sleep_ms(250);
	assert_int_equal(store_put_buffer(f->s, "cc", 2, &c), 0);
	store_get_stats(f->s, &stats);
	assert_int_equal(stats.packs_sealed, 2);
	assert_false(store_seal_due_in(f->s, &left));
	int64_t packs = 0, objects = 0, bytes = 0;
	assert_int_equal(catalog_object_staged_totals(dest_catalog(f->d), &packs, &objects, &bytes), 0);
	assert_int_equal(packs, 2);
	assert_int_equal(objects, 3);
	assert_int_equal(bytes, 4);
	assert_int_equal(store_publish(f->s), 0);
	assert_int_equal(catalog_object_staged_totals(dest_catalog(f->d), &packs, &objects, &bytes), 0);
	assert_int_equal(objects, 0);
	assert_gets(f->s, &c, "cc", 2);
	assert_int_equal(pack_files_on_disk(f), 2);
}

/* A killed run leaves a pack that was never sealed: its objects were never in the catalog, the
 * next run removes the file and stores the content again. */
static void test_leftover_unsealed_pack(void **state)
{
	store_fixture *f = *state;
	unsigned char *data = random_data(3000, 5);
	st_hash published, lost;
	assert_int_equal(store_put_buffer(f->s, "published before", 16, &published), 0);
	seal_and_publish(f);
	assert_int_equal(store_put_buffer(f->s, data, 3000, &lost), 0);
	close_session(f); /* no seal: the pack is abandoned */
	assert_int_equal(pack_files_on_disk(f), 2);
	/* A torn record at the end of another leftover, as a kill during a write leaves it. */
	char torn[TU_PATH_MAX];
	tu_join(torn, f->path, "packs/00000000000000ff.pack");
	tu_write_file(torn, "STRATAPK\1\0\0\0\0\0\0\0SOBJ", 20);

	open_session(f);
	bool found = true;
	assert_int_equal(store_has(f->s, &lost, &found), 0);
	assert_false(found);
	int removed = 0;
	assert_int_equal(store_remove_orphans(f->s, &removed), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(pack_files_on_disk(f), 1);
	assert_gets(f->s, &published, "published before", 16);

	assert_int_equal(store_put_buffer(f->s, data, 3000, &lost), 0);
	seal_and_publish(f);
	assert_gets(f->s, &lost, data, 3000);
	free(data);
}

static void flip_byte(const char *path, uint64_t offset)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	unsigned char b;
	assert_int_equal(pread(fd, &b, 1, (off_t)offset), 1);
	b ^= 0x20;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)offset), 1);
	close(fd);
}

typedef struct problems {
	int count;
	char last[ST_ERROR_MESSAGE_MAX];
} problems;

static void collect(void *ctx, const char *problem)
{
	problems *p = ctx;
	p->count++;
	snprintf(p->last, sizeof p->last, "%s", problem);
}

/* The pack of the one sealed so far, as the catalog lists it. */
static void only_pack(store_fixture *f, catalog_pack *out, char *path)
{
	catalog_pack *packs = NULL;
	size_t count = 0;
	assert_int_equal(catalog_pack_list(dest_catalog(f->d), &packs, &count), 0);
	assert_int_equal(count, 1);
	*out = packs[0];
	free(packs);
	char rel[TU_PATH_MAX];
	snprintf(rel, sizeof rel, "packs/%s", out->name);
	tu_join(path, f->path, rel);
}

static void test_corrupt_records(void **state)
{
	store_fixture *f = *state;
	unsigned char *a = random_data(4000, 11), *b = text_data(9000, 12);
	st_hash ha, hb;
	assert_int_equal(store_put_buffer(f->s, a, 4000, &ha), 0);
	assert_int_equal(store_put_buffer(f->s, b, 9000, &hb), 0);
	seal_and_publish(f);
	catalog_pack pack;
	char path[TU_PATH_MAX];
	only_pack(f, &pack, path);
	problems p = {0};
	int64_t packs = 0, objects = 0, bytes = 0;
	assert_int_equal(store_check_packs(f->s, collect, &p, &packs), 0);
	assert_int_equal(packs, 1);
	assert_int_equal(p.count, 0);
	assert_int_equal(store_verify_pack(f->s, pack.id, collect, &p, &objects, &bytes), 0);
	assert_int_equal(objects, 2);
	assert_int_equal(p.count, 0);

	/* A payload byte of the first object (its record starts right after the file header). */
	flip_byte(path, 16 + 48 + 100);
	close_session(f);
	open_session(f);
	void *back = NULL;
	size_t len = 0;
	assert_int_equal(store_get(f->s, &ha, &back, &len), ST_ERR_CORRUPT);
	assert_non_null(strstr(st_error_message(), pack.name));
	assert_gets(f->s, &hb, b, 9000);
	objects = 0;
	assert_int_equal(store_verify_pack(f->s, pack.id, collect, &p, &objects, &bytes), 0);
	assert_int_equal(objects, 2);
	assert_int_equal(p.count, 1);
	flip_byte(path, 16 + 48 + 100);

	/* A record header byte. */
	flip_byte(path, 16 + 10);
	close_session(f);
	open_session(f);
	assert_int_equal(store_get(f->s, &ha, &back, &len), ST_ERR_CORRUPT);
	assert_non_null(strstr(st_error_message(), "header"));
	flip_byte(path, 16 + 10);

	/* The pack's file header: nothing in it reads. */
	flip_byte(path, 2);
	close_session(f);
	open_session(f);
	assert_int_equal(store_get(f->s, &hb, &back, &len), ST_ERR_CORRUPT);
	p.count = 0;
	assert_int_equal(store_check_packs(f->s, collect, &p, &packs), 0);
	assert_int_equal(p.count, 1);
	flip_byte(path, 2);

	/* Truncated, then missing. */
	assert_int_equal(truncate(path, (off_t)(pack.size - 1)), 0);
	close_session(f);
	open_session(f);
	p.count = 0;
	assert_int_equal(store_check_packs(f->s, collect, &p, &packs), 0);
	assert_int_equal(p.count, 1);
	assert_non_null(strstr(p.last, "truncated"));
	assert_int_equal(unlink(path), 0);
	p.count = 0;
	assert_int_equal(store_check_packs(f->s, collect, &p, &packs), 0);
	assert_int_equal(p.count, 1);
	assert_non_null(strstr(p.last, "missing"));
	assert_non_null(strstr(p.last, pack.name));
	assert_int_equal(store_get(f->s, &hb, &back, &len), ST_ERR_CORRUPT);
	free(a);
	free(b);
}

/* Moved from tests/unit/catalog/test_dest.c with dest_remove_orphan_packs. */
static void test_remove_orphan_packs(void **state)
{
	store_fixture *f = *state;
	int removed = -1;
	assert_int_equal(store_remove_orphans(f->s, &removed), 0);
	assert_int_equal(removed, 0);

	int64_t id = 0;
	assert_int_equal(catalog_pack_add(dest_catalog(f->d), "1111111111111111.pack", 16, 0, &id), 0);
	backend *b = dest_backend(f->d);
	char *listed = backend_describe(b, BACKEND_SPACE_PACKS, "1111111111111111.pack");
	char *orphan1 = backend_describe(b, BACKEND_SPACE_PACKS, "2222222222222222.pack");
	char *orphan2 = backend_describe(b, BACKEND_SPACE_PACKS, "3333333333333333.pack");
	tu_write_file(listed, "STRATAPK", 8);
	tu_write_file(orphan1, "STRATAPK", 8);
	tu_write_file(orphan2, "", 0);

	assert_int_equal(store_remove_orphans(f->s, &removed), 0);
	assert_int_equal(removed, 2);
	assert_true(tu_exists(listed));
	assert_false(tu_exists(orphan1));
	assert_false(tu_exists(orphan2));

	/* Nothing left to remove. */
	assert_int_equal(store_remove_orphans(f->s, &removed), 0);
	assert_int_equal(removed, 0);
	assert_true(tu_exists(listed));
	free(listed);
	free(orphan1);
	free(orphan2);
}

/* A full disk while appending: the put fails as "no space", the pack never enters the catalog. */
static void test_full_disk_while_storing(void **state)
{
	store_fixture *f = *state;
	unsigned char *data = random_data(2u << 20, 13);
	st_hash h;
	assert_int_equal(setenv("STRATA_FAULT_WRITE_ENOSPC", "1", 1), 0);
	st_fault_inject_from_env();
	int rc = store_put_buffer(f->s, data, 2u << 20, &h);
	st_sys_write = write;
	unsetenv("STRATA_FAULT_WRITE_ENOSPC");
	assert_int_equal(rc, ST_ERR_NOSPACE);
	close_session(f);
	open_session(f);
	catalog_pack *packs = NULL;
	size_t count = 9;
	assert_int_equal(catalog_pack_list(dest_catalog(f->d), &packs, &count), 0);
	assert_int_equal(count, 0);
	free(packs);
	free(data);
}

#define STORE_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int run_store_tests(void)
{
	const struct CMUnitTest tests[] = {
		STORE_TEST(test_put_get_round_trip),
		STORE_TEST(test_dedup_across_puts_and_sessions),
		STORE_TEST(test_chunked_content),
		STORE_TEST(test_put_through_a_sink),
		STORE_TEST(test_seal_by_time),
		STORE_TEST(test_leftover_unsealed_pack),
		STORE_TEST(test_corrupt_records),
		STORE_TEST(test_remove_orphan_packs),
		STORE_TEST(test_full_disk_while_storing),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
