/*
 * restore_container.c - a 2.x snapshot's files as a disk-objectstore container (see
 * restore_container.h).
 *
 * One thread streams the snapshot's nodes from the catalog and writes each content not written
 * yet: writing packs is sequential by nature (one growing file), and the store's reads and the
 * sha256 keep pace with the disk. Which contents were written is a set of their XXH3-128
 * hashes, 16 bytes each: a million objects cost about 32 MiB.
 */
#include "engine/restore_container.h"

#include "common/confine.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "common/interrupt.h"
#include "common/mem.h"
#include "common/sha256.h"
#include "scanner/container_format.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* First capacity of the set of written contents (a power of two). */
#define WRITTEN_INITIAL 4096

/* The contents written so far: open addressing on the hash's first bytes. */
typedef struct written_set {
	st_hash *slots;
	bool *used;
	size_t cap, count;
} written_set;

static size_t slot_of(const st_hash *h, size_t cap)
{
	uint64_t v;
	memcpy(&v, h->bytes, sizeof v);
	return (size_t)(v & (cap - 1));
}

static void written_grow(written_set *set)
{
	written_set bigger = {.cap = set->cap ? set->cap * 2 : WRITTEN_INITIAL};
	bigger.slots = st_malloc(bigger.cap * sizeof *bigger.slots);
	bigger.used = st_calloc(bigger.cap, sizeof *bigger.used);
	for (size_t i = 0; i < set->cap; i++) {
		if (!set->used[i])
			continue;
		size_t j = slot_of(&set->slots[i], bigger.cap);
		while (bigger.used[j])
			j = (j + 1) & (bigger.cap - 1);
		bigger.slots[j] = set->slots[i];
		bigger.used[j] = true;
	}
	bigger.count = set->count;
	free(set->slots);
	free(set->used);
	*set = bigger;
}

/* Adds h; false when it was there already. */
static bool written_add(written_set *set, const st_hash *h)
{
	if (2 * (set->count + 1) > set->cap)
		written_grow(set);
	size_t j = slot_of(h, set->cap);
	while (set->used[j]) {
		if (st_hash_equal(&set->slots[j], h))
			return false;
		j = (j + 1) & (set->cap - 1);
	}
	set->slots[j] = *h;
	set->used[j] = true;
	set->count++;
	return true;
}

typedef struct container_job {
	const restore_options *options;
	container_config config;
	store *objects;
	int root_fd;
	int container_fd;
	int packs_fd, loose_fd, sandbox_fd;
	char *display;          /* <target>/container, for messages */
	container_index *index;
	written_set written;
	int pack_fd;            /* the pack being appended to, -1 before the first */
	int64_t pack_id;
	uint64_t pack_size;
	int64_t sandbox_serial;
	restore_result *out;
} container_job;

/* Where the bytes of one object go while its key is computed. */
typedef struct object_sink {
	int fd;
	st_sha256 *sha;
	uint64_t written;
} object_sink;

static int sink_write(void *ctx, const void *buf, size_t len, const char *what)
{
	object_sink *sink = ctx;
	st_sha256_update(sink->sha, buf, len);
	sink->written += len;
	return st_write_all(sink->fd, buf, len, what);
}

/* Streams entry's content into fd, *out_key its sha256. */
static int stream_object(container_job *job, int fd, const catalog_tree_entry *e, const char *what,
			 char out_key[ST_SHA256_HEX_SIZE])
{
	object_sink sink = {.fd = fd, .sha = st_sha256_new()};
	store_writer writer = {.write = sink_write, .ctx = &sink};
	int rc = store_get_entry_to_writer(job->objects, &writer, e, what);
	if (rc == 0 && sink.written != e->entry.size)
		rc = st_error_set(ST_ERR_CORRUPT, "content of '%s' has %" PRIu64 " bytes, not %" PRIu64, what, sink.written,
				  e->entry.size);
	if (rc != 0) {
		st_sha256_free(sink.sha);
		return rc;
	}
	st_sha256_final(out_key, sink.sha);
	return 0;
}

static int open_next_pack(container_job *job)
{
	if (job->pack_fd >= 0) {
		close(job->pack_fd);
		job->pack_fd = -1;
		job->pack_id++;
	}
	char name[32];
	snprintf(name, sizeof name, "%" PRId64, job->pack_id);
	job->pack_size = 0;
	return st_confine_create_file(&job->pack_fd, job->packs_fd, name, 0644, 0, job->display);
}

