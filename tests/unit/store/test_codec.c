/*
 * test_codec.c - object compression (store/codec.h).
 */
#include "../testutil.h"
#include "tests.h"

#include "store/codec.h"
#include "common/error.h"

#include <pthread.h>

/* Text-like data that compresses well. */
static unsigned char *compressible(size_t len)
{
	unsigned char *data = malloc(len);
	assert_non_null(data);
	static const char words[] = "calculation node output folder retrieved aiida ";
	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)words[(i * 7 + i / 97) % (sizeof words - 1)];
	return data;
}

static void test_round_trip_compressible(void **state)
{
	(void)state;
	static const size_t sizes[] = {4096, 100000, 1u << 20};
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		size_t len = sizes[s];
		unsigned char *data = compressible(len);
		void *stored = NULL;
		size_t stored_len = 0;
		codec_kind kind = CODEC_RAW;
		codec_compress(&stored, &stored_len, &kind, data, len, 3);
		assert_int_equal(kind, CODEC_ZSTD);
		assert_non_null(stored);
		assert_true(stored_len < len - len / 32);

		unsigned char *back = malloc(len);
		assert_non_null(back);
		assert_int_equal(codec_decompress(back, len, stored, stored_len, kind, "obj"), 0);
		assert_memory_equal(back, data, len);
		free(back);
		free(stored);
		free(data);
	}

	/* The shortest input that is compressed at all. */
	unsigned char zeros[64] = {0}, back[64];
	void *stored = NULL;
	size_t stored_len = 0;
	codec_kind kind = CODEC_RAW;
	codec_compress(&stored, &stored_len, &kind, zeros, sizeof zeros, 3);
	assert_int_equal(kind, CODEC_ZSTD);
	memset(back, 1, sizeof back);
	assert_int_equal(codec_decompress(back, sizeof back, stored, stored_len, kind, "zeros"), 0);
	assert_memory_equal(back, zeros, sizeof zeros);
	free(stored);
}

static void test_random_data_stays_raw(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 63, 64, 1000, 200000};
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		size_t len = sizes[s];
		unsigned char *data = malloc(len ? len : 1);
		assert_non_null(data);
		tu_fill_random(data, len, 1000 + len);
		void *stored = (void *)1;
		size_t stored_len = 0;
		codec_kind kind = CODEC_ZSTD;
		codec_compress(&stored, &stored_len, &kind, data, len, 3);
		assert_int_equal(kind, CODEC_RAW);
		assert_null(stored);
		assert_int_equal(stored_len, len);

		unsigned char *back = malloc(len ? len : 1);
		assert_non_null(back);
		assert_int_equal(codec_decompress(back, len, data, len, CODEC_RAW, "raw"), 0);
		assert_memory_equal(back, data, len);
		free(back);
		free(data);
	}

	/* Short inputs are stored raw even when they would compress. */
	unsigned char zeros[63] = {0};
	void *stored = NULL;
	size_t stored_len = 0;
	codec_kind kind = CODEC_ZSTD;
	codec_compress(&stored, &stored_len, &kind, zeros, sizeof zeros, 3);
	assert_int_equal(kind, CODEC_RAW);
	assert_null(stored);
}

