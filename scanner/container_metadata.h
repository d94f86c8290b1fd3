/*
 * container_metadata.h - for the scanner's own files: the repository_metadata of 2.x nodes,
 * read from the database in batches instead of one query per node.
 *
 * Node ids are grouped in spans of CONTAINER_METADATA_SPAN consecutive ids; the first request
 * for an id of a span reads the whole span in one query (at most that many rows), and a few
 * spans stay cached, so the readers of a backup, which take nodes roughly in id order, find
 * most of them cached. Any number of threads may call container_metadata_get: one reads a span
 * while the others that want it wait. The cache holds at most CONTAINER_METADATA_SLOTS spans.
 */
#ifndef STRATA_SCANNER_CONTAINER_METADATA_H
#define STRATA_SCANNER_CONTAINER_METADATA_H

#include <libpq-fe.h>
#include <stdint.h>

/* Consecutive node ids read by one query, and spans kept. */
#define CONTAINER_METADATA_SPAN 256
#define CONTAINER_METADATA_SLOTS 16

typedef struct container_metadata container_metadata;

/* Runs sql (one SELECT) at the backup's snapshot; *out the result, which the cache clears. */
typedef int (*container_metadata_query)(void *ctx, const char *sql, PGresult **out);

container_metadata *container_metadata_new(container_metadata_query query, void *ctx);
void container_metadata_free(container_metadata *m);

/* The repository_metadata of node id as text (caller frees); *out NULL when the snapshot has no
 * such row or its metadata is NULL. Errors are those of the query. */
int container_metadata_get(container_metadata *m, int64_t id, char **out);

#endif
