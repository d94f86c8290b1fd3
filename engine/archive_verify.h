/*
 * archive_verify.h - an exported archive (export.h) read as untrusted input: its manifest, then
 * every entry checked against it. restore --from-archive (archive_restore.h) and import
 * (import.h) read archives through this module and nothing else.
 *
 * The first entry must be manifest.json (at most ARCHIVE_MANIFEST_MAX bytes); every later entry
 * must be listed there with the same type, every file must have the listed size and XXH3-128
 * hash, every link the listed target. An entry listed twice or not listed, a listed entry the
 * archive lacks, a hard link, a device, fifo or socket, a name that is absolute or has an empty,
 * '.' or '..' component, or lies outside repository/ and database/, a truncated or damaged
 * stream: each is ST_ERR_CORRUPT naming it. A file's data is checked as it is read: more bytes
 * than listed fail at once, fewer or a different hash fail when its end is read. The manifest's
 * other members (profile, db_info, nodes, ...) are left to the caller, as a JSON document.
 */
#ifndef STRATA_ENGINE_ARCHIVE_VERIFY_H
#define STRATA_ENGINE_ARCHIVE_VERIFY_H

#include "engine/archive.h"

#include "common/hash.h"
#include "common/json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARCHIVE_MANIFEST_MAX ((size_t)1 << 30)

/* One entry the manifest lists; names checked as above. */
typedef struct archive_entry {
	char *path;
	archive_item_type type;  /* FILE, DIR or SYMLINK */
	int64_t size;            /* files */
	st_hash hash;            /* files */
	char *target;            /* links */
	mode_t mode;             /* permission bits */
	int64_t mtime_ns;
	bool seen;               /* the archive held it (set by the verifier) */
} archive_entry;

typedef struct archive_manifest archive_manifest;

/* Parses and validates a manifest's text: ST_ERR_CORRUPT naming what is wrong. */
int archive_manifest_parse(archive_manifest **out, const char *text, size_t len);
void archive_manifest_free(archive_manifest *m);

/* The manifest's entries, sorted by path (strcmp), borrowed. */
size_t archive_manifest_count(const archive_manifest *m);
const archive_entry *archive_manifest_entry(const archive_manifest *m, size_t i);
/* The entry of path, or NULL. */
const archive_entry *archive_manifest_find(const archive_manifest *m, const char *path);
int64_t archive_manifest_snapshot_id(const archive_manifest *m);
/* The whole document (borrowed), for the members this module does not read. */
const st_json *archive_manifest_document(const archive_manifest *m);
/* Member key of the document when it is an object (profile, db_info), as text (caller frees);
 * NULL otherwise. */
char *archive_manifest_object_text(const archive_manifest *m, const char *key);

typedef struct archive_verifier archive_verifier;

/* Opens the archive at input ("-": standard input) and reads its manifest; what names it in
 * messages. */
int archive_verifier_open(archive_verifier **out, const char *input);
const archive_manifest *archive_verifier_manifest(const archive_verifier *v);

/* The next entry, checked against the manifest: 1 with *out set (borrowed), 0 at the end. */
int archive_verifier_next(archive_verifier *v, const archive_entry **out);

/* Reads up to cap bytes of the current file entry; *out_len 0 at its end, where its size and
 * hash are checked. */
int archive_verifier_read(archive_verifier *v, void *buf, size_t cap, size_t *out_len);

/* Reads the current file's data into read_piece (which may write it somewhere; NULL: only
 * checked), in pieces, to its end. */
int archive_verifier_copy(archive_verifier *v, int (*read_piece)(void *ctx, const void *data, size_t len),
			  void *ctx);

/* archive_verifier_copy into fd (-1: only checked); what names fd in messages. */
int archive_verifier_copy_to_fd(archive_verifier *v, int fd, const char *what);

/* At the end: every entry the manifest lists was in the archive. */
int archive_verifier_finish(archive_verifier *v);

/* Bytes of file data read so far. */
int64_t archive_verifier_bytes(const archive_verifier *v);

void archive_verifier_free(archive_verifier *v);

#endif
