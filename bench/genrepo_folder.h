/*
 * genrepo_folder.h - what one node folder of strata-genrepo contains: its
 * nested subfolders and, file by file, name, size, mode, mtime, text or
 * binary, or symlink; and the bytes of each file. Pure computation, no I/O:
 * the same seed always yields the same folder.
 *
 * Shape (per folder): 1% have an empty path/; 0.5% have 20-100 files; the
 * others a geometric count with mean 2.2 (overall mean about 2.5). 10% have
 * 1-3 levels of subfolders. Per file: 2% empty; else 87% 100 B-4 KiB,
 * 12% 4-32 KiB, 0.95% 32-256 KiB, 0.025% 1-6 MiB, log-uniform within each
 * band (mean about 4.6 KiB), times size_scale; about half text-like
 * (compressible), half PRNG bytes; 3% odd names (spaces, UTF-8, quotes,
 * '#', leading dash or space, backslash), 0.3% names of about 200 bytes,
 * never a newline or '/'; about 0.5% relative symlinks to a sibling file;
 * modes 0644 (85%), 0755 (10%, and every *.sh), 0600 (5%); mtimes up to
 * five minutes before the node's ctime.
 */
#ifndef STRATA_BENCH_GENREPO_FOLDER_H
#define STRATA_BENCH_GENREPO_FOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genrepo_rng.h"

enum {
    GEN_FOLDER_MAX_DIRS = 4,      /* subfolders of path/ */
    GEN_DIR_REL_MAX = 128,        /* relative path of a subfolder */
    GEN_NAME_MAX = 256,           /* one file name, NUL included */
    GEN_REL_MAX = GEN_DIR_REL_MAX + GEN_NAME_MAX,
    GEN_CHUNK = 1 << 16,          /* bytes produced per gen_content_fill */
    GEN_CHUNK_SLACK = 256,        /* extra room gen_content_fill needs */
};

typedef struct gen_file_spec {
    char rel[GEN_REL_MAX];            /* path relative to path/ */
    char link_target[GEN_NAME_MAX];   /* non-empty: symlink to this sibling */
    uint64_t size;
    bool text;
    unsigned mode;
    int64_t mtime_us;
    uint64_t content_seed;            /* seed of the file's bytes */
} gen_file_spec;

/* Iterator over one folder; embed it and start it with gen_folder_init. */
typedef struct gen_folder {
    gen_rng rng;
    uint64_t seed;
    unsigned kind;
    int64_t ctime_us;
    double size_scale;
    unsigned nfiles;
    unsigned next_file;
    unsigned ndirs;
    char dirs[GEN_FOLDER_MAX_DIRS][GEN_DIR_REL_MAX]; /* parents first */
    char last_regular[GEN_FOLDER_MAX_DIRS + 1][GEN_NAME_MAX];
} gen_folder;

void gen_folder_init(gen_folder *folder, uint64_t seed, unsigned kind, int64_t ctime_us,
                     double size_scale);

/* Fills out with the next file; false when the folder has no more. */
bool gen_folder_next_file(gen_folder *folder, gen_file_spec *out);

/* Streams the bytes of one file in chunks. */
typedef struct gen_content {
    gen_rng *rng;
    bool text;
    size_t have;   /* bytes ready at the start of the buffer */
    size_t used;   /* bytes handed out by the previous fill */
} gen_content;

void gen_content_init(gen_content *content, gen_rng *rng, bool text);

/* Puts the next want (<= GEN_CHUNK) bytes at buf[0..want); buf must hold
 * GEN_CHUNK + GEN_CHUNK_SLACK bytes and be the same on every call. */
void gen_content_fill(gen_content *content, char *buf, size_t want);

#endif
