/*
 * pack.c - pack files over a destination backend (see pack.h for the format).
 */
#include "store/pack.h"

#include "common/error.h"
#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

#define PACK_FORMAT 1
#define WRITE_BUFFER_SIZE (1u << 20)

static const char file_magic[8] = {'S', 'T', 'R', 'A', 'T', 'A', 'P', 'K'};
static const char record_magic[4] = {'S', 'O', 'B', 'J'};

struct pack_writer {
	backend_write *file;
	uint64_t size;
	unsigned char *buffer;
	size_t buffered;
};

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int flush_buffer(pack_writer *writer)
{
	int rc = writer->buffered ? backend_append(writer->file, writer->buffer, writer->buffered) : 0;
	writer->buffered = 0;
	return rc;
}

static int write_bytes(pack_writer *writer, const void *data, size_t len)
{
	if (writer->buffered + len > WRITE_BUFFER_SIZE) {
		int rc = flush_buffer(writer);
		if (rc != 0)
			return rc;
	}
	if (len >= WRITE_BUFFER_SIZE) {
		int rc = backend_append(writer->file, data, len);
		if (rc == 0)
			writer->size += len;
		return rc;
	}
	memcpy(writer->buffer + writer->buffered, data, len);
	writer->buffered += len;
	writer->size += len;
	return 0;
}

int pack_writer_open(pack_writer **out, backend *b, const char *name)
{
	backend_write *file = NULL;
	int rc = backend_create(b, BACKEND_SPACE_PACKS, name, &file);
	if (rc != 0)
		return st_error_prefix("unable to create pack");
	pack_writer *writer = st_calloc(1, sizeof *writer);
	writer->file = file;
	writer->buffer = st_malloc(WRITE_BUFFER_SIZE);
	unsigned char header[PACK_FILE_HEADER_SIZE] = {0};
	memcpy(header, file_magic, sizeof file_magic);
	put_u32(header + 8, PACK_FORMAT);
	rc = write_bytes(writer, header, sizeof header);
	if (rc != 0) {
		pack_writer_abandon(writer);
		return rc;
	}
	*out = writer;
	return 0;
}

static void encode_record_header(unsigned char out[PACK_RECORD_HEADER_SIZE], const st_hash *hash,
				 codec_kind codec, uint64_t raw_size, uint64_t stored_size)
{
	memset(out, 0, PACK_RECORD_HEADER_SIZE);
	memcpy(out, record_magic, sizeof record_magic);
	out[4] = (unsigned char)codec;
	put_u64(out + 8, raw_size);
	put_u64(out + 16, stored_size);
	memcpy(out + 24, hash->bytes, ST_HASH_SIZE);
	put_u64(out + 40, st_hash64(out, 40));
}

int pack_writer_append(pack_writer *writer, const st_hash *hash, codec_kind codec, uint64_t raw_size,
		       const void *stored, size_t stored_size, uint64_t *out_offset)
{
	unsigned char header[PACK_RECORD_HEADER_SIZE];
	encode_record_header(header, hash, codec, raw_size, stored_size);
	*out_offset = writer->size;
	int rc = write_bytes(writer, header, sizeof header);
	if (rc == 0)
		rc = write_bytes(writer, stored, stored_size);
	return rc;
}

uint64_t pack_writer_size(const pack_writer *writer)
{
	return writer->size;
}

int pack_writer_seal(pack_writer *writer)
{
	int rc = flush_buffer(writer);
	if (rc == 0)
		rc = backend_sync(writer->file);
	int close_rc = backend_write_close(writer->file);
	if (rc == 0)
		rc = close_rc;
	free(writer->buffer);
	free(writer);
	return rc;
}

void pack_writer_abandon(pack_writer *writer)
{
	if (writer == NULL)
		return;
	st_error saved;
	st_error_save(&saved);
	backend_write_close(writer->file);
	st_error_restore(&saved);
	free(writer->buffer);
	free(writer);
}

