/*
 * pack_sink.h - appending objects to packs and registering them in the catalog.
 *
 * Opens a pack lazily, appends records, and on seal: fsyncs the pack (and its directory), then
 * inserts the pack and stages its objects in the catalog (catalog_object_stage; the backup
 * publishes them when it completes its snapshot). The caller holds the catalog transaction
 * around pack_sink_seal and commits it: so the catalog never names bytes a crash could lose.
 * Used by the backup's writer thread and by the dump store; one thread per sink.
 */
#ifndef STRATA_ENGINE_PACK_SINK_H
#define STRATA_ENGINE_PACK_SINK_H

#include "catalog/codec.h"
#include "catalog/dest.h"
#include "common/hash.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A pack is sealed once it reaches this size. */
#define PACK_SINK_TARGET ((uint64_t)64 << 20)

typedef struct pack_sink pack_sink;

pack_sink *pack_sink_new(dest *d);

/* Abandons an unsealed pack (left as an orphan for the next run to remove) and frees. */
void pack_sink_free(pack_sink *sink);

/* Appends one object; *out_full is true once the open pack reached PACK_SINK_TARGET. */
int pack_sink_append(pack_sink *sink, const st_hash *hash, codec_kind codec, uint64_t raw_size, const void *stored,
		     size_t stored_size, bool *out_full);

/* Seals the open pack, if any, and registers it with its objects (inside the caller's
 * transaction). *out_sealed (may be NULL) counts packs sealed. */
int pack_sink_seal(pack_sink *sink, int *out_sealed);

#endif
