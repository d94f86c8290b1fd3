/*
 * store_internal.h - the store's shared state; used by its source files (store*.c) and tests.
 */
#ifndef STRATA_STORE_STORE_INTERNAL_H
#define STRATA_STORE_STORE_INTERNAL_H

#include "store/store.h"

#include "store/codec.h"
#include "store/dedup.h"
#include "store/pack.h"

#include <pthread.h>
#include <stdatomic.h>

struct store_object {
	st_hash hash;
	void *data;         /* raw content until encoded, then what is stored */
	size_t raw_size;
	size_t stored_size;
	codec_kind codec;
	bool encoded;
	int level;
};

/* An object appended to the open pack, staged when the pack is sealed. */
typedef struct store_pending {
	st_hash hash;
	pack_location location;
} store_pending;

/* A pack open for reading, by id. */
typedef struct store_pack_slot {
	int64_t id;
	char name[64];
	uint64_t size;      /* as the catalog records it */
	backend_read *file; /* NULL until opened */
} store_pack_slot;

struct store {
	dest *d;
	backend *b;
	int level;
	dedup *dedup;
	/* the writer's side */
	pack_writer *pack;
	char pack_name[32];
	double pack_opened;     /* st_now_seconds() when the open pack was created */
	double seal_seconds;
	store_pending *pending;
	size_t pending_count;
	size_t pending_capacity;
	/* the readers' side: packs opened on first use */
	pthread_mutex_t packs_lock;
	store_pack_slot *packs; /* sorted by id */
	size_t pack_count;
	bool packs_loaded;
	atomic_llong objects_new, bytes_new, stored_bytes, packs_sealed;
};

/* The open pack pack_id (borrowed until store_free); ST_ERR_CORRUPT when the catalog does not
 * list it or its file is missing or damaged. */
int store_pack_open(store *s, int64_t pack_id, backend_read **out);

/* Reads the object at loc into a new buffer, checking it against hash. */
int store_read_located(store *s, const pack_location *loc, const st_hash *hash, void **out);

#endif
