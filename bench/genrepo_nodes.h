/*
 * genrepo_nodes.h - the database side of one strata-genrepo run: invents
 * AiiDA 1.x nodes (uuid, node_type, process_type, label, times, attributes,
 * extras) and writes each as a db_dbnode COPY text row, plus the rows that
 * refer to them (db_dblink, db_dbgroup_dbnodes, db_dblog, db_dbcomment).
 *
 * Invariants: node ids are first_id, first_id + 1, ... in generation order;
 * every side row refers only to nodes of the same run, so foreign keys hold
 * once the db_dbnode COPY is done. All randomness comes from the run seed,
 * so the same seed and first_id give the same uuids, types and contents.
 */
#ifndef STRATA_BENCH_GENREPO_NODES_H
#define STRATA_BENCH_GENREPO_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genrepo_util.h"

/* One generated node, as the file tree writer needs it. */
typedef struct gen_node {
    int64_t id;
    char uuid[37];
    unsigned kind;       /* index into the private node kind table */
    int64_t ctime_us;    /* unix microseconds */
    int64_t mtime_us;
    bool has_folder;     /* whether the node gets a repository folder */
    uint64_t seed;       /* seed of the folder's contents */
} gen_node;

typedef struct gen_nodes_config {
    enum gen_mode mode;
    int64_t count;
    int64_t first_id;
    int64_t now_us;
    uint64_t seed;
    int64_t user_id;
    int64_t computer_id; /* 0 when the database has no computer */
    int64_t group_id;    /* the run's db_dbgroup row */
} gen_nodes_config;

/* A COPY target and the rows (COPY text format) collected for it. */
typedef struct gen_side_table {
    const char *copy_sql;
    const gen_buf *rows;
} gen_side_table;

enum { GEN_SIDE_TABLES = 4 };

typedef struct gen_nodes gen_nodes;

/* The caller owns *out and frees it with gen_nodes_free. */
void gen_nodes_new(gen_nodes **out, const gen_nodes_config *config);
void gen_nodes_free(gen_nodes *nodes);

/* The COPY statement matching the rows written by gen_nodes_next. */
const char *gen_nodes_copy_sql(void);

/* Invents the next node, appends its db_dbnode row to row and its
 * links, group membership, logs and comments to the side tables. */
void gen_nodes_next(gen_nodes *nodes, gen_node *out, gen_buf *row);

/* Fills out with the side tables; the buffers stay owned by nodes. */
void gen_nodes_side_tables(const gen_nodes *nodes, gen_side_table out[GEN_SIDE_TABLES]);

/* Repository file names that nodes of this kind usually carry first
 * (NULL-terminated, possibly empty); whether the kind is a CalcJobNode. */
const char *const *gen_kind_file_names(unsigned kind);
bool gen_kind_is_calcjob(unsigned kind);

#endif
