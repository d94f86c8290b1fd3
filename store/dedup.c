/*
 * dedup.c - content dedup: this run's claims in an open-addressing hash set, then the catalog.
 */
#include "store/dedup.h"

#include "common/mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct dedup_reader {
	pthread_mutex_t lock;
	catalog *cat;
} dedup_reader;

struct dedup {
	pthread_mutex_t lock;
	dedup_reader *readers;
	int reader_count;
	bool catalog_empty; /* no object was stored when the run began */
	st_hash *slots;
	unsigned char *used;
	size_t capacity; /* a power of two */
	size_t count;
};

dedup *dedup_new(catalog **readers, int reader_count)
{
	dedup *d = st_calloc(1, sizeof *d);
	pthread_mutex_init(&d->lock, NULL);
	d->readers = st_calloc((size_t)reader_count, sizeof *d->readers);
	d->reader_count = reader_count;
	for (int i = 0; i < reader_count; i++) {
		pthread_mutex_init(&d->readers[i].lock, NULL);
		d->readers[i].cat = readers[i];
	}
	bool any = true;
	d->catalog_empty = catalog_object_any(readers[0], &any) == 0 && !any;
	d->capacity = 1024;
	d->slots = st_calloc(d->capacity, sizeof *d->slots);
	d->used = st_calloc(d->capacity, 1);
	return d;
}

void dedup_free(dedup *d)
{
	if (d == NULL)
		return;
	pthread_mutex_destroy(&d->lock);
	for (int i = 0; i < d->reader_count; i++)
		pthread_mutex_destroy(&d->readers[i].lock);
	free(d->readers);
	free(d->slots);
	free(d->used);
	free(d);
}

static size_t slot_of(const dedup *d, const st_hash *hash)
{
	uint64_t h;
	memcpy(&h, hash->bytes, sizeof h);
	return (size_t)h & (d->capacity - 1);
}

/* Returns true when hash was already in the set; inserts it otherwise. */
static bool set_insert(dedup *d, const st_hash *hash)
{
	size_t i = slot_of(d, hash);
	while (d->used[i]) {
		if (st_hash_equal(&d->slots[i], hash))
			return true;
		i = (i + 1) & (d->capacity - 1);
	}
	d->slots[i] = *hash;
	d->used[i] = 1;
	d->count++;
	return false;
}

static void grow(dedup *d)
{
	st_hash *old_slots = d->slots;
	unsigned char *old_used = d->used;
	size_t old_capacity = d->capacity;
	d->capacity *= 2;
	d->slots = st_calloc(d->capacity, sizeof *d->slots);
	d->used = st_calloc(d->capacity, 1);
	d->count = 0;
	for (size_t i = 0; i < old_capacity; i++)
		if (old_used[i])
			set_insert(d, &old_slots[i]);
	free(old_slots);
	free(old_used);
}

static bool set_contains(const dedup *d, const st_hash *hash)
{
	size_t i = slot_of(d, hash);
	while (d->used[i]) {
		if (st_hash_equal(&d->slots[i], hash))
			return true;
		i = (i + 1) & (d->capacity - 1);
	}
	return false;
}

int dedup_lookup(dedup *d, const st_hash *hash, bool *out)
{
	/* A reader chosen by the hash, so lookups spread out. */
	dedup_reader *reader = &d->readers[hash->bytes[0] % d->reader_count];
	pthread_mutex_lock(&reader->lock);
	int rc = catalog_object_find(reader->cat, hash, NULL, out);
	pthread_mutex_unlock(&reader->lock);
	return rc;
}

int dedup_claim(dedup *d, const st_hash *hash, bool *out_new)
{
	bool known = false;
	*out_new = false;
	pthread_mutex_lock(&d->lock);
	known = set_contains(d, hash);
	pthread_mutex_unlock(&d->lock);
	if (known)
		return 0;
	int rc = d->catalog_empty ? 0 : dedup_lookup(d, hash, &known);
	if (rc != 0 || known)
		return rc;
	/* Claim it, unless another worker did since we looked. */
	pthread_mutex_lock(&d->lock);
	if (2 * (d->count + 1) > d->capacity)
		grow(d);
	*out_new = !set_insert(d, hash);
	pthread_mutex_unlock(&d->lock);
	return 0;
}
