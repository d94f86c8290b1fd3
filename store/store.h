/*
 * store.h - the object store: the only way in and out of stored content (modelled on libgit2's
 * odb).
 *
 * Content is addressed by its XXH3-128 hash. Putting content hashes it, skips it when the
 * destination already holds it (or this session already claimed it), cuts content larger than
 * STORE_CHUNK_SIZE into chunk objects, compresses each object with zstd (or keeps it raw where
 * that does not pay), appends it to a pack, and - when the pack is sealed - stages the objects
 * in the catalog. Getting content reads it back from its pack and checks every object's hash
 * and the whole content's hash. Callers see hashes and catalog_blob/catalog_entry descriptions
 * only: pack locations, codecs and record headers stay in here.
 *
 * Durability: a pack is sealed (made durable by the backend) before its objects enter the
 * catalog, and staged objects are found only once published in the transaction that
 * completes a snapshot. A pack is due for sealing when it is full or has been open for the
 * seal interval (STORE_SEAL_SECONDS), so a killed run loses seconds of work, not a pack's
 * worth; the next run publishes the staged objects of its sealed packs and reuses them. A pack that was never sealed (a killed run) is an orphan that
 * store_remove_orphans() deletes; its content is simply stored again.
 *
 * Threads: store_claim, store_put/store_put_fd with a sink, store_object_encode, store_has and every
 * store_get* may run on many threads at once. Appending, sealing, flushing, publishing and the
 * synchronous puts belong to one writer thread at a time (they use the destination's catalog
 * connection). A backup's pipeline splits a put in three: the I/O workers read, hash and claim
 * (store_put_fd with a sink), the compressors encode (store_object_encode), the writer appends
 * (store_append).
 */
#ifndef STRATA_STORE_STORE_H
#define STRATA_STORE_STORE_H

#include "catalog/catalog.h"
#include "catalog/dest.h"
#include "common/hash.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Content larger than this is stored as chunks of this size (the last one shorter). */
#define STORE_CHUNK_SIZE ((size_t)4 << 20)
/* A pack is sealed once it reaches this size. */
#define STORE_PACK_TARGET ((uint64_t)64 << 20)
/* ...or once it has been open this long (seconds), so that a killed run loses only the last
 * seconds of its work, not everything since its last full pack. */
#define STORE_SEAL_SECONDS 5.0
#define STORE_DEFAULT_LEVEL 3

typedef struct store store;

/* New content on its way from a reader to the writer: hashed, claimed, not yet stored. */
typedef struct store_object store_object;

typedef struct store_options {
	int compression_level; /* zstd level; 0 for STORE_DEFAULT_LEVEL */
	catalog **readers;     /* extra catalog connections (borrowed) for lookups from many
				* threads; NULL: the destination's own connection */
	int reader_count;
	double seal_seconds;   /* seal a pack open this long; 0 for STORE_SEAL_SECONDS */
} store_options;

typedef struct store_stats {
	int64_t objects_new;  /* objects this session stored */
	int64_t bytes_new;    /* their raw size */
	int64_t stored_bytes; /* bytes appended to packs */
	int64_t packs_sealed;
} store_stats;

/* Opens the store of destination d (borrowed; it must outlive the store). options may be NULL. */
int store_open(store **out, dest *d, const store_options *options);

/* Frees the store. An unsealed pack is abandoned: an orphan for store_remove_orphans. */
void store_free(store *s);

void store_get_stats(const store *s, store_stats *out);

/* Frees this thread's codec contexts (call before a thread that encoded or read ends). */
void store_thread_release(void);

/* Number of chunk objects content of size bytes is stored as; 0 when it is one object. */
size_t store_chunk_count(uint64_t size);

/* ---- putting content ---- */

/* Where store_put_fd hands new content; every hook may be NULL but send. */
typedef struct store_sink {
	/* Takes ownership of obj, also on failure. */
	int (*send)(void *ctx, store_object *obj);
	/* A memory budget: reserve before a piece is read, release when it was not new. */
	void (*reserve)(void *ctx, size_t len);
	void (*release)(void *ctx, size_t len);
	void *ctx;
} store_sink;

/* Where store_put reads content from: read fills exactly len bytes (the next ones) or fails
 * with an error recorded. */
typedef struct store_reader {
	int (*read)(void *ctx, void *buf, size_t len);
	void *ctx;
} store_reader;

/* Reads size bytes from reader piece by piece, hashes and claims each piece, and hands the new
 * ones to sink - or, with sink NULL, stores them at once (writer thread only). *out_hash is the
 * whole content's hash; chunks (store_chunk_count(size) slots) receives the chunk hashes. */
int store_put(store *s, const store_reader *reader, uint64_t size, const store_sink *sink, st_hash *out_hash,
	      st_hash *chunks);

/* store_put from fd, from offset 0 (what names it); a read that fails or comes up short is
 * ST_ERR_SOURCE. */
int store_put_fd(store *s, int fd, uint64_t size, const char *what, const store_sink *sink, st_hash *out_hash,
		 st_hash *chunks);

/* Stores the file at path (writer thread); out->chunks (when any) is owned by the caller. */
int store_put_file(store *s, const char *path, catalog_blob *out);

/* Stores len bytes of data (at most STORE_CHUNK_SIZE) as one object (writer thread). */
int store_put_buffer(store *s, const void *data, size_t len, st_hash *out_hash);

/* Whether hash is new to the destination and this session; a true *out_new means the caller
 * now holds the claim and must store the content. */
