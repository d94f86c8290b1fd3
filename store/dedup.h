/*
 * dedup.h - "is this content already stored?" for the store's writers (the backup's I/O
 * workers, the dump store); internal to the store.
 *
 * Content is new when it is neither in the catalog (committed objects of earlier runs,
 * including a killed run's sealed packs) nor claimed earlier in this run. dedup_claim() both
 * asks and claims, atomically, so two workers that read the same content store it once. The
 * set of this run's claims grows with the new content only.
 *
 * The in-memory set is checked under a mutex; the catalog lookup happens outside it, on one of
 * a few reader connections, so many I/O workers do not queue behind one SQLite lookup. When
 * the catalog held no object when the run began (a first backup), no lookup is needed at all.
 */
#ifndef STRATA_STORE_DEDUP_H
#define STRATA_STORE_DEDUP_H

#include "catalog/catalog.h"
#include "common/hash.h"

#include <stdbool.h>

typedef struct dedup dedup;

/* readers are catalog connections used only by this dedup (not owned); reader_count >= 1. */
dedup *dedup_new(catalog **readers, int reader_count);
void dedup_free(dedup *d);

/* *out_new is true when the caller must store the content (it now holds the claim). */
int dedup_claim(dedup *d, const st_hash *hash, bool *out_new);

/* *out is true when the catalog holds hash as a published object (claims do not count). */
int dedup_lookup(dedup *d, const st_hash *hash, bool *out);

#endif
