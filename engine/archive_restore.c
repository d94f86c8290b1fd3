/*
 * archive_restore.c - an exported archive back into a repository root (see archive_restore.h).
 */
#include "engine/archive_restore.h"

#include "engine/archive.h"
#include "engine/export.h"

#include "common/confine.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/mem.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RESTORE_PIECE ((size_t)256 << 10)

typedef struct manifest_entry {
	char *path;
	archive_item_type type;
	int64_t size;
	st_hash hash;
	char *target;
	mode_t mode;
	int64_t mtime_ns;
	bool seen;
} manifest_entry;

struct archive_manifest {
	manifest_entry *entries;
	size_t count;
	int64_t snapshot_id;
};

void archive_manifest_free(archive_manifest *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->count; i++) {
		free(m->entries[i].path);
		free(m->entries[i].target);
	}
	free(m->entries);
	free(m);
}

/* The areas of an archive: "repository" (AiiDA 1.x node folders), "container" (an AiiDA 2.x
 * disk-objectstore container) and "database", and what is below them. */
static int check_name(const char *name)
{
	int rc = st_confine_check_path(name, "the archive");
	if (rc != 0)
		return st_error_reclassify(ST_ERR_CORRUPT);
	static const char *const areas[] = {"repository", "container", "database"};
	for (size_t i = 0; i < sizeof areas / sizeof areas[0]; i++) {
		size_t n = strlen(areas[i]);
		if (strncmp(name, areas[i], n) == 0 && (name[n] == '\0' || name[n] == '/'))
			return 0;
	}
	return st_error_set(ST_ERR_CORRUPT, "archive entry '%s' is outside repository/, container/ and database/", name);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const manifest_entry *)a)->path, ((const manifest_entry *)b)->path);
}

static int parse_entry(manifest_entry *e, const st_json *o)
{
	const char *path = st_json_string_value(st_json_get(o, "path"));
	const char *type = st_json_string_value(st_json_get(o, "type"));
	int64_t mode = 0;
	if (path == NULL || type == NULL || !st_json_int_value(st_json_get(o, "mode"), &mode) || mode < 0 ||
	    mode > 07777 || !st_json_int_value(st_json_get(o, "mtime_ns"), &e->mtime_ns))
		return st_error_set(ST_ERR_CORRUPT, "the archive's manifest has a malformed entry");
	int rc = check_name(path);
	if (rc != 0)
		return rc;
	e->path = st_strdup(path);
	e->mode = (mode_t)mode;
	if (strcmp(type, "dir") == 0) {
		e->type = ARCHIVE_ITEM_DIR;
	} else if (strcmp(type, "symlink") == 0) {
		const char *target = st_json_string_value(st_json_get(o, "target"));
		if (target == NULL || target[0] == '\0')
			return st_error_set(ST_ERR_CORRUPT, "manifest entry '%s' is a link without a target", path);
		e->type = ARCHIVE_ITEM_SYMLINK;
		e->target = st_strdup(target);
	} else if (strcmp(type, "file") == 0) {
		const char *hex = st_json_string_value(st_json_get(o, "hash"));
		if (!st_json_int_value(st_json_get(o, "size"), &e->size) || e->size < 0 || hex == NULL ||
		    st_hash_from_hex(&e->hash, hex) != 0)
			return st_error_set(ST_ERR_CORRUPT, "manifest entry '%s' has no valid size and hash", path);
		e->type = ARCHIVE_ITEM_FILE;
	} else {
		return st_error_set(ST_ERR_CORRUPT, "manifest entry '%s' has an unknown type", path);
	}
	return 0;
}

