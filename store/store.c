/*
 * store.c - the store's lifecycle and its writer side: claims, appends, seals, publication,
 * orphans (see store.h).
 */
#include "store/store_internal.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

int store_open(store **out, dest *d, const store_options *options)
{
	store *s = st_calloc(1, sizeof *s);
	s->d = d;
	s->b = dest_backend(d);
	s->level = options != NULL && options->compression_level > 0 ? options->compression_level : STORE_DEFAULT_LEVEL;
	s->seal_seconds = options != NULL && options->seal_seconds > 0 ? options->seal_seconds : STORE_SEAL_SECONDS;
	catalog *own = dest_catalog(d);
	if (options != NULL && options->readers != NULL && options->reader_count > 0)
		s->dedup = dedup_new(options->readers, options->reader_count);
	else
		s->dedup = dedup_new(&own, 1);
	pthread_mutex_init(&s->packs_lock, NULL);
	atomic_init(&s->objects_new, 0);
	atomic_init(&s->bytes_new, 0);
	atomic_init(&s->stored_bytes, 0);
	atomic_init(&s->packs_sealed, 0);
	*out = s;
	return 0;
}

void store_free(store *s)
{
	if (s == NULL)
		return;
	pack_writer_abandon(s->pack);
	free(s->pending);
	for (size_t i = 0; i < s->pack_count; i++)
		backend_read_close(s->packs[i].file);
	free(s->packs);
	pthread_mutex_destroy(&s->packs_lock);
	dedup_free(s->dedup);
	free(s);
}

void store_get_stats(const store *s, store_stats *out)
{
	out->objects_new = atomic_load(&s->objects_new);
	out->bytes_new = atomic_load(&s->bytes_new);
	out->stored_bytes = atomic_load(&s->stored_bytes);
	out->packs_sealed = atomic_load(&s->packs_sealed);
}

void store_thread_release(void)
{
	codec_thread_release();
}

size_t store_chunk_count(uint64_t size)
{
	return size > STORE_CHUNK_SIZE ? (size_t)((size + STORE_CHUNK_SIZE - 1) / STORE_CHUNK_SIZE) : 0;
}

int store_claim(store *s, const st_hash *hash, bool *out_new)
{
	return dedup_claim(s->dedup, hash, out_new);
}

int store_has(store *s, const st_hash *hash, bool *out)
{
	return dedup_lookup(s->dedup, hash, out);
}

static int open_pack(store *s)
{
	dest_new_pack_name(s->pack_name);
	s->pack_opened = st_now_seconds();
	return pack_writer_open(&s->pack, s->b, s->pack_name);
}

bool store_seal_due_in(const store *s, double *out_seconds)
{
	if (s->pack == NULL)
		return false;
	*out_seconds = s->pack_opened + s->seal_seconds - st_now_seconds();
	return true;
}

int store_append(store *s, store_object *obj, uint64_t *out_stored, bool *out_full)
{
	int rc = 0;
	if (!obj->encoded && (rc = store_object_encode(obj)) != 0)
		return rc;
	if (s->pack == NULL && (rc = open_pack(s)) != 0)
		return rc;
	uint64_t offset = 0;
	rc = pack_writer_append(s->pack, &obj->hash, obj->codec, obj->raw_size, obj->data, obj->stored_size, &offset);
	if (rc != 0)
		return rc;
	if (s->pending_count == s->pending_capacity) {
		s->pending_capacity = s->pending_capacity ? 2 * s->pending_capacity : 4096;
		s->pending = st_realloc(s->pending, s->pending_capacity * sizeof *s->pending);
	}
	store_pending *entry = &s->pending[s->pending_count++];
	entry->hash = obj->hash;
	entry->location = (pack_location){.offset = offset, .raw_size = obj->raw_size, .stored_size = obj->stored_size,
					  .codec = (int)obj->codec};
	uint64_t stored = obj->stored_size + PACK_RECORD_HEADER_SIZE;
	atomic_fetch_add(&s->objects_new, 1);
	atomic_fetch_add(&s->bytes_new, (long long)obj->raw_size);
	atomic_fetch_add(&s->stored_bytes, (long long)stored);
	if (out_stored != NULL)
		*out_stored = stored;
	double left = 0;
	*out_full = pack_writer_size(s->pack) >= STORE_PACK_TARGET || (store_seal_due_in(s, &left) && left <= 0);
	return 0;
}

int store_seal(store *s, bool *out_sealed)
{
	if (out_sealed != NULL)
		*out_sealed = false;
	if (s->pack == NULL)
		return 0;
	catalog *cat = dest_catalog(s->d);
	uint64_t size = pack_writer_size(s->pack);
	int rc = pack_writer_seal(s->pack);
	s->pack = NULL;
	int64_t pack_id = 0;
	if (rc == 0)
		rc = catalog_pack_add(cat, s->pack_name, size, s->pending_count, &pack_id);
	for (size_t i = 0; i < s->pending_count && rc == 0; i++) {
		s->pending[i].location.pack_id = pack_id;
		rc = catalog_object_stage(cat, &s->pending[i].hash, &s->pending[i].location);
	}
	s->pending_count = 0;
	if (rc == 0) {
		atomic_fetch_add(&s->packs_sealed, 1);
		if (out_sealed != NULL)
			*out_sealed = true;
	}
	return rc;
}

int store_flush(store *s)
{
	if (s->pack == NULL)
		return 0;
	catalog *cat = dest_catalog(s->d);
	if (catalog_in_transaction(cat))
		return store_seal(s, NULL);
	int rc = catalog_begin(cat);
	if (rc == 0)
		rc = store_seal(s, NULL);
	if (rc == 0)
		rc = catalog_commit(cat);
	else
		catalog_rollback(cat);
	return rc;
}

int store_flush_if_due(store *s)
{
	double left = 0;
	return store_seal_due_in(s, &left) && left <= 0 ? store_flush(s) : 0;
}

int store_publish(store *s)
{
	return catalog_object_publish(dest_catalog(s->d));
}

static bool is_listed(const catalog_pack *packs, size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(packs[i].name, name) == 0)
			return true;
	return false;
}

int store_remove_orphans(store *s, int *out_removed)
{
	catalog_pack *packs = NULL;
	char **names = NULL;
	size_t count = 0, name_count = 0;
	*out_removed = 0;
	int rc = catalog_pack_list(dest_catalog(s->d), &packs, &count);
	if (rc == 0)
		rc = backend_list(s->b, BACKEND_SPACE_PACKS, &names, &name_count);
	for (size_t i = 0; i < name_count && rc == 0; i++) {
		if (is_listed(packs, count, names[i]))
			continue;
		if ((rc = backend_remove(s->b, BACKEND_SPACE_PACKS, names[i])) == 0)
			(*out_removed)++;
	}
	backend_list_free(names, name_count);
	free(packs);
	return rc;
}
