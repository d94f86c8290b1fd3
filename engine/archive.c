/*
 * archive.c - tar archives through libarchive (see archive.h).
 */
#include "engine/archive.h"

#include "common/error.h"
#include "common/mem.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Pieces a file is copied in: the writer's memory does not depend on file sizes. */
#define ARCHIVE_COPY_PIECE ((size_t)256 << 10)

struct archive_writer {
	struct archive *a;
	struct archive_entry *entry;
	char *path;
	unsigned char *piece;
	int closed;
};

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int archive_kind_parse(archive_kind *out, const char *name, int is_file_name)
{
	static const struct {
		const char *format;
		const char *suffix;
		archive_kind kind;
	} kinds[] = {
		{"tar.zst", ".tar.zst", ARCHIVE_KIND_TAR_ZST}, {"tar.zst", ".tzst", ARCHIVE_KIND_TAR_ZST},
		{"tar.gz", ".tar.gz", ARCHIVE_KIND_TAR_GZ},    {"tar.gz", ".tgz", ARCHIVE_KIND_TAR_GZ},
		{"tar", ".tar", ARCHIVE_KIND_TAR},
	};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (is_file_name ? ends_with(name, kinds[i].suffix) : strcmp(name, kinds[i].format) == 0) {
			*out = kinds[i].kind;
			return 0;
		}
	}
	if (is_file_name)
		return st_error_set(ST_ERR_USAGE, "cannot tell the format of '%s' from its name (.tar, .tar.gz or "
				    ".tar.zst; or give --format)", name);
	return st_error_set(ST_ERR_USAGE, "unknown archive format '%s' (tar, tar.gz or tar.zst)", name);
}

/* The writer's error as ours: ENOSPC stays a full disk. */
static int writer_error(archive_writer *w, const char *doing)
{
	int err = archive_errno(w->a);
	const char *msg = archive_error_string(w->a);
	if (err == ENOSPC || err == EDQUOT)
		return st_error_set_errno(ST_ERR_NOSPACE, err, "unable to write archive '%s'", w->path);
	return st_error_set(ST_ERR_TARGET, "unable to %s archive '%s': %s", doing, w->path,
			    msg != NULL ? msg : "unknown error");
}

