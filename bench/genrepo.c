/*
 * genrepo.c - strata-genrepo: generates a realistic AiiDA 1.x profile (a
 * PostgreSQL database with the Django-backend schema 1.0.45 and its file
 * repository) for strata's benchmarks and integration tests.
 *
 * One run = one database transaction. The main thread invents the nodes
 * (genrepo_nodes) and streams them to db_dbnode in a single COPY, handing
 * each node that has a folder to the worker pool (genrepo_tree), which
 * writes the files in parallel. Links, group members, logs and comments
 * follow in their own COPYs; the transaction commits only after every file
 * is written, so the database never names a folder that is not complete.
 * A failed run leaves the files written so far (and an advanced id
 * sequence) but no rows.
 *
 * Modes: create (schema and base rows, then nodes), add (ctime = now) and
 * import (new ids, ctimes in 2019-2020). stdout carries only the summary
 * line; progress and errors go to stderr. Exit status: 0 ok, 1 failure,
 * 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "genrepo_container.h"
#include "genrepo_db.h"
#include "genrepo_nodes.h"
#include "genrepo_rng.h"
#include "genrepo_tree.h"
#include "genrepo_util.h"

#define MAX_NODES INT64_C(100000000)
#define MAX_JOBS 256
#define COPY_FLUSH_BYTES (1u << 20)
#define PROGRESS_SECONDS 5.0

enum { EXIT_USAGE = 2 };

typedef struct gen_options {
    const char *dsn;
    const char *root;
    int64_t nodes;
    enum gen_mode mode;
    uint64_t seed;
    unsigned jobs;
    bool time_indexes;
    double size_scale;
    bool quiet;
    int format;         /* 1: node folders; 2: a disk-objectstore container */
} gen_options;

/* State of one run; every handle has exactly this owner. */
typedef struct gen_run {
    const gen_options *opts;
    gen_db *db;
    gen_nodes *nodes;
    gen_tree *tree;           /* --format 1 */
    gen_container *container; /* --format 2 */
    gen_buf row;
    gen_buf meta;             /* one node's repository_metadata (--format 2) */
    int64_t first_id;
    int64_t done;
    double started;
    double last_progress;
} gen_run;

static const char usage_text[] =
    "Usage: strata-genrepo --dsn DSN --root DIR --nodes N [--mode create|add|import]\n"
    "                      [--format 1|2] [--seed S] [--jobs N] [--no-time-indexes]\n"
    "                      [--size-scale F] [--quiet]\n"
    "\n"
    "Generate an AiiDA 1.x profile for benchmarks and tests: a PostgreSQL database with\n"
    "the Django-backend schema (version 1.0.45) and the matching file repository.\n"
    "\n"
    "  --dsn DSN          libpq connection string or URI of the database\n"
    "  --root DIR         repository root (created if missing); node folders go to\n"
    "                     DIR/repository/node/<u[0:2]>/<u[2:4]>/<u[4:]>/path/\n"
    "  --nodes N          number of nodes to add, 0 to 100000000\n"
    "  --mode MODE        create (default): create the schema unless db_dbnode exists,\n"
    "                       add user 'aiida@localhost', computer 'localhost', settings\n"
    "                       'db|schemaversion' (\"1.0.45\") and 'schema_generation' (\"1\"),\n"
    "                       django_migrations rows; fails if db_dbnode has rows\n"
    "                     add: new nodes with ctime = now\n"
    "                     import: new nodes (higher ids) with ctimes in 2019-2020, as\n"
    "                       after an AiiDA archive import\n"
    "  --format F         1 (default): AiiDA 1.x node folders; 2: AiiDA 2.x, a\n"
    "                     disk-objectstore container DIR/container (loose objects, packs\n"
    "                     raw and zlib-compressed, packs.idx; shared content, nested and\n"
    "                     empty folders, empty files; no symlinks) and the nodes' trees in\n"
    "                     db_dbnode.repository_metadata, with alembic_version 'main_0002'\n"
    "                     and 'repository|uuid'; add and import write loose objects only;\n"
    "                     one thread (--jobs is ignored)\n"
    "  --seed S           PRNG seed (default 1); with the database's highest node id it\n"
    "                     fixes uuids, node contents, folder names, sizes and bytes\n"
    "  --jobs N           file-writing threads, 1 to 256 (default 8)\n"
    "  --no-time-indexes  create: no index on db_dbnode ctime and mtime (as the\n"
    "                     SQLAlchemy backend)\n"
    "  --size-scale F     multiply every file size by F, 0 to 1000 (default 1)\n"
    "  --quiet            no progress lines on stderr\n"
    "  --help             show this help\n"
    "\n"
    "Besides db_dbnode, each run adds db_dblink, db_dbgroup, db_dbgroup_dbnodes, db_dblog\n"
    "and db_dbcomment rows, all in one transaction committed after every file is\n"
    "written. About 70% of nodes get a folder with 2.5 files on average (4.6 KiB mean,\n"
    "1 to 6 MiB tail; half compressible text, half random bytes), with nested folders,\n"
    "empty files, odd names (spaces, UTF-8, quotes, '#', leading '-', ~200 bytes) and\n"
    "relative symlinks. An existing node folder is an error. Nothing is fsynced.\n"
    "\n"
    "On success the only output on stdout is one line:\n"
    "  nodes=N folders=F files=M dirs=D symlinks=S bytes=B seconds=T\n"
    "(dirs counts every directory the run created). Exit status: 0 success,\n"
    "1 failure, 2 usage error.\n";

