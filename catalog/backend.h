/*
 * backend.h - destination backends: every byte read from or written to a destination goes
 * through one of these.
 *
 * A backend is a `static const` table of operations (backend_ops) plus a `void *` driver, in
 * the style of pgBackRest's src/storage/storage.intern.h. Callers name what they read or write
 * by a space and a name within it (a pack name chosen by the store, or a well-known name such
 * as BACKEND_MARKER_NAME); only the driver turns that into a file, a folder or an object key.
 * Every operation returns 0 or a negative st_error_kind with the error record set.
 *
 * The local-directory backend (backend_local_new) lays a destination out as:
 *   strata.dest   the marker (BACKEND_SPACE_META)
 *   catalog.db    the SQLite catalog (backend_catalog_path)
 *   packs/        pack files (BACKEND_SPACE_PACKS)
 *   tmp/          scratch space of a running job (backend_scratch_dir)
 *   lock          flock()ed by the one run that may write (backend_lock)
 *
 * Mapping to an object store with the S3 API (a later backend; engine and store stay as they
 * are):
 *   open for read / read a range  HEAD for the size, then ranged GET (Range: bytes=a-b) per read;
 *   create and append             bytes are buffered in a local spool file: nothing is
 *                                 visible yet;
 *   sync                          the PUT (above 32 MiB: a multipart upload of the spool file,
 *                                 parts in parallel) of the sealed pack: after
 *                                 it returns the object is durable and, under the write lock,
 *                                 only then may the catalog name its objects;
 *   rename atomically             PUT of the new object (objects appear whole or not at all),
 *                                 used for the marker; a copy + delete where a rename is needed;
 *   list / remove                 ListObjectsV2 under the space's prefix / DELETE;
 *   lock                          PUT of a lock object with If-None-Match: * (fails with 412
 *                                 when another run holds it), DELETE on unlock; a stale lock
 *                                 carries the holder's id and time for a clear message;
 *   catalog path                  SQLite needs a local file: the backend keeps a local copy,
 *                                 downloaded at open, and publishes it after each commit of a
 *                                 snapshot with a conditional PUT (If-Match: the ETag it
 *                                 downloaded), so two writers can never both win;
 *   scratch dir                   a local temporary directory (never in the bucket).
 * backend_s3.c is that backend; its header comment gives its layout and its local cache.
 */
#ifndef STRATA_CATALOG_BACKEND_H
#define STRATA_CATALOG_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The marker that says "this is a strata destination" (in BACKEND_SPACE_META). */
#define BACKEND_MARKER_NAME "strata.dest"

typedef enum backend_space {
	BACKEND_SPACE_META = 0, /* small well-known objects: the marker */
	BACKEND_SPACE_PACKS = 1 /* pack files, named by the store */
} backend_space;

typedef struct backend backend;
typedef struct backend_read backend_read;
typedef struct backend_write backend_write;

/* The operations a driver provides. Handles (void *) belong to the driver. */
typedef struct backend_ops {
	const char *kind; /* "local", ... */
	/* Opens name for reading; *out_size is its size. A missing object is ST_ERR_NOTFOUND. */
	int (*open_read)(void *driver, backend_space space, const char *name, void **out, uint64_t *out_size);
	/* Reads exactly len bytes at offset; reading past the end is ST_ERR_CORRUPT. */
	int (*read_range)(void *driver, void *handle, void *buf, size_t len, uint64_t offset);
	void (*close_read)(void *driver, void *handle);
	/* Creates name, which must not exist, for appending. */
	int (*create)(void *driver, backend_space space, const char *name, void **out);
	int (*append)(void *driver, void *handle, const void *data, size_t len);
	/* Makes what was appended durable and visible under its name. */
	int (*sync)(void *driver, void *handle);
	/* Closes a written object (synced or not: an unsynced one may be lost, or stay as an
	 * orphan). Returns an error only for a close that lost data. */
	int (*close_write)(void *driver, void *handle);
	/* Replaces to with from, atomically (readers see one or the other), durably. */
	int (*rename)(void *driver, backend_space space, const char *from, const char *to);
	/* The names in space (caller frees each and the array). */
	int (*list)(void *driver, backend_space space, char ***out, size_t *out_count);
	/* Removes name; a missing name is not an error. */
	int (*remove)(void *driver, backend_space space, const char *name);
	/* Takes the exclusive write lock without waiting (ST_ERR_LOCKED when held); unlock
	 * releases it. */
	int (*lock)(void *driver);
	void (*unlock)(void *driver);
	/* A name for messages: the path, or the URL, of name in space (caller frees). */
	char *(*describe)(void *driver, backend_space space, const char *name);
	/* The local path of the catalog (caller frees); see the S3 notes above. */
	int (*catalog_path)(void *driver, char **out);
	/* Makes file (a consistent copy of the catalog, after a commit) the destination's catalog,
	 * in one step that fails, rather than overwrite, when another writer published since this
	 * one read it (ST_ERR_LOCKED). NULL for a backend whose catalog_path is the catalog itself
	 * (a commit has already made it visible). */
	int (*publish)(void *driver, const char *file);
	/* A local directory for a job's scratch files, created if missing (caller frees); clean
	 * removes everything in it (call under the lock). */
	int (*scratch_dir)(void *driver, char **out);
	int (*scratch_clean)(void *driver);
	/* Whether the destination holds nothing yet / exists at all. */
	int (*state)(void *driver, bool *out_exists, bool *out_empty);
	/* Creates the destination's containers (folders, bucket prefix). */
	int (*init)(void *driver);
	void (*free)(void *driver);
} backend_ops;

