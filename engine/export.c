/*
 * export.c - a snapshot as a tar archive (see export.h).
 *
 * Two passes over the same entries (export_internal.h): the first writes the manifest to a
 * temporary file, one entry at a time; the second writes the archive - the manifest first, then
 * the entries, each file's content streamed from the store. What is restored to disk first (the
 * dump, and an AiiDA 2.x container) is a handful of files: those are listed in memory.
 */
#include "engine/export.h"

#include "engine/export_internal.h"
#include "engine/restore.h"
#include "engine/restore_job.h"

#include "catalog/dest.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "common/interrupt.h"
#include "common/json.h"
#include "common/mem.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One entry of the archive restored on disk: its name there, where it is on disk, what it is. */
typedef struct export_entry {
	char *name;
	char *disk;
	struct stat st;
	st_hash hash;
	char *target;   /* links */
} export_entry;

typedef struct export_list {
	export_entry *items;
	size_t count;
	size_t cap;
} export_list;

static void list_release(export_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		free(l->items[i].name);
		free(l->items[i].disk);
		free(l->items[i].target);
	}
	free(l->items);
}

static export_entry *list_push(export_list *l)
{
	if (l->count == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->items = st_realloc(l->items, l->cap * sizeof *l->items);
	}
	export_entry *e = &l->items[l->count++];
	memset(e, 0, sizeof *e);
	return e;
}

