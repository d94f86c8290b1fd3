/*
 * blob_store.c - whole files as objects (see blob_store.h).
 */
#include "engine/blob_store.h"

#include "catalog/codec.h"
#include "catalog/pack.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/mem.h"
#include "engine/dedup.h"
#include "engine/pack_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct blob_store {
	dest *d;
	pack_sink *sink;
	dedup *dedup;
	int level;
	int sealed;
};

blob_store *blob_store_new(dest *d, int compression_level)
{
	blob_store *store = st_calloc(1, sizeof *store);
	store->d = d;
	store->sink = pack_sink_new(d);
	catalog *cat = dest_catalog(d);
	store->dedup = dedup_new(&cat, 1);
	store->level = compression_level;
	return store;
}

static int seal(blob_store *store)
{
	catalog *cat = dest_catalog(store->d);
	int rc = catalog_begin(cat);
	if (rc == 0)
		rc = pack_sink_seal(store->sink, &store->sealed);
	if (rc == 0)
		rc = catalog_commit(cat);
	else
		catalog_rollback(cat);
	return rc;
}

int blob_store_finish(blob_store *store, bool do_seal, int64_t *out_packs)
{
	int rc = do_seal ? seal(store) : 0;
	*out_packs += store->sealed;
	pack_sink_free(store->sink);
	dedup_free(store->dedup);
	free(store);
	return rc;
}

/* Stores one piece of content unless it is already stored. */
static int store_object(blob_store *store, const st_hash *hash, const void *data, size_t len, uint64_t *out_stored)
{
	bool is_new = false, full = false;
	int rc = dedup_claim(store->dedup, hash, &is_new);
	if (rc != 0 || !is_new)
		return rc;
	void *packed = NULL;
	size_t stored_len = 0;
	codec_kind codec;
	if ((rc = codec_compress(&packed, &stored_len, &codec, data, len, store->level)) != 0)
		return rc;
	rc = pack_sink_append(store->sink, hash, codec, len, packed ? packed : data, stored_len, &full);
	free(packed);
	*out_stored += stored_len + PACK_RECORD_HEADER_SIZE;
	if (rc == 0 && full)
		rc = seal(store);
	return rc;
}

int blob_store_file(blob_store *store, const char *path, catalog_blob *out, uint64_t *out_stored)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open '%s'", path);
	struct stat st;
	int rc = fstat(fd, &st) == 0 ? 0 : st_error_set_errno(ST_ERR_GENERIC, errno, "unable to stat '%s'", path);
	uint64_t size = (uint64_t)st.st_size;
	size_t chunk_count = size > BLOB_CHUNK_SIZE ? (size_t)((size + BLOB_CHUNK_SIZE - 1) / BLOB_CHUNK_SIZE) : 0;
	st_hash *chunks = chunk_count ? st_malloc(chunk_count * sizeof *chunks) : NULL;
	void *buf = st_malloc(size < BLOB_CHUNK_SIZE ? (size_t)size + 1 : BLOB_CHUNK_SIZE);
	st_hasher *whole = st_hasher_new();
	size_t index = 0;
	for (uint64_t offset = 0; rc == 0 && (offset < size || (size == 0 && offset == 0)); offset += BLOB_CHUNK_SIZE) {
		size_t len = (size_t)(size - offset < BLOB_CHUNK_SIZE ? size - offset : BLOB_CHUNK_SIZE);
		st_hash piece;
		if ((rc = st_pread_all(fd, buf, len, offset, path)) != 0)
			break;
		st_hasher_update(whole, buf, len);
		st_hash_buffer(&piece, buf, len);
		if (chunk_count)
			chunks[index++] = piece;
		rc = store_object(store, &piece, buf, len, out_stored);
		if (size == 0)
			break;
	}
	st_hasher_final(&out->hash, whole);
	close(fd);
	free(buf);
	out->size = size;
	out->chunks = chunks;
	out->chunk_count = chunk_count;
	if (rc != 0) {
		free(chunks);
		out->chunks = NULL;
	}
	return rc;
}

static int write_object(pack_files *packs, catalog *cat, const st_hash *hash, int out_fd, st_hasher *whole,
			const char *path)
{
	pack_location loc;
	bool found = false;
	int rc = catalog_object_find(cat, hash, &loc, &found);
	if (rc == 0 && !found)
		rc = st_error_set(ST_ERR_CORRUPT, "content of '%s' is not in any pack", path);
	int pack_fd;
	const char *pack_name;
	if (rc == 0)
		rc = pack_files_get(packs, loc.pack_id, &pack_fd, &pack_name);
	if (rc == 0)
		rc = pack_check_location(&loc, pack_name);
	if (rc != 0)
		return rc;
	void *buf = st_malloc(loc.raw_size ? (size_t)loc.raw_size : 1);
	rc = pack_read_object(buf, pack_fd, &loc, hash, pack_name);
	if (rc == 0) {
		st_hasher_update(whole, buf, (size_t)loc.raw_size);
		rc = st_write_all(out_fd, buf, (size_t)loc.raw_size, path);
	}
	free(buf);
	return rc;
}

int blob_read_to_file(pack_files *packs, catalog *cat, const catalog_blob *blob, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to create '%s'", path);
	st_hasher *whole = st_hasher_new();
	int rc = 0;
	if (blob->chunk_count == 0)
		rc = write_object(packs, cat, &blob->hash, fd, whole, path);
	for (size_t i = 0; i < blob->chunk_count && rc == 0; i++)
		rc = write_object(packs, cat, &blob->chunks[i], fd, whole, path);
	st_hash actual;
	st_hasher_final(&actual, whole);
	if (close(fd) != 0 && rc == 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to write '%s'", path);
	if (rc == 0 && !st_hash_equal(&actual, &blob->hash))
		rc = st_error_set(ST_ERR_CORRUPT, "content written to '%s' does not match its hash", path);
	return rc;
}