int archive_manifest_parse(archive_manifest **out, const char *text, size_t len)
{
	st_json *doc = NULL;
	archive_manifest *m = st_calloc(1, sizeof *m);
	char *copy = st_malloc(len + 1);
	memcpy(copy, text, len);
	copy[len] = '\0';
	int rc = strlen(copy) != len ? st_error_set(ST_ERR_CORRUPT, "the archive's manifest holds a NUL byte")
				     : st_json_parse(&doc, copy, "the archive's manifest");
	if (rc != 0)
		goto cleanup;
	int64_t version = 0;
	const st_json *entries = st_json_get(doc, "entries");
	const char *format = st_json_string_value(st_json_get(doc, "format"));
	if (format == NULL || strcmp(format, "strata-archive") != 0 ||
	    !st_json_int_value(st_json_get(doc, "version"), &version) ||
	    !st_json_int_value(st_json_get(st_json_get(doc, "snapshot"), "id"), &m->snapshot_id) ||
	    entries == NULL) {
		rc = st_error_set(ST_ERR_CORRUPT, "the archive's manifest is not a strata archive manifest");
		goto cleanup;
	}
	if (version != EXPORT_MANIFEST_VERSION) {
		rc = st_error_set(ST_ERR_CORRUPT, "the archive's manifest has version %lld (this strata reads %d)",
				  (long long)version, EXPORT_MANIFEST_VERSION);
		goto cleanup;
	}
	size_t n = st_json_array_size(entries);
	m->entries = st_calloc(n > 0 ? n : 1, sizeof *m->entries);
	for (size_t i = 0; rc == 0 && i < n; i++, m->count++)
		rc = parse_entry(&m->entries[i], st_json_array_get(entries, i));
	if (rc != 0)
		goto cleanup;
	qsort(m->entries, m->count, sizeof *m->entries, cmp_entry);
	for (size_t i = 1; i < m->count; i++) {
		if (strcmp(m->entries[i - 1].path, m->entries[i].path) == 0) {
			rc = st_error_set(ST_ERR_CORRUPT, "the archive's manifest lists '%s' twice", m->entries[i].path);
			goto cleanup;
		}
	}
	*out = m;
	m = NULL;
cleanup:
	archive_manifest_free(m);
	st_json_free(doc);
	free(copy);
	return rc;
}

static manifest_entry *manifest_find(archive_manifest *m, const char *path)
{
	manifest_entry key = {.path = (char *)(uintptr_t)path};
	return bsearch(&key, m->entries, m->count, sizeof *m->entries, cmp_entry);
}

typedef struct restore_ctx {
	const archive_restore_options *o;
	archive_reader *reader;
	archive_manifest *manifest;
	int root_fd;
	int dump_fd;
	unsigned char *piece;
	archive_restore_result *out;
} restore_ctx;

static int read_manifest(restore_ctx *c)
{
	archive_item item;
	int got = archive_reader_next(c->reader, &item);
	if (got < 0)
		return got;
	if (got == 0 || item.type != ARCHIVE_ITEM_FILE || strcmp(item.name, EXPORT_MANIFEST_NAME) != 0)
		return st_error_set(ST_ERR_CORRUPT, "archive '%s' does not start with %s", c->o->input, EXPORT_MANIFEST_NAME);
	if (item.size < 0 || (uint64_t)item.size > ARCHIVE_MANIFEST_MAX)
		return st_error_set(ST_ERR_CORRUPT, "the manifest of archive '%s' claims %lld bytes", c->o->input,
				    (long long)item.size);
	size_t cap = (size_t)item.size, len = 0;
	char *text = st_malloc(cap + 1);
	int rc = 0;
	for (size_t n = 1; rc == 0 && n > 0;) {
		rc = archive_reader_data(c->reader, text + len, cap + 1 - len, &n);
		len += n;
		if (rc == 0 && len > cap)
			rc = st_error_set(ST_ERR_CORRUPT, "the manifest of archive '%s' is longer than it says", c->o->input);
	}
	if (rc == 0)
		rc = archive_manifest_parse(&c->manifest, text, len);
	free(text);
	if (rc == 0)
		c->out->snapshot_id = c->manifest->snapshot_id;
	return rc;
}

/* Which root an entry is written below and its path there; fd -1: checked, not written. */
static void place(const restore_ctx *c, const char *name, int *out_fd, const char **out_rel)
{
	if (strncmp(name, "database", 8) == 0) {
		*out_fd = c->dump_fd;
		*out_rel = name[8] == '\0' ? "" : name + 9;
	} else {
		*out_fd = c->root_fd;
		*out_rel = name;
	}
}

static int set_fd_meta(int fd, mode_t mode, int64_t mtime_ns, const char *name)
{
	struct timespec times[2] = {st_timespec_from_ns(mtime_ns), st_timespec_from_ns(mtime_ns)};
	if (fchmod(fd, mode) != 0 || futimens(fd, times) != 0)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to set the mode and mtime of '%s'", name);
	return 0;
}