/* ---- options --------------------------------------------------------- */

static void usage_error(const char *what, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void usage_error(const char *what, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, GEN_PROGRAM ": %s: ", what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int parse_int(const char *opt, const char *text, int64_t min, int64_t max,
                     int64_t *out)
{
    char *end;
    long long value;

    errno = 0;
    value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
        usage_error(opt, "'%s' is not an integer from %" PRId64 " to %" PRId64, text, min, max);
        return -1;
    }
    *out = value;
    return 0;
}

static int parse_seed(const char *text, uint64_t *out)
{
    char *end;

    errno = 0;
    *out = strtoull(text, &end, 0);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
        usage_error("--seed", "'%s' is not an unsigned 64-bit integer", text);
        return -1;
    }
    return 0;
}

static int parse_scale(const char *text, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(*out) || *out < 0.0
        || *out > 1000.0) {
        usage_error("--size-scale", "'%s' is not a number from 0 to 1000", text);
        return -1;
    }
    return 0;
}

static int parse_mode(const char *text, enum gen_mode *out)
{
    if (strcmp(text, "create") == 0)
        *out = GEN_MODE_CREATE;
    else if (strcmp(text, "add") == 0)
        *out = GEN_MODE_ADD;
    else if (strcmp(text, "import") == 0)
        *out = GEN_MODE_IMPORT;
    else {
        usage_error("--mode", "'%s' is not one of create, add, import", text);
        return -1;
    }
    return 0;
}

static const char *mode_name(enum gen_mode mode)
{
    switch (mode) {
    case GEN_MODE_ADD: return "add";
    case GEN_MODE_IMPORT: return "import";
    case GEN_MODE_CREATE:
    default: return "create";
    }
}

enum {
    OPT_DSN = 256, OPT_ROOT, OPT_NODES, OPT_MODE, OPT_SEED, OPT_JOBS, OPT_NO_TIME_INDEXES,
    OPT_SIZE_SCALE, OPT_QUIET, OPT_HELP, OPT_FORMAT,
};

static const struct option long_options[] = {
    {"dsn", required_argument, NULL, OPT_DSN},
    {"root", required_argument, NULL, OPT_ROOT},
    {"nodes", required_argument, NULL, OPT_NODES},
    {"mode", required_argument, NULL, OPT_MODE},
    {"seed", required_argument, NULL, OPT_SEED},
    {"jobs", required_argument, NULL, OPT_JOBS},
    {"no-time-indexes", no_argument, NULL, OPT_NO_TIME_INDEXES},
    {"size-scale", required_argument, NULL, OPT_SIZE_SCALE},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Applies one option; -1 on a bad value (already reported). */
static int apply_option(gen_options *opts, int opt, const char *arg)
{
    int64_t value;

    switch (opt) {
    case OPT_DSN: opts->dsn = arg; return 0;
    case OPT_ROOT: opts->root = arg; return 0;
    case OPT_NODES: return parse_int("--nodes", arg, 0, MAX_NODES, &opts->nodes);
    case OPT_MODE: return parse_mode(arg, &opts->mode);
    case OPT_SEED: return parse_seed(arg, &opts->seed);
    case OPT_JOBS:
        if (parse_int("--jobs", arg, 1, MAX_JOBS, &value) != 0)
            return -1;
        opts->jobs = (unsigned)value;
        return 0;
    case OPT_NO_TIME_INDEXES: opts->time_indexes = false; return 0;
    case OPT_SIZE_SCALE: return parse_scale(arg, &opts->size_scale);
    case OPT_QUIET: opts->quiet = true; return 0;
    case OPT_FORMAT:
        if (parse_int("--format", arg, 1, 2, &value) != 0)
            return -1;
        opts->format = (int)value;
        return 0;
    default: return -1;
    }
}

static int check_required(const gen_options *opts)
{
    if (opts->dsn == NULL)
        usage_error("--dsn", "missing (see --help)");
    else if (opts->root == NULL || opts->root[0] == '\0')
        usage_error("--root", "missing (see --help)");
    else if (opts->nodes < 0)
        usage_error("--nodes", "missing (see --help)");
    else
        return 0;
    return -1;
}

/* 0: run; 1: help printed; -1: usage error reported. */
static int parse_options(int argc, char **argv, gen_options *opts)
{
    int opt;

    *opts = (gen_options){.mode = GEN_MODE_CREATE, .seed = 1, .jobs = 8, .nodes = -1,
                          .time_indexes = true, .size_scale = 1.0, .format = 1};
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", long_options, NULL)) != -1) {
        if (opt == OPT_HELP) {
            fputs(usage_text, stdout);
            return 1;
        }
        if (opt == ':') {
            usage_error(argv[optind - 1], "requires a value");
            return -1;
        }
        if (opt == '?') {
            usage_error(argv[optind - 1], "unknown option (see --help)");
            return -1;
        }
        if (apply_option(opts, opt, optarg) != 0)
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, GEN_PROGRAM ": '%s': unexpected argument (see --help)\n", argv[optind]);
        return -1;
    }
    return check_required(opts);
}

