/*
 * blob_store.h - whole files as content-addressed objects, synchronously.
 *
 * For the database side of a backup: each dump file (or its delta, or its signature) becomes
 * a blob - one object, or 4 MiB chunk objects for larger files - deduplicated against the
 * catalog, compressed with zstd, and appended to packs through a pack_sink. Reading a blob
 * back verifies every object and the whole content's hash.
 */
#ifndef STRATA_ENGINE_BLOB_STORE_H
#define STRATA_ENGINE_BLOB_STORE_H

#include "catalog/catalog.h"
#include "catalog/dest.h"
#include "engine/pack_files.h"

#include <stdint.h>

#define BLOB_CHUNK_SIZE ((size_t)4 << 20)

typedef struct blob_store blob_store;

blob_store *blob_store_new(dest *d, int compression_level);

/* Seals and registers the last pack (in its own catalog transaction), then frees. With
 * seal false (on failure), abandons the open pack. *out_packs grows by the packs sealed. */
int blob_store_finish(blob_store *store, bool seal, int64_t *out_packs);

/* Stores the file at path; out->chunks (when any) is owned by the caller. *out_stored grows by
 * the bytes added to packs. */
int blob_store_file(blob_store *store, const char *path, catalog_blob *out, uint64_t *out_stored);

/* Writes the content of blob to fd at its current offset, verifying it; what names fd in
 * messages. */
int blob_read_to_fd(pack_files *packs, catalog *cat, const catalog_blob *blob, int fd, const char *what);

/* Writes the content of blob to a new file at path, verifying it. */
int blob_read_to_file(pack_files *packs, catalog *cat, const catalog_blob *blob, const char *path);

#endif