static int write_packed(container_job *job, const catalog_tree_entry *e, const char *what)
{
	int rc = 0;
	if (job->pack_fd < 0 || job->pack_size >= (uint64_t)job->config.pack_size_target)
		rc = open_next_pack(job);
	if (rc != 0)
		return rc;
	char key[ST_SHA256_HEX_SIZE];
	uint64_t offset = job->pack_size;
	rc = stream_object(job, job->pack_fd, e, what, key);
	if (rc == 0) {
		job->pack_size += e->entry.size;
		container_object obj = {.compressed = false, .size = e->entry.size, .offset = offset,
					.length = e->entry.size, .pack_id = job->pack_id};
		rc = container_index_add(job->index, key, &obj);
	}
	return rc;
}

/* Through sandbox/ into loose/<key[0:p]>/<key[p:]>, as disk-objectstore writes loose objects.
 * With expected set, only a content whose key it is: *out_written false, and nothing kept,
 * for another. */
static int write_loose(container_job *job, const catalog_tree_entry *e, const char *what, const char *expected,
		       bool *out_written)
{
	char tmp[32], key[ST_SHA256_HEX_SIZE], rel[96];
	int fd = -1, dir_fd = -1;
	*out_written = false;
	snprintf(tmp, sizeof tmp, "strata-%" PRId64, job->sandbox_serial++);
	int rc = st_confine_create_file(&fd, job->sandbox_fd, tmp, 0644, ST_CONFINE_REPLACE, job->display);
	if (rc != 0)
		return rc;
	rc = stream_object(job, fd, e, what, key);
	if (close(fd) != 0 && rc == 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to write '%s/sandbox/%s'", job->display, tmp);
	if (rc == 0 && expected != NULL && strcmp(key, expected) != 0) {
		unlinkat(job->sandbox_fd, tmp, 0);
		return 0;
	}
	container_loose_path(rel, sizeof rel, &job->config, key);
	const char *leaf = strrchr(rel, '/') + 1;
	if (rc == 0 && job->config.loose_prefix_len > 0) {
		char prefix[CONTAINER_PREFIX_MAX + 1];
		snprintf(prefix, sizeof prefix, "%.*s", job->config.loose_prefix_len, key);
		rc = st_confine_dir(&dir_fd, job->loose_fd, prefix, 0755, ST_CONFINE_CREATE, job->display);
	}
	if (rc == 0 && renameat(job->sandbox_fd, tmp, dir_fd >= 0 ? dir_fd : job->loose_fd, leaf) != 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to move an object into '%s/%s'", job->display, rel);
	if (rc != 0)
		unlinkat(job->sandbox_fd, tmp, 0);
	*out_written = rc == 0;
	if (dir_fd >= 0)
		close(dir_fd);
	return rc;
}

static int restore_tree(container_job *job, const catalog_node_tree *tree)
{
	int rc = catalog_tree_validate(tree);
	for (size_t i = 0; i < tree->count && rc == 0; i++) {
		const catalog_tree_entry *e = &tree->entries[i];
		if (e->entry.type != CATALOG_ENTRY_FILE || !written_add(&job->written, &e->entry.hash))
			continue;
		char what[PATH_MAX];
		snprintf(what, sizeof what, "%s/%s of node '%s'", job->display, e->entry.path, tree->node.uuid);
		bool written = false;
		rc = job->options->loose ? write_loose(job, e, what, NULL, &written) : write_packed(job, e, what);
		if (rc == 0) {
			job->out->files++;
			job->out->bytes += (int64_t)e->entry.size;
		}
	}
	return rc;
}

static int restore_next_tree(void *ctx, catalog_node_tree *tree)
{
	container_job *job = ctx;
	int rc = st_interrupt_check();
	if (rc != 0)
		return rc;
	job->out->nodes++;
	return restore_tree(job, tree);
}

static int write_config(container_job *job, const char *text)
{
	int fd = -1;
	int rc = st_confine_create_file(&fd, job->container_fd, "config.json", 0644, 0, job->display);
	if (rc != 0)
		return rc;
	char *what = st_sprintf("%s/config.json", job->display);
	rc = st_write_all(fd, text, strlen(text), what);
	if (close(fd) != 0 && rc == 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to write '%s'", what);
	free(what);
	return rc;
}

/* The container's folders, below a root that may exist but holds no container yet. */
static int prepare_container(container_job *job)
{
	const char *root = job->options->target_root;
	bool exists = false, empty = false;
	char *path = st_sprintf("%s/container", root);
	int rc = st_dir_state(path, &exists, &empty);
	if (rc != 0)
		rc = st_error_reclassify(ST_ERR_TARGET);
	else if (exists && !empty)
		rc = st_error_set(ST_ERR_TARGET, "container '%s' exists already (a restore writes a new container)", path);
	free(path);
	if (rc == 0)
		rc = st_dir_state(root, &exists, &empty) != 0 ? st_error_reclassify(ST_ERR_TARGET) : 0;
	if (rc == 0 && exists && !empty && !job->options->force)
		rc = st_error_set(ST_ERR_TARGET, "restore target '%s' is not empty (use --force to write into it)", root);
	if (rc == 0)
		rc = st_confine_root_open(&job->root_fd, root, 0755);
	if (rc == 0)
		rc = st_confine_dir(&job->container_fd, job->root_fd, "container", 0755, ST_CONFINE_CREATE, root);
	if (rc == 0)
		rc = st_confine_dir(&job->packs_fd, job->container_fd, "packs", 0755, ST_CONFINE_CREATE, job->display);
	if (rc == 0)
		rc = st_confine_dir(&job->loose_fd, job->container_fd, "loose", 0755, ST_CONFINE_CREATE, job->display);
	if (rc == 0)
		rc = st_confine_dir(&job->sandbox_fd, job->container_fd, "sandbox", 0755, ST_CONFINE_CREATE, job->display);
	int dup_fd = -1;
	if (rc == 0)
		rc = st_confine_dir(&dup_fd, job->container_fd, "duplicates", 0755, ST_CONFINE_CREATE, job->display);
	if (dup_fd >= 0)
		close(dup_fd);
	return rc;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void release_job(container_job *job)
{
	store_free(job->objects);
	store_thread_release();
	close_fd(&job->pack_fd);
	close_fd(&job->sandbox_fd);
	close_fd(&job->loose_fd);
	close_fd(&job->packs_fd);
	close_fd(&job->container_fd);
	close_fd(&job->root_fd);
	free(job->written.slots);
	free(job->written.used);
	free(job->display);
}

int restore_container_run(dest *d, const catalog_snapshot *snap, const restore_options *options, restore_result *out)
{
	container_job job = {.options = options, .root_fd = -1, .container_fd = -1, .packs_fd = -1, .loose_fd = -1,
			     .sandbox_fd = -1, .pack_fd = -1, .out = out};
	char what[96];
	snprintf(what, sizeof what, "container configuration of snapshot %" PRId64, snap->id);
	job.display = st_sprintf("%s/container", options->target_root);
	int rc = container_config_parse(&job.config, snap->container, what);
	if (rc != 0)
		rc = st_error_reclassify(ST_ERR_CORRUPT);
	if (rc == 0 && (options->node_count > 0 || options->path_count > 0))
		rc = st_error_set(ST_ERR_USAGE, "snapshot %" PRId64 " holds an AiiDA 2.x container, which is restored whole"
						" (--node, --path and --nodes-from select node folders of AiiDA 1.x)",
				  snap->id);
	if (rc == 0)
		rc = prepare_container(&job);
	if (rc == 0)
		rc = write_config(&job, snap->container);
	if (rc == 0)
		rc = container_index_create(&job.index, job.display);
	if (rc == 0)
		rc = store_open(&job.objects, d, NULL);
	if (rc == 0)
		rc = catalog_tree_each(dest_catalog(d), snap->id, CATALOG_TREE_BY_VERSION, restore_next_tree, &job);
	if (rc == 0)
		rc = container_index_commit(job.index);
	container_index_close(job.index);
	if (rc == 0 && syncfs(job.root_fd) != 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to sync '%s'", options->target_root);
	release_job(&job);
	return rc;
}

struct container_filler {
	dest *d;
	int64_t restored_id;
	catalog_snapshot *snapshots;
	size_t snapshot_count;
	container_job job;
};

/* The restored container's loose/ and sandbox/, which the restore wrote. */
static int open_restored(container_job *job, const char *root)
{
	int rc = st_confine_root_open(&job->root_fd, root, 0755);
	if (rc == 0)
		rc = st_confine_dir(&job->container_fd, job->root_fd, "container", 0755, 0, root);
	if (rc == 0)
		rc = st_confine_dir(&job->loose_fd, job->container_fd, "loose", 0755, 0, job->display);
	if (rc == 0)
		rc = st_confine_dir(&job->sandbox_fd, job->container_fd, "sandbox", 0755, 0, job->display);
	return rc;
}

int restore_container_filler_open(container_filler **out, const char *dest_path, int64_t snapshot_id,
				  const char *target_root)
{
	container_filler *f = st_calloc(1, sizeof *f);
	container_job *job = &f->job;
	*job = (container_job){.root_fd = -1, .container_fd = -1, .packs_fd = -1, .loose_fd = -1, .sandbox_fd = -1,
			       .pack_fd = -1};
	job->display = st_sprintf("%s/container", target_root);
	f->restored_id = snapshot_id;
	catalog_snapshot snap = {0};
	int rc = dest_open(&f->d, dest_path, DEST_READ);
	if (rc == 0)
		rc = catalog_snapshot_get(dest_catalog(f->d), snapshot_id, &snap);
	if (rc == 0 && snap.container == NULL)
		rc = st_error_set(ST_ERR_USAGE, "snapshot %" PRId64 " holds no AiiDA 2.x container", snapshot_id);
	if (rc == 0 && container_config_parse(&job->config, snap.container, "recorded container configuration") != 0)
		rc = st_error_reclassify(ST_ERR_CORRUPT);
	catalog_snapshot_release(&snap);
	if (rc == 0)
		rc = catalog_snapshot_list(dest_catalog(f->d), &f->snapshots, &f->snapshot_count);
	if (rc == 0)
		rc = store_open(&job->objects, f->d, NULL);
	if (rc == 0)
		rc = open_restored(job, target_root);
	*out = f;
	return rc;
}

/* Tries each file of tree not tried yet: the first whose sha256 is key becomes the object. */
static int fill_from_tree(container_filler *f, const catalog_node_tree *tree, const char *key, written_set *tried,
			  bool *out_filled)
{
	int rc = catalog_tree_validate(tree);
	for (size_t i = 0; i < tree->count && rc == 0 && !*out_filled; i++) {
		const catalog_tree_entry *e = &tree->entries[i];
		if (e->entry.type != CATALOG_ENTRY_FILE || !written_add(tried, &e->entry.hash))
			continue;
		char what[PATH_MAX];
		snprintf(what, sizeof what, "'%s' of node '%s'", e->entry.path, tree->node.uuid);
		rc = write_loose(&f->job, e, what, key, out_filled);
	}
	return rc;
}

/* The node's version in snapshot id, if it holds the node. */
static int fill_from_snapshot(container_filler *f, int64_t id, const char *uuid, const char *key, written_set *tried,
			      bool *out_filled)
{
	catalog_tree_iter *iter = NULL;
	catalog_node_tree *tree = NULL;
	int rc = catalog_tree_iter_open_prefix(&iter, dest_catalog(f->d), id, uuid);
	if (rc == 0)
		rc = catalog_tree_iter_next(iter, &tree);
	if (rc == 0 && tree != NULL && strcmp(tree->node.uuid, uuid) == 0)
		rc = fill_from_tree(f, tree, key, tried, out_filled);
	catalog_node_tree_free(tree);
	catalog_tree_iter_close(iter);
	return rc;
}

int restore_container_fill(container_filler *f, const char *uuid, const char *key, bool *out_filled,
			   int64_t *out_snapshot)
{
	written_set tried = {0};
	int rc = 0;
	*out_filled = false;
	*out_snapshot = 0;
	for (size_t i = f->snapshot_count; i-- > 0 && rc == 0 && !*out_filled;) {
		const catalog_snapshot *s = &f->snapshots[i];
		if (s->id == f->restored_id || !s->has_files || s->container == NULL)
			continue;
		rc = fill_from_snapshot(f, s->id, uuid, key, &tried, out_filled);
		if (*out_filled)
			*out_snapshot = s->id;
	}
	free(tried.slots);
	free(tried.used);
	return rc;
}

int restore_container_filler_close(container_filler *f)
{
	if (f == NULL)
		return 0;
	int rc = 0;
	if (f->job.root_fd >= 0 && syncfs(f->job.root_fd) != 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to sync '%s'", f->job.display);
	release_job(&f->job);
	catalog_snapshot_list_free(f->snapshots, f->snapshot_count);
	dest_close(f->d);
	free(f);
	return rc;
}
