/*
 * reconcile.h - the node ids on which the source database and the catalog disagree.
 *
 * A backup must find the nodes deleted from the database since the last snapshot (to mark them
 * deleted) and the nodes that a late commit added below the watermark (to read them). Listing
 * every id of both sides costs time and memory in the size of the database; instead both sides
 * compute id aggregates (count, sum, sum of hashes: common/id_sums.h) for up to
 * RECONCILE_FANOUT buckets of the id range, and only buckets whose aggregates differ are
 * refined the same way, down to ranges small enough - or empty on one side - to list exactly.
 * The cost is one index scan of the range on each side (aggregates only, nothing per node kept
 * or sent) plus work and memory in proportion to the differences.
 */
#ifndef STRATA_ENGINE_RECONCILE_H
#define STRATA_ENGINE_RECONCILE_H

#include "catalog/catalog.h"
#include "scanner/source_db.h"

#include <stddef.h>
#include <stdint.h>

/* Buckets per compared range. */
#define RECONCILE_FANOUT 1024
/* A differing bucket is listed exactly when its two sides hold at most this many ids together
 * (or when one side holds none); a larger one is divided again. */
#define RECONCILE_LIST_IDS 256

/* A growing list of node ids. */
typedef struct id_list {
	int64_t *ids;
	size_t count;
	size_t capacity;
} id_list;

void id_list_append(id_list *list, int64_t id);
/* Sorts the ids ascending. */
void id_list_sort(id_list *list);
void id_list_release(id_list *list);

typedef struct reconcile_diff {
	id_list missing;          /* in the database, not in the catalog, ascending */
	id_list vanished;         /* current in the catalog, not in the database, ascending */
	int64_t ranges_compared;  /* ranges whose bucket aggregates were compared */
	int64_t ranges_listed;    /* ranges whose ids were listed on both sides */
	int64_t ids_listed;       /* ids those listings returned, both sides together */
} reconcile_diff;

/* Compares the ids in [lo, hi] of the database (at its snapshot) and of the catalog's current
 * node versions range by range (see above), filling *out (zeroed first; release it with
 * reconcile_diff_release, also on failure). */
int reconcile_ranges(reconcile_diff *out, scan_db *db, catalog *cat, int64_t lo, int64_t hi);

/* The same by listing every id of [lo, hi] on both sides (backup --full-scan). */
int reconcile_every_id(reconcile_diff *out, scan_db *db, catalog *cat, int64_t lo, int64_t hi);

void reconcile_diff_release(reconcile_diff *diff);

#endif
