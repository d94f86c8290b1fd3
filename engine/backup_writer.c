/*
 * backup_writer.c - the one writer: objects into the store, node versions into the catalog.
 *
 * Objects go through store_append; a pack that is full, or has been open for the store's seal
 * interval, is sealed (store_seal) inside the catalog transaction, which then commits, so the
 * catalog never names objects of an unsealed pack. The writer waits for messages only until the
 * open pack's interval ends, so a pack is sealed on time even while the compressors are slow:
 * a killed run keeps what it stored up to the interval before.
 * Node versions go into the pending snapshot in the same transactions; they become
 * visible only when the backup completes the snapshot. A node read again ends its held version
 * in the same transaction that adds its new one (a pending snapshot discarded puts it back).
 */
#include "engine/backup_pipeline_internal.h"

#include "catalog/dest.h"
#include "common/error.h"
#include "common/mem.h"

#include <stdlib.h>

/* Commit the open transaction after this many node versions even when no pack is sealed. */
#define NODES_PER_COMMIT 20000

typedef struct writer_state {
	backup_pipeline *p;
	catalog *cat;
	store *objects;
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

/* Seals the open pack and stages its objects, then commits. */
static int seal_pack(writer_state *w)
{
	double left = 0;
	bool open = store_seal_due_in(w->objects, &left);
	if (open) {
		atomic_store(&w->p->stats->sealing, true);
		pipeline_changed(w->p);
	}
	int rc = ensure_transaction(w);
	if (rc == 0)
		rc = store_seal(w->objects, NULL);
	if (rc == 0)
		rc = commit(w);
	if (open) {
		atomic_store(&w->p->stats->sealing, false);
		pipeline_changed(w->p);
	}
	return rc;
}

static int write_object(writer_state *w, store_object *obj)
{
	bool full = false;
	int rc = store_append(w->objects, obj, NULL, &full);
	if (rc != 0)
		return rc;
	return full ? seal_pack(w) : 0;
}

/* Ends the held version of a node read again (or withdrawn), counting what it held. */
static int end_held(writer_state *w, const node_message *msg)
{
	int64_t files = 0, bytes = 0;
	pipeline_stats *stats = w->p->stats;
	int rc = catalog_node_supersede(w->cat, w->p->config.snapshot_id, &msg->node.node_id, 1, &files, &bytes);
	if (rc != 0)
		return rc;
	atomic_fetch_add(&stats->replaced_files, (long long)files);
	atomic_fetch_add(&stats->replaced_bytes, (long long)bytes);
	atomic_fetch_add(msg->withdrawn ? &stats->nodes_withdrawn : &stats->nodes_replaced, 1);
	return 0;
}

static int write_node(writer_state *w, const node_message *msg)
{
	int rc = ensure_transaction(w);
	if (rc == 0 && msg->replaces)
		rc = end_held(w, msg);
	if (rc == 0 && !msg->withdrawn)
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
		if (rc == 0)
			atomic_fetch_add(&w->p->stats->bytes_done, (long long)store_object_size(msg->u.object));
		pipeline_object_free(w->p, msg->u.object);
	} else {
		rc = write_node(w, msg->u.node);
		node_message_free(msg->u.node);
	}
	free(msg);
	return rc;
}

int backup_writer_run(void *arg)
{
	const pipeline_config *config = &((backup_pipeline *)arg)->config;
	writer_state w = {.p = arg, .cat = dest_catalog(config->destination), .objects = config->objects};
	int rc = 0;
	for (;;) {
		void *item = NULL;
		double left = 0;
		bool open = store_seal_due_in(w.objects, &left);
		if (open && left <= 0) {
			if ((rc = seal_pack(&w)) != 0)
				break;
			continue;
		}
		st_queue_wait got = open ? st_queue_pop_timed(w.p->write_queue, &item, left)
					 : (st_queue_pop(w.p->write_queue, &item) ? ST_QUEUE_ITEM : ST_QUEUE_CLOSED);
		if (got == ST_QUEUE_CLOSED)
			break;
		/* A timeout means the open pack is due: the loop seals it. */
		if (got == ST_QUEUE_ITEM && (rc = handle(&w, item)) != 0)
			break;
	}
	if (rc == 0 && atomic_load(&w.p->aborted))
		rc = st_error_set(ST_ERR_GENERIC, "backup stopped");
	if (rc == 0)
		rc = seal_pack(&w);
	if (rc == 0)
		rc = commit(&w);
	if (rc != 0 && w.in_transaction)
		catalog_rollback(w.cat);
	store_thread_release();
	return rc;
}