static int read_link(char **out, const char *disk, off_t size)
{
	size_t cap = (size_t)size + 1;
	char *buf = st_malloc(cap);
	ssize_t n = readlink(disk, buf, cap);
	if (n < 0 || (size_t)n >= cap) {
		free(buf);
		return st_error_set_errno(ST_ERR_GENERIC, n < 0 ? errno : EOVERFLOW, "unable to read link '%s'", disk);
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

static int hash_file(st_hash *out, const char *disk)
{
	int fd = open(disk, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open '%s'", disk);
	int rc = st_hash_fd(out, NULL, fd, disk);
	close(fd);
	return rc;
}

/* Adds the entry name (on disk at disk) and, for a folder, everything below it, pre-order, so
 * that a folder comes before its contents (tar sets folders' mtimes once they are filled). */
static int walk(export_list *l, const char *name, const char *disk)
{
	export_entry *e = list_push(l);
	e->name = st_strdup(name);
	e->disk = st_strdup(disk);
	if (lstat(disk, &e->st) != 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to stat '%s'", disk);
	if (S_ISREG(e->st.st_mode))
		return hash_file(&e->hash, disk);
	if (S_ISLNK(e->st.st_mode))
		return read_link(&e->target, disk, e->st.st_size);
	if (!S_ISDIR(e->st.st_mode))
		return st_error_set(ST_ERR_GENERIC, "'%s' is not a file, folder or link", disk);
	DIR *dir = opendir(disk);
	if (dir == NULL)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open '%s'", disk);
	int rc = 0;
	struct dirent *d;
	while (rc == 0 && (errno = 0, d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		char *child_name = st_sprintf("%s/%s", name, d->d_name);
		char *child_disk = st_sprintf("%s/%s", disk, d->d_name);
		rc = walk(l, child_name, child_disk);
		free(child_name);
		free(child_disk);
	}
	if (rc == 0 && errno != 0)
		rc = st_error_set_errno(ST_ERR_GENERIC, errno, "unable to read '%s'", disk);
	closedir(dir);
	return rc;
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Calls fn for the entries restored on disk. */
static int list_each(const export_list *l, export_visit_fn fn, void *ctx)
{
	int rc = 0;
	for (size_t i = 0; i < l->count && rc == 0; i++) {
		const export_entry *e = &l->items[i];
		export_item item = {.name = e->name, .mode = e->st.st_mode & 07777, .mtime_ns = mtime_ns(&e->st)};
		if (S_ISREG(e->st.st_mode)) {
			item.type = CATALOG_ENTRY_FILE;
			item.size = (uint64_t)e->st.st_size;
			item.hash = e->hash;
			item.disk = e->disk;
		} else if (S_ISLNK(e->st.st_mode)) {
			item.type = CATALOG_ENTRY_SYMLINK;
			item.target = e->target;
		} else {
			item.type = CATALOG_ENTRY_DIR;
		}
		rc = fn(ctx, &item);
	}
	return rc;
}

/* One export: the snapshot, what was restored to disk, and where things are. */
typedef struct export_job {
	const export_options *options;
	restore_snapshot_info info;
	catalog_snapshot snap;  /* the snapshot's record */
	dest *d;
	store *objects;
	char *tmp;              /* the temporary folder */
	export_list disk;       /* container/ (AiiDA 2.x) and database/, restored below tmp */
} export_job;

/* Every entry after the manifest, in archive order: repository/ from the catalog (AiiDA 1.x),
 * then what was restored to disk. */
static int job_each(export_job *job, export_visit_fn fn, void *ctx)
{
	int rc = 0;
	if (job->info.has_files && !job->info.container)
		rc = export_tree_each(dest_catalog(job->d), job->info.id, job->info.time_us * 1000, fn, ctx);
	if (rc == 0)
		rc = list_each(&job->disk, fn, ctx);
	return rc;
}

/* ---- pass 1: the manifest ---- */

static int add_node(void *ctx, const catalog_node *node)
{
	st_json *o = st_json_object();
	st_json_set_string(o, "uuid", node->uuid);
	st_json_set_int(o, "id", node->node_id);
	st_json_set_int(o, "ctime_us", node->ctime_us);
	st_json_set_bool(o, "folder", node->has_folder);
	st_json_writer_element(ctx, o);
	return st_interrupt_check();
}

static int add_entry(void *ctx, const export_item *item)
{
	st_json *o = st_json_object();
	st_json_set_string(o, "path", item->name);
	if (item->type == CATALOG_ENTRY_FILE) {
		char hex[ST_HASH_HEX_SIZE];
		st_hash_to_hex(hex, &item->hash);
		st_json_set_string(o, "type", "file");
		st_json_set_int(o, "size", (int64_t)item->size);
		st_json_set_string(o, "hash", hex);
	} else if (item->type == CATALOG_ENTRY_SYMLINK) {
		st_json_set_string(o, "type", "symlink");
		st_json_set_string(o, "target", item->target);
	} else {
		st_json_set_string(o, "type", "dir");
	}
	st_json_set_int(o, "mode", (int64_t)item->mode);
	st_json_set_int(o, "mtime_ns", item->mtime_ns);
	st_json_writer_element(ctx, o);
	return 0;
}

static st_json *parsed_or_null(const char *text, const char *what)
{
	st_json *doc = NULL;
	if (text != NULL && st_json_parse(&doc, text, what) != 0) {
		st_error_clear();
		doc = NULL;
	}
	return doc;
}

/* The manifest's members in order, with "nodes" and "entries" one element at a time. */
static int manifest_members(export_job *job, st_json_writer *jw)
{
	const restore_snapshot_info *info = &job->info;
	st_json_writer_member(jw, "format", st_json_string("strata-archive"));
	st_json_writer_member(jw, "version", st_json_int(EXPORT_MANIFEST_VERSION));
	st_json *snap = st_json_object();
	st_json_set_int(snap, "id", info->id);
	st_json_set_int(snap, "time_us", info->time_us);
	st_json_set_int(snap, "db_time_us", job->snap.db_time_us);
	st_json_set_int(snap, "watermark", job->snap.watermark);
	st_json_writer_member(jw, "snapshot", snap);
	st_json_writer_member(jw, "schema_version", info->schema_version[0] ? st_json_string(info->schema_version) : NULL);
	st_json_writer_member(jw, "profile", parsed_or_null(info->profile, "profile record"));
	st_json_writer_member(jw, "db_info", parsed_or_null(job->snap.db_info, "database facts"));
	st_json_writer_array_begin(jw, "nodes");
	int rc = catalog_node_each(dest_catalog(job->d), info->id, add_node, jw);
	st_json_writer_array_end(jw);
	st_json_writer_member(jw, "hash", st_json_string("xxh3-128"));
	st_json_writer_array_begin(jw, "entries");
	if (rc == 0)
		rc = job_each(job, add_entry, jw);
	st_json_writer_array_end(jw);
	return rc;
}

/* Writes the manifest to path; *out_size is its size. */
static int write_manifest(export_job *job, const char *path, uint64_t *out_size)
{
	FILE *f = fopen(path, "wxe");
	if (f == NULL)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to create '%s'", path);
	st_json_writer *jw = st_json_writer_begin(f, path);
	int rc = manifest_members(job, jw);
	if (rc == 0) {
		rc = st_json_writer_end(jw);
	} else {
		/* The first error is the one reported. */
		st_error saved;
		st_error_save(&saved);
		st_json_writer_end(jw);
		st_error_restore(&saved);
	}
	long size = ftell(f);
	if (fclose(f) != 0 && rc == 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to write '%s'", path);
	*out_size = size > 0 ? (uint64_t)size : 0;
	return rc;
}

/* ---- pass 2: the archive ---- */

typedef struct archive_pass {
	export_job *job;
	archive_writer *w;
	uint64_t written;       /* of the file being streamed */
	export_result *out;
} archive_pass;

static int write_piece(void *ctx, const void *buf, size_t len, const char *what)
{
	(void)what;
	archive_pass *p = ctx;
	p->written += len;
	return archive_writer_write(p->w, buf, len);
}

/* A file of the snapshot's tree, its content from the store in pieces (each checked against
 * its hash before it goes out). */
static int write_stored(archive_pass *p, const export_item *item)
{
	p->written = 0;
	store_writer to_archive = {.write = write_piece, .ctx = p};
	int rc = archive_writer_begin_file(p->w, item->name, (mode_t)item->mode, item->mtime_ns, item->size);
	if (rc == 0)
		rc = store_get_entry_to_writer(p->job->objects, &to_archive, item->stored, item->name);
	if (rc == 0 && p->written != item->size)
		rc = st_error_set(ST_ERR_CORRUPT, "content of '%s' has %" PRIu64 " bytes, not %" PRIu64, item->name,
				  p->written, item->size);
	return rc;
}

static int write_disk(archive_pass *p, const export_item *item)
{
	int fd = open(item->disk, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open '%s'", item->disk);
	int rc = archive_writer_add_file(p->w, item->name, (mode_t)item->mode, item->mtime_ns, fd, item->size);
	close(fd);
	return rc;
}

static int write_entry(void *ctx, const export_item *item)
{
	archive_pass *p = ctx;
	int rc = st_interrupt_check();
	if (rc != 0)
		return rc;
	if (item->type == CATALOG_ENTRY_DIR) {
		p->out->directories++;
		return archive_writer_add_dir(p->w, item->name, (mode_t)item->mode, item->mtime_ns);
	}
	if (item->type == CATALOG_ENTRY_SYMLINK) {
		p->out->symlinks++;
		return archive_writer_add_symlink(p->w, item->name, item->target, item->mtime_ns);
	}
	rc = item->stored != NULL ? write_stored(p, item) : write_disk(p, item);
	p->out->files++;
	p->out->bytes += (int64_t)item->size;
	return rc;
}

/* The manifest (from the file pass 1 wrote), then every entry. */
static int write_archive(export_job *job, archive_writer *w, const char *manifest, uint64_t manifest_size,
			 export_result *out)
{
	int fd = open(manifest, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open '%s'", manifest);
	int rc = archive_writer_add_file(w, EXPORT_MANIFEST_NAME, 0644, job->info.time_us * 1000, fd, manifest_size);
	close(fd);
	archive_pass pass = {.job = job, .w = w, .out = out};
	if (rc == 0)
		rc = job_each(job, write_entry, &pass);
	if (rc == 0)
		rc = archive_writer_close(w);
	return rc;
}

/* ---- the job ---- */

/* Restores what is not streamed from the store - the dump, and a 2.x snapshot's container -
 * into tmp/database and tmp/files, and lists it. */
static int restore_to_disk(export_job *job)
{
	const restore_snapshot_info *info = &job->info;
	bool files = info->has_files && info->container;
	if (!files && !info->has_database)
		return 0;
	char *target = st_sprintf("%s/files", job->tmp);
	char *database = st_sprintf("%s/database", job->tmp);
	restore_job_options restore = {
		.dest_path = job->options->dest_path,
		.snapshot_id = info->id,
		.jobs = job->options->jobs,
		.target_root = files ? target : NULL,
		.dump_dir = info->has_database ? database : NULL,
	};
	restore_job_result result;
	int rc = restore_job_run(&restore, &result);
	if (rc == 0 && files) {
		char *container = st_sprintf("%s/container", target);
		rc = walk(&job->disk, "container", container);
		free(container);
	}
	if (rc == 0 && info->has_database)
		rc = walk(&job->disk, "database", database);
	free(target);
	free(database);
	return rc;
}

static int open_snapshot(export_job *job)
{
	int rc = restore_resolve_snapshot(job->options->dest_path, job->options->snapshot_id, &job->info);
	if (rc == 0)
		rc = dest_open(&job->d, job->options->dest_path, DEST_READ);
	if (rc == 0)
		rc = catalog_snapshot_get(dest_catalog(job->d), job->info.id, &job->snap);
	if (rc == 0)
		rc = store_open(&job->objects, job->d, NULL);
	return rc;
}

int export_run(const export_options *o, export_result *out)
{
	memset(out, 0, sizeof *out);
	double start = st_now_seconds();
	export_job job = {.options = o};
	archive_writer *w = NULL;
	char *manifest = NULL;
	uint64_t manifest_size = 0;
	int rc = open_snapshot(&job);
	out->snapshot_id = job.info.id;
	/* The output first: an unwritable one fails before any work. */
	if (rc == 0)
		rc = archive_writer_new(&w, o->output, o->kind);
	if (rc == 0)
		rc = st_make_temp_dir(&job.tmp, "strata-export");
	if (rc == 0) {
		manifest = st_sprintf("%s/" EXPORT_MANIFEST_NAME, job.tmp);
		rc = restore_to_disk(&job);
	}
	if (rc == 0)
		rc = write_manifest(&job, manifest, &manifest_size);
	if (rc == 0)
		rc = write_archive(&job, w, manifest, manifest_size, out);
	archive_writer_free(w);
	if (job.tmp != NULL && st_remove_tree(job.tmp) != 0 && rc == 0)
		rc = st_error_code();
	if (rc != 0 && w != NULL && strcmp(o->output, "-") != 0)
		unlink(o->output);
	free(manifest);
	free(job.tmp);
	free(job.info.profile);
	catalog_snapshot_release(&job.snap);
	list_release(&job.disk);
	store_free(job.objects);
	store_thread_release();
	dest_close(job.d);
	out->seconds = st_now_seconds() - start;
	return rc;
}
