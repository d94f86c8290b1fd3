/*
 * dedup.c - content dedup: this run's claims in an open-addressing hash set, then the catalog.
 */
#include "engine/dedup.h"

#include "common/mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct dedup {
	pthread_mutex_t lock;
	catalog *reader;
	st_hash *slots;
	unsigned char *used;
	size_t capacity; /* a power of two */
	size_t count;
};

dedup *dedup_new(catalog *reader)
{
	dedup *d = st_calloc(1, sizeof *d);
	pthread_mutex_init(&d->lock, NULL);
	d->reader = reader;
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

int dedup_claim(dedup *d, const st_hash *hash, bool *out_new)
{
	int rc = 0;
	bool stored = false;
	pthread_mutex_lock(&d->lock);
	*out_new = false;
	if (set_contains(d, hash))
		goto cleanup;
	if ((rc = catalog_object_find(d->reader, hash, NULL, &stored)) != 0 || stored)
		goto cleanup;
	if (2 * (d->count + 1) > d->capacity)
		grow(d);
	set_insert(d, hash);
	*out_new = true;
cleanup:
	pthread_mutex_unlock(&d->lock);
	return rc;
}