int pack_check_file_header(backend_read *r)
{
	const char *what = backend_read_name(r);
	unsigned char header[PACK_FILE_HEADER_SIZE];
	int rc = backend_read_range(r, header, sizeof header, 0);
	if (rc != 0)
		return rc == ST_ERR_CORRUPT ? st_error_set(ST_ERR_CORRUPT, "pack '%s' is corrupt: truncated header", what) : rc;
	if (memcmp(header, file_magic, sizeof file_magic) != 0)
		return st_error_set(ST_ERR_CORRUPT, "pack '%s' is corrupt: not a strata pack", what);
	if (get_u32(header + 8) != PACK_FORMAT)
		return st_error_set(ST_ERR_CORRUPT, "pack '%s' has unknown format %u", what, get_u32(header + 8));
	return 0;
}

int pack_record_parse(pack_record *out, const void *buf, size_t len, uint64_t offset, const char *what)
{
	const unsigned char *header = buf;
	if (len < PACK_RECORD_HEADER_SIZE)
		return st_error_set(ST_ERR_CORRUPT, "pack '%s' is corrupt: truncated object header at offset %llu",
				    what, (unsigned long long)offset);
	if (memcmp(header, record_magic, sizeof record_magic) != 0 || get_u64(header + 40) != st_hash64(header, 40))
		return st_error_set(ST_ERR_CORRUPT, "pack '%s' is corrupt: bad object header at offset %llu",
				    what, (unsigned long long)offset);
	out->codec = (codec_kind)header[4];
	out->raw_size = get_u64(header + 8);
	out->stored_size = get_u64(header + 16);
	memcpy(out->hash.bytes, header + 24, ST_HASH_SIZE);
	return 0;
}

int pack_read_record_header(pack_record *out, backend_read *r, uint64_t offset)
{
	unsigned char header[PACK_RECORD_HEADER_SIZE];
	int rc = backend_read_range(r, header, sizeof header, offset);
	if (rc != 0)
		return rc;
	return pack_record_parse(out, header, sizeof header, offset, backend_read_name(r));
}

int pack_check_location(const pack_location *loc, const char *what)
{
	if (loc->raw_size > PACK_MAX_OBJECT_SIZE || loc->stored_size > PACK_MAX_OBJECT_SIZE)
		return st_error_set(ST_ERR_CORRUPT, "catalog entry for an object in pack '%s' is corrupt: size out of range",
				    what);
	return 0;
}

int pack_read_object(void *out, backend_read *r, const pack_location *loc, const st_hash *expected)
{
	const char *what = backend_read_name(r);
	unsigned char *buf = NULL;
	pack_record record;
	/* The header is checked against the location before anything is sized from it. */
	int rc = pack_check_location(loc, what);
	if (rc == 0)
		rc = pack_read_record_header(&record, r, loc->offset);
	if (rc != 0)
		return rc;
	if (!st_hash_equal(&record.hash, expected) || record.raw_size != loc->raw_size ||
	    record.stored_size != loc->stored_size || (int)record.codec != loc->codec)
		return st_error_set(ST_ERR_CORRUPT, "pack '%s' is corrupt: object at offset %llu is not the one the catalog names",
				    what, (unsigned long long)loc->offset);
	buf = st_malloc(loc->stored_size ? (size_t)loc->stored_size : 1);
	if ((rc = backend_read_range(r, buf, (size_t)loc->stored_size, loc->offset + PACK_RECORD_HEADER_SIZE)) != 0)
		goto cleanup;
	if ((rc = codec_decompress(out, (size_t)loc->raw_size, buf, (size_t)loc->stored_size, (codec_kind)loc->codec,
				   what)) != 0)
		goto cleanup;
	st_hash actual;
	st_hash_buffer(&actual, out, (size_t)loc->raw_size);
	if (!st_hash_equal(&actual, expected))
		rc = st_error_set(ST_ERR_CORRUPT, "pack '%s' is corrupt: object at offset %llu does not match its hash",
				  what, (unsigned long long)loc->offset);
cleanup:
	free(buf);
	return rc;
}
