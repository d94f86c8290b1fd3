/*
 * pack.h - pack files: many content-addressed objects in one destination file.
 *
 * A pack is a 16-byte file header ("STRATAPK", format u32, reserved u32) followed by records.
 * Each record is a 48-byte header - magic "SOBJ", codec u8, reserved (3 bytes), raw size u64,
 * stored size u64, XXH3-128 hash of the raw content (16 bytes), XXH3-64 of the preceding 40
 * header bytes - and then the stored bytes. Integers are little-endian. Packs are therefore
 * self-describing: a lost catalog can be rebuilt by reading them, and a reader can check every
 * object without the catalog.
 *
 * Packs are append-only while written and never changed after pack_writer_seal(), which makes
 * the pack durable through the backend (fsync of file and folder; the PUT on object storage):
 * only then may the catalog point at its objects. Internal to the store: nothing outside
 * store/ sees a record header or a location.
 */
#ifndef STRATA_STORE_PACK_H
#define STRATA_STORE_PACK_H

#include "catalog/backend.h"
#include "catalog/catalog.h"
#include "common/hash.h"
#include "store/codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PACK_FILE_HEADER_SIZE 16
#define PACK_RECORD_HEADER_SIZE 48
/* No object is larger: files and dumps are stored in chunks of a few MiB. */
#define PACK_MAX_OBJECT_SIZE ((uint64_t)64 << 20)

typedef struct pack_writer pack_writer;

/* The decoded header of one record. */
typedef struct pack_record {
	st_hash hash;
	uint64_t raw_size;
	uint64_t stored_size;
	codec_kind codec;
} pack_record;

/* Creates pack name (which must not exist) on b and writes its file header. */
int pack_writer_open(pack_writer **out, backend *b, const char *name);

/* Appends one record; *out_offset is where its header starts. */
int pack_writer_append(pack_writer *writer, const st_hash *hash, codec_kind codec, uint64_t raw_size,
		       const void *stored, size_t stored_size, uint64_t *out_offset);

/* Bytes written so far, file header included. */
uint64_t pack_writer_size(const pack_writer *writer);

/* Flushes, syncs the pack (and its folder), closes and frees the writer. On failure the
 * writer is freed too and the pack must be treated as lost. */
int pack_writer_seal(pack_writer *writer);

/* Closes and frees without sealing (the file stays, as an orphan to be removed). */
void pack_writer_abandon(pack_writer *writer);

/* Checks the file header of the pack open at r; errors name it. */
int pack_check_file_header(backend_read *r);

/* Decodes and validates a record header from len bytes already read (ST_ERR_CORRUPT when len is
 * below PACK_RECORD_HEADER_SIZE, or magic or header checksum do not match); offset and what
 * name it in errors. Sizes and codec are returned as found: callers check them against what
 * they expect. The one decoder of record headers, and the pack fuzz target's entry point. */
int pack_record_parse(pack_record *out, const void *buf, size_t len, uint64_t offset, const char *what);

/* Reads and validates the record header at offset. */
int pack_read_record_header(pack_record *out, backend_read *r, uint64_t offset);

/* ST_ERR_CORRUPT when loc's sizes exceed PACK_MAX_OBJECT_SIZE: callers check a location from
 * the catalog before they allocate loc->raw_size bytes for it. */
int pack_check_location(const pack_location *loc, const char *what);

/* Reads the object at loc from the pack open at r into out (loc->raw_size bytes), decodes it
 * and checks that it hashes to expected. Any mismatch is ST_ERR_CORRUPT naming the pack and
 * the offset. */
int pack_read_object(void *out, backend_read *r, const pack_location *loc, const st_hash *expected);

#endif