int archive_writer_new(archive_writer **out, const char *path, archive_kind kind)
{
	archive_writer *w = st_calloc(1, sizeof *w);
	int rc = 0;
	w->path = st_strdup(path);
	w->piece = st_malloc(ARCHIVE_COPY_PIECE);
	w->a = archive_write_new();
	w->entry = archive_entry_new();
	if (w->a == NULL || w->entry == NULL) {
		rc = st_error_set(ST_ERR_GENERIC, "unable to start archive '%s'", path);
		goto cleanup;
	}
	/* pax (not restricted: that drops sub-second mtimes): long names, nanosecond mtimes, large
	 * sizes, and stock tar reads it. */
	/* Names are bytes (a node's file names need not be UTF-8, nor the locale know them):
	 * hdrcharset=BINARY writes them as they are, never translated. */
	if (archive_write_set_format_pax(w->a) != ARCHIVE_OK ||
	    archive_write_set_format_option(w->a, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK ||
	    (kind == ARCHIVE_KIND_TAR_GZ && archive_write_add_filter_gzip(w->a) != ARCHIVE_OK) ||
	    (kind == ARCHIVE_KIND_TAR_ZST && archive_write_add_filter_zstd(w->a) != ARCHIVE_OK) ||
	    archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK) {
		rc = writer_error(w, "set up");
		goto cleanup;
	}
	int opened = strcmp(path, "-") == 0 ? archive_write_open_fd(w->a, STDOUT_FILENO)
					      : archive_write_open_filename(w->a, path);
	if (opened != ARCHIVE_OK) {
		rc = writer_error(w, "open");
		goto cleanup;
	}
	*out = w;
	w = NULL;
cleanup:
	if (w != NULL) {
		w->closed = 1;
		archive_writer_free(w);
	}
	return rc;
}

/* Starts an entry's header; the caller adds the type's own fields. */
static void entry_begin(archive_writer *w, const char *name, mode_t type, mode_t mode, int64_t mtime_ns)
{
	archive_entry_clear(w->entry);
	archive_entry_set_pathname(w->entry, name);
	archive_entry_set_filetype(w->entry, (unsigned)type);
	archive_entry_set_perm(w->entry, mode & 07777);
	archive_entry_set_mtime(w->entry, (time_t)(mtime_ns / 1000000000), (long)(mtime_ns % 1000000000));
}

static int entry_write_header(archive_writer *w)
{
	if (archive_write_header(w->a, w->entry) != ARCHIVE_OK)
		return writer_error(w, "write");
	return 0;
}

static int write_data(archive_writer *w, const void *data, size_t len)
{
	if (len > 0 && archive_write_data(w->a, data, len) != (la_ssize_t)len)
		return writer_error(w, "write");
	return 0;
}

int archive_writer_begin_file(archive_writer *w, const char *name, mode_t mode, int64_t mtime_ns, uint64_t size)
{
	entry_begin(w, name, AE_IFREG, mode, mtime_ns);
	archive_entry_set_size(w->entry, (la_int64_t)size);
	return entry_write_header(w);
}

int archive_writer_write(archive_writer *w, const void *data, size_t len)
{
	return write_data(w, data, len);
}

int archive_writer_add_file(archive_writer *w, const char *name, mode_t mode, int64_t mtime_ns, int fd,
			    uint64_t size)
{
	int rc = archive_writer_begin_file(w, name, mode, mtime_ns, size);
	uint64_t left = size;
	while (rc == 0 && left > 0) {
		size_t want = left < ARCHIVE_COPY_PIECE ? (size_t)left : ARCHIVE_COPY_PIECE;
		ssize_t got = read(fd, w->piece, want);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			rc = got < 0 ? st_error_set_errno(ST_ERR_SOURCE, errno, "unable to read '%s'", name)
				     : st_error_set(ST_ERR_SOURCE, "'%s' is shorter than its %llu bytes", name,
						    (unsigned long long)size);
			break;
		}
		rc = write_data(w, w->piece, (size_t)got);
		left -= (uint64_t)got;
	}
	return rc;
}

int archive_writer_add_dir(archive_writer *w, const char *name, mode_t mode, int64_t mtime_ns)
{
	entry_begin(w, name, AE_IFDIR, mode, mtime_ns);
	return entry_write_header(w);
}

int archive_writer_add_symlink(archive_writer *w, const char *name, const char *target, int64_t mtime_ns)
{
	entry_begin(w, name, AE_IFLNK, 0777, mtime_ns);
	archive_entry_set_symlink(w->entry, target);
	return entry_write_header(w);
}

int archive_writer_close(archive_writer *w)
{
	w->closed = 1;
	if (archive_write_close(w->a) != ARCHIVE_OK)
		return writer_error(w, "finish");
	return 0;
}

void archive_writer_free(archive_writer *w)
{
	if (w == NULL)
		return;
	if (w->a != NULL) {
		if (!w->closed)
			archive_write_close(w->a);
		archive_write_free(w->a);
	}
	if (w->entry != NULL)
		archive_entry_free(w->entry);
	free(w->piece);
	free(w->path);
	free(w);
}

struct archive_reader {
	struct archive *a;
	char *path;
	char *name;   /* the current entry's name, a folder's without its trailing '/' */
};

static int reader_error(archive_reader *r, const char *doing)
{
	const char *msg = archive_error_string(r->a);
	return st_error_set(ST_ERR_CORRUPT, "unable to %s archive '%s': %s", doing, r->path,
			    msg != NULL ? msg : "truncated or damaged");
}

