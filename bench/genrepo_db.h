/*
 * genrepo_db.h - strata-genrepo's only contact with libpq: one connection,
 * one transaction per run, the AiiDA 1.x (Django backend, schema 1.0.45)
 * schema, and COPY streams.
 *
 * Invariants: every function except gen_db_connect works inside the
 * transaction opened by gen_db_begin; nothing is visible to other sessions
 * until gen_db_commit, and gen_db_free rolls back an uncommitted run
 * (except the node id sequence, which never goes backwards). At most one
 * COPY is open at a time. No libpq type appears in this header.
 */
#ifndef STRATA_BENCH_GENREPO_DB_H
#define STRATA_BENCH_GENREPO_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genrepo_util.h"

typedef struct gen_db gen_db;

/* Connects with a libpq connection string or URI. *out is owned by the
 * caller and closed with gen_db_free. */
int gen_db_connect(gen_db **out, const char *dsn, gen_error *err);
void gen_db_free(gen_db *db);

int gen_db_begin(gen_db *db, gen_error *err);
int gen_db_commit(gen_db *db, gen_error *err);

/* create mode: fails if db_dbnode has rows; creates the schema when
 * db_dbnode does not exist (ctime/mtime indexes only if time_indexes);
 * then adds the user, computer, authinfo, settings and migration rows
 * that are missing. computer_uuid is the new computer's uuid. */
int gen_db_prepare_create(gen_db *db, bool time_indexes, const char *computer_uuid,
                          gen_error *err);

/* add/import modes: fails unless db_dbnode exists. */
int gen_db_require_schema(gen_db *db, gen_error *err);

/* The lowest db_dbuser id (required) and db_dbcomputer id (0 if none). */
int gen_db_owner(gen_db *db, int64_t *out_user, int64_t *out_computer, gen_error *err);

/* Locks db_dbnode against other writers and reserves count ids: the run
 * uses *out_first .. *out_first + count - 1, and the id sequence is moved
 * past them so later AiiDA inserts continue after the run. */
int gen_db_reserve_node_ids(gen_db *db, int64_t count, int64_t *out_first, gen_error *err);

/* Inserts one db_dbgroup row and returns its id. */
int gen_db_insert_group(gen_db *db, const char *uuid, const char *label,
                        const char *type_string, int64_t user_id, int64_t *out_id,
                        gen_error *err);

/* COPY ... FROM STDIN in text format: begin, put any number of chunks of
 * complete or partial rows, end (which reports any row error). */
int gen_db_copy_begin(gen_db *db, const char *copy_sql, gen_error *err);
int gen_db_copy_put(gen_db *db, const char *data, size_t len, gen_error *err);
int gen_db_copy_end(gen_db *db, gen_error *err);

/* AiiDA 2.x (--format 2): adds db_dbnode.repository_metadata, alembic_version 'main_0002',
 * schema_generation "2" and the 'repository|uuid' setting (container_id). */
int gen_db_prepare_container(gen_db *db, const char *container_id, gen_error *err);

#endif