static void test_corrupt_frames_are_detected(void **state)
{
	(void)state;
	const size_t len = 50000;
	unsigned char *data = compressible(len);
	void *stored = NULL;
	size_t stored_len = 0;
	codec_kind kind = CODEC_RAW;
	codec_compress(&stored, &stored_len, &kind, data, len, 3);
	assert_int_equal(kind, CODEC_ZSTD);
	unsigned char *frame = stored;
	unsigned char *back = malloc(len + 16);
	assert_non_null(back);

	/* A damaged magic number. */
	frame[0] ^= 0xff;
	assert_int_equal(codec_decompress(back, len, frame, stored_len, CODEC_ZSTD, "obj-a"), ST_ERR_CORRUPT);
	assert_non_null(strstr(st_error_message(), "'obj-a'"));
	frame[0] ^= 0xff;

	/* A truncated frame. */
	assert_int_equal(codec_decompress(back, len, frame, stored_len - 1, CODEC_ZSTD, "obj"), ST_ERR_CORRUPT);
	assert_int_equal(codec_decompress(back, len, frame, stored_len / 2, CODEC_ZSTD, "obj"), ST_ERR_CORRUPT);
	assert_int_equal(codec_decompress(back, len, frame, 0, CODEC_ZSTD, "obj"), ST_ERR_CORRUPT);

	/* A frame that decodes to more or fewer bytes than the catalog says. */
	assert_int_equal(codec_decompress(back, len - 1, frame, stored_len, CODEC_ZSTD, "obj"), ST_ERR_CORRUPT);
	assert_int_equal(codec_decompress(back, len + 16, frame, stored_len, CODEC_ZSTD, "obj"), ST_ERR_CORRUPT);

	/* Random bytes are not a frame. */
	unsigned char noise[4096];
	tu_fill_random(noise, sizeof noise, 77);
	assert_int_equal(codec_decompress(back, len, noise, sizeof noise, CODEC_ZSTD, "obj"), ST_ERR_CORRUPT);

	/* Raw objects of the wrong size, and unknown codecs. */
	assert_int_equal(codec_decompress(back, 10, data, 9, CODEC_RAW, "obj"), ST_ERR_CORRUPT);
	assert_int_equal(codec_decompress(back, 10, data, 10, (codec_kind)7, "obj"), ST_ERR_CORRUPT);
	assert_non_null(strstr(st_error_message(), "unknown codec"));

	/* The intact frame still decodes (the corruption checks left the contexts usable). */
	assert_int_equal(codec_decompress(back, len, frame, stored_len, CODEC_ZSTD, "obj"), 0);
	assert_memory_equal(back, data, len);

	/* Flipped bytes inside the frame: either an error or different bytes, never a crash (the
	 * pack layer's hash check catches the second case). */
	uint64_t rng = 4242;
	for (int i = 0; i < 300; i++) {
		size_t pos = (size_t)(tu_rand(&rng) % stored_len);
		unsigned char mask = (unsigned char)(1 + tu_rand(&rng) % 255);
		frame[pos] ^= mask;
		int rc = codec_decompress(back, len, frame, stored_len, CODEC_ZSTD, "obj");
		assert_true(rc == 0 || rc == ST_ERR_CORRUPT);
		frame[pos] ^= mask;
	}
	free(back);
	free(stored);
	free(data);
	st_error_clear();
}

static void *compress_in_thread(void *arg)
{
	int *ok = arg;
	unsigned char *data = compressible(10000);
	unsigned char back[10000];
	void *stored = NULL;
	size_t stored_len = 0;
	codec_kind kind = CODEC_RAW;
	codec_compress(&stored, &stored_len, &kind, data, 10000, 1);
	*ok = kind == CODEC_ZSTD && codec_decompress(back, sizeof back, stored, stored_len, kind, "t") == 0 &&
	      memcmp(back, data, sizeof back) == 0;
	free(stored);
	free(data);
	codec_thread_release();
	return NULL;
}

static void test_thread_contexts(void **state)
{
	(void)state;
	int ok[4] = {0};
	pthread_t threads[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, compress_in_thread, &ok[i]), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_true(ok[i]);
	}
	/* Releasing and then using the codec again in the same thread works. */
	codec_thread_release();
	codec_thread_release();
	compress_in_thread(&ok[0]);
	assert_true(ok[0]);
}

int run_codec_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_compressible),
		cmocka_unit_test(test_random_data_stays_raw),
		cmocka_unit_test(test_corrupt_frames_are_detected),
		cmocka_unit_test(test_thread_contexts),
	};
	int failed = cmocka_run_group_tests_name("store/codec", tests, NULL, NULL);
	codec_thread_release(); /* the main thread's cached contexts, for the leak checker */
	return failed;
}
