/*
 * dest.h - a backup destination: its identity, its catalog and its lock, over a backend.
 *
 * A destination is a backend (backend.h: the local directory now, object storage later) that
 * holds a marker (BACKEND_MARKER_NAME: "strata destination", format and a random destination
 * id), a catalog (SQLite, WAL) and pack files. Only the backend knows where each of them is;
 * dest asks it. Nothing in a destination needs to be parsed by hand. A destination without the
 * marker is refused: an empty one as "not initialised", anything else as "not a strata
 * destination".
 */
#ifndef STRATA_CATALOG_DEST_H
#define STRATA_CATALOG_DEST_H

#include "catalog/backend.h"
#include "catalog/catalog.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct dest dest;

typedef enum dest_mode {
	DEST_READ,  /* list, restore, check: no lock, the catalog is read */
	DEST_WRITE  /* backup: takes the exclusive lock first */
} dest_mode;

/* Creates a destination at path: a new directory, or an existing empty one; or, for
 * "s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]", an empty prefix of an existing bucket. The same
 * naming holds for dest_open. */
int dest_init(const char *path);

/* Creates a destination on backend b (borrowed). */
int dest_init_backend(backend *b, const char *what);

/* Opens the destination at path; in DEST_WRITE mode fails with ST_ERR_LOCKED when another
 * run holds the lock. */
int dest_open(dest **out, const char *path, dest_mode mode);

/* The same, waiting up to wait_seconds for the lock (0: not at all; negative: without limit);
 * the message of a lock still held after the wait names its holder. An interrupt (SIGINT,
 * SIGTERM) ends the wait. */
int dest_open_wait(dest **out, const char *path, dest_mode mode, int64_t wait_seconds);
int dest_open_backend_wait(dest **out, backend *b, const char *what, dest_mode mode, int64_t wait_seconds);

/* How often a waiting run tries the lock again. */
#define DEST_LOCK_RETRY_MS 200

/* Opens the destination on backend b, which it then owns (also on failure); what names it in
 * messages. */
int dest_open_backend(dest **out, backend *b, const char *what, dest_mode mode);

/* Releases the lock, closes the catalog and frees the backend. NULL is allowed. */
void dest_close(dest *d);

catalog *dest_catalog(dest *d);
backend *dest_backend(dest *d);
/* What the user called the destination (its path), for messages. */
const char *dest_path(const dest *d);

/* Makes what the catalog has committed the destination's catalog, on a backend that keeps a
 * local copy (an object store): one conditional upload, refused (ST_ERR_LOCKED) when another
 * writer published in between. Call in DEST_WRITE mode after each commit that must be seen
 * (a snapshot's completion, a forget); nothing to do on a local directory. */
int dest_publish(dest *d);

/* A fresh pack name (16 random hex digits and ".pack") in out. */
void dest_new_pack_name(char out[17 + 5]);

/* Opens one more connection to the catalog, for reading from another thread. */
int dest_open_reader(dest *d, catalog **out);

/* A local folder for a job's scratch files (caller frees), and the removal of what killed
 * runs left in it (only in DEST_WRITE mode, under the lock). */
int dest_scratch_dir(dest *d, char **out);
int dest_clean_scratch(dest *d);

#endif
