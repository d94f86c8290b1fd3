/*
 * inspect.h - what a destination holds: strata ls, diff and stats.
 *
 * Read-only jobs over the catalog (no lock): the nodes and files of a snapshot, the nodes and
 * files that differ between two snapshots, and the stored bytes against the original ones.
 * Results come back through callbacks (ls, diff) or a struct (stats); the cli renders them.
 */
#ifndef STRATA_ENGINE_INSPECT_H
#define STRATA_ENGINE_INSPECT_H

#include "catalog/catalog.h"

#include <stdbool.h>
#include <stdint.h>

/* A snapshot id meaning the newest complete snapshot. */
#define INSPECT_LATEST (-1)

typedef struct inspect_ls_callbacks {
	/* Without a filter: every node of the snapshot. */
	int (*node)(void *ctx, const catalog_node *node);
	/* With NODE-UUID[/path]: the node's entries at or below path. */
	int (*entry)(void *ctx, const catalog_node *node, const catalog_entry *entry);
	void *ctx;
} inspect_ls_callbacks;

/* Lists snapshot_id (or INSPECT_LATEST; *out_snapshot is the one listed). filter is NULL,
 * "UUID" or "UUID/path". An unknown node or path is ST_ERR_NOTFOUND. */
int inspect_ls(const char *dest_path, int64_t snapshot_id, const char *filter, const inspect_ls_callbacks *cb,
	       int64_t *out_snapshot);

typedef enum inspect_change {
	INSPECT_ADDED,
	INSPECT_REMOVED,
	INSPECT_CHANGED
} inspect_change;

typedef struct inspect_diff_result {
	int64_t from, to;
	int64_t nodes_added, nodes_removed, nodes_changed;
	int64_t files_added, files_removed, files_changed;
	int64_t bytes_added, bytes_removed;
} inspect_diff_result;

typedef struct inspect_diff_callbacks {
	int (*node)(void *ctx, inspect_change change, const catalog_node *node);
	/* Every file entry added, removed or changed (content, mode or type), of every node that
	 * differs; may be NULL. */
	int (*file)(void *ctx, inspect_change change, const catalog_node *node, const catalog_entry *entry);
	void *ctx;
} inspect_diff_callbacks;

/* The nodes and files that differ from snapshot a to snapshot b. */
int inspect_diff(const char *dest_path, int64_t a, int64_t b, const inspect_diff_callbacks *cb,
		 inspect_diff_result *out);

typedef struct inspect_stats_result {
	catalog_snapshot *snapshots;   /* oldest first; freed by inspect_stats_release */
	size_t snapshot_count;
	int64_t objects;
	int64_t original_bytes;        /* the files and database dump of every snapshot, as full copies
					* of each would hold */
	int64_t unique_bytes;          /* distinct content, uncompressed */
	int64_t stored_bytes;          /* distinct content as stored (compressed) */
	int64_t packs;
	int64_t pack_bytes;            /* the size of the pack files */
	double dedup_ratio;            /* original / unique (0 when nothing is stored) */
	double compression_ratio;      /* unique / stored */
} inspect_stats_result;

int inspect_stats(const char *dest_path, inspect_stats_result *out);
void inspect_stats_release(inspect_stats_result *r);

#endif