/* ---- progress -------------------------------------------------------- */

static void progress(gen_run *run, bool force)
{
    const double now = gen_monotonic_s();
    gen_tree_stats stats;

    if (run->opts->quiet || (!force && now - run->last_progress < PROGRESS_SECONDS))
        return;
    run->last_progress = now;
    if (run->container != NULL)
        gen_container_stats_get(run->container, &stats);
    else
        gen_tree_stats_get(run->tree, &stats);
    fprintf(stderr,
            GEN_PROGRAM ": %" PRId64 "/%" PRId64 " nodes, %" PRIu64 " folders, %" PRIu64
                        " files, %.1f MiB, %.0f s\n",
            run->done, run->opts->nodes, stats.folders, stats.files,
            (double)stats.bytes / (1024.0 * 1024.0), now - run->started);
}

/* ---- the run --------------------------------------------------------- */

static int prepare_schema(gen_run *run, gen_error *err)
{
    const gen_options *opts = run->opts;
    gen_rng rng;
    char computer_uuid[37];

    int rc;

    if (opts->mode != GEN_MODE_CREATE) {
        rc = gen_db_require_schema(run->db, err);
    } else {
        gen_rng_seed(&rng, gen_mix(opts->seed, UINT64_C(0xc0)));
        gen_uuid4(computer_uuid, &rng);
        rc = gen_db_prepare_create(run->db, opts->time_indexes, computer_uuid, err);
    }
    if (rc == 0 && run->container != NULL)
        rc = gen_db_prepare_container(run->db, gen_container_id(run->container), err);
    return rc;
}

/* --format 2: the row gets the node's repository_metadata as its last column. */
static int add_metadata(gen_run *run, const gen_node *node, gen_error *err)
{
    run->meta.len = 0;
    if (gen_container_node(run->container, node, &run->meta, err) != 0)
        return -1;
    gen_buf_addc(&run->meta, '\0');
    run->row.len--; /* the row's newline */
    gen_buf_addc(&run->row, '\t');
    gen_buf_add_copy_text(&run->row, run->meta.data);
    gen_buf_addc(&run->row, '\n');
    return 0;
}

/* Reserves the ids, creates the run's group and the node generator. */
static int prepare_nodes(gen_run *run, gen_error *err)
{
    const gen_options *opts = run->opts;
    gen_nodes_config config = {.mode = opts->mode, .count = opts->nodes, .now_us = gen_now_us()};
    gen_rng rng;
    char uuid[37];
    char label[96];

    if (gen_db_owner(run->db, &config.user_id, &config.computer_id, err) != 0
        || gen_db_reserve_node_ids(run->db, opts->nodes, &run->first_id, err) != 0)
        return -1;
    config.first_id = run->first_id;
    /* Mixing in the first id keeps a second 'add' from repeating uuids. */
    config.seed = gen_mix(gen_mix(opts->seed, (uint64_t)run->first_id), (uint64_t)opts->mode);
    if (opts->nodes > 0) {
        gen_rng_seed(&rng, gen_mix(config.seed, UINT64_C(0x96)));
        gen_uuid4(uuid, &rng);
        snprintf(label, sizeof(label), "genrepo-%s-%" PRId64, mode_name(opts->mode),
                 run->first_id);
        if (gen_db_insert_group(run->db, uuid, label,
                                opts->mode == GEN_MODE_IMPORT ? "core.import" : "core",
                                config.user_id, &config.group_id, err) != 0)
            return -1;
    }
    gen_nodes_new(&run->nodes, &config);
    return 0;
}

static int flush_rows(gen_run *run, gen_error *err)
{
    const int rc = gen_db_copy_put(run->db, run->row.data, run->row.len, err);

    run->row.len = 0;
    return rc;
}