static int reader_open(archive_reader **out, const char *path, const void *data, size_t size)
{
	archive_reader *r = st_calloc(1, sizeof *r);
	int rc = 0;
	r->path = st_strdup(path);
	r->a = archive_read_new();
	if (r->a == NULL) {
		rc = st_error_set(ST_ERR_GENERIC, "unable to start reading '%s'", path);
		goto cleanup;
	}
	/* tar only (with the compressions export writes): no other format's parser is exposed. */
	archive_read_support_format_tar(r->a);
	archive_read_support_filter_gzip(r->a);
	archive_read_support_filter_zstd(r->a);
	int opened = data != NULL ? archive_read_open_memory(r->a, data, size)
		     : strcmp(path, "-") == 0 ? archive_read_open_fd(r->a, STDIN_FILENO, ARCHIVE_COPY_PIECE)
					       : archive_read_open_filename(r->a, path, ARCHIVE_COPY_PIECE);
	if (opened != ARCHIVE_OK) {
		const char *msg = archive_error_string(r->a);
		int err = archive_errno(r->a);
		/* A file that is not there is not found; one whose start is no archive is corrupt. */
		bool missing = data == NULL && (err == ENOENT || err == EACCES || err == ENOTDIR || err == EISDIR);
		rc = st_error_set(missing ? ST_ERR_NOTFOUND : ST_ERR_CORRUPT, "unable to open archive '%s': %s",
				  path, msg != NULL ? msg : "unknown error");
		goto cleanup;
	}
	*out = r;
	r = NULL;
cleanup:
	archive_reader_free(r);
	return rc;
}

int archive_reader_new(archive_reader **out, const char *path)
{
	return reader_open(out, path, NULL, 0);
}

int archive_reader_new_memory(archive_reader **out, const void *data, size_t size)
{
	static const char empty;
	return reader_open(out, "(memory)", size > 0 ? data : &empty, size);
}

static archive_item_type item_type(struct archive_entry *e)
{
	if (archive_entry_hardlink(e) != NULL)
		return ARCHIVE_ITEM_HARDLINK;
	switch (archive_entry_filetype(e)) {
	case AE_IFREG: return ARCHIVE_ITEM_FILE;
	case AE_IFDIR: return ARCHIVE_ITEM_DIR;
	case AE_IFLNK: return ARCHIVE_ITEM_SYMLINK;
	default: return ARCHIVE_ITEM_OTHER;
	}
}

int archive_reader_next(archive_reader *r, archive_item *out)
{
	struct archive_entry *e = NULL;
	int got = archive_read_next_header(r->a, &e);
	if (got == ARCHIVE_EOF)
		return 0;
	if (got != ARCHIVE_OK && got != ARCHIVE_WARN)
		return reader_error(r, "read");
	memset(out, 0, sizeof *out);
	const char *name = archive_entry_pathname(e);
	if (name == NULL)
		return st_error_set(ST_ERR_CORRUPT, "archive '%s' has an entry without a name", r->path);
	free(r->name);
	r->name = st_strdup(name);
	out->type = item_type(e);
	size_t len = strlen(r->name);
	if (out->type == ARCHIVE_ITEM_DIR && len > 1 && r->name[len - 1] == '/')
		r->name[len - 1] = '\0';
	out->name = r->name;
	out->target = out->type == ARCHIVE_ITEM_HARDLINK ? archive_entry_hardlink(e) : archive_entry_symlink(e);
	out->mode = (mode_t)(archive_entry_perm(e) & 07777);
	out->mtime_ns = (int64_t)archive_entry_mtime(e) * 1000000000 + archive_entry_mtime_nsec(e);
	out->size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
	return 1;
}

int archive_reader_data(archive_reader *r, void *buf, size_t cap, size_t *out_len)
{
	la_ssize_t n = archive_read_data(r->a, buf, cap);
	if (n < 0)
		return reader_error(r, "read");
	*out_len = (size_t)n;
	return 0;
}

void archive_reader_free(archive_reader *r)
{
	if (r == NULL)
		return;
	if (r->a != NULL)
		archive_read_free(r->a);
	free(r->name);
	free(r->path);
	free(r);
}