int store_claim(store *s, const st_hash *hash, bool *out_new);

/* *out is true when the destination holds hash as a published object. */
int store_has(store *s, const st_hash *hash, bool *out);

/* Compresses obj (a compressor thread); store_append does it when nobody did. */
int store_object_encode(store_object *obj);

/* The raw size of obj: what a memory budget holds for it. */
size_t store_object_size(const store_object *obj);
void store_object_free(store_object *obj);

/* Appends obj to the open pack (writer thread; obj stays the caller's). *out_stored is what it
 * added to the pack; *out_full is true once the pack should be sealed: it reached
 * STORE_PACK_TARGET or has been open for the seal interval (store_options.seal_seconds). */
int store_append(store *s, store_object *obj, uint64_t *out_stored, bool *out_full);

/* Whether a pack is open; if so, *out_seconds is the time left before its seal interval ends
 * (<= 0: it is due now). A writer that waits for work seals a due pack even when nothing new
 * arrives (writer thread). */
bool store_seal_due_in(const store *s, double *out_seconds);

/* Seals the open pack, if any, and stages its objects in the catalog, inside the caller's
 * catalog transaction (so the catalog never names bytes a crash could lose). *out_sealed (may
 * be NULL) is true when a pack was sealed. */
int store_seal(store *s, bool *out_sealed);

/* store_seal in a transaction of its own, or in the caller's when one is open (prune). */
int store_flush(store *s);

/* store_flush when the open pack's seal interval has ended; nothing otherwise. */
int store_flush_if_due(store *s);

/* Makes every staged object findable; run in the transaction that completes a snapshot. */
int store_publish(store *s);

/* Removes packs the catalog does not list: leftovers of a killed run (under the write lock).
 * *out_removed counts them. */
int store_remove_orphans(store *s, int *out_removed);

/* ---- pruning (store_prune.c) ----
 *
 * After catalog_prune_mark, inside the writer's transaction (catalog.h, "prune"). */

typedef struct store_prune_plan {
	int64_t packs;          /* packs in the destination */
	uint64_t total_bytes;   /* their size */
	int64_t *pack_ids;      /* delete_count packs to delete, then rewrite_count to rewrite */
	size_t delete_count, rewrite_count;
	int64_t rewrite_objects; /* live objects the rewrite copies */
	uint64_t rewrite_bytes;  /* and the bytes they occupy */
	uint64_t freed_bytes;    /* what deleting and rewriting gives back */
	uint64_t unused_after;   /* unused bytes left in the packs that stay as they are */
} store_prune_plan;

/* Decides: packs that hold no live object are deleted; of the rest, those with the largest
 * unused share are rewritten until at most max_unused (a fraction) of what stays is unused.
 * Packs from first_new_pack on (the ones this run wrote, all live) are left out, so that a
 * dry run, which writes none, decides the same. */
int store_prune_decide(store *s, double max_unused, int64_t first_new_pack, store_prune_plan *out);
void store_prune_plan_release(store_prune_plan *plan);

/* Copies the live objects of the packs plan rewrites into new packs (read back and checked,
 * written, sealed, staged in the caller's transaction); catalog_prune_apply then moves the
 * objects to them. */
int store_prune_rewrite(store *s, const store_prune_plan *plan);

/* ---- getting content (any thread) ---- */

/* The object hash into a new buffer (caller frees); ST_ERR_NOTFOUND when it is not stored. */
int store_get(store *s, const st_hash *hash, void **out, size_t *out_len);

/* Writes content to fd, checking every object and the whole content against their hashes;
 * what names the target in errors. Missing content is ST_ERR_CORRUPT. */
int store_get_to_fd(store *s, int fd, const catalog_blob *content, const char *what);

/* Like store_get_to_fd for a file of a snapshot's tree, whose objects the tree iterator has
 * already located. */
int store_get_entry_to_fd(store *s, int fd, const catalog_tree_entry *entry, const char *what);

/* Where store_get_entry_to_writer hands content, piece by piece in order: write takes len
 * bytes (what names the content, for messages) or fails with an error recorded. */
typedef struct store_writer {
	int (*write)(void *ctx, const void *buf, size_t len, const char *what);
	void *ctx;
} store_writer;

/* store_get_entry_to_fd into out: every piece is checked against its hash before out sees it,
 * the whole content's hash once the last piece went out (an error then means out received
 * content that is not the one backed up). */
int store_get_entry_to_writer(store *s, const store_writer *out, const catalog_tree_entry *entry, const char *what);

/* Writes content to a new file at path (created or truncated, mode 0600). */
int store_get_to_path(store *s, const catalog_blob *content, const char *path);

/* ---- checking ---- */

typedef void (*store_report_fn)(void *ctx, const char *problem);

/* Checks that every pack the catalog lists exists, is at least as long as recorded and has a
 * valid header; each problem goes to report. *out_packs counts the packs. */
int store_check_packs(store *s, store_report_fn report, void *ctx, int64_t *out_packs);

/* The ids of every pack (caller frees), for store_verify_pack. */
int store_pack_ids(store *s, int64_t **out, size_t *out_count);

/* Reads back every object of pack_id in offset order, decoding and hashing it; each problem
 * goes to report. Adds to *out_objects and *out_bytes (stored bytes read). May run on many
 * threads, one pack each. */
int store_verify_pack(store *s, int64_t pack_id, store_report_fn report, void *ctx, int64_t *out_objects,
		      int64_t *out_bytes);

#endif
