/*
 * container_format.h - the on-disk format of an AiiDA 2.x disk-objectstore container, for the
 * container source kind (source_container.c) and the restore that writes one
 * (engine/restore_container.c): one owner of its names, its config.json and its packs.idx.
 *
 * A container <C> holds config.json, loose/ (an object per file, <C>/loose/<key[0:p]>/<key[p:]>
 * with p its loose_prefix_len), packs/<N> (append-only files of objects, located through
 * packs.idx), duplicates/ and sandbox/. Objects are named by the sha256 hex of their
 * uncompressed bytes. packs.idx is an SQLite database with one table, db_object, as
 * disk-objectstore creates it (SQLAlchemy): hashkey, compressed, size (uncompressed), offset,
 * length (stored) and pack_id; only packed objects are in it.
 *
 * Everything read from a container (config.json, the index's rows) is untrusted: validated
 * here, each problem a one-line ST_ERR_SOURCE naming the file. Wraps SQLite for packs.idx (the
 * catalog's own SQLite wrapper is on the other side of the dependency line).
 */
#ifndef STRATA_SCANNER_CONTAINER_FORMAT_H
#define STRATA_SCANNER_CONTAINER_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An object key: the sha256 hex of its content. */
#define CONTAINER_KEY_LEN 64
/* Longest container_id (disk-objectstore writes uuid4 hex: 32). */
#define CONTAINER_ID_MAX 64
/* Largest config.json strata reads. */
#define CONTAINER_CONFIG_MAX 65536
/* Longest loose_prefix_len accepted. */
#define CONTAINER_PREFIX_MAX 8

typedef struct container_config {
	char container_id[CONTAINER_ID_MAX + 1];
	int loose_prefix_len;
	int64_t pack_size_target;
} container_config;

/* Parses and checks config.json's text: container_version 1, hash_type "sha256", a
 * compression_algorithm strata can read ("zlib+N"), loose_prefix_len 0..CONTAINER_PREFIX_MAX, a
 * positive pack_size_target, a container_id of 1..CONTAINER_ID_MAX letters, digits or '-'.
 * what names the text in errors; a bad one is ST_ERR_SOURCE. */
int container_config_parse(container_config *out, const char *text, const char *what);

/* Reads <dir>/config.json (at most CONTAINER_CONFIG_MAX bytes, never through a link) into *out_text
 * (caller frees) and parses it into out. */
int container_config_read(container_config *out, char **out_text, const char *dir);

/* Whether key is CONTAINER_KEY_LEN lowercase hex digits. */
bool container_key_valid(const char *key);

/* The loose object's path relative to the container, "loose/ab/cdef..." (cap >= 80). key must
 * be valid. */
void container_loose_path(char *out, size_t cap, const container_config *config, const char *key);

/* Whether container dir holds key as a loose object (*out_found) and its size (*out_size, when
 * found); not following a link. Something other than a regular file there is ST_ERR_SOURCE. */
int container_loose_stat(const char *dir, const container_config *config, const char *key, bool *out_found,
			 uint64_t *out_size);

/* Where a packed object is. */
typedef struct container_object {
	bool compressed; /* a zlib stream */
	uint64_t size;   /* uncompressed */
	uint64_t offset; /* in packs/<pack_id> */
	uint64_t length; /* stored */
	int64_t pack_id;
} container_object;

typedef struct container_index container_index;

/* Opens <dir>/packs.idx read-only; a container without one has no packed objects (every find
 * misses). Lookups may come from any thread. */
int container_index_open(container_index **out, const char *dir);

/* Looks key up: *out_found false when it is not packed. A row that makes no sense (negative or
 * oversized numbers, an uncompressed object whose size is not its length) is ST_ERR_SOURCE. */
int container_index_find(container_index *idx, const char *key, container_object *out, bool *out_found);

/* Creates <dir>/packs.idx (which must not exist; never through a link) with disk-objectstore's
 * schema, in WAL mode, and opens a transaction for container_index_add. */
int container_index_create(container_index **out, const char *dir);

/* Adds a row (writer only). */
int container_index_add(container_index *idx, const char *key, const container_object *obj);

/* Builds the hashkey index over the rows added and commits them (writer only). */
int container_index_commit(container_index *idx);

/* Closes the index; NULL is allowed. An uncommitted transaction is rolled back. */
void container_index_close(container_index *idx);

#endif
