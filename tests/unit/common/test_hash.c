/*
 * test_hash.c - XXH3-128 content hashes (common/hash.h).
 */
#include "../testutil.h"
#include "tests.h"

#include "common/error.h"
#include "common/hash.h"

static void hex_of_buffer(char out[ST_HASH_HEX_SIZE], const void *data, size_t len)
{
	st_hash h;
	st_hash_buffer(&h, data, len);
	st_hash_to_hex(out, &h);
}

/* The published XXH3-128 (seed 0) values, in canonical order as xxh128sum prints them: they pin
 * the byte order of hashes stored in packs and catalogs. */
static void test_known_values(void **state)
{
	(void)state;
	char hex[ST_HASH_HEX_SIZE];
	hex_of_buffer(hex, "", 0);
	assert_string_equal(hex, "99aa06d3014798d86001c324468d497f");
	hex_of_buffer(hex, "abc", 3);
	assert_string_equal(hex, "06b05ab6733a618578af5f94892f3950");

	st_hasher *hasher = st_hasher_new();
	st_hasher_update(hasher, "a", 1);
	st_hasher_update(hasher, "", 0);
	st_hasher_update(hasher, "bc", 2);
	st_hash h;
	st_hasher_final(&h, hasher);
	st_hash_to_hex(hex, &h);
	assert_string_equal(hex, "06b05ab6733a618578af5f94892f3950");
}

static void test_streaming_matches_one_shot(void **state)
{
	(void)state;
	enum { LEN = 5000 };
	unsigned char *data = malloc(LEN);
	assert_non_null(data);
	tu_fill_random(data, LEN, 12345);

	/* Every length through the short-input code paths (0, 1-3, 4-8, 9-16, 17-128, 129-240) and
	 * beyond one stripe, fed one byte at a time. */
	for (size_t len = 0; len <= 1100; len += (len < 260 ? 1 : 37)) {
		st_hash one, streamed;
		st_hash_buffer(&one, data, len);
		st_hasher *hasher = st_hasher_new();
		for (size_t i = 0; i < len; i++)
			st_hasher_update(hasher, data + i, 1);
		st_hasher_final(&streamed, hasher);
		assert_true(st_hash_equal(&one, &streamed));
	}

	/* The whole buffer split in two at many points, and in three. */
	st_hash whole;
	st_hash_buffer(&whole, data, LEN);
	for (size_t cut = 0; cut <= LEN; cut += (cut < 300 ? 1 : 97)) {
		st_hash h;
		st_hasher *hasher = st_hasher_new();
		st_hasher_update(hasher, data, cut);
		st_hasher_update(hasher, data + cut, LEN - cut);
		st_hasher_final(&h, hasher);
		assert_true(st_hash_equal(&whole, &h));
	}
	uint64_t rng = 99;
	for (int i = 0; i < 200; i++) {
		size_t a = (size_t)(tu_rand(&rng) % (LEN + 1));
		size_t b = (size_t)(tu_rand(&rng) % (LEN + 1));
		if (a > b) {
			size_t t = a;
			a = b;
			b = t;
		}
		st_hash h;
		st_hasher *hasher = st_hasher_new();
		st_hasher_update(hasher, data, a);
		st_hasher_update(hasher, data + a, b - a);
		st_hasher_update(hasher, data + b, LEN - b);
		st_hasher_final(&h, hasher);
		assert_true(st_hash_equal(&whole, &h));
	}
	free(data);
}

static void test_different_content_different_hash(void **state)
{
	(void)state;
	st_hash a, b, c, d;
	st_hash_buffer(&a, "abc", 3);
	st_hash_buffer(&b, "abd", 3);
	st_hash_buffer(&c, "", 0);
	st_hash_buffer(&d, "\0", 1);
	assert_false(st_hash_equal(&a, &b));
	assert_false(st_hash_equal(&c, &d));
	assert_true(st_hash_equal(&a, &a));

	/* One flipped bit anywhere in a buffer changes the hash. */
	unsigned char buf[512];
	tu_fill_random(buf, sizeof buf, 3);
	st_hash base;
	st_hash_buffer(&base, buf, sizeof buf);
	for (size_t i = 0; i < sizeof buf; i += 7) {
		buf[i] ^= 0x10;
		st_hash flipped;
		st_hash_buffer(&flipped, buf, sizeof buf);
		assert_false(st_hash_equal(&base, &flipped));
		buf[i] ^= 0x10;
	}

	assert_int_equal(st_hash64("abc", 3), st_hash64("abc", 3));
	assert_int_not_equal(st_hash64("abc", 3), st_hash64("abd", 3));
}

static void test_hex_round_trip(void **state)
{
	(void)state;
	uint64_t rng = 5;
	for (int i = 0; i < 100; i++) {
		st_hash h, back;
		for (int j = 0; j < ST_HASH_SIZE; j++)
			h.bytes[j] = (uint8_t)tu_rand(&rng);
		char hex[ST_HASH_HEX_SIZE];
		st_hash_to_hex(hex, &h);
		assert_int_equal(strlen(hex), 2 * ST_HASH_SIZE);
		assert_int_equal(strspn(hex, "0123456789abcdef"), 2 * ST_HASH_SIZE);
		assert_int_equal(st_hash_from_hex(&back, hex), 0);
		assert_true(st_hash_equal(&h, &back));
	}

	/* Upper case is accepted and means the same. */
	st_hash lower, upper;
	assert_int_equal(st_hash_from_hex(&lower, "06b05ab6733a618578af5f94892f3950"), 0);
	assert_int_equal(st_hash_from_hex(&upper, "06B05AB6733A618578AF5F94892F3950"), 0);
	assert_true(st_hash_equal(&lower, &upper));
	assert_int_equal(lower.bytes[0], 0x06);
	assert_int_equal(lower.bytes[15], 0x50);
}

