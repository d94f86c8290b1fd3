/*
 * restore.c - the restore job (see restore.h).
 *
 * The main thread streams the snapshot node by node from the catalog; a pool of workers
 * restores one node folder each: directories first (they come before their children in path
 * order), then files, then symlinks - last, so that no link exists while anything is written
 * below the node - and finally the directories' modes and mtimes, deepest first.
 */
#include "engine/restore.h"

#include "catalog/catalog.h"
#include "catalog/dest.h"
#include "catalog/pack.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/mem.h"
#include "common/queue.h"
#include "common/workers.h"
#include "engine/db_info.h"
#include "engine/pack_files.h"
#include "scanner/node_tree.h"

#include <errno.h>
#include <fcntl.h>
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
	char repository[PATH_MAX]; /* <target>/repository */
	pack_files *packs;
	st_queue *queue;           /* catalog_node_tree * */
	atomic_llong folders, files, directories, symlinks, bytes;
} restore_job;

int restore_check_path(const char *path)
{
	if (path[0] == '\0' || path[0] == '/')
		return st_error_set(ST_ERR_TARGET, "path '%s' would escape the restore target", path);
	for (const char *part = path; part != NULL;) {
		const char *slash = strchr(part, '/');
		size_t len = slash ? (size_t)(slash - part) : strlen(part);
		if (len == 0 || (len == 1 && part[0] == '.') || (len == 2 && part[0] == '.' && part[1] == '.'))
			return st_error_set(ST_ERR_TARGET, "path '%s' would escape the restore target", path);
		part = slash ? slash + 1 : NULL;
	}
	return 0;
}

static struct timespec to_timespec(int64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
	if (ts.tv_nsec < 0) {
		ts.tv_sec--;
		ts.tv_nsec += 1000000000;
	}
	return ts;
}

static int set_times(const char *path, int64_t mtime_ns, int flags)
{
	struct timespec times[2] = {to_timespec(mtime_ns), to_timespec(mtime_ns)};
	if (utimensat(AT_FDCWD, path, times, flags) != 0)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to set the time of '%s'", path);
	return 0;
}

