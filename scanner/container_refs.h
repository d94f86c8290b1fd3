/*
 * container_refs.h - whether a container holds every object an AiiDA 2.x database references:
 * the check a restore runs once a 2.x snapshot's database and container are both written.
 *
 * Every key of every node's db_dbnode.repository_metadata (a file is {"k": "<sha256 hex>"} at
 * any depth of the tree) is read from the database through one cursor of a read-only
 * transaction, a batch of rows at a time (memory stays bounded whatever the number of nodes),
 * and looked up in the container: a loose object, else a row of packs.idx. A key that is in
 * neither place (or is no sha256 hex digest) goes to a callback, which may put the object
 * there and say so.
 */
#ifndef STRATA_SCANNER_CONTAINER_REFS_H
#define STRATA_SCANNER_CONTAINER_REFS_H

#include <stdbool.h>
#include <stdint.h>

/* Called for each key of node uuid that the container lacks; *out_resolved true when the
 * callback put the object into the container meanwhile. A non-zero return stops the check. */
typedef int (*container_refs_missing_fn)(void *ctx, const char *uuid, const char *key, bool *out_resolved);

typedef struct container_refs_result {
	int64_t keys;     /* every reference checked (a key used twice counts twice) */
	int64_t missing;  /* references the container lacks, after the callback */
	int64_t resolved; /* references the callback put in place */
} container_refs_result;

/* Checks the references of the database dsn connects to against container dir (its
 * config.json and packs.idx). A failing query (a database without
 * db_dbnode.repository_metadata) is ST_ERR_DATABASE; a container that cannot be read
 * ST_ERR_SOURCE. */
int container_refs_check(const char *dsn, const char *dir, container_refs_missing_fn on_missing, void *ctx,
			 container_refs_result *out);

#endif
