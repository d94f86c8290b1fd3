/*
 * dedup.h - "is this content already stored?" for the backup's I/O workers.
 *
 * Content is new when it is neither in the catalog (committed objects of earlier runs,
 * including a killed run's sealed packs) nor claimed earlier in this run. dedup_claim() both
 * asks and claims, atomically, so two workers that read the same content store it once. The
 * set of this run's claims grows with the new content only.
 */
#ifndef STRATA_ENGINE_DEDUP_H
#define STRATA_ENGINE_DEDUP_H

#include "catalog/catalog.h"
#include "common/hash.h"

#include <stdbool.h>

typedef struct dedup dedup;

/* reader is a catalog connection used only by this dedup (not owned). */
dedup *dedup_new(catalog *reader);
void dedup_free(dedup *d);

/* *out_new is true when the caller must store the content (it now holds the claim). */
int dedup_claim(dedup *d, const st_hash *hash, bool *out_new);

#endif
