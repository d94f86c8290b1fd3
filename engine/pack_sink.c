/*
 * pack_sink.c - objects into packs, packs into the catalog (see pack_sink.h).
 */
#include "engine/pack_sink.h"

#include "catalog/pack.h"
#include "common/mem.h"

#include <stdlib.h>

typedef struct pending_object {
	st_hash hash;
	pack_location location;
} pending_object;

struct pack_sink {
	dest *d;
	pack_writer *pack;
	char pack_name[32];
	pending_object *pending;
	size_t pending_count;
	size_t pending_capacity;
};

pack_sink *pack_sink_new(dest *d)
{
	pack_sink *sink = st_calloc(1, sizeof *sink);
	sink->d = d;
	return sink;
}

void pack_sink_free(pack_sink *sink)
{
	if (sink == NULL)
		return;
	pack_writer_abandon(sink->pack);
	free(sink->pending);
	free(sink);
}

static int open_pack(pack_sink *sink)
{
	dest_new_pack_name(sink->pack_name);
	char *path = dest_pack_path(sink->d, sink->pack_name);
	int rc = pack_writer_open(&sink->pack, path);
	free(path);
	return rc;
}

int pack_sink_append(pack_sink *sink, const st_hash *hash, codec_kind codec, uint64_t raw_size, const void *stored,
		     size_t stored_size, bool *out_full)
{
	int rc = 0;
	if (sink->pack == NULL && (rc = open_pack(sink)) != 0)
		return rc;
	uint64_t offset = 0;
	if ((rc = pack_writer_append(sink->pack, hash, codec, raw_size, stored, stored_size, &offset)) != 0)
		return rc;
	if (sink->pending_count == sink->pending_capacity) {
		sink->pending_capacity = sink->pending_capacity ? 2 * sink->pending_capacity : 4096;
		sink->pending = st_realloc(sink->pending, sink->pending_capacity * sizeof *sink->pending);
	}
	pending_object *entry = &sink->pending[sink->pending_count++];
	entry->hash = *hash;
	entry->location = (pack_location){.offset = offset, .raw_size = raw_size, .stored_size = stored_size,
					  .codec = codec};
	*out_full = pack_writer_size(sink->pack) >= PACK_SINK_TARGET;
	return 0;
}

int pack_sink_seal(pack_sink *sink, int *out_sealed)
{
	if (sink->pack == NULL)
		return 0;
	catalog *cat = dest_catalog(sink->d);
	uint64_t size = pack_writer_size(sink->pack);
	int rc = pack_writer_seal(sink->pack);
	sink->pack = NULL;
	int64_t pack_id = 0;
	if (rc == 0)
		rc = catalog_pack_add(cat, sink->pack_name, size, sink->pending_count, &pack_id);
	for (size_t i = 0; i < sink->pending_count && rc == 0; i++) {
		sink->pending[i].location.pack_id = pack_id;
		rc = catalog_object_stage(cat, &sink->pending[i].hash, &sink->pending[i].location);
	}
	sink->pending_count = 0;
	if (rc == 0 && out_sealed != NULL)
		(*out_sealed)++;
	return rc;
}
