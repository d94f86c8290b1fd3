/*
 * backup_reader.c - the I/O workers: one node folder at a time, walk, read, hash, claim.
 *
 * Files of a folder are read in inode order (on ext4 that is close to disk order); many
 * workers keep many lookups and reads in flight, which is what a cold repository needs.
 */
#include "engine/backup_pipeline_internal.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Claims one piece of content; if it is new, hands it to the compressors (taking ownership of
 * data), otherwise frees it. */
static int store_content(backup_pipeline *p, const st_hash *hash, void *data, size_t len, size_t budget)
{
	bool is_new = false;
	int rc = dedup_claim(p->dedup, hash, &is_new);
	if (rc != 0 || !is_new) {
		free(data);
		st_budget_give(p->budget, budget);
		return rc;
	}
	object_message *msg = st_calloc(1, sizeof *msg);
	msg->hash = *hash;
	msg->data = data;
	msg->raw_size = len;
	msg->budget = budget;
	atomic_fetch_add(&p->stats->objects_new, 1);
	atomic_fetch_add(&p->stats->bytes_new, (long long)len);
	if (!st_queue_push(p->compress_queue, msg)) {
		object_message_free(p, msg);
		return st_error_set(ST_ERR_GENERIC, "backup stopped");
	}
	return 0;
}

/* Reads len bytes at offset into a new buffer charged to the budget. */
static int read_piece(backup_pipeline *p, void **out, int fd, size_t len, uint64_t offset, const char *path)
{
	st_budget_take(p->budget, len);
	void *buf = st_malloc(len ? len : 1);
	int rc = st_pread_all(fd, buf, len, offset, path);
	if (rc != 0) {
		free(buf);
		st_budget_give(p->budget, len);
		if (rc == ST_ERR_CORRUPT)
			rc = st_error_set(ST_ERR_SOURCE, "file '%s' shrank while being read", path);
		else
			st_error_set(ST_ERR_SOURCE, "%s", st_error_message());
		return ST_ERR_SOURCE;
	}
	*out = buf;
	return 0;
}

/* Reads a file larger than one chunk: each chunk is an object, the entry lists them. */
static int read_chunked(backup_pipeline *p, catalog_entry *entry, st_hash *chunks, int fd, const char *path)
{
	st_hasher *whole = st_hasher_new();
	int rc = 0;
	size_t index = 0;
	for (uint64_t offset = 0; offset < entry->size && rc == 0; offset += PIPELINE_CHUNK_SIZE, index++) {
		size_t len = (size_t)(entry->size - offset < PIPELINE_CHUNK_SIZE ? entry->size - offset : PIPELINE_CHUNK_SIZE);
		void *buf = NULL;
		if ((rc = read_piece(p, &buf, fd, len, offset, path)) != 0)
			break;
		st_hasher_update(whole, buf, len);
		st_hash_buffer(&chunks[index], buf, len);
		rc = store_content(p, &chunks[index], buf, len, len);
	}
	st_hasher_final(&entry->hash, whole);
	entry->chunks = chunks;
	entry->chunk_count = index;
	return rc;
}

static int read_file(backup_pipeline *p, catalog_entry *entry, st_hash *chunks, const char *node_dir)
{
	char path[PATH_MAX + 1];
	snprintf(path, sizeof path, "%s/%s", node_dir, entry->path);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return st_error_set(ST_ERR_SOURCE, "file '%s' vanished while being read", path);
		return st_error_set_errno(ST_ERR_SOURCE, errno, "unable to open '%s'", path);
	}
	int rc = 0;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		rc = st_error_set_errno(ST_ERR_SOURCE, errno, "unable to stat '%s'", path);
		goto cleanup;
	}
	if ((uint64_t)st.st_size != entry->size ||
	    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec != entry->mtime_ns) {
		rc = st_error_set(ST_ERR_SOURCE, "file '%s' changed while being read", path);
		goto cleanup;
	}
	if (entry->size > PIPELINE_CHUNK_SIZE) {
		rc = read_chunked(p, entry, chunks, fd, path);
	} else {
		size_t len = (size_t)entry->size;
		void *buf = NULL;
		if ((rc = read_piece(p, &buf, fd, len, 0, path)) == 0) {
			st_hash_buffer(&entry->hash, buf, len);
			rc = store_content(p, &entry->hash, buf, len, len);
		}
	}
	atomic_fetch_add(&p->stats->files_read, 1);
	atomic_fetch_add(&p->stats->bytes_read, (long long)entry->size);
cleanup:
	close(fd);
	return rc;
}

static size_t chunk_count_of(uint64_t size)
{
	return size > PIPELINE_CHUNK_SIZE ? (size_t)((size + PIPELINE_CHUNK_SIZE - 1) / PIPELINE_CHUNK_SIZE) : 0;
}

static _Thread_local const scan_tree *inode_order_tree;

static int compare_inodes(const void *a, const void *b)
{
	uint64_t ia = inode_order_tree->entries[*(const size_t *)a].inode;
	uint64_t ib = inode_order_tree->entries[*(const size_t *)b].inode;
	return ia < ib ? -1 : ia > ib;
}

/* Indices of the tree's regular files, sorted by inode. */
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

static int read_node_files(backup_pipeline *p, node_message *msg, const char *node_dir)
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
			total_chunks += chunk_count_of(src->size);
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
		rc = read_file(p, entry, msg->chunk_hashes + next_chunk, node_dir);
		next_chunk += chunk_count_of(entry->size);
	}
	free(order);
	return rc;
}

static int process_node(backup_pipeline *p, const scan_node *node)
{
	char node_dir[PATH_MAX];
	int rc = scan_node_dir(node_dir, sizeof node_dir, p->config.repository, node->uuid);
	if (rc != 0)
		return rc;
	node_message *msg = st_calloc(1, sizeof *msg);
	memcpy(msg->uuid, node->uuid, sizeof msg->uuid);
	msg->node.node_id = node->id;
	msg->node.ctime_us = node->ctime_us;
	msg->node.uuid = msg->uuid;
	if ((rc = scan_tree_read(&msg->tree, node_dir)) == 0 && msg->tree.exists) {
		msg->node.has_folder = true;
		msg->node.root_mode = msg->tree.root_mode;
		msg->node.root_mtime_ns = msg->tree.root_mtime_ns;
		atomic_fetch_add(&p->stats->nodes_with_folder, 1);
		atomic_fetch_add(&p->stats->entries, (long long)msg->tree.count);
		rc = read_node_files(p, msg, node_dir);
	}
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
