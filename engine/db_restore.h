/*
 * db_restore.h - the database side of a restore: a snapshot's dump onto a (new) cluster.
 *
 * Rebuilds the snapshot's pg_dump directory (following delta chains, checking every file's
 * hash), then either leaves it in dump_dir - a plain directory that stock pg_restore reads -
 * or restores it with the real `pg_restore --jobs=N` into the database that to_dsn names,
 * creating that database when it does not exist. A database that already holds tables is
 * refused unless clean is set. By default restored objects belong to the target connection's
 * role (a new cluster rarely has the source's roles); keep_owners keeps the dump's owners and
 * fails clearly when one is missing. Afterwards every table's row count and the AiiDA schema
 * version are compared with what the snapshot recorded. Each step the user should know about
 * ("creating database 'x'", "verified ...") is logged as a note (common/log.h).
 */
#ifndef STRATA_ENGINE_DB_RESTORE_H
#define STRATA_ENGINE_DB_RESTORE_H

#include "engine/db_info.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct db_restore_options {
	const char *dest_path;
	int64_t snapshot_id;   /* a complete snapshot that holds the database */
	const char *to_dsn;    /* NULL: only write dump_dir */
	const char *dump_dir;  /* NULL: a temporary directory, removed afterwards */
	int jobs;
	bool clean;
	bool keep_owners;
	/* db_restore_dump_dir: the facts to verify the restored database against (a db_info.h
	 * document, e.g. from an archive's manifest), or NULL; they name snapshot_id. */
	const char *facts;
} db_restore_options;

typedef struct db_restore_result {
	char schema_version[DB_INFO_SCHEMA_VERSION_MAX];
	char server_version[PG_VERSION_MAX];
	int64_t tables;
	int64_t rows;
	bool created_database;
	bool verified;
	bool marked;             /* the database's comment names the destination and snapshot */
	double seconds;
} db_restore_result;

/* The comment a restore puts on the database it restored, which a later backup into the same
 * destination recognises (backup.h): DB_RESTORE_MARK_PREFIX "<destination id> snapshot <id>". */
#define DB_RESTORE_MARK_PREFIX "strata: restored from destination "

int db_restore_run(const db_restore_options *options, db_restore_result *out);

/* Restores the plain pg_dump directory options->dump_dir (already written and checked, e.g.
 * from an archive) into options->to_dsn with pg_restore, creating the database as
 * db_restore_run does; dest_path is not used. With facts, every table's row count and the schema
 * version are then verified as db_restore_run verifies them; without, nothing is verified
 * (out->verified stays false). */
int db_restore_dump_dir(const db_restore_options *options, db_restore_result *out);

#endif
