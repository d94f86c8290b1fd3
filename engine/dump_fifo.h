/*
 * dump_fifo.h - large dump files served to pg_restore through named pipes.
 *
 * Restore writes toc.dat and the small files of the pg_dump directory as regular files and
 * makes each large data file a FIFO, so pg_restore starts at once instead of after the whole
 * directory is rebuilt. pg_restore (directory format, --compress=0 dumps) opens NNNN.dat and
 * reads it front to back, in its own order when run with --jobs: a watcher thread tries every
 * pending FIFO with open(O_WRONLY | O_NONBLOCK), which fails with ENXIO until a reader has it
 * open, and hands each opened one to a writer thread of its own, so no writer waits on one FIFO
 * while pg_restore waits on another. Writers stream the file from the store, which checks every
 * object and the whole content against its hash; a failure is recorded with the file's path and
 * pg_restore is killed (SIGTERM) so that it does not report success on partial data.
 *
 * Full copies are streamed straight from the store. A zstd delta is prepared by a preparer
 * thread, largest first, while pg_restore creates the schema and loads other tables: its basis
 * rebuilt through the chain and checked against its hash, its delta fetched, into scratch files
 * (the caller's prepare function, dump_rebuild_prepare); its writer waits for that and patches
 * into the FIFO, so the last step of the chain is neither written to disk nor read back. Every
 * segment of a zstd delta carries a checksum and the basis was checked, so the bytes pg_restore
 * reads are right; the whole file's hash, taken as it is written, is checked at its end too.
 * The preparer reads the catalog and the store while the calling thread only waits for
 * pg_restore.
 */
#ifndef STRATA_ENGINE_DUMP_FIFO_H
#define STRATA_ENGINE_DUMP_FIFO_H

#include "catalog/catalog.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A file at least this large (a full copy or a zstd delta) becomes a FIFO. */
#define DUMP_FIFO_MIN_SIZE (1024 * 1024)

typedef struct dump_fifo_server dump_fifo_server;

/* Prepares a zstd delta file for its writer: *out_basis and *out_delta, rewound scratch files
 * (dump_rebuild_prepare); runs in the preparer thread. */
typedef int (*dump_fifo_prepare_fn)(void *ctx, const catalog_dump_file *file, int *out_basis, int *out_delta);

/* A server reading from objects, preparing deltas with prepare(prepare_ctx, ...); nothing runs
 * until dump_fifo_server_begin. */
dump_fifo_server *dump_fifo_server_new(store *objects, dump_fifo_prepare_fn prepare, void *prepare_ctx);

/* Whether file is served through a FIFO rather than written. */
bool dump_fifo_wanted(const catalog_dump_file *file);

/* Makes file->name a FIFO in dir_fd (dir is its path, for messages) and adds it to the pending
 * set; file must outlive the server. ST_ERR_TARGET when the FIFO cannot be made. */
int dump_fifo_server_add(dump_fifo_server *s, int dir_fd, const char *dir, const catalog_dump_file *file);

/* How many FIFOs were added. */
size_t dump_fifo_server_count(const dump_fifo_server *s);

/* Starts the preparer and the watcher threads. */
int dump_fifo_server_begin(dump_fifo_server *s);

/* The reader process to kill on a failure (0: none any more); pg_tools calls it. */
void dump_fifo_server_set_reader(void *server, pid_t pid);

/* Stops watching, waits for the writers and returns the first failure recorded (0 if none);
 * *out_failed tells whether a writer failed on its own (the reader's error is then a
 * consequence); a writer that only found the reader gone (EPIPE) leaves it false. */
int dump_fifo_server_end(dump_fifo_server *s, bool *out_failed);

void dump_fifo_server_free(dump_fifo_server *s);

#endif