/* The db_dbnode COPY, handing folders to the workers on the way. */
static int stream_nodes(gen_run *run, gen_error *err)
{
    gen_node node;

    char copy_sql[512];
    const char *sql = gen_nodes_copy_sql();

    if (run->container != NULL) {
        /* "COPY db_dbnode (..., dbcomputer_id) FROM STDIN" with one more column. */
        const char *close_paren = strrchr(sql, ')');
        snprintf(copy_sql, sizeof copy_sql, "%.*s, repository_metadata%s", (int)(close_paren - sql), sql,
                 close_paren);
        sql = copy_sql;
    }
    if (gen_db_copy_begin(run->db, sql, err) != 0)
        return -1;
    for (; run->done < run->opts->nodes; run->done++) {
        gen_nodes_next(run->nodes, &node, &run->row);
        if (run->container != NULL && add_metadata(run, &node, err) != 0)
            return -1;
        if (run->row.len >= COPY_FLUSH_BYTES && flush_rows(run, err) != 0)
            return -1;
        if (run->container == NULL && node.has_folder && gen_tree_submit(run->tree, &node, err) != 0)
            return -1;
        if ((run->done & 1023) == 0)
            progress(run, false);
    }
    if (flush_rows(run, err) != 0)
        return -1;
    return gen_db_copy_end(run->db, err);
}

static int copy_side_tables(gen_run *run, gen_error *err)
{
    gen_side_table tables[GEN_SIDE_TABLES];

    gen_nodes_side_tables(run->nodes, tables);
    for (int i = 0; i < GEN_SIDE_TABLES; i++) {
        if (tables[i].rows->len == 0)
            continue;
        if (gen_db_copy_begin(run->db, tables[i].copy_sql, err) != 0
            || gen_db_copy_put(run->db, tables[i].rows->data, tables[i].rows->len, err) != 0
            || gen_db_copy_end(run->db, err) != 0)
            return -1;
    }
    return 0;
}

static int finish_files(gen_run *run, gen_error *err)
{
    if (run->container != NULL)
        return gen_container_finish(run->container, err);
    if (gen_tree_close(run->tree, err) != 0)
        return -1;
    while (!gen_tree_wait(run->tree, 1000))
        progress(run, false);
    return gen_tree_end(run->tree, err);
}

static int run_generator(const gen_options *opts, gen_tree_stats *out, gen_error *err)
{
    const gen_tree_config tree_config = {opts->root, opts->jobs, opts->size_scale};
    gen_run run = {.opts = opts, .started = gen_monotonic_s()};
    int rc = -1;

    gen_buf_init(&run.row);
    gen_buf_init(&run.meta);
    run.last_progress = run.started;
    if (opts->format == 2
        && gen_container_new(&run.container, opts->root, opts->mode, opts->seed, opts->size_scale,
                             err) != 0)
        goto cleanup;
    if (gen_db_connect(&run.db, opts->dsn, err) != 0 || gen_db_begin(run.db, err) != 0
        || prepare_schema(&run, err) != 0 || prepare_nodes(&run, err) != 0
        || (opts->format == 1 && gen_tree_new(&run.tree, &tree_config, err) != 0))
        goto cleanup;
    if (stream_nodes(&run, err) != 0 || copy_side_tables(&run, err) != 0
        || finish_files(&run, err) != 0 || gen_db_commit(run.db, err) != 0)
        goto cleanup;
    progress(&run, true);
    if (run.container != NULL)
        gen_container_stats_get(run.container, out);
    else
        gen_tree_stats_get(run.tree, out);
    rc = 0;
cleanup:
    gen_container_free(run.container);
    gen_buf_release(&run.meta);
    gen_tree_free(run.tree);
    gen_nodes_free(run.nodes);
    gen_db_free(run.db);
    gen_buf_release(&run.row);
    return rc;
}

int main(int argc, char **argv)
{
    gen_options opts;
    gen_tree_stats stats;
    gen_error err = {0};
    double started;
    int parsed = parse_options(argc, argv, &opts);

    if (parsed != 0)
        return parsed > 0 ? 0 : EXIT_USAGE;
    /* File and directory modes are part of the generated data. */
    umask(0);
    started = gen_monotonic_s();
    if (run_generator(&opts, &stats, &err) != 0) {
        fprintf(stderr, GEN_PROGRAM ": %s\n", err.msg);
        return 1;
    }
    printf("nodes=%" PRId64 " folders=%" PRIu64 " files=%" PRIu64 " dirs=%" PRIu64
           " symlinks=%" PRIu64 " bytes=%" PRIu64 " seconds=%.2f\n",
           opts.nodes, stats.folders, stats.files, stats.dirs, stats.symlinks, stats.bytes,
           gen_monotonic_s() - started);
    return 0;
}
