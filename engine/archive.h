/*
 * archive.h - tar archives (plain, gzip, zstd) written entry by entry: the only place that
 * includes libarchive.
 *
 * A writer streams to a file or to standard output ("-"); entries go out in the order they are
 * added, so an entry added first (a manifest) is what a streaming reader sees first. Files are
 * copied from a descriptor in bounded pieces, or handed over piece by piece by the caller:
 * memory stays flat whatever their size. Names are '/'-separated relative paths; the caller
 * validates them. No libarchive type leaves this module.
 */
#ifndef STRATA_ENGINE_ARCHIVE_H
#define STRATA_ENGINE_ARCHIVE_H

#include <stdint.h>
#include <sys/types.h>

typedef enum archive_kind {
	ARCHIVE_KIND_TAR,
	ARCHIVE_KIND_TAR_GZ,
	ARCHIVE_KIND_TAR_ZST,
} archive_kind;

typedef struct archive_writer archive_writer;

/* The kind a name says: "tar", "tar.gz", "tar.zst" (a format name), or a file name ending in
 * .tar, .tar.gz/.tgz, .tar.zst/.tzst. ST_ERR_USAGE naming it when it says none. */
int archive_kind_parse(archive_kind *out, const char *name, int is_file_name);

/* Opens a writer of kind onto path ("-": standard output). Caller frees with
 * archive_writer_free. An unopenable path is ST_ERR_TARGET. */
int archive_writer_new(archive_writer **out, const char *path, archive_kind kind);

/* Adds a regular file name of size bytes read from fd (from its current offset); a file that
 * comes up short is ST_ERR_SOURCE. */
int archive_writer_add_file(archive_writer *w, const char *name, mode_t mode, int64_t mtime_ns, int fd,
			    uint64_t size);

/* Starts a regular file name of size bytes, whose content the caller then hands to
 * archive_writer_write in pieces of any size, exactly size bytes in all, before the next entry
 * (libarchive pads a short entry with zeros and cuts a long one: the caller counts). */
int archive_writer_begin_file(archive_writer *w, const char *name, mode_t mode, int64_t mtime_ns, uint64_t size);
int archive_writer_write(archive_writer *w, const void *data, size_t len);

int archive_writer_add_dir(archive_writer *w, const char *name, mode_t mode, int64_t mtime_ns);
int archive_writer_add_symlink(archive_writer *w, const char *name, const char *target, int64_t mtime_ns);

/* Writes the archive's end and closes it; a failure (a full disk) is reported here. */
int archive_writer_close(archive_writer *w);

/* Frees w (closing it first if archive_writer_close was not called; errors then are lost). */
void archive_writer_free(archive_writer *w);

/* ---- reading: untrusted input ---- */

typedef struct archive_reader archive_reader;

typedef enum archive_item_type {
	ARCHIVE_ITEM_FILE,
	ARCHIVE_ITEM_DIR,
	ARCHIVE_ITEM_SYMLINK,
	ARCHIVE_ITEM_HARDLINK,
	ARCHIVE_ITEM_OTHER,   /* a device, fifo, socket: never created */
} archive_item_type;

/* One entry's header; name and target are borrowed until the next archive_reader_next. */
typedef struct archive_item {
	const char *name;
	const char *target;   /* links */
	archive_item_type type;
	mode_t mode;          /* permission bits */
	int64_t mtime_ns;
	int64_t size;         /* what the header claims (files) */
} archive_item;

/* Opens a tar archive (plain, gzip, zstd: the filter is recognised) from path ("-": standard
 * input). A missing or unreadable file is ST_ERR_NOTFOUND; one that starts with no tar archive
 * (or a truncated compressed stream) is ST_ERR_CORRUPT. */
int archive_reader_new(archive_reader **out, const char *path);

/* Reads the next header into *out: 1, or 0 at the end; a damaged or truncated archive is
 * ST_ERR_CORRUPT naming it. */
int archive_reader_next(archive_reader *r, archive_item *out);

/* Reads up to cap bytes of the current entry's data: *out_len is 0 at its end. */
int archive_reader_data(archive_reader *r, void *buf, size_t cap, size_t *out_len);

void archive_reader_free(archive_reader *r);

/* Opens a reader over size bytes of memory (borrowed), for the fuzz target. */
int archive_reader_new_memory(archive_reader **out, const void *data, size_t size);

#endif
