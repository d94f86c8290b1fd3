/*
 * backup_reader.c - the I/O workers: one node at a time, its tree and its files' bytes from the
 * source (scanner/source.h, whatever its kind), each file put into the store (read, hash,
 * chunk, claim) with the compressors as its sink.
 *
 * Files of a node are read in the order the source suggests (1.x: inode order, close to disk
 * order on ext4); many workers keep many lookups and reads in flight, which is what a cold
 * repository needs.
 */
#include "engine/backup_pipeline_internal.h"

#include "common/error.h"
#include "common/log.h"
#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

/* The store hands new content to the compressors through these, charged to the budget. */
static int send_to_compressors(void *ctx, store_object *obj)
{
	backup_pipeline *p = ctx;
	if (st_queue_push(p->compress_queue, obj))
		return 0;
	pipeline_object_free(p, obj);
	return st_error_set(ST_ERR_GENERIC, "backup stopped");
}

static void reserve_budget(void *ctx, size_t len)
{
	st_budget_take(((backup_pipeline *)ctx)->budget, len);
}

/* A piece that was not new (or not read): settled, as far as progress goes. */
static void release_budget(void *ctx, size_t len)
{
	backup_pipeline *p = ctx;
	st_budget_give(p->budget, len);
	atomic_fetch_add(&p->stats->bytes_done, (long long)len);
}

/* The store reads a file's bytes from the source's open entry. */
static int read_from_source(void *ctx, void *buf, size_t len)
{
	return source_entry_read(ctx, buf, len);
}

static int read_file(backup_pipeline *p, const scan_node *node, const scan_entry *found, catalog_entry *entry,
		     st_hash *chunks)
{
	source_entry *file = NULL;
	int rc = source_open_entry(&file, p->config.source, node, found);
	if (rc != 0)
		return rc;
	store_sink sink = {.send = send_to_compressors, .reserve = reserve_budget, .release = release_budget, .ctx = p};
	store_reader reader = {.read = read_from_source, .ctx = file};
	entry->chunk_count = store_chunk_count(entry->size);
	entry->chunks = entry->chunk_count ? chunks : NULL;
	rc = store_put(p->config.objects, &reader, entry->size, &sink, &entry->hash, chunks);
	source_entry_close(file);
	atomic_fetch_add(&p->stats->files_read, 1);
	atomic_fetch_add(&p->stats->bytes_read, (long long)entry->size);
	return rc;
}

static _Thread_local const scan_tree *inode_order_tree;

static int compare_inodes(const void *a, const void *b)
{
	uint64_t ia = inode_order_tree->entries[*(const size_t *)a].inode;
	uint64_t ib = inode_order_tree->entries[*(const size_t *)b].inode;
	return ia < ib ? -1 : ia > ib;
}

/* Indices of the tree's regular files, sorted by their read-order key. */
static size_t *files_in_inode_order(const scan_tree *tree, size_t *out_count)
{
	size_t *order = st_malloc((tree->count ? tree->count : 1) * sizeof *order);
	size_t n = 0;
	for (size_t i = 0; i < tree->count; i++)
		if (tree->entries[i].type == SCAN_ENTRY_FILE)
			order[n++] = i;
	/* qsort has no context argument in C11; sort with a thread-local pointer instead. */
	inode_order_tree = tree;
	if (n > 1)
		qsort(order, n, sizeof *order, compare_inodes);
	*out_count = n;
	return order;
}

/* Fills msg's entries from its tree and reads every file. */
/* The scanner's entry types and the catalog's are the same numbers: the catalog stores what the
 * scanner saw. */
_Static_assert(SCAN_ENTRY_FILE == (int)CATALOG_ENTRY_FILE && SCAN_ENTRY_DIR == (int)CATALOG_ENTRY_DIR &&
		       SCAN_ENTRY_SYMLINK == (int)CATALOG_ENTRY_SYMLINK,
	       "scan_entry_type and catalog_entry_type must mirror each other");

static catalog_entry_type entry_type_of(scan_entry_type type)
{
	return (catalog_entry_type)type;
}