static int copy_data(restore_ctx *c, const manifest_entry *e, int fd)
{
	st_hasher *h = st_hasher_new();
	uint64_t total = 0;
	int rc = 0;
	for (size_t n = 1; rc == 0 && n > 0;) {
		rc = archive_reader_data(c->reader, c->piece, RESTORE_PIECE, &n);
		total += n;
		if (rc == 0 && total > (uint64_t)e->size)
			rc = st_error_set(ST_ERR_CORRUPT, "archive entry '%s' is longer than its manifest says", e->path);
		if (rc == 0 && n > 0) {
			st_hasher_update(h, c->piece, n);
			if (fd >= 0)
				rc = st_write_all(fd, c->piece, n, e->path);
		}
	}
	st_hash got;
	st_hasher_final(&got, h);
	if (rc == 0 && total != (uint64_t)e->size)
		rc = st_error_set(ST_ERR_CORRUPT, "archive entry '%s' has %llu bytes, its manifest says %lld", e->path,
				  (unsigned long long)total, (long long)e->size);
	if (rc == 0 && !st_hash_equal(&got, &e->hash))
		rc = st_error_set(ST_ERR_CORRUPT, "archive entry '%s' does not match its manifest's hash", e->path);
	c->out->bytes += (int64_t)total;
	return rc;
}

static int write_file(restore_ctx *c, const manifest_entry *e, int root, const char *rel)
{
	int fd = -1;
	int rc = root >= 0 ? st_confine_create_file(&fd, root, rel, 0600, 0, e->path) : 0;
	if (rc == 0)
		rc = copy_data(c, e, fd);
	if (rc == 0 && fd >= 0)
		rc = set_fd_meta(fd, e->mode, e->mtime_ns, e->path);
	if (fd >= 0)
		close(fd);
	if (rc != 0 && fd >= 0) {
		st_error saved;
		st_error_save(&saved);
		st_confine_unlink(root, rel, e->path);
		st_error_restore(&saved);
	}
	c->out->files++;
	return rc;
}

static int write_dir(restore_ctx *c, const manifest_entry *e, int root, const char *rel)
{
	int fd = -1;
	c->out->directories++;
	if (root < 0 || rel[0] == '\0')
		return 0;
	int rc = st_confine_dir(&fd, root, rel, 0700, ST_CONFINE_CREATE, e->path);
	if (rc == 0 && fchmod(fd, e->mode) != 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to set the mode of '%s'", e->path);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int write_symlink(restore_ctx *c, const manifest_entry *e, const archive_item *item, int root,
			 const char *rel)
{
	c->out->symlinks++;
	if (item->target == NULL || strcmp(item->target, e->target) != 0)
		return st_error_set(ST_ERR_CORRUPT, "archive link '%s' does not match its manifest's target", e->path);
	if (root < 0)
		return 0;
	int rc = st_confine_symlink(root, rel, e->target, 0, e->path);
	if (rc == 0)
		rc = st_confine_set_mtime(root, rel, e->mtime_ns, e->path);
	return rc;
}

static int restore_entry(restore_ctx *c, const archive_item *item)
{
	if (item->type == ARCHIVE_ITEM_HARDLINK)
		return st_error_set(ST_ERR_CORRUPT, "archive entry '%s' is a hard link: refused", item->name);
	if (item->type == ARCHIVE_ITEM_OTHER)
		return st_error_set(ST_ERR_CORRUPT, "archive entry '%s' is a device, fifo or socket: refused", item->name);
	int rc = check_name(item->name);
	if (rc != 0)
		return rc;
	manifest_entry *e = manifest_find(c->manifest, item->name);
	if (e == NULL)
		return st_error_set(ST_ERR_CORRUPT, "archive entry '%s' is not in its manifest", item->name);
	if (e->seen)
		return st_error_set(ST_ERR_CORRUPT, "archive entry '%s' appears twice", item->name);
	e->seen = true;
	if (e->type != item->type)
		return st_error_set(ST_ERR_CORRUPT, "archive entry '%s' is not of its manifest's type", item->name);
	if (e->type == ARCHIVE_ITEM_FILE && item->size != e->size)
		return st_error_set(ST_ERR_CORRUPT, "archive entry '%s' claims %lld bytes, its manifest says %lld",
				    item->name, (long long)item->size, (long long)e->size);
	int root;
	const char *rel;
	place(c, e->path, &root, &rel);
	switch (e->type) {
	case ARCHIVE_ITEM_FILE: return write_file(c, e, root, rel);
	case ARCHIVE_ITEM_DIR: return write_dir(c, e, root, rel);
	default: return write_symlink(c, e, item, root, rel);
	}
}

static size_t depth(const char *path)
{
	size_t n = 0;
	for (; *path; path++)
		n += *path == '/';
	return n;
}

static int cmp_depth_desc(const void *a, const void *b)
{
	size_t da = depth((*(manifest_entry *const *)a)->path), db = depth((*(manifest_entry *const *)b)->path);
	return da < db ? 1 : da > db ? -1 : 0;
}

/* After everything is written: nothing listed is missing, and folders get their mtimes,
 * deepest first (writing into a folder changes its mtime). */
static int finish(restore_ctx *c)
{
	archive_manifest *m = c->manifest;
	manifest_entry **dirs = st_calloc(m->count + 1, sizeof *dirs);
	size_t n = 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < m->count; i++) {
		if (!m->entries[i].seen)
			rc = st_error_set(ST_ERR_CORRUPT, "'%s' is in the manifest but missing from archive '%s'",
					  m->entries[i].path, c->o->input);
		else if (m->entries[i].type == ARCHIVE_ITEM_DIR)
			dirs[n++] = &m->entries[i];
	}
	qsort(dirs, n, sizeof *dirs, cmp_depth_desc);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		int root;
		const char *rel;
		place(c, dirs[i]->path, &root, &rel);
		if (root >= 0 && rel[0] != '\0')
			rc = st_confine_set_mtime(root, rel, dirs[i]->mtime_ns, dirs[i]->path);
	}
	free(dirs);
	return rc;
}

