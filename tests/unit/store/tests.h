/*
 * tests.h - the groups of the unit_store executable: one per source area of store/, each run by
 * main.c.
 */
#ifndef STRATA_TESTS_UNIT_STORE_TESTS_H
#define STRATA_TESTS_UNIT_STORE_TESTS_H

/* Each returns the number of failed tests of its group. */
int run_codec_tests(void);
int run_pack_tests(void);
int run_dedup_tests(void);
int run_store_tests(void);
int run_store_fault_tests(void);

/* Data for objects (malloc'ed, caller frees): text that compresses well, and random bytes that
 * do not. Include after ../testutil.h. */
static inline unsigned char *text_data(size_t len, unsigned seed)
{
	unsigned char *data = malloc(len ? len : 1);
	assert_non_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)("abcdefgh\n"[(i / 3 + seed) % 9]);
	return data;
}

static inline unsigned char *random_data(size_t len, uint64_t seed)
{
	unsigned char *data = malloc(len ? len : 1);
	assert_non_null(data);
	tu_fill_random(data, len, seed);
	return data;
}

/* Asserts that the file at path holds exactly len bytes of data. */
static inline void assert_file_holds(const char *path, const void *data, size_t len)
{
	size_t got = 0;
	unsigned char *back = tu_read_file(path, &got);
	assert_int_equal(got, len);
	if (len > 0)
		assert_memory_equal(back, data, len);
	free(back);
}

#endif
