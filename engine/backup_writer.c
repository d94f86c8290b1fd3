/*
 * backup_writer.c - the one writer: objects into packs, node versions into the catalog.
 *
 * Order of durability: a pack is sealed (fsynced, with its directory) before the transaction
 * that registers its objects commits, so the catalog never names bytes that a crash could
 * lose. Node versions go into the pending snapshot in the same transactions; they become
 * visible only when the backup completes the snapshot.
 */
#include "engine/backup_pipeline_internal.h"

#include "catalog/dest.h"
#include "catalog/pack.h"
#include "common/error.h"
#include "common/mem.h"

#include <stdlib.h>

/* Commit the open transaction after this many node versions even when no pack is sealed. */
#define NODES_PER_COMMIT 20000

typedef struct pending_object {
	st_hash hash;
	pack_location location;
} pending_object;

typedef struct writer_state {
	backup_pipeline *p;
	catalog *cat;
	pack_writer *pack;
	char pack_name[32];
	pending_object *pending;
	size_t pending_count;
	size_t pending_capacity;
	bool in_transaction;
	size_t nodes_in_transaction;
} writer_state;

static int ensure_transaction(writer_state *w)
{
	if (w->in_transaction)
		return 0;
	int rc = catalog_begin(w->cat);
	w->in_transaction = rc == 0;
	return rc;
}

static int commit(writer_state *w)
{
	if (!w->in_transaction)
		return 0;
	w->in_transaction = false;
	w->nodes_in_transaction = 0;
	return catalog_commit(w->cat);
}

/* Seals the open pack and registers it and its objects, in one transaction. */
static int seal_pack(writer_state *w)
{
	if (w->pack == NULL)
		return 0;
	uint64_t size = pack_writer_size(w->pack);
	int rc = pack_writer_seal(w->pack);
	w->pack = NULL;
	int64_t pack_id = 0;
	if (rc == 0)
		rc = ensure_transaction(w);
	if (rc == 0)
		rc = catalog_pack_add(w->cat, w->pack_name, size, w->pending_count, &pack_id);
	for (size_t i = 0; i < w->pending_count && rc == 0; i++) {
		w->pending[i].location.pack_id = pack_id;
		rc = catalog_object_add(w->cat, &w->pending[i].hash, &w->pending[i].location);
	}
	if (rc == 0)
		rc = commit(w);
	w->pending_count = 0;
	if (rc == 0)
		atomic_fetch_add(&w->p->stats->packs_sealed, 1);
	return rc;
}

static int open_pack(writer_state *w)
{
	dest_new_pack_name(w->pack_name);
	char *path = dest_pack_path(w->p->config.destination, w->pack_name);
	int rc = pack_writer_open(&w->pack, path);
	free(path);
	return rc;
}

static int write_object(writer_state *w, const object_message *msg)
{
	int rc = 0;
	if (w->pack == NULL && (rc = open_pack(w)) != 0)
		return rc;
	uint64_t offset = 0;
	if ((rc = pack_writer_append(w->pack, &msg->hash, msg->codec, msg->raw_size, msg->data, msg->stored_size,
				     &offset)) != 0)
		return rc;
	if (w->pending_count == w->pending_capacity) {
		w->pending_capacity = w->pending_capacity ? 2 * w->pending_capacity : 4096;
		w->pending = st_realloc(w->pending, w->pending_capacity * sizeof *w->pending);
	}
	pending_object *entry = &w->pending[w->pending_count++];
	entry->hash = msg->hash;
	entry->location = (pack_location){.offset = offset, .raw_size = msg->raw_size,
					  .stored_size = msg->stored_size, .codec = msg->codec};
	atomic_fetch_add(&w->p->stats->stored_bytes, (long long)(msg->stored_size + PACK_RECORD_HEADER_SIZE));
	if (pack_writer_size(w->pack) >= PIPELINE_PACK_TARGET)
		rc = seal_pack(w);
	return rc;
}

static int write_node(writer_state *w, const node_message *msg)
{
	int rc = ensure_transaction(w);
	if (rc == 0)
		rc = catalog_node_add(w->cat, w->p->config.snapshot_id, &msg->node, msg->entries, msg->tree.count);
	if (rc == 0 && ++w->nodes_in_transaction >= NODES_PER_COMMIT)
		rc = commit(w);
	return rc;
}

static int handle(writer_state *w, writer_message *msg)
{
	int rc;
	if (msg->kind == WRITE_OBJECT) {
		rc = write_object(w, msg->u.object);
		object_message_free(w->p, msg->u.object);
	} else {
		rc = write_node(w, msg->u.node);
		node_message_free(msg->u.node);
	}
	free(msg);
	return rc;
}

int backup_writer_run(void *arg)
{
	writer_state w = {.p = arg, .cat = dest_catalog(((backup_pipeline *)arg)->config.destination)};
	void *item;
	int rc = 0;
	while (rc == 0 && st_queue_pop(w.p->write_queue, &item))
		rc = handle(&w, item);
	if (rc == 0 && atomic_load(&w.p->aborted))
		rc = st_error_set(ST_ERR_GENERIC, "backup stopped");
	if (rc == 0)
		rc = seal_pack(&w);
	if (rc == 0)
		rc = commit(&w);
	if (rc != 0) {
		pack_writer_abandon(w.pack);
		if (w.in_transaction)
			catalog_rollback(w.cat);
	}
	free(w.pending);
	return rc;
}