static void test_from_hex_rejects_bad_input(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"0",
		"06b05ab6733a618578af5f94892f395",   /* 31 digits */
		"06b05ab6733a618578af5f94892f39500", /* 33 digits */
		"06b05ab6733a618578af5f94892f395g",  /* not hex */
		"g6b05ab6733a618578af5f94892f3950",
		"06b05ab6733a6185 8af5f94892f3950",  /* space */
		"0x6b05ab6733a618578af5f94892f3950", /* prefix */
		"06b05ab6733a6185-8af5f94892f3950",
		"06b05ab6733a618578af5f94892f395\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		st_hash h;
		st_error_clear();
		assert_int_equal(st_hash_from_hex(&h, bad[i]), ST_ERR_USAGE);
		assert_int_equal(st_error_code(), ST_ERR_USAGE);
		assert_non_null(strstr(st_error_message(), "invalid hash"));
	}
	st_error_clear();
}

/* st_hash_fd: the streaming hash of a file from its offset, larger than one read. */
static void test_hash_fd(void **state)
{
	const char *dir = *state;
	char path[TU_PATH_MAX];
	tu_join(path, dir, "data");
	size_t len = (3u << 20) + 17;
	unsigned char *data = malloc(len);
	tu_fill_random(data, len, 7);
	tu_write_file(path, data, len);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	st_hash got, want;
	uint64_t size = 0;
	assert_int_equal(st_hash_fd(&got, &size, fd, "data"), 0);
	st_hash_buffer(&want, data, len);
	assert_true(st_hash_equal(&got, &want));
	assert_int_equal(size, len);
	/* From an offset: the rest of the file only. */
	assert_int_equal(lseek(fd, 1000, SEEK_SET), 1000);
	assert_int_equal(st_hash_fd(&got, NULL, fd, "data"), 0);
	st_hash_buffer(&want, data + 1000, len - 1000);
	assert_true(st_hash_equal(&got, &want));
	close(fd);
	/* A descriptor that cannot be read: an error naming what. */
	assert_int_equal(st_hash_fd(&got, NULL, -1, "nothing"), ST_ERR_GENERIC);
	assert_non_null(strstr(st_error_message(), "'nothing'"));
	st_error_clear();
	free(data);
}

/* prefix->hash is the hash of data[0, len) followed by tail. */
static void set_prefix(st_hash_prefix *prefix, const unsigned char *data, uint64_t len, const char *tail)
{
	st_hasher *h = st_hasher_new();
	st_hasher_update(h, data, (size_t)len);
	st_hasher_update(h, tail, strlen(tail));
	*prefix = (st_hash_prefix){.len = len, .tail = tail, .tail_len = strlen(tail)};
	st_hasher_final(&prefix->hash, h);
}

/* One read answers whether the file began as an earlier version (its first len bytes plus a
 * trailer), at any length (inside a read, at a read's end, 0, the whole file) and not when the
 * bytes differ or the file is shorter; the whole hash is the plain one all the same. */
static void test_hash_fd_prefix(void **state)
{
	const char *dir = *state;
	char path[TU_PATH_MAX];
	tu_join(path, dir, "grown");
	size_t len = (2u << 20) + 333;
	unsigned char *data = malloc(len);
	tu_fill_random(data, len, 11);
	tu_write_file(path, data, len);
	st_hash whole;
	st_hash_buffer(&whole, data, len);
	const uint64_t lens[] = {0, 1, 4096, 1u << 20, (1u << 20) + 5, len - 1, len};
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		st_hash_prefix prefix;
		set_prefix(&prefix, data, lens[i], "\\.\n\n");
		st_hash got;
		uint64_t size = 0;
		assert_int_equal(st_hash_fd_prefix(&got, &size, fd, "grown", &prefix), 0);
		assert_true(prefix.found);
		assert_true(st_hash_equal(&got, &whole));
		assert_int_equal(size, len);
		/* The earlier version ended with another trailer: not found. */
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		prefix.tail = "\\.\n";
		prefix.tail_len = 3;
		assert_int_equal(st_hash_fd_prefix(&got, NULL, fd, "grown", &prefix), 0);
		assert_false(prefix.found);
		close(fd);
	}
	/* One byte of the prefix differs: not found. */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	data[len / 2] ^= 1;
	st_hash_prefix prefix;
	set_prefix(&prefix, data, len - 10, "");
	st_hash got;
	assert_int_equal(st_hash_fd_prefix(&got, NULL, fd, "grown", &prefix), 0);
	assert_false(prefix.found);
	/* Longer than the file: not found. */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	prefix.len = len + 1;
	assert_int_equal(st_hash_fd_prefix(&got, NULL, fd, "grown", &prefix), 0);
	assert_false(prefix.found);
	close(fd);
	free(data);
}

int run_hash_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_values),
		cmocka_unit_test_setup_teardown(test_hash_fd, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_hash_fd_prefix, tu_tmpdir_setup, tu_tmpdir_teardown),
		cmocka_unit_test(test_streaming_matches_one_shot),
		cmocka_unit_test(test_different_content_different_hash),
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_from_hex_rejects_bad_input),
	};
	return cmocka_run_group_tests_name("common/hash", tests, NULL, NULL);
}
