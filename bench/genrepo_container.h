/*
 * genrepo_container.h - the file side of strata-genrepo --format 2: an AiiDA 2.x
 * disk-objectstore container <root>/container and each node's repository_metadata.
 *
 * A node's files are those genrepo_folder.h invents for its seed (symlinks left out: 2.x has
 * none), with 5% of nodes also holding an empty folder; 10% of files reuse the content of an
 * earlier file of the run (shared objects). Each new object is named by the sha256 of its
 * bytes and, in create mode, stored loose (30%), packed raw into packs/<N> (35%) or packed as
 * a zlib stream (35%), packed ones listed in packs.idx (disk-objectstore's SQLite schema, WAL);
 * in add and import modes every new object is loose, as AiiDA writes them before `verdi
 * storage maintain` packs them. One thread; nothing is fsynced.
 */
#ifndef STRATA_BENCH_GENREPO_CONTAINER_H
#define STRATA_BENCH_GENREPO_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>

#include "genrepo_nodes.h"
#include "genrepo_tree.h"
#include "genrepo_util.h"

typedef struct gen_container gen_container;

/* create: a new container (it must not exist; container_id from seed); add/import: the
 * existing one. */
int gen_container_new(gen_container **out, const char *root, enum gen_mode mode, uint64_t seed,
                      double size_scale, gen_error *err);

/* The container_id (borrowed). */
const char *gen_container_id(const gen_container *c);

/* Writes the objects of node (has_folder) and appends its repository_metadata (JSON text) to
 * meta; a node without a folder gets "{}". */
int gen_container_node(gen_container *c, const gen_node *node, gen_buf *meta, gen_error *err);

/* Commits packs.idx. */
int gen_container_finish(gen_container *c, gen_error *err);

void gen_container_stats_get(const gen_container *c, gen_tree_stats *out);

void gen_container_free(gen_container *c);

#endif