/* Reads one object into a new buffer, checking it against hash. */
static int read_object(restore_job *job, void **out, const pack_location *loc, const st_hash *hash)
{
	int fd;
	const char *pack_name;
	int rc = pack_files_get(job->packs, loc->pack_id, &fd, &pack_name);
	if (rc == 0)
		rc = pack_check_location(loc, pack_name);
	if (rc != 0)
		return rc;
	void *buf = st_malloc(loc->raw_size ? (size_t)loc->raw_size : 1);
	if ((rc = pack_read_object(buf, fd, loc, hash, pack_name)) != 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

static int write_content(restore_job *job, int fd, const catalog_tree_entry *e, const char *path)
{
	void *buf = NULL;
	int rc = 0;
	if (e->entry.chunk_count == 0) {
		if ((rc = read_object(job, &buf, &e->location, &e->entry.hash)) == 0)
			rc = st_write_all(fd, buf, (size_t)e->location.raw_size, path);
		free(buf);
		return rc;
	}
	st_hasher *whole = st_hasher_new();
	for (size_t i = 0; i < e->entry.chunk_count && rc == 0; i++) {
		if ((rc = read_object(job, &buf, &e->chunk_locations[i], &e->entry.chunks[i])) != 0)
			break;
		st_hasher_update(whole, buf, (size_t)e->chunk_locations[i].raw_size);
		rc = st_write_all(fd, buf, (size_t)e->chunk_locations[i].raw_size, path);
		free(buf);
		buf = NULL;
	}
	st_hash actual;
	st_hasher_final(&actual, whole);
	if (rc == 0 && !st_hash_equal(&actual, &e->entry.hash))
		rc = st_error_set(ST_ERR_CORRUPT, "restored content of '%s' does not match its hash", path);
	return rc;
}

static int restore_file(restore_job *job, const catalog_tree_entry *e, const char *path)
{
	int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (job->options->force ? O_TRUNC : O_EXCL);
	int fd = open(path, flags, 0600);
	if (fd < 0)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to create '%s'", path);
	int rc = write_content(job, fd, e, path);
	struct timespec times[2] = {to_timespec(e->entry.mtime_ns), to_timespec(e->entry.mtime_ns)};
	if (rc == 0 && fchmod(fd, (mode_t)e->entry.mode) != 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to set the mode of '%s'", path);
	if (rc == 0 && futimens(fd, times) != 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to set the time of '%s'", path);
	if (close(fd) != 0 && rc == 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to write '%s'", path);
	if (rc != 0)
		unlink(path); /* never leave a file whose content is not the one backed up */
	if (rc == 0) {
		atomic_fetch_add(&job->files, 1);
		atomic_fetch_add(&job->bytes, (long long)e->entry.size);
	}
	return rc;
}

static int restore_symlink(restore_job *job, const catalog_tree_entry *e, const char *path)
{
	if (job->options->force)
		unlink(path);
	if (symlink(e->entry.target ? e->entry.target : "", path) != 0)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to create link '%s'", path);
	atomic_fetch_add(&job->symlinks, 1);
	return set_times(path, e->entry.mtime_ns, AT_SYMLINK_NOFOLLOW);
}

static int make_directory(const char *path)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to create directory '%s'", path);
	struct stat st;
	if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return st_error_set(ST_ERR_TARGET, "unable to create directory '%s': something else is in the way", path);
	return 0;
}

/* Sets a directory's mode and mtime once everything below it is written. */
static int finish_directory(const char *path, uint32_t mode, int64_t mtime_ns)
{
	if (chmod(path, (mode_t)mode) != 0)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to set the mode of '%s'", path);
	return set_times(path, mtime_ns, 0);
}

static int restore_node(restore_job *job, const catalog_node_tree *tree)
{
	char node_dir[PATH_MAX], path[PATH_MAX];
	int rc = scan_node_dir(node_dir, sizeof node_dir, job->repository, tree->node.uuid);
	if (rc != 0 || !tree->node.has_folder)
		return rc;
	atomic_fetch_add(&job->folders, 1);
	char *parent = st_strdup(node_dir);
	*strrchr(parent, '/') = '\0';
	rc = st_mkdir_p(parent, 0755);
	free(parent);
	if (rc == 0)
		rc = make_directory(node_dir);
	/* Pass 1: directories and files; pass 2: symlinks; pass 3: directory metadata. */
	for (int pass = 1; pass <= 3 && rc == 0; pass++) {
		for (size_t k = 0; k < tree->count && rc == 0; k++) {
			size_t i = pass == 3 ? tree->count - 1 - k : k;
			const catalog_tree_entry *e = &tree->entries[i];
			if ((rc = restore_check_path(e->entry.path)) != 0)
				break;
			int n = snprintf(path, sizeof path, "%s/%s", node_dir, e->entry.path);
			if (n < 0 || (size_t)n >= sizeof path) {
				rc = st_error_set(ST_ERR_TARGET, "path '%s' is too long", e->entry.path);
				break;
			}
			if (pass == 1 && e->entry.type == CATALOG_ENTRY_DIR) {
				rc = make_directory(path);
				atomic_fetch_add(&job->directories, rc == 0);
			} else if (pass == 1 && e->entry.type == CATALOG_ENTRY_FILE) {
				rc = restore_file(job, e, path);
			} else if (pass == 2 && e->entry.type == CATALOG_ENTRY_SYMLINK) {
				rc = restore_symlink(job, e, path);
			} else if (pass == 3 && e->entry.type == CATALOG_ENTRY_DIR) {
				rc = finish_directory(path, e->entry.mode, e->entry.mtime_ns);
			}
		}
	}
	if (rc == 0)
		rc = finish_directory(node_dir, tree->node.root_mode, tree->node.root_mtime_ns);
	return rc;
}

static int restore_worker(void *arg)
{
	restore_job *job = arg;
	void *item;
	int rc = 0;
	while (rc == 0 && st_queue_pop(job->queue, &item)) {
		rc = restore_node(job, item);
		catalog_node_tree_free(item);
	}
	return rc;
}

static void stop_workers(void *arg)
{
	st_queue_close(((restore_job *)arg)->queue);
}

/* Refuses a non-empty target (unless forced) and creates <target>/repository/node. */
static int prepare_target(restore_job *job)
{
	const char *root = job->options->target_root;
	bool exists = false, empty = false;
	int rc = st_dir_state(root, &exists, &empty);
	if (rc != 0)
		return st_error_set(ST_ERR_TARGET, "%s", st_error_message());
	if (exists && !empty && !job->options->force)
		return st_error_set(ST_ERR_TARGET, "restore target '%s' is not empty (use --force to write into it)", root);
	int n = snprintf(job->repository, sizeof job->repository, "%s/repository", root);
	if (n < 0 || (size_t)n >= sizeof job->repository)
		return st_error_set(ST_ERR_TARGET, "restore target '%s' is too long", root);
	char *node_root = st_sprintf("%s/node", job->repository);
	rc = st_mkdir_p(node_root, 0755);
	free(node_root);
	if (rc != 0)
		st_error_set(ST_ERR_TARGET, "%s", st_error_message());
	return rc != 0 ? ST_ERR_TARGET : 0;
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
		out->has_files = snap.has_files;
		out->has_database = snap.has_database;
		db_info_schema_version(out->schema_version, sizeof out->schema_version, snap.db_info);
	}
	catalog_snapshot_release(&snap);
	dest_close(d);
	return rc;
}

/* Streams the snapshot's nodes to the workers. */
static int feed(restore_job *job, catalog *cat, int64_t snapshot_id, int64_t *out_nodes)
{
	catalog_tree_iter *iter = NULL;
	catalog_node_tree *tree = NULL;
	int rc = catalog_tree_iter_open(&iter, cat, snapshot_id);
	while (rc == 0 && (rc = catalog_tree_iter_next(iter, &tree)) == 0 && tree != NULL) {
		(*out_nodes)++;
		if (!st_queue_push(job->queue, tree)) {
			catalog_node_tree_free(tree);
			break;
		}
	}
	catalog_tree_iter_close(iter);
	return rc;
}

static int sync_target(const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to open '%s'", root);
	int rc = syncfs(fd) == 0 ? 0 : st_error_set_errno(ST_ERR_TARGET, errno, "unable to sync '%s'", root);
	close(fd);
	return rc;
}

int restore_run(const restore_options *options, restore_result *out)
{
	double started = st_now_seconds();
	restore_job job = {.options = options};
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
	catalog_snapshot_release(&snap);
	if (rc == 0)
		rc = prepare_target(&job);
	if (rc == 0)
		rc = pack_files_new(&job.packs, d);
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
		rc = sync_target(options->target_root);
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
	pack_files_free(job.packs);
	dest_close(d);
	return rc;
}