static int open_root(int *out_fd, const char *path, const char *what)
{
	bool exists = false, empty = false;
	if (st_dir_state(path, &exists, &empty) != 0)
		return st_error_reclassify(ST_ERR_TARGET);
	if (exists && !empty)
		return st_error_set(ST_ERR_TARGET, "%s '%s' is not empty", what, path);
	return st_confine_root_open(out_fd, path, 0755);
}

/* The dump directory's place: the one asked for, or (for a database restore) a temporary one. */
static int dump_dir_name(const archive_restore_options *o, char **out_temp)
{
	*out_temp = NULL;
	if (o->dump_dir != NULL || o->to_dsn == NULL)
		return 0;
	const char *tmp = getenv("TMPDIR");
	char *dir = st_sprintf("%s/strata-archive-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		int rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to create a temporary directory '%s'", dir);
		free(dir);
		return rc;
	}
	*out_temp = dir;
	return 0;
}

static int restore_database(restore_ctx *c, const char *dump_dir)
{
	const archive_restore_options *o = c->o;
	archive_restore_result *out = c->out;
	if (manifest_find(c->manifest, "database/toc.dat") == NULL)
		return st_error_set(ST_ERR_NOTFOUND, "archive '%s' holds no database (no database/toc.dat)", o->input);
	const db_restore_options db = {.to_dsn = o->to_dsn, .dump_dir = dump_dir, .jobs = o->jobs};
	int rc = db_restore_dump_dir(&db, &out->database);
	out->restored_database = rc == 0;
	return rc;
}

int archive_restore_run(const archive_restore_options *o, archive_restore_result *out)
{
	double start = st_now_seconds();
	memset(out, 0, sizeof *out);
	restore_ctx c = {.o = o, .root_fd = -1, .dump_fd = -1, .out = out};
	char *temp_dump = NULL;
	int rc = dump_dir_name(o, &temp_dump);
	const char *dump_dir = temp_dump != NULL ? temp_dump : o->dump_dir;
	if (rc == 0)
		rc = open_root(&c.root_fd, o->target_root, "restore target");
	if (rc == 0 && dump_dir != NULL)
		rc = open_root(&c.dump_fd, dump_dir, "dump directory");
	if (rc == 0)
		rc = archive_reader_new(&c.reader, o->input);
	if (rc == 0)
		rc = read_manifest(&c);
	c.piece = st_malloc(RESTORE_PIECE);
	archive_item item;
	int got = 1;
	while (rc == 0 && (got = archive_reader_next(c.reader, &item)) > 0)
		rc = restore_entry(&c, &item);
	if (rc == 0 && got < 0)
		rc = got;
	if (rc == 0)
		rc = finish(&c);
	if (rc == 0 && o->to_dsn != NULL)
		rc = restore_database(&c, dump_dir);
	if (temp_dump != NULL) {
		st_remove_tree(temp_dump);
		free(temp_dump);
	}
	if (c.root_fd >= 0)
		close(c.root_fd);
	if (c.dump_fd >= 0)
		close(c.dump_fd);
	free(c.piece);
	archive_reader_free(c.reader);
	archive_manifest_free(c.manifest);
	out->seconds = st_now_seconds() - start;
	return rc;
}
