/*
 * archive_verify.c - an exported archive checked against its manifest (see archive_verify.h).
 */
#include "engine/archive_verify.h"

#include "engine/export.h"

#include "common/confine.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

#define VERIFY_PIECE ((size_t)256 << 10)

struct archive_manifest {
	archive_entry *entries;
	size_t count;
	int64_t snapshot_id;
	st_json *doc;
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
	st_json_free(m->doc);
	free(m);
}

size_t archive_manifest_count(const archive_manifest *m)
{
	return m->count;
}

const archive_entry *archive_manifest_entry(const archive_manifest *m, size_t i)
{
	return &m->entries[i];
}

int64_t archive_manifest_snapshot_id(const archive_manifest *m)
{
	return m->snapshot_id;
}

const st_json *archive_manifest_document(const archive_manifest *m)
{
	return m->doc;
}

char *archive_manifest_object_text(const archive_manifest *m, const char *key)
{
	const st_json *value = st_json_get(m->doc, key);
	return st_json_is_object(value) ? st_json_dump(value) : NULL;
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
	return strcmp(((const archive_entry *)a)->path, ((const archive_entry *)b)->path);
}

static int parse_entry(archive_entry *e, const st_json *o)
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
	archive_manifest *m = st_calloc(1, sizeof *m);
	char *copy = st_malloc(len + 1);
	memcpy(copy, text, len);
	copy[len] = '\0';
	int rc = strlen(copy) != len ? st_error_set(ST_ERR_CORRUPT, "the archive's manifest holds a NUL byte")
				     : st_json_parse(&m->doc, copy, "the archive's manifest");
	if (rc != 0)
		goto cleanup;
	int64_t version = 0;
	const st_json *entries = st_json_get(m->doc, "entries");
	const char *format = st_json_string_value(st_json_get(m->doc, "format"));
	if (format == NULL || strcmp(format, "strata-archive") != 0 ||
	    !st_json_int_value(st_json_get(m->doc, "version"), &version) ||
	    !st_json_int_value(st_json_get(st_json_get(m->doc, "snapshot"), "id"), &m->snapshot_id) ||
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
	free(copy);
	return rc;
}

static archive_entry *find(const archive_manifest *m, const char *path)
{
	archive_entry key = {.path = (char *)(uintptr_t)path};
	return bsearch(&key, m->entries, m->count, sizeof *m->entries, cmp_entry);
}

const archive_entry *archive_manifest_find(const archive_manifest *m, const char *path)
{
	return find(m, path);
}

struct archive_verifier {
	char *input;
	archive_reader *reader;
	archive_manifest *manifest;
	archive_entry *current;   /* the file whose data is being read */
	st_hasher *hasher;
	uint64_t current_bytes;
	int64_t bytes;
	unsigned char *piece;
};

static int read_manifest(archive_verifier *v)
{
	archive_item item;
	int got = archive_reader_next(v->reader, &item);
	if (got < 0)
		return got;
	if (got == 0 || item.type != ARCHIVE_ITEM_FILE || strcmp(item.name, EXPORT_MANIFEST_NAME) != 0)
		return st_error_set(ST_ERR_CORRUPT, "archive '%s' does not start with %s", v->input, EXPORT_MANIFEST_NAME);
	if (item.size < 0 || (uint64_t)item.size > ARCHIVE_MANIFEST_MAX)
		return st_error_set(ST_ERR_CORRUPT, "the manifest of archive '%s' claims %lld bytes", v->input,
				    (long long)item.size);
	size_t cap = (size_t)item.size, len = 0;
	char *text = st_malloc(cap + 1);
	int rc = 0;
	for (size_t n = 1; rc == 0 && n > 0;) {
		rc = archive_reader_data(v->reader, text + len, cap + 1 - len, &n);
		len += n;
		if (rc == 0 && len > cap)
			rc = st_error_set(ST_ERR_CORRUPT, "the manifest of archive '%s' is longer than it says", v->input);
	}
	if (rc == 0)
		rc = archive_manifest_parse(&v->manifest, text, len);
	free(text);
	return rc;
}

void archive_verifier_free(archive_verifier *v)
{
	if (v == NULL)
		return;
	if (v->hasher != NULL) {
		st_hash unused;
		st_hasher_final(&unused, v->hasher);
	}
	archive_reader_free(v->reader);
	archive_manifest_free(v->manifest);
	free(v->piece);
	free(v->input);
	free(v);
}

