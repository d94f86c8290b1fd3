/*
 * backup_writer.c - the one writer: objects into packs, node versions into the catalog.
 *
 * Objects go through a pack_sink (which seals a pack before its objects enter the catalog).
 * Node versions go into the pending snapshot in the same transactions; they become
 * visible only when the backup completes the snapshot.
 */
#include "engine/backup_pipeline_internal.h"

#include "catalog/dest.h"
#include "catalog/pack.h"
#include "engine/pack_sink.h"
#include "common/error.h"
#include "common/mem.h"

#include <stdlib.h>

/* Commit the open transaction after this many node versions even when no pack is sealed. */
#define NODES_PER_COMMIT 20000

typedef struct writer_state {
	backup_pipeline *p;
	catalog *cat;
	pack_sink *sink;
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

/* Seals the open pack and registers it and its objects, then commits. */
static int seal_pack(writer_state *w)
{
	int sealed = 0;
	int rc = ensure_transaction(w);
	if (rc == 0)
		rc = pack_sink_seal(w->sink, &sealed);
	if (rc == 0)
		rc = commit(w);
	atomic_fetch_add(&w->p->stats->packs_sealed, sealed);
	return rc;
}

static int write_object(writer_state *w, const object_message *msg)
{
	bool full = false;
	int rc = pack_sink_append(w->sink, &msg->hash, msg->codec, msg->raw_size, msg->data, msg->stored_size, &full);
	if (rc != 0)
		return rc;
	atomic_fetch_add(&w->p->stats->stored_bytes, (long long)(msg->stored_size + PACK_RECORD_HEADER_SIZE));
	return full ? seal_pack(w) : 0;
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
	dest *d = ((backup_pipeline *)arg)->config.destination;
	writer_state w = {.p = arg, .cat = dest_catalog(d), .sink = pack_sink_new(d)};
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
	if (rc != 0 && w.in_transaction)
		catalog_rollback(w.cat);
	pack_sink_free(w.sink);
	return rc;
}