/* The local-directory backend rooted at path (which need not exist yet). */
int backend_local_new(backend **out, const char *path);

/* Whether dest names an object store ("s3:..."). */
bool backend_is_s3_url(const char *dest);

/* The S3-API backend of dest, "s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]" (backend_s3.c), with
 * the credentials of AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and
 * AWS_DEFAULT_REGION; ST_ERR_USAGE for a malformed URL, ST_ERR_REMOTE without credentials.
 * Nothing is contacted yet. */
int backend_s3_new(backend **out, const char *dest);

/* A wrapper for tests: every operation of inner counts as one; the fail_at-th one (1-based)
 * and every later one fail with err (ENOSPC or EIO, reported as the matching st_error_kind),
 * or, with err BACKEND_FAULT_KILL, the process kills itself with SIGKILL before the fail_at-th
 * one (a kill -9 at an exact point of its I/O). fail_at 0 never fails; with err
 * BACKEND_FAULT_COUNT it prints the number of operations on stderr when freed, so that a test
 * can spread its fault points over a whole run. Takes ownership of inner. */
#define BACKEND_FAULT_KILL (-1)
#define BACKEND_FAULT_COUNT (-2)
backend *backend_fault_new(backend *inner, long fail_at, int err);

/* Operations counted so far by a fault wrapper (0 for any other backend). */
long backend_fault_count(const backend *b);

/* Frees the backend (releasing its lock, if taken). NULL is allowed. */
void backend_free(backend *b);

const char *backend_kind(const backend *b);

int backend_open_read(backend *b, backend_space space, const char *name, backend_read **out);
uint64_t backend_read_size(const backend_read *r);
/* What r reads, for messages (borrowed). */
const char *backend_read_name(const backend_read *r);
int backend_read_range(backend_read *r, void *buf, size_t len, uint64_t offset);
void backend_read_close(backend_read *r);

/* Reads the whole small object name (at most max_len bytes) into a NUL-terminated buffer. */
int backend_read_all(backend *b, backend_space space, const char *name, size_t max_len, char **out,
		     size_t *out_len);

int backend_create(backend *b, backend_space space, const char *name, backend_write **out);
int backend_append(backend_write *w, const void *data, size_t len);
int backend_sync(backend_write *w);
/* What w writes, for messages (borrowed). */
const char *backend_write_name(const backend_write *w);
/* Closes and frees w; 0 or the error of the close. NULL is allowed. */
int backend_write_close(backend_write *w);

/* Writes data under name atomically: create a temporary name, append, sync, rename. */
int backend_put_atomic(backend *b, backend_space space, const char *name, const void *data, size_t len);

int backend_rename(backend *b, backend_space space, const char *from, const char *to);
int backend_list(backend *b, backend_space space, char ***out, size_t *out_count);
void backend_list_free(char **names, size_t count);
int backend_remove(backend *b, backend_space space, const char *name);
int backend_lock(backend *b);
void backend_unlock(backend *b);
char *backend_describe(backend *b, backend_space space, const char *name);
int backend_catalog_path(backend *b, char **out);
/* Whether b has a publish step, and the step itself (0 at once for a backend without one). */
bool backend_has_publish(const backend *b);
int backend_publish(backend *b, const char *file);
int backend_scratch_dir(backend *b, char **out);
int backend_scratch_clean(backend *b);
int backend_state(backend *b, bool *out_exists, bool *out_empty);
int backend_init(backend *b);

#endif