static int read_node_files(backup_pipeline *p, node_message *msg, const scan_node *node)
{
	const scan_tree *tree = &msg->tree;
	size_t total_chunks = 0;
	msg->entries = st_calloc(tree->count ? tree->count : 1, sizeof *msg->entries);
	for (size_t i = 0; i < tree->count; i++) {
		const scan_entry *src = &tree->entries[i];
		catalog_entry *dst = &msg->entries[i];
		dst->path = src->path;
		dst->target = src->target;
		dst->size = src->size;
		dst->mtime_ns = src->mtime_ns;
		dst->mode = src->mode;
		dst->type = entry_type_of(src->type);
		if (src->type == SCAN_ENTRY_FILE) {
			total_chunks += store_chunk_count(src->size);
			msg->node.files++;
			msg->node.bytes += src->size;
		}
	}
	msg->chunk_hashes = total_chunks ? st_malloc(total_chunks * sizeof *msg->chunk_hashes) : NULL;
	size_t file_count = 0, next_chunk = 0;
	size_t *order = files_in_inode_order(tree, &file_count);
	int rc = 0;
	for (size_t k = 0; k < file_count && rc == 0 && !atomic_load(&p->aborted); k++) {
		catalog_entry *entry = &msg->entries[order[k]];
		rc = read_file(p, node, &tree->entries[order[k]], entry, msg->chunk_hashes + next_chunk);
		next_chunk += store_chunk_count(entry->size);
	}
	free(order);
	return rc;
}

/* A held node whose tree is the one held is not read again. */
static bool unchanged(const pipeline_item *item, const node_message *msg)
{
	return item->held && item->state.has_digest && st_hash_equal(&item->state.tree_digest, &msg->digest);
}

/* A node left for the next backup; a held one ends its held version (pipeline_submit_held). */
static int leave_node(backup_pipeline *p, node_message *msg, bool held)
{
	/* A live repository: the node is left out of this snapshot (not recorded, so the next
	 * run's reconciliation reads it again); the backup completes with a warning. */
	st_log_warn("node %s left for the next backup: %s", msg->uuid, st_error_message());
	st_error_clear();
	atomic_fetch_add(&p->stats->nodes_left, 1);
	if (!held) {
		node_message_free(msg);
		return 0;
	}
	msg->withdrawn = true;
	return pipeline_send_to_writer(p, WRITE_NODE, msg);
}

static int process_node(backup_pipeline *p, const pipeline_item *item)
{
	const scan_node *node = &item->node;
	int rc = 0;
	node_message *msg = st_calloc(1, sizeof *msg);
	memcpy(msg->uuid, node->uuid, sizeof msg->uuid);
	msg->node.node_id = node->id;
	msg->node.ctime_us = node->ctime_us;
	msg->node.mtime_us = node->mtime_us;
	msg->node.uuid = msg->uuid;
	msg->replaces = item->held;
	if ((rc = source_node_tree(&msg->tree, p->config.source, node)) == 0) {
		scan_tree_digest(&msg->digest, &msg->tree);
		msg->node.tree_digest = &msg->digest;
		if (unchanged(item, msg)) {
			atomic_fetch_add(&p->stats->nodes_unchanged, 1);
			node_message_free(msg);
			return 0;
		}
	}
	if (rc == 0 && msg->tree.exists) {
		msg->node.has_folder = true;
		msg->node.root_mode = msg->tree.root_mode;
		msg->node.root_mtime_ns = msg->tree.root_mtime_ns;
		atomic_fetch_add(&p->stats->nodes_with_folder, 1);
		atomic_fetch_add(&p->stats->entries, (long long)msg->tree.count);
		atomic_fetch_add(&p->stats->special_skipped, (long long)msg->tree.special_skipped);
		rc = read_node_files(p, msg, node);
	}
	if (rc == ST_ERR_CHANGED)
		return leave_node(p, msg, item->held);
	if (rc != 0) {
		node_message_free(msg);
		return rc;
	}
	atomic_fetch_add(&p->stats->nodes_done, 1);
	return pipeline_send_to_writer(p, WRITE_NODE, msg);
}

int backup_reader_run(void *arg)
{
	backup_pipeline *p = arg;
	void *item;
	int rc = 0;
	while (rc == 0 && st_queue_pop(p->node_queue, &item)) {
		rc = process_node(p, item);
		free(item);
	}
	return rc;
}