int archive_verifier_open(archive_verifier **out, const char *input)
{
	archive_verifier *v = st_calloc(1, sizeof *v);
	v->input = st_strdup(input);
	v->piece = st_malloc(VERIFY_PIECE);
	int rc = archive_reader_new(&v->reader, input);
	if (rc == 0)
		rc = read_manifest(v);
	if (rc != 0) {
		archive_verifier_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

const archive_manifest *archive_verifier_manifest(const archive_verifier *v)
{
	return v->manifest;
}

int64_t archive_verifier_bytes(const archive_verifier *v)
{
	return v->bytes;
}

static int check_item(archive_verifier *v, const archive_item *item, archive_entry **out)
{
	if (item->type == ARCHIVE_ITEM_HARDLINK)
		return st_error_set(ST_ERR_CORRUPT, "archive entry '%s' is a hard link: refused", item->name);
	if (item->type == ARCHIVE_ITEM_OTHER)
		return st_error_set(ST_ERR_CORRUPT, "archive entry '%s' is a device, fifo or socket: refused", item->name);
	int rc = check_name(item->name);
	if (rc != 0)
		return rc;
	archive_entry *e = find(v->manifest, item->name);
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
	if (e->type == ARCHIVE_ITEM_SYMLINK && (item->target == NULL || strcmp(item->target, e->target) != 0))
		return st_error_set(ST_ERR_CORRUPT, "archive link '%s' does not match its manifest's target", e->path);
	*out = e;
	return 0;
}

int archive_verifier_next(archive_verifier *v, const archive_entry **out)
{
	if (v->current != NULL)
		return st_error_set(ST_ERR_GENERIC, "archive entry '%s' was not read to its end", v->current->path);
	archive_item item;
	int got = archive_reader_next(v->reader, &item);
	if (got <= 0)
		return got;
	archive_entry *e = NULL;
	int rc = check_item(v, &item, &e);
	if (rc != 0)
		return rc;
	if (e->type == ARCHIVE_ITEM_FILE) {
		v->current = e;
		v->current_bytes = 0;
		v->hasher = st_hasher_new();
	}
	*out = e;
	return 1;
}

/* The current file's end: its size and hash. */
static int end_of_file(archive_verifier *v)
{
	archive_entry *e = v->current;
	st_hash got;
	st_hasher_final(&got, v->hasher);
	v->hasher = NULL;
	v->current = NULL;
	if (v->current_bytes != (uint64_t)e->size)
		return st_error_set(ST_ERR_CORRUPT, "archive entry '%s' has %llu bytes, its manifest says %lld", e->path,
				    (unsigned long long)v->current_bytes, (long long)e->size);
	if (!st_hash_equal(&got, &e->hash))
		return st_error_set(ST_ERR_CORRUPT, "archive entry '%s' does not match its manifest's hash", e->path);
	return 0;
}

int archive_verifier_read(archive_verifier *v, void *buf, size_t cap, size_t *out_len)
{
	*out_len = 0;
	if (v->current == NULL)
		return 0;
	size_t n = 0;
	int rc = archive_reader_data(v->reader, buf, cap, &n);
	if (rc != 0)
		return rc;
	if (n == 0)
		return end_of_file(v);
	v->current_bytes += n;
	v->bytes += (int64_t)n;
	if (v->current_bytes > (uint64_t)v->current->size)
		return st_error_set(ST_ERR_CORRUPT, "archive entry '%s' is longer than its manifest says", v->current->path);
	st_hasher_update(v->hasher, buf, n);
	*out_len = n;
	return 0;
}

int archive_verifier_copy(archive_verifier *v, int (*read_piece)(void *ctx, const void *data, size_t len),
			  void *ctx)
{
	int rc = 0;
	for (size_t n = 1; rc == 0 && n > 0;) {
		rc = archive_verifier_read(v, v->piece, VERIFY_PIECE, &n);
		if (rc == 0 && n > 0 && read_piece != NULL)
			rc = read_piece(ctx, v->piece, n);
	}
	return rc;
}

typedef struct fd_sink {
	int fd;
	const char *what;
} fd_sink;

static int write_piece(void *ctx, const void *data, size_t len)
{
	const fd_sink *sink = ctx;
	return st_write_all(sink->fd, data, len, sink->what);
}

int archive_verifier_copy_to_fd(archive_verifier *v, int fd, const char *what)
{
	fd_sink sink = {.fd = fd, .what = what};
	return archive_verifier_copy(v, fd >= 0 ? write_piece : NULL, &sink);
}

int archive_verifier_finish(archive_verifier *v)
{
	for (size_t i = 0; i < v->manifest->count; i++) {
		if (!v->manifest->entries[i].seen)
			return st_error_set(ST_ERR_CORRUPT, "'%s' is in the manifest but missing from archive '%s'",
					    v->manifest->entries[i].path, v->input);
	}
	return 0;
}
