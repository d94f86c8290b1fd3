/*
 * genrepo_tree.h - the file side of strata-genrepo: a pool of worker
 * threads that writes AiiDA 1.x node folders
 *     <root>/repository/node/<u[0:2]>/<u[2:4]>/<u[4:]>/path/...
 * while the main thread streams the database rows.
 *
 * A folder's whole contents (names, nesting, sizes, bytes, modes, times)
 * derive from gen_node.seed and the node's kind, so they do not depend on
 * which worker writes them or when. Nothing is fsynced. Directories are
 * created lazily, as AiiDA does; an existing node folder is an error.
 *
 * Counters: folders = node folders written; files = regular files;
 * symlinks; dirs = every directory this run created (shard levels, node
 * folders, path/ and nested subfolders, and repository/ and
 * repository/node/ if missing); bytes = sum of regular file sizes.
 */
#ifndef STRATA_BENCH_GENREPO_TREE_H
#define STRATA_BENCH_GENREPO_TREE_H

#include <stdbool.h>
#include <stdint.h>

#include "genrepo_nodes.h"
#include "genrepo_util.h"

typedef struct gen_tree_config {
    const char *root;   /* copied */
    unsigned jobs;      /* worker threads, at least 1 */
    double size_scale;  /* multiplies every file size */
} gen_tree_config;

typedef struct gen_tree_stats {
    uint64_t folders;
    uint64_t files;
    uint64_t dirs;
    uint64_t symlinks;
    uint64_t bytes;
} gen_tree_stats;

typedef struct gen_tree gen_tree;

/* Creates <root>/repository/node (with parents) and starts the workers.
 * The caller owns *out and frees it with gen_tree_free. */
int gen_tree_new(gen_tree **out, const gen_tree_config *config, gen_error *err);

/* Queues the folder of node (which must have has_folder set). Blocks while
 * the queue is full; fails with the worker's error once a worker failed. */
int gen_tree_submit(gen_tree *tree, const gen_node *node, gen_error *err);

/* No more folders will be submitted. */
int gen_tree_close(gen_tree *tree, gen_error *err);

/* Waits up to timeout_ms for all workers to finish; true when they have. */
bool gen_tree_wait(gen_tree *tree, unsigned timeout_ms);

/* Live counters (may lag by one folder per worker). */
void gen_tree_stats_get(gen_tree *tree, gen_tree_stats *out);

/* Joins the workers; fails with the first worker error if any. */
int gen_tree_end(gen_tree *tree, gen_error *err);

/* Stops and joins any running workers and frees the pool. */
void gen_tree_free(gen_tree *tree);

#endif
