/*
 * pack_files.h - open pack files by id, shared by the threads of a restore or a check.
 *
 * Each pack is opened once, on first use, and stays open until pack_files_free().
 */
#ifndef STRATA_ENGINE_PACK_FILES_H
#define STRATA_ENGINE_PACK_FILES_H

#include "catalog/dest.h"

#include <stdint.h>

typedef struct pack_files pack_files;

/* Reads the pack list of the destination's catalog. */
int pack_files_new(pack_files **out, dest *d);
void pack_files_free(pack_files *files);

/* The open descriptor of pack_id and its name (borrowed); ST_ERR_CORRUPT when the catalog has
 * no such pack, ST_ERR_CORRUPT naming the file when it is missing. */
int pack_files_get(pack_files *files, int64_t pack_id, int *out_fd, const char **out_name);

#endif
