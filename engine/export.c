/*
 * export.c - a snapshot as a tar archive (see export.h).
 */
#include "engine/export.h"

#include "engine/restore.h"
#include "engine/restore_job.h"

#include "catalog/dest.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One entry of the archive: its name there, where it is on disk, what it is. */
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

/* What the manifest carries of the snapshot's record, for an import to keep: the database
 * facts (row counts, versions), its database time and watermark, and every node of its view. */
typedef struct export_record {
	catalog_snapshot snap;
	st_json *nodes;
} export_record;

static int add_node(void *ctx, const catalog_node *node)
{
	st_json *o = st_json_object();
	st_json_set_string(o, "uuid", node->uuid);
	st_json_set_int(o, "id", node->node_id);
	st_json_set_int(o, "ctime_us", node->ctime_us);
	st_json_set_bool(o, "folder", node->has_folder);
	st_json_append(ctx, o);
	return 0;
}

static int read_record(const export_options *o, int64_t snapshot_id, export_record *out)
{
	dest *d = NULL;
	out->nodes = st_json_array();
	int rc = dest_open(&d, o->dest_path, DEST_READ);
	if (rc == 0)
		rc = catalog_snapshot_get(dest_catalog(d), snapshot_id, &out->snap);
	if (rc == 0)
		rc = catalog_node_each(dest_catalog(d), snapshot_id, add_node, out->nodes);
	dest_close(d);
	return rc;
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

static char *manifest_text(const export_list *l, const restore_snapshot_info *info, export_record *record)
{
	st_json *doc = st_json_object();
	st_json_set_string(doc, "format", "strata-archive");
	st_json_set_int(doc, "version", EXPORT_MANIFEST_VERSION);
	st_json *snap = st_json_object();
	st_json_set_int(snap, "id", info->id);
	st_json_set_int(snap, "time_us", info->time_us);
	st_json_set_int(snap, "db_time_us", record->snap.db_time_us);
	st_json_set_int(snap, "watermark", record->snap.watermark);
	st_json_set(doc, "snapshot", snap);
	st_json_set_string(doc, "schema_version", info->schema_version[0] ? info->schema_version : NULL);
	st_json_set(doc, "profile", parsed_or_null(info->profile, "profile record"));
	st_json_set(doc, "db_info", parsed_or_null(record->snap.db_info, "database facts"));
	st_json_set(doc, "nodes", record->nodes);
	record->nodes = NULL;
	st_json_set_string(doc, "hash", "xxh3-128");
	st_json *entries = st_json_array();
	for (size_t i = 0; i < l->count; i++) {
		const export_entry *e = &l->items[i];
		st_json *o = st_json_object();
		st_json_set_string(o, "path", e->name);
		if (S_ISREG(e->st.st_mode)) {
			char hex[ST_HASH_HEX_SIZE];
			st_hash_to_hex(hex, &e->hash);
			st_json_set_string(o, "type", "file");
			st_json_set_int(o, "size", (int64_t)e->st.st_size);
			st_json_set_string(o, "hash", hex);
		} else if (S_ISLNK(e->st.st_mode)) {
			st_json_set_string(o, "type", "symlink");
			st_json_set_string(o, "target", e->target);
		} else {
			st_json_set_string(o, "type", "dir");
		}
		st_json_set_int(o, "mode", (int64_t)(e->st.st_mode & 07777));
		st_json_set_int(o, "mtime_ns", mtime_ns(&e->st));
		st_json_append(entries, o);
	}
	st_json_set(doc, "entries", entries);
	char *text = st_json_dump(doc);
	st_json_free(doc);
	return text;
}

static int write_entry(archive_writer *w, const export_entry *e, export_result *out)
{
	if (S_ISDIR(e->st.st_mode)) {
		out->directories++;
		return archive_writer_add_dir(w, e->name, e->st.st_mode, mtime_ns(&e->st));
	}
	if (S_ISLNK(e->st.st_mode)) {
		out->symlinks++;
		return archive_writer_add_symlink(w, e->name, e->target, mtime_ns(&e->st));
	}
	int fd = open(e->disk, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open '%s'", e->disk);
	int rc = archive_writer_add_file(w, e->name, e->st.st_mode, mtime_ns(&e->st), fd, (uint64_t)e->st.st_size);
	close(fd);
	out->files++;
	out->bytes += (int64_t)e->st.st_size;
	return rc;
}

/* Restores the snapshot into tmp/files (repository) and tmp/database (the dump). */
static int restore_into(const export_options *o, const restore_snapshot_info *info, const char *tmp)
{
	char *files = st_sprintf("%s/files", tmp);
	char *database = st_sprintf("%s/database", tmp);
	restore_job_options job = {
		.dest_path = o->dest_path,
		.snapshot_id = info->id,
		.jobs = o->jobs,
		.target_root = info->has_files ? files : NULL,
		.dump_dir = info->has_database ? database : NULL,
	};
	restore_job_result result;
	int rc = restore_job_run(&job, &result);
	free(files);
	free(database);
	return rc;
}

static int collect(export_list *l, const char *tmp, const restore_snapshot_info *info)
{
	int rc = 0;
	if (info->has_files) {
		/* AiiDA 2.x snapshots restore as a container, 1.x ones as node folders. */
		const char *area = info->container ? "container" : "repository";
		char *repo = st_sprintf("%s/files/%s", tmp, area);
		rc = walk(l, area, repo);
		free(repo);
	}
	if (rc == 0 && info->has_database) {
		char *db = st_sprintf("%s/database", tmp);
		rc = walk(l, "database", db);
		free(db);
	}
	return rc;
}

int export_run(const export_options *o, export_result *out)
{
	memset(out, 0, sizeof *out);
	double start = st_now_seconds();
	restore_snapshot_info info = {0};
	export_record record = {0};
	export_list list = {0};
	archive_writer *w = NULL;
	char *text = NULL;
	const char *tmpdir = getenv("TMPDIR");
	char *tmp = st_sprintf("%s/strata-export-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	bool made = false;
	int rc = restore_resolve_snapshot(o->dest_path, o->snapshot_id, &info);
	if (rc != 0)
		goto cleanup;
	out->snapshot_id = info.id;
	if (mkdtemp(tmp) == NULL) {
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to create a temporary directory '%s'", tmp);
		goto cleanup;
	}
	made = true;
	if ((rc = read_record(o, info.id, &record)) != 0 || (rc = restore_into(o, &info, tmp)) != 0 ||
	    (rc = collect(&list, tmp, &info)) != 0)
		goto cleanup;
	text = manifest_text(&list, &info, &record);
	if ((rc = archive_writer_new(&w, o->output, o->kind)) != 0)
		goto cleanup;
	rc = archive_writer_add_buffer(w, EXPORT_MANIFEST_NAME, 0644, (int64_t)info.time_us * 1000, text, strlen(text));
	for (size_t i = 0; rc == 0 && i < list.count; i++)
		rc = write_entry(w, &list.items[i], out);
	if (rc == 0)
		rc = archive_writer_close(w);
cleanup:
	archive_writer_free(w);
	if (made && st_remove_tree(tmp) != 0 && rc == 0)
		rc = st_error_code();
	if (rc != 0 && w != NULL && strcmp(o->output, "-") != 0)
		unlink(o->output);
	free(text);
	free(tmp);
	free(info.profile);
	catalog_snapshot_release(&record.snap);
	st_json_free(record.nodes);
	list_release(&list);
	out->seconds = st_now_seconds() - start;
	return rc;
}
