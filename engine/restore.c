/*
 * restore.c - the restore job (see restore.h).
 *
 * The main thread streams the snapshot node by node from the catalog; a pool of workers
 * restores one node folder each: directories first (they come before their children in path
 * order), then files, then symlinks - last, so that no link exists while anything is written
 * below the node - and finally the directories' modes and mtimes, deepest first. When every
 * node is written, the folders above them (the shard levels, repository/node, repository) get
 * theirs, deepest first.
 */
#include "engine/restore.h"

#include "catalog/catalog.h"
#include "catalog/dest.h"
#include "common/confine.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/interrupt.h"
#include "common/mem.h"
#include "common/queue.h"
#include "common/workers.h"
#include "engine/db_info.h"
#include "engine/restore_container.h"
#include "scanner/node_tree.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* File-creating threads: creation latency, not bandwidth, is the cost, so many per job. */
#define RESTORE_WORKERS_PER_JOB 16
#define RESTORE_WORKERS_MAX 64
/* Node trees queued ahead of the workers. */
#define RESTORE_QUEUE_DEPTH 256

typedef struct restore_job {
	const restore_options *options;
	int root_fd;               /* the target root, opened once; everything is created below it */
	unsigned confine_flags;    /* ST_CONFINE_REPLACE with --force */
	store *objects;
	st_queue *queue;           /* catalog_node_tree * */
	atomic_llong folders, files, directories, symlinks, bytes;
} restore_job;

/* The folder that holds every node folder, relative to the target root. */
#define RESTORE_REPOSITORY "repository"

int restore_check_path(const char *path)
{
	if (path[0] == '\0')
		return st_error_set(ST_ERR_TARGET, "path '' would escape the restore target");
	return st_confine_check_path(path, "the restore target");
}

/* One node folder being restored: its descriptor, and its path for messages. */
typedef struct node_target {
	int fd;
	char display[PATH_MAX];
} node_target;

static int set_fd_metadata(int fd, uint32_t mode, int64_t mtime_ns, const char *display, const char *path)
{
	struct timespec times[2] = {st_timespec_from_ns(mtime_ns), st_timespec_from_ns(mtime_ns)};
	if (fchmod(fd, (mode_t)mode) != 0)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to set the mode of '%s/%s'", display, path);
	if (futimens(fd, times) != 0)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to set the time of '%s/%s'", display, path);
	return 0;
}

