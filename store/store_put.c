/*
 * store_put.c - content into objects: the one chunking loop, claims, encoding (see store.h).
 */
#include "store/store_internal.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int store_object_encode(store_object *obj)
{
	void *packed = NULL;
	int rc = codec_compress(&packed, &obj->stored_size, &obj->codec, obj->data, obj->raw_size, obj->level);
	if (rc != 0)
		return rc;
	if (packed != NULL) {
		free(obj->data);
		obj->data = packed;
	}
	obj->encoded = true;
	return 0;
}

size_t store_object_size(const store_object *obj)
{
	return obj->raw_size;
}

void store_object_free(store_object *obj)
{
	if (obj == NULL)
		return;
	free(obj->data);
	free(obj);
}

/* Stores obj now, on the writer thread; seals the pack in its own transaction when full. */
static int store_now(store *s, store_object *obj)
{
	bool full = false;
	int rc = store_append(s, obj, NULL, &full);
	if (rc == 0 && full)
		rc = store_flush(s);
	return rc;
}

/* Claims one piece (taking ownership of data); new content goes to sink, or is stored now. */
static int put_piece(store *s, const st_hash *hash, void *data, size_t len, const store_sink *sink)
{
	bool is_new = false;
	int rc = store_claim(s, hash, &is_new);
	if (rc != 0 || !is_new) {
		free(data);
		if (sink != NULL && sink->release != NULL)
			sink->release(sink->ctx, len);
		return rc;
	}
	store_object *obj = st_calloc(1, sizeof *obj);
	obj->hash = *hash;
	obj->data = data;
	obj->raw_size = len;
	obj->level = s->level;
	if (sink != NULL)
		return sink->send(sink->ctx, obj);
	rc = store_now(s, obj);
	store_object_free(obj);
	return rc;
}

/* Reads the reader's next len bytes into a new buffer, charged to the sink's budget. */
static int read_piece(void **out, const store_reader *reader, size_t len, const store_sink *sink)
{
	if (sink != NULL && sink->reserve != NULL)
		sink->reserve(sink->ctx, len);
	void *buf = st_malloc(len ? len : 1);
	int rc = reader->read(reader->ctx, buf, len);
	if (rc != 0) {
		free(buf);
		if (sink != NULL && sink->release != NULL)
			sink->release(sink->ctx, len);
		return rc;
	}
	*out = buf;
	return 0;
}

int store_put(store *s, const store_reader *reader, uint64_t size, const store_sink *sink, st_hash *out_hash,
	      st_hash *chunks)
{
	size_t chunk_count = store_chunk_count(size);
	if (chunk_count == 0) {
		void *buf = NULL;
		int rc = read_piece(&buf, reader, (size_t)size, sink);
		if (rc != 0)
			return rc;
		st_hash_buffer(out_hash, buf, (size_t)size);
		return put_piece(s, out_hash, buf, (size_t)size, sink);
	}
	st_hasher *whole = st_hasher_new();
	int rc = 0;
	for (size_t i = 0; i < chunk_count && rc == 0; i++) {
		uint64_t offset = (uint64_t)i * STORE_CHUNK_SIZE;
		size_t len = (size_t)(size - offset < STORE_CHUNK_SIZE ? size - offset : STORE_CHUNK_SIZE);
		void *buf = NULL;
		if ((rc = read_piece(&buf, reader, len, sink)) != 0)
			break;
		st_hasher_update(whole, buf, len);
		st_hash_buffer(&chunks[i], buf, len);
		rc = put_piece(s, &chunks[i], buf, len, sink);
	}
	st_hasher_final(out_hash, whole);
	return rc;
}

/* A reader over a file descriptor, from offset 0. */
typedef struct fd_reader {
	int fd;
	uint64_t offset;
	const char *what;
} fd_reader;

static int read_fd(void *ctx, void *buf, size_t len)
{
	fd_reader *r = ctx;
	int rc = st_pread_all(r->fd, buf, len, r->offset, r->what);
	if (rc == ST_ERR_CORRUPT)
		return st_error_set(ST_ERR_SOURCE, "file '%s' shrank while being read", r->what);
	if (rc != 0)
		return st_error_reclassify(ST_ERR_SOURCE);
	r->offset += len;
	return 0;
}

int store_put_fd(store *s, int fd, uint64_t size, const char *what, const store_sink *sink, st_hash *out_hash,
		 st_hash *chunks)
{
	fd_reader state = {.fd = fd, .what = what};
	store_reader reader = {.read = read_fd, .ctx = &state};
	return store_put(s, &reader, size, sink, out_hash, chunks);
}

int store_put_file(store *s, const char *path, catalog_blob *out)
{
	memset(out, 0, sizeof *out);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open '%s'", path);
	struct stat st;
	int rc = fstat(fd, &st) == 0 ? 0 : st_error_set_errno(ST_ERR_GENERIC, errno, "unable to stat '%s'", path);
	size_t chunk_count = rc == 0 ? store_chunk_count((uint64_t)st.st_size) : 0;
	st_hash *chunks = chunk_count ? st_malloc(chunk_count * sizeof *chunks) : NULL;
	if (rc == 0)
		rc = store_put_fd(s, fd, (uint64_t)st.st_size, path, NULL, &out->hash, chunks);
	close(fd);
	if (rc != 0) {
		free(chunks);
		return rc;
	}
	out->size = (uint64_t)st.st_size;
	out->chunks = chunks;
	out->chunk_count = chunk_count;
	return 0;
}

int store_put_buffer(store *s, const void *data, size_t len, st_hash *out_hash)
{
	if (len > STORE_CHUNK_SIZE)
		return st_error_set(ST_ERR_GENERIC, "unable to store %zu bytes as one object (at most %zu)", len,
				    STORE_CHUNK_SIZE);
	void *copy = st_malloc(len ? len : 1);
	if (len > 0)
		memcpy(copy, data, len);
	st_hash_buffer(out_hash, data, len);
	return put_piece(s, out_hash, copy, len, NULL);
}
