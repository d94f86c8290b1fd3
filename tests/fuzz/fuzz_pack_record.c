/*
 * fuzz_pack_record.c - libFuzzer target for the pack record reader (store/pack.c).
 *
 * The input is a pack file as read from disk. Byte 0 is a control byte, the rest is the pack:
 * control bit 0 makes the harness rewrite every record header's checksum before reading, so
 * that mutations of sizes and codec reach the code behind the checksum (as zstd's fuzzers turn
 * off their checksums). The pack is then read the way restore and check read it: file header,
 * then record by record through pack_record_parse and pack_read_object, read through a local
 * destination backend as restore and check read it.
 *
 * Control bit 1 makes the rest of the input content instead: it is compressed as a backup
 * stores it (codec_compress) and must decode back to itself (codec_decompress), the round trip
 * of zstd's own fuzzers.
 *
 * Properties checked (a violation aborts): a record that reads back successfully decodes to
 * raw_size bytes hashing to its header's hash; every failure is ST_ERR_CORRUPT (nothing else
 * can go wrong with bytes already in memory); nothing crashes, leaks or reads out of bounds.
 */
#include "catalog/backend.h"
#include "store/codec.h"
#include "store/pack.h"
#include "common/error.h"
#include "common/hash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* Larger objects are valid but only slow the fuzzer down. */
#define FUZZ_MAX_OBJECT ((uint64_t)1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int pack_fd = -1;       /* the pack file the backend reads */
static backend *packs_backend; /* a local backend rooted at a temporary folder */

/* A temporary destination folder with packs/fuzz.pack, and a backend over it. */
static void open_fuzz_destination(void)
{
	char dir[] = "/tmp/strata-fuzz-XXXXXX";
	char path[sizeof dir + 32];
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof path, "%s/packs", dir);
	if (mkdir(path, 0700) != 0 || backend_local_new(&packs_backend, dir) != 0)
		abort();
	snprintf(path, sizeof path, "%s/packs/fuzz.pack", dir);
	if ((pack_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		abort();
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Rewrites each record header's checksum in place, walking records by their stored sizes. */
static void fix_checksums(unsigned char *pack, size_t len)
{
	size_t offset = PACK_FILE_HEADER_SIZE;
	while (offset + PACK_RECORD_HEADER_SIZE <= len) {
		unsigned char *header = pack + offset;
		put_u64(header + 40, st_hash64(header, 40));
		uint64_t stored = get_u64(header + 16);
		if (stored > len)
			break;
		offset += PACK_RECORD_HEADER_SIZE + (size_t)stored;
	}
}

static void check_failure(int rc)
{
	if (rc != ST_ERR_CORRUPT)
		abort();
	st_error_clear();
}

static void read_records(backend_read *r, const unsigned char *pack, size_t len);

static void read_pack(const unsigned char *pack, size_t len)
{
	if (ftruncate(pack_fd, 0) != 0 || pwrite(pack_fd, pack, len, 0) != (ssize_t)len)
		abort();
	backend_read *r = NULL;
	if (backend_open_read(packs_backend, BACKEND_SPACE_PACKS, "fuzz.pack", &r) != 0)
		abort();
	read_records(r, pack, len);
	backend_read_close(r);
}
static void read_records(backend_read *r, const unsigned char *pack, size_t len)
{
	int rc = pack_check_file_header(r);
	if (rc != 0) {
		check_failure(rc);
		return;
	}
	uint64_t offset = PACK_FILE_HEADER_SIZE;
	while (offset < len) {
		pack_record record;
		/* The bytes-in decoder and the descriptor reader must agree. */
		rc = pack_record_parse(&record, pack + offset, len - (size_t)offset, offset, "fuzz");
		pack_record again;
		int rc_fd = pack_read_record_header(&again, r, offset);
		if ((rc == 0) != (rc_fd == 0))
			abort();
		if (rc != 0) {
			check_failure(rc);
			check_failure(rc_fd);
			return;
		}
		if (memcmp(&record.hash, &again.hash, sizeof record.hash) != 0 || record.raw_size != again.raw_size ||
		    record.stored_size != again.stored_size || record.codec != again.codec)
			abort();
		if (record.raw_size > FUZZ_MAX_OBJECT || record.stored_size > FUZZ_MAX_OBJECT)
			return;
		pack_location loc = {.pack_id = 1, .offset = offset, .raw_size = record.raw_size,
				     .stored_size = record.stored_size, .codec = (int)record.codec};
		void *out = malloc(record.raw_size ? (size_t)record.raw_size : 1);
		rc = pack_read_object(out, r, &loc, &record.hash);
		if (rc == 0) {
			st_hash actual;
			st_hash_buffer(&actual, out, (size_t)record.raw_size);
			if (!st_hash_equal(&actual, &record.hash))
				abort();
		} else {
			check_failure(rc);
		}
		free(out);
		if (rc != 0)
			return;
		offset += PACK_RECORD_HEADER_SIZE + record.stored_size;
	}
}

static void round_trip(const unsigned char *content, size_t len)
{
	void *stored = NULL;
	size_t stored_len = 0;
	codec_kind kind;
	if (codec_compress(&stored, &stored_len, &kind, content, len, 1) != 0)
		abort();
	if ((kind == CODEC_RAW) != (stored == NULL) || (kind == CODEC_ZSTD && stored_len >= len))
		abort();
	unsigned char *back = malloc(len ? len : 1);
	if (codec_decompress(back, len, stored ? stored : content, stored_len, kind, "fuzz") != 0 ||
	    memcmp(back, content, len) != 0)
		abort();
	free(back);
	free(stored);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (pack_fd < 0)
		open_fuzz_destination();
	if (size < 1)
		return 0;
	unsigned char *pack = malloc(size);
	memcpy(pack, data + 1, size - 1);
	if (data[0] & 2) {
		round_trip(pack, size - 1);
		free(pack);
		return 0;
	}
	if (data[0] & 1)
		fix_checksums(pack, size - 1);
	read_pack(pack, size - 1);
	free(pack);
	return 0;
}