static int restore_file(restore_job *job, const node_target *node, const catalog_tree_entry *e)
{
	const char *path = e->entry.path;
	int fd = -1;
	int rc = st_confine_create_file(&fd, node->fd, path, 0600, job->confine_flags, node->display);
	if (rc != 0)
		return rc;
	char shown[PATH_MAX];
	snprintf(shown, sizeof shown, "%s/%s", node->display, path);
	rc = store_get_entry_to_fd(job->objects, fd, e, shown);
	if (rc == 0)
		rc = set_fd_metadata(fd, e->entry.mode, e->entry.mtime_ns, node->display, path);
	if (close(fd) != 0 && rc == 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to write '%s'", shown);
	if (rc != 0) {
		/* Never leave a file whose content is not the one backed up. */
		st_error saved;
		st_error_save(&saved);
		st_confine_unlink(node->fd, path, node->display);
		return st_error_restore(&saved);
	}
	atomic_fetch_add(&job->files, 1);
	atomic_fetch_add(&job->bytes, (long long)e->entry.size);
	return 0;
}

static int restore_symlink(restore_job *job, const node_target *node, const catalog_tree_entry *e)
{
	int rc = st_confine_symlink(node->fd, e->entry.path, e->entry.target ? e->entry.target : "",
				    job->confine_flags, node->display);
	if (rc == 0)
		rc = st_confine_set_mtime(node->fd, e->entry.path, e->entry.mtime_ns, node->display);
	atomic_fetch_add(&job->symlinks, rc == 0);
	return rc;
}

static int make_directory(restore_job *job, const node_target *node, const char *path)
{
	int fd = -1;
	int rc = st_confine_dir(&fd, node->fd, path, 0700, ST_CONFINE_CREATE | job->confine_flags, node->display);
	if (fd >= 0)
		close(fd);
	atomic_fetch_add(&job->directories, rc == 0);
	return rc;
}

/* Sets a directory's mode and mtime once everything below it is written. */
static int finish_directory(const node_target *node, const char *path, uint32_t mode, int64_t mtime_ns)
{
	int fd = -1;
	int rc = st_confine_dir(&fd, node->fd, path, 0, 0, node->display);
	if (rc == 0)
		rc = set_fd_metadata(fd, mode, mtime_ns, node->display, path);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Opens (creating) the node's folder below the target root, never through a link. */
static int open_node_folder(restore_job *job, const catalog_node_tree *tree, node_target *out)
{
	char rel[PATH_MAX];
	int shard_fd = -1;
	out->fd = -1;
	int rc = scan_node_dir(rel, sizeof rel, RESTORE_REPOSITORY, tree->node.uuid);
	if (rc != 0)
		return st_error_reclassify(ST_ERR_CORRUPT);
	snprintf(out->display, sizeof out->display, "%s/%s", job->options->target_root, rel);
	char *leaf = strrchr(rel, '/');
	*leaf++ = '\0';
	unsigned flags = ST_CONFINE_CREATE | job->confine_flags;
	rc = st_confine_dir(&shard_fd, job->root_fd, rel, 0755, flags, job->options->target_root);
	if (rc == 0)
		rc = st_confine_dir(&out->fd, shard_fd, leaf, 0700, flags, job->options->target_root);
	if (shard_fd >= 0)
		close(shard_fd);
	return rc;
}

static int restore_entries(restore_job *job, const catalog_node_tree *tree, const node_target *node)
{
	int rc = 0;
	/* Pass 1: directories and files; pass 2: symlinks; pass 3: directory metadata. */
	for (int pass = 1; pass <= 3 && rc == 0; pass++) {
		for (size_t k = 0; k < tree->count && rc == 0; k++) {
			size_t i = pass == 3 ? tree->count - 1 - k : k;
			const catalog_tree_entry *e = &tree->entries[i];
			if ((rc = restore_check_path(e->entry.path)) != 0)
				break;
			if (pass == 1 && e->entry.type == CATALOG_ENTRY_DIR)
				rc = make_directory(job, node, e->entry.path);
			else if (pass == 1 && e->entry.type == CATALOG_ENTRY_FILE)
				rc = restore_file(job, node, e);
			else if (pass == 2 && e->entry.type == CATALOG_ENTRY_SYMLINK)
				rc = restore_symlink(job, node, e);
			else if (pass == 3 && e->entry.type == CATALOG_ENTRY_DIR)
				rc = finish_directory(node, e->entry.path, e->entry.mode, e->entry.mtime_ns);
		}
	}
	return rc;
}

static int restore_node(restore_job *job, const catalog_node_tree *tree)
{
	/* Names and sizes from the catalog are untrusted: nothing of a bad tree is written. */
	int rc = catalog_tree_validate(tree);
	if (rc != 0 || !tree->node.has_folder)
		return rc;
	node_target node;
	rc = open_node_folder(job, tree, &node);
	if (rc == 0) {
		atomic_fetch_add(&job->folders, 1);
		rc = restore_entries(job, tree, &node);
	}
	if (rc == 0)
		rc = set_fd_metadata(node.fd, tree->node.root_mode, tree->node.root_mtime_ns, node.display, ".");
	if (node.fd >= 0)
		close(node.fd);
	return rc;
}

static int restore_worker(void *arg)
{
	restore_job *job = arg;
	void *item;
	int rc = 0;
	while (rc == 0 && (rc = st_interrupt_check()) == 0 && st_queue_pop(job->queue, &item)) {
		rc = restore_node(job, item);
		catalog_node_tree_free(item);
	}
	store_thread_release();
	return rc;
}

static void stop_workers(void *arg)
{
	st_queue_close(((restore_job *)arg)->queue);
}

/* Refuses a non-empty target (unless forced), opens its root once and creates
 * <target>/repository/node below it. */
static int prepare_target(restore_job *job)
{
	const char *root = job->options->target_root;
	bool exists = false, empty = false;
	int rc = st_dir_state(root, &exists, &empty);
	if (rc != 0)
		return st_error_reclassify(ST_ERR_TARGET);
	if (exists && !empty && !job->options->force)
		return st_error_set(ST_ERR_TARGET, "restore target '%s' is not empty (use --force to write into it)", root);
	if ((rc = st_confine_root_open(&job->root_fd, root, 0755)) != 0)
		return rc;
	int node_root = -1;
	rc = st_confine_dir(&node_root, job->root_fd, RESTORE_REPOSITORY "/node", 0755,
			    ST_CONFINE_CREATE | job->confine_flags, root);
	if (node_root >= 0)
		close(node_root);
	return rc;
}

static int resolve_snapshot(dest *d, int64_t wanted, catalog_snapshot *out)
{
	if (wanted != RESTORE_LATEST)
		return catalog_snapshot_get(dest_catalog(d), wanted, out);
	bool found = false;
	int rc = catalog_snapshot_latest(dest_catalog(d), out, &found);
	if (rc == 0 && !found)
		rc = st_error_set(ST_ERR_NOTFOUND, "destination '%s' holds no snapshot yet", dest_path(d));
	return rc;
}

int restore_resolve_snapshot(const char *dest_path, int64_t wanted, restore_snapshot_info *out)
{
	dest *d = NULL;
	catalog_snapshot snap = {0};
	memset(out, 0, sizeof *out);
	int rc = dest_open(&d, dest_path, DEST_READ);
	if (rc == 0)
		rc = resolve_snapshot(d, wanted, &snap);
	if (rc == 0) {
		out->id = snap.id;
		out->time_us = snap.time_us;
		out->has_files = snap.has_files;
		out->has_database = snap.has_database;
		out->container = snap.container != NULL;
		db_info_schema_version(out->schema_version, sizeof out->schema_version, snap.db_info);
		out->profile = snap.profile;
		snap.profile = NULL;
	}
	catalog_snapshot_release(&snap);
	dest_close(d);
	return rc;
}

/* The uuid prefix that a pattern's literal start fixes: "node/ab/c*" -> "abc"; "" when none. */
static void pattern_prefix(char *out, size_t cap, const char *pattern)
{
	size_t n = 0;
	out[0] = '\0';
	if (strncmp(pattern, "node/", 5) != 0)
		return;
	const char *p = pattern + 5;
	for (size_t i = 0; p[i] != '\0' && n + 1 < cap && n < CATALOG_UUID_LEN; i++) {
		if (strchr("*?[\\", p[i]) != NULL)
			break;
		if (i == 2 || i == 5) {
			if (p[i] != '/')
				break;
			continue;
		}
		if (p[i] == '/')
			break;
		out[n++] = p[i];
		out[n] = '\0';
	}
}

/* The longest uuid prefix shared by every pattern's: one query reads all their nodes. */
static void patterns_prefix(char *out, size_t cap, const restore_options *o)
{
	char one[CATALOG_UUID_LEN + 1];
	for (size_t i = 0; i < o->path_count; i++) {
		pattern_prefix(one, sizeof one, o->paths[i]);
		if (i == 0) {
			snprintf(out, cap, "%s", one);
			continue;
		}
		size_t k = 0;
		while (out[k] != '\0' && out[k] == one[k])
			k++;
		out[k] = '\0';
	}
}

static bool matches_any(const restore_options *o, const char *path)
{
	for (size_t i = 0; i < o->path_count; i++)
		if (fnmatch(o->paths[i], path, 0) == 0)
			return true;
	return false;
}

/* Whether "<node>/<entry>", or a directory above it up to the node folder, matches. */
static bool entry_selected(const restore_options *o, const char *node, const char *entry)
{
	char full[2 * PATH_MAX];
	int len = snprintf(full, sizeof full, "%s/%s", node, entry);
	if (len < 0 || (size_t)len >= sizeof full)
		return false;
	for (char *slash = full + strlen(node); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		bool hit = matches_any(o, full);
		*slash = '/';
		if (hit)
			return true;
	}
	return matches_any(o, full);
}

static bool is_below(const char *dir, const char *path)
{
	size_t n = strlen(dir);
	return strncmp(dir, path, n) == 0 && path[n] == '/';
}

/* Keeps the entries of tree that the patterns select, with the directories above them; false
 * when the node has none (and its folder itself does not match): it is not restored. */
static bool select_entries(const restore_options *o, catalog_node_tree *tree)
{
	char rel[PATH_MAX];
	if (scan_node_dir(rel, sizeof rel, RESTORE_REPOSITORY, tree->node.uuid) != 0)
		return true; /* catalog_tree_validate refuses it */
	const char *node = rel + sizeof RESTORE_REPOSITORY; /* "node/..." */
	if (matches_any(o, node))
		return true;
	bool *keep = st_calloc(tree->count + 1, sizeof *keep);
	size_t kept = 0;
	for (size_t i = 0; i < tree->count; i++)
		kept += (keep[i] = entry_selected(o, node, tree->entries[i].entry.path));
	for (size_t i = 0; i < tree->count; i++) {
		if (!keep[i])
			continue;
		for (size_t j = 0; j < tree->count; j++)
			if (!keep[j] && tree->entries[j].entry.type == CATALOG_ENTRY_DIR &&
			    is_below(tree->entries[j].entry.path, tree->entries[i].entry.path))
				keep[j] = true;
	}
	catalog_node_tree_keep(tree, keep);
	free(keep);
	return kept > 0;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_named_node(const restore_options *o, const char *uuid)
{
	return o->node_count > 0 &&
	       bsearch(&uuid, o->nodes, o->node_count, sizeof *o->nodes, compare_strings) != NULL;
}

/* Pushes the nodes of iter to the workers; with by_path, only what the patterns select of the
 * nodes not named whole. *out_fed counts the nodes pushed. */
static int feed_iter(restore_job *job, catalog_tree_iter *iter, bool by_path, int64_t *out_fed)
{
	catalog_node_tree *tree = NULL;
	int rc;
	while ((rc = st_interrupt_check()) == 0 && (rc = catalog_tree_iter_next(iter, &tree)) == 0 && tree != NULL) {
		if (by_path && (is_named_node(job->options, tree->node.uuid) || !select_entries(job->options, tree))) {
			catalog_node_tree_free(tree);
			continue;
		}
		(*out_fed)++;
		if (!st_queue_push(job->queue, tree)) {
			catalog_node_tree_free(tree);
			break;
		}
	}
	return rc;
}

/* Before anything is written: every node named whole is in the snapshot. */
static int check_named_nodes(const restore_options *o, catalog *cat, int64_t snapshot_id)
{
	int rc = 0;
	for (size_t i = 0; i < o->node_count && rc == 0; i++) {
		catalog_tree_iter *iter = NULL;
		catalog_node_tree *tree = NULL;
		rc = catalog_tree_iter_open_prefix(&iter, cat, snapshot_id, o->nodes[i]);
		if (rc == 0)
			rc = catalog_tree_iter_next(iter, &tree);
		if (rc == 0 && tree == NULL)
			rc = st_error_set(ST_ERR_NOTFOUND, "node '%s' is not in snapshot %lld", o->nodes[i],
					  (long long)snapshot_id);
		catalog_node_tree_free(tree);
		catalog_tree_iter_close(iter);
	}
	return rc;
}

/* Streams the selected nodes to the workers: each named node by its uuid, then what the
 * patterns select, through one query over the uuid prefix they share. */
static int feed_selected(restore_job *job, catalog *cat, int64_t snapshot_id, int64_t *out_nodes)
{
	const restore_options *o = job->options;
	int rc = 0;
	for (size_t i = 0; i < o->node_count && rc == 0; i++) {
		catalog_tree_iter *iter = NULL;
		rc = catalog_tree_iter_open_prefix(&iter, cat, snapshot_id, o->nodes[i]);
		if (rc == 0)
			rc = feed_iter(job, iter, false, out_nodes);
		catalog_tree_iter_close(iter);
	}
	if (rc == 0 && o->path_count > 0) {
		char prefix[CATALOG_UUID_LEN + 1];
		catalog_tree_iter *iter = NULL;
		patterns_prefix(prefix, sizeof prefix, o);
		rc = catalog_tree_iter_open_prefix(&iter, cat, snapshot_id, prefix);
		if (rc == 0)
			rc = feed_iter(job, iter, true, out_nodes);
		catalog_tree_iter_close(iter);
	}
	return rc;
}

/* Streams the snapshot's nodes to the workers. */
static int feed(restore_job *job, catalog *cat, int64_t snapshot_id, int64_t *out_nodes)
{
	if (job->options->node_count > 0 || job->options->path_count > 0)
		return feed_selected(job, cat, snapshot_id, out_nodes);
	catalog_tree_iter *iter = NULL;
	catalog_node_tree *tree = NULL;
	int rc = catalog_tree_iter_open(&iter, cat, snapshot_id);
	while (rc == 0 && (rc = st_interrupt_check()) == 0 && (rc = catalog_tree_iter_next(iter, &tree)) == 0 &&
	       tree != NULL) {
		(*out_nodes)++;
		if (!st_queue_push(job->queue, tree)) {
			catalog_node_tree_free(tree);
			break;
		}
	}
	catalog_tree_iter_close(iter);
	return rc;
}

static bool is_shard_name(const char *s)
{
	for (int i = 0; i < 2; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The folders above the node folders, exactly: repository, repository/node, and the shard
 * levels repository/node/xx and repository/node/xx/yy (two lowercase hex digits each). */
static bool is_folder_path(const char *path)
{
	static const char node[] = RESTORE_REPOSITORY "/node";
	if (strcmp(path, RESTORE_REPOSITORY) == 0 || strcmp(path, node) == 0)
		return true;
	const size_t n = sizeof node - 1;
	if (strncmp(path, node, n) != 0 || path[n] != '/' || !is_shard_name(path + n + 1))
		return false;
	const char *rest = path + n + 3;
	return rest[0] == '\0' || (rest[0] == '/' && is_shard_name(rest + 1) && rest[3] == '\0');
}

int restore_check_folder(const catalog_folder *folder)
{
	if (!is_folder_path(folder->path))
		return st_error_set(ST_ERR_CORRUPT, "catalog holds folder '%s', which is not a repository or shard folder",
				    folder->path);
	if (folder->mode & ~07777U)
		return st_error_set(ST_ERR_CORRUPT, "catalog holds folder '%s' with mode %o", folder->path, folder->mode);
	return 0;
}

/* Gives the folders above the node folders the mode and mtime they had at the snapshot, deepest
 * first, once everything below them is written; only the ones the target has. */
static int restore_folders(restore_job *job, catalog *cat, int64_t snapshot_id)
{
	catalog_folder *folders = NULL;
	size_t count = 0;
	const char *root = job->options->target_root;
	int rc = catalog_folder_as_of(cat, snapshot_id, &folders, &count);
	/* Paths and modes from the catalog are untrusted: nothing is changed for a bad list. */
	for (size_t i = 0; i < count && rc == 0; i++)
		rc = restore_check_folder(&folders[i]);
	/* A selective restore writes a few of the 65,536 shard folders: one look at each parent
	 * (repeated parents remembered) skips the rest without opening them. */
	char parent[64] = "";
	bool parent_exists = false;
	for (size_t i = 0; i < count && rc == 0; i++) {
		const char *slash = strrchr(folders[i].path, '/');
		size_t len = slash ? (size_t)(slash - folders[i].path) : 0;
		if (len > 0 && len < sizeof parent) {
			if (strncmp(parent, folders[i].path, len) != 0 || parent[len] != '\0') {
				struct stat st;
				memcpy(parent, folders[i].path, len);
				parent[len] = '\0';
				parent_exists = fstatat(job->root_fd, parent, &st, AT_SYMLINK_NOFOLLOW) == 0;
			}
			if (!parent_exists)
				continue;
		}
		int fd = -1;
		rc = st_confine_dir_existing(&fd, job->root_fd, folders[i].path, root);
		if (rc == 0 && fd >= 0)
			rc = set_fd_metadata(fd, folders[i].mode, folders[i].mtime_ns, root, folders[i].path);
		if (fd >= 0)
			close(fd);
	}
	free(folders);
	return rc;
}

static int sync_target(const restore_job *job)
{
	if (syncfs(job->root_fd) != 0)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to sync '%s'", job->options->target_root);
	return 0;
}

int restore_run(const restore_options *options, restore_result *out)
{
	double started = st_now_seconds();
	restore_job job = {.options = options, .root_fd = -1,
			   .confine_flags = options->force ? ST_CONFINE_REPLACE : 0};
	dest *d = NULL;
	st_workers *workers = NULL;
	memset(out, 0, sizeof *out);
	catalog_snapshot snap = {0};
	int rc = dest_open(&d, options->dest_path, DEST_READ);
	if (rc == 0)
		rc = resolve_snapshot(d, options->snapshot_id, &snap);
	out->snapshot_id = snap.id;
	if (rc == 0 && !snap.has_files)
		rc = st_error_set(ST_ERR_NOTFOUND, "snapshot %lld holds no files (it was taken with --database-only)",
				  (long long)snap.id);
	if (rc == 0 && snap.container != NULL) {
		/* AiiDA 2.x: the files are objects of a disk-objectstore container. */
		rc = restore_container_run(d, &snap, options, out);
		catalog_snapshot_release(&snap);
		dest_close(d);
		out->seconds = st_now_seconds() - started;
		return rc;
	}
	if (rc == 0 && options->loose)
		rc = st_error_set(ST_ERR_USAGE, "--loose applies to snapshots of an AiiDA 2.x container; snapshot %lld holds"
						" AiiDA 1.x node folders",
				  (long long)snap.id);
	catalog_snapshot_release(&snap);
	if (rc == 0)
		rc = check_named_nodes(options, dest_catalog(d), out->snapshot_id);
	if (rc == 0)
		rc = prepare_target(&job);
	if (rc == 0)
		rc = store_open(&job.objects, d, NULL);
	if (rc == 0) {
		int jobs = options->jobs > 0 ? options->jobs : st_cpu_count();
		int threads = jobs * RESTORE_WORKERS_PER_JOB;
		job.queue = st_queue_new(RESTORE_QUEUE_DEPTH);
		rc = st_workers_start(&workers, threads > RESTORE_WORKERS_MAX ? RESTORE_WORKERS_MAX : threads, restore_worker,
				      stop_workers, &job);
	}
	if (rc == 0) {
		int feed_rc = feed(&job, dest_catalog(d), out->snapshot_id, &out->nodes);
		st_queue_close(job.queue);
		rc = st_workers_join(workers);
		if (rc == 0)
			rc = feed_rc;
	}
	if (rc == 0)
		rc = restore_folders(&job, dest_catalog(d), out->snapshot_id);
	if (rc == 0)
		rc = sync_target(&job);
	out->folders = atomic_load(&job.folders);
	out->files = atomic_load(&job.files);
	out->directories = atomic_load(&job.directories);
	out->symlinks = atomic_load(&job.symlinks);
	out->bytes = atomic_load(&job.bytes);
	out->seconds = st_now_seconds() - started;
	if (job.queue != NULL) {
		void *item;
		while (st_queue_pop(job.queue, &item))
			catalog_node_tree_free(item);
		st_queue_free(job.queue);
	}
	store_free(job.objects);
	if (job.root_fd >= 0)
		close(job.root_fd);
	dest_close(d);
	return rc;
}

static int cat_entry(dest *d, const catalog_node_tree *tree, const char *path, int fd, int64_t snapshot_id)
{
	const catalog_tree_entry *found = NULL;
	for (size_t i = 0; i < tree->count && found == NULL; i++)
		if (strcmp(tree->entries[i].entry.path, path) == 0)
			found = &tree->entries[i];
	if (found == NULL)
		return st_error_set(ST_ERR_NOTFOUND, "node '%s' has no '%s' in snapshot %lld", tree->node.uuid, path,
				    (long long)snapshot_id);
	if (found->entry.type != CATALOG_ENTRY_FILE)
		return st_error_set(ST_ERR_USAGE, "'%s/%s' is a %s, not a file", tree->node.uuid, path,
				    found->entry.type == CATALOG_ENTRY_DIR ? "directory" : "symbolic link");
	store *objects = NULL;
	char shown[PATH_MAX];
	snprintf(shown, sizeof shown, "%s/%s", tree->node.uuid, path);
	int rc = store_open(&objects, d, NULL);
	if (rc == 0)
		rc = store_get_entry_to_fd(objects, fd, found, shown);
	store_free(objects);
	store_thread_release();
	return rc;
}

int restore_cat(const char *dest_path, int64_t wanted, const char *uuid, const char *path, int fd,
		int64_t *out_snapshot)
{
	dest *d = NULL;
	catalog_snapshot snap = {0};
	catalog_tree_iter *iter = NULL;
	catalog_node_tree *tree = NULL;
	*out_snapshot = 0;
	int rc = dest_open(&d, dest_path, DEST_READ);
	if (rc == 0)
		rc = resolve_snapshot(d, wanted, &snap);
	if (rc == 0 && !snap.has_files)
		rc = st_error_set(ST_ERR_NOTFOUND, "snapshot %lld holds no files (it was taken with --database-only)",
				  (long long)snap.id);
	if (rc == 0)
		rc = catalog_tree_iter_open_prefix(&iter, dest_catalog(d), snap.id, uuid);
	if (rc == 0)
		rc = catalog_tree_iter_next(iter, &tree);
	if (rc == 0 && tree == NULL)
		rc = st_error_set(ST_ERR_NOTFOUND, "node '%s' is not in snapshot %lld", uuid, (long long)snap.id);
	if (rc == 0)
		rc = catalog_tree_validate(tree);
	if (rc == 0)
		rc = cat_entry(d, tree, path, fd, snap.id);
	*out_snapshot = snap.id;
	catalog_node_tree_free(tree);
	catalog_tree_iter_close(iter);
	catalog_snapshot_release(&snap);
	dest_close(d);
	return rc;
}
