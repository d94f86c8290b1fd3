/*
 * catalog.h - the destination's catalog: snapshots, node trees, packs and objects (SQLite).
 *
 * The catalog is also the object store's index (packs, objects and where they are); only
 * store/ writes or interprets that part.
 *
 * The only place that calls SQLite. The catalog lives in WAL mode; one connection writes
 * (the backup's writer thread), others may read concurrently.
 *
 * Snapshot visibility: a backup creates its snapshot row in state 'pending', streams node
 * versions and entries into it in as many transactions as it likes, and flips it to
 * 'complete' in one final transaction. Readers see complete snapshots only. A pending snapshot
 * left by a killed run is removed by the next run (catalog_discard_pending), so earlier
 * snapshots are never affected.
 *
 * Forgetting a snapshot sets its state to 'forgotten' and changes nothing else: listings skip
 * it, but its node versions, entries, folder records and dump files stay (the snapshots after it
 * see its node versions; a kept dump file may be a delta against its version), so a forgotten
 * snapshot's data is checked like a complete one's. What only forgotten snapshots use is garbage
 * for a later prune.
 *
 * A node version belongs to every snapshot from added_in until (excluding) deleted_in, so a
 * daily backup adds rows only for new nodes; a node deleted from the database stays
 * restorable from the snapshots that held it.
 *
 * Format: PRAGMA user_version is the catalog format. Opening an older catalog keeps a copy
 * (catalog.db.v<N>.bak) and migrates it forward in one transaction; a newer one is refused.
 */
#ifndef STRATA_CATALOG_CATALOG_H
#define STRATA_CATALOG_CATALOG_H

#include "common/hash.h"
#include "common/id_sums.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CATALOG_FORMAT 11

typedef struct catalog catalog;

/* Where an object is, as the catalog records it: the store's index (store/ reads and writes
 * it; nobody else looks inside). */
typedef struct pack_location {
	int64_t pack_id;
	uint64_t offset;      /* of the record header */
	uint64_t raw_size;
	uint64_t stored_size; /* bytes after the record header */
	int codec;            /* the store's codec id */
} pack_location;

typedef enum catalog_mode {
	CATALOG_CREATE, /* create a new catalog (the file must not exist) */
	CATALOG_WRITE,  /* open an existing catalog for a backup */
	CATALOG_READ    /* open an existing catalog for reading */
} catalog_mode;

typedef struct catalog_snapshot {
	int64_t id;
	int64_t time_us;       /* wall-clock start of the backup */
	int64_t finished_us;
	int64_t db_time_us;    /* the source database's snapshot time */
	int64_t watermark;     /* highest node id the snapshot saw */
	int64_t nodes;         /* totals of the snapshot's view */
	int64_t files;
	int64_t bytes;
	int64_t new_nodes;     /* what this backup added */
	int64_t deleted_nodes;
	int64_t new_bytes;     /* raw size of new objects */
	int64_t stored_bytes;  /* bytes this backup added to packs */
	bool has_files;
	bool has_database;
	char source[512];      /* where the data came from, never with credentials */
	char *db_info;         /* JSON facts about the database side, or NULL; owned, see
				* catalog_snapshot_release */
	char *profile;         /* JSON: the AiiDA profile backed up, without secrets (name, format,
				* settings), or NULL; owned like db_info */
	char *container;       /* AiiDA 2.x: the disk-objectstore container's config.json as the
				* backup read it (its files are objects of that container), NULL for
				* 1.x node folders; owned like db_info */
	char *data_version;    /* the source database's content when the snapshot is complete for it
				* (scan_db_info.data_version): its dump, if any, is of that content and
				* its files, if any, left no node behind; NULL otherwise. Written by
				* catalog_snapshot_complete; owned like db_info */
} catalog_snapshot;

/* Content stored as objects: one object whose hash is the content's hash, or several chunk
 * objects (chunks, chunk_count) whose concatenation has that hash. */
typedef struct catalog_blob {
	st_hash hash;
	uint64_t size;
	const st_hash *chunks;
	size_t chunk_count;
} catalog_blob;

typedef enum catalog_dump_storage {
	CATALOG_DUMP_FULL = 0,  /* content is the file */
	CATALOG_DUMP_DELTA = 1, /* content is an rsync delta against base_snapshot's version (catalogs
				 * written before format 7; read, never written) */
	CATALOG_DUMP_ZDELTA = 2 /* content is a zstd delta against base_snapshot's version (zdelta.h) */
} catalog_dump_storage;

/* One file of a snapshot's pg_dump directory. */
typedef struct catalog_dump_file {
	int64_t snapshot_id;     /* filled when read from the catalog */
	const char *name;        /* file name in the dump directory */
	const char *table_key;   /* what the file holds, stable across dumps (e.g. "TABLE DATA public t") */
	uint64_t size;
	st_hash hash;            /* of the file itself */
	catalog_dump_storage storage;
	catalog_blob content;    /* the file, or the delta */
	int64_t base_snapshot;   /* delta basis: the same table_key in that snapshot */
	int chain_length;        /* 0 for a full copy, base's + 1 for a delta */
	uint64_t chain_bytes;    /* delta sizes since the chain's full copy, this one included (0 for a
				  * full copy) */
	bool has_signature;
	catalog_blob signature;  /* librsync signature of the file (catalogs before format 7) */
} catalog_dump_file;

typedef enum catalog_entry_type {
	CATALOG_ENTRY_FILE = 1,
	CATALOG_ENTRY_DIR = 2,
	CATALOG_ENTRY_SYMLINK = 3
} catalog_entry_type;

/* One path of a node's tree. A file's content is the object hash, or - for files stored in
 * several chunks - the concatenation of the chunk objects listed in chunks; hash is then the
 * hash of the whole content. */
typedef struct catalog_entry {
	const char *path;
	const char *target;   /* symlinks */
	uint64_t size;
	int64_t mtime_ns;
	uint32_t mode;
	catalog_entry_type type;
	st_hash hash;         /* files */
	const st_hash *chunks;
	size_t chunk_count;   /* 0 when the content is the single object hash */
} catalog_entry;

/* Length of a node's uuid in its canonical text form. */
#define CATALOG_UUID_LEN 36

typedef struct catalog_node {
	int64_t node_id;
	int64_t ctime_us;
	int64_t mtime_us;           /* the node's mtime in the database the version was read at; 0:
				     * not known (catalogs before format 10, imports) */
	const st_hash *tree_digest; /* of the tree the version was read from (scanner's
				     * scan_tree_digest), NULL when not known */
	const char *uuid;
	bool has_folder;
	uint32_t root_mode;
	int64_t root_mtime_ns;
	uint64_t files;
	uint64_t bytes;
} catalog_node;

typedef struct catalog_pack {
	int64_t id;
	char name[64];
	uint64_t size;
	uint64_t objects;
} catalog_pack;

/* ---- lifecycle, transactions, metadata ---- */

int catalog_open(catalog **out, const char *path, catalog_mode mode);
void catalog_close(catalog *cat);

int catalog_begin(catalog *cat);
int catalog_commit(catalog *cat);
void catalog_rollback(catalog *cat);
/* Whether a transaction is open on this connection. */
bool catalog_in_transaction(catalog *cat);

/* *out (caller frees) is NULL when key is absent. */
int catalog_meta_get(catalog *cat, const char *key, char **out);
int catalog_meta_set(catalog *cat, const char *key, const char *value);

/* PRAGMA integrity_check: ST_ERR_CORRUPT with the first problem when it fails. */
int catalog_integrity_check(catalog *cat);

/* Writes a consistent, compact copy of the committed catalog to path (replaced if it exists),
 * for a backend to publish. */
int catalog_copy_to(catalog *cat, const char *path);

/* ---- snapshots ---- */

/* Removes pending snapshots and everything they added (but publishes the objects of their
 * sealed packs, which stay valid); *out_count says how many. */
int catalog_discard_pending(catalog *cat, int *out_count);

/* Creates a pending snapshot from the fields of snap (id ignored); *out_id is its id. */
int catalog_snapshot_create(catalog *cat, const catalog_snapshot *snap, int64_t *out_id);

/* Stores the statistics of snap and makes it complete. Run inside the final transaction. */
int catalog_snapshot_complete(catalog *cat, const catalog_snapshot *snap);

/* The newest complete snapshot; *out_found false when there is none. */
int catalog_snapshot_latest(catalog *cat, catalog_snapshot *out, bool *out_found);

/* A complete snapshot by id; ST_ERR_NOTFOUND when there is no such snapshot. */
int catalog_snapshot_get(catalog *cat, int64_t id, catalog_snapshot *out);

/* All complete snapshots, oldest first; *out is freed by the caller. */
int catalog_snapshot_list(catalog *cat, catalog_snapshot **out, size_t *out_count);

/* Frees what a snapshot record owns (db_info). */
void catalog_snapshot_release(catalog_snapshot *snap);

/* Frees a list from catalog_snapshot_list. */
void catalog_snapshot_list_free(catalog_snapshot *list, size_t count);

/* Marks complete snapshots as forgotten, in one transaction: all of them or none
 * (ST_ERR_NOTFOUND names the first id that is not a complete snapshot). */
int catalog_snapshot_forget(catalog *cat, const int64_t *ids, size_t count);

/* The newest complete or forgotten snapshot that holds files: the base of an incremental
 * backup, whose view the catalog's current node versions are; *out_found false when there is
 * none. */
int catalog_snapshot_latest_with_files(catalog *cat, catalog_snapshot *out, bool *out_found);

/* The newest complete snapshot that holds the database; *out_found false when there is none. */
int catalog_snapshot_latest_with_database(catalog *cat, catalog_snapshot *out, bool *out_found);

/* ---- the database side ---- */

int catalog_dump_file_add(catalog *cat, int64_t snapshot_id, const catalog_dump_file *file);

/* The dump files of a snapshot, by name; free with catalog_dump_files_free. */
int catalog_dump_files_of(catalog *cat, int64_t snapshot_id, catalog_dump_file **out, size_t *out_count);

/* The newest version of table_key in a complete snapshot before before_snapshot; *out_found. */
int catalog_dump_file_previous(catalog *cat, const char *table_key, int64_t before_snapshot,
			       catalog_dump_file *out, bool *out_found);

/* The version of table_key in snapshot_id (ST_ERR_CORRUPT when absent: a broken chain). */
int catalog_dump_file_get(catalog *cat, int64_t snapshot_id, const char *table_key, catalog_dump_file *out);

/* Follows the delta chain of every dump file of a complete snapshot (base_snapshot and table_key)
 * to a full copy within max_length steps; each file whose chain breaks or does not reach one is
 * passed to report (one line) and counted in *out_problems. */
int catalog_check_dump_chains(catalog *cat, int max_length, void (*report)(void *ctx, const char *problem),
			      void *ctx, uint64_t *out_problems);

/* The dump files of kept snapshots (after catalog_prune_begin) stored as deltas whose basis
 * is not in a kept snapshot: what prune rebuilds as full copies before the bases go. */
int catalog_dump_files_to_rebase(catalog *cat, catalog_dump_file **out, size_t *out_count);

/* Makes a snapshot's dump file a full copy whose content is content (no basis, chain 0). */
int catalog_dump_file_make_full(catalog *cat, int64_t snapshot_id, const char *name, const catalog_blob *content);

/* Recomputes chain_length and chain_bytes of every delta from its basis, after bases changed. */
int catalog_dump_fix_chains(catalog *cat);

void catalog_dump_file_release(catalog_dump_file *file);
void catalog_dump_files_free(catalog_dump_file *files, size_t count);

/* ---- nodes ---- */

/* Whether a current (not deleted) version of node_id exists. */
int catalog_node_is_current(catalog *cat, int64_t node_id, bool *out);

/* What the catalog holds of a node's current version: what a backup compares a node whose
 * mtime moved with before it reads the node's files again. */
typedef struct catalog_node_state {
	bool current;         /* a current (not deleted) version exists; the rest is its */
	int64_t mtime_us;     /* 0 when not recorded */
	bool has_digest;
	st_hash tree_digest;  /* when has_digest */
} catalog_node_state;

/* Fills *out for node_id (out->current false when there is no current version). */
int catalog_node_current_state(catalog *cat, int64_t node_id, catalog_node_state *out);

/* Adds a node version with its entries to snapshot_id. */
int catalog_node_add(catalog *cat, int64_t snapshot_id, const catalog_node *node,
		     const catalog_entry *entries, size_t count);

/* The id aggregates (common/id_sums.h) of the current node versions with lo <= node_id <= hi,
 * in buckets of width ids: out[b] covers lo + b * width to lo + (b + 1) * width - 1. The
 * bucket_count entries of out are filled (zero where no node is). One pass over the range's
 * ids in the index; nothing is kept per node. */
int catalog_node_id_sums(catalog *cat, int64_t lo, int64_t hi, int64_t width, st_id_sums *out, size_t bucket_count);

/* Ids of current node versions with lo <= node_id <= hi, ascending; *out freed by the caller. */
int catalog_node_current_ids(catalog *cat, int64_t lo, int64_t hi, int64_t **out, size_t *out_count);

/* The lowest node_id of a current node version, 0 when there is none. */
int catalog_node_min_current(catalog *cat, int64_t *out);

/* A current node version recorded without a folder. */
typedef struct catalog_folderless_node {
	int64_t node_id;
	char uuid[CATALOG_UUID_LEN + 1];
} catalog_folderless_node;

/* Current node versions with node_id <= max_id that were recorded without a folder, ascending
 * by node_id; *out freed by the caller. */
int catalog_node_current_folderless(catalog *cat, int64_t max_id, catalog_folderless_node **out,
				    size_t *out_count);

/* Ends, in snapshot_id, the versions of ids that older snapshots added: a node read again in
 * snapshot_id replaces them (its new version, added in snapshot_id, stays current). Adds up
 * the files and bytes the ended versions held into *out_files and *out_bytes (zeroed first). */
int catalog_node_supersede(catalog *cat, int64_t snapshot_id, const int64_t *ids, size_t count,
			   int64_t *out_files, int64_t *out_bytes);

/* Marks the current versions of ids as deleted in snapshot_id; adds up what they held. */
int catalog_node_mark_deleted(catalog *cat, int64_t snapshot_id, const int64_t *ids, size_t count,
			      int64_t *out_files, int64_t *out_bytes);

/* The uuid of node_id's current version; *out_found false when there is none. */
int catalog_node_current_uuid(catalog *cat, int64_t node_id, char out[CATALOG_UUID_LEN + 1], bool *out_found);

/* Ends, in snapshot_id, every current version that an older snapshot added (an import's
 * snapshot replaces the whole view); *out_count says how many. */
int catalog_node_end_current(catalog *cat, int64_t snapshot_id, int64_t *out_count);

/* Calls fn for every node of snapshot_id's view, by uuid, with node_id, uuid (borrowed for the
 * call), ctime_us and has_folder set; stops at fn's first non-zero return, which it returns. */
int catalog_node_each(catalog *cat, int64_t snapshot_id, int (*fn)(void *ctx, const catalog_node *node), void *ctx);

/* ---- the folders above the node folders ---- */

/* Longest folder path the catalog records ("repository/node/xx/yy" and the like). */
#define CATALOG_FOLDER_PATH_MAX 32

/* The mode and mtime of one folder above the node folders, as a snapshot saw it. path is
 * relative to the repository root; the catalog stores what it is given and does not interpret it
 * (a restore checks its shape). */
typedef struct catalog_folder {
	char path[CATALOG_FOLDER_PATH_MAX];
	uint32_t mode;
	int64_t mtime_ns;
} catalog_folder;

/* Records folders in snapshot_id. Run inside the transaction that completes the snapshot. */
int catalog_folder_add(catalog *cat, int64_t snapshot_id, const catalog_folder *folders, size_t count);

/* For every folder recorded in a complete or forgotten snapshot up to snapshot_id, its newest record: what
 * the folder was at snapshot_id (a backup records the folders it touched, an unrecorded folder
 * did not change). Deepest paths first; *out freed by the caller (free). A path that does not
 * fit or holds a NUL byte is ST_ERR_CORRUPT. */
int catalog_folder_as_of(catalog *cat, int64_t snapshot_id, catalog_folder **out, size_t *out_count);

/* Calls fn for every folder record of the complete and forgotten snapshots (all of them, not only the newest
 * of each folder), by path and snapshot; stops at fn's first non-zero return, which it returns.
 * A record that cannot be a folder's (as catalog_folder_as_of) is ST_ERR_CORRUPT. */
int catalog_folder_each(catalog *cat, int (*fn)(void *ctx, const catalog_folder *folder), void *ctx);

/* ---- packs and objects ---- */

int catalog_pack_add(catalog *cat, const char *name, uint64_t size, uint64_t objects, int64_t *out_id);
int catalog_pack_list(catalog *cat, catalog_pack **out, size_t *out_count);

int catalog_object_add(catalog *cat, const st_hash *hash, const pack_location *loc);

/* Records an object of a sealed pack in the staging table: an append, cheap however large the
 * objects table is (inserting random hashes into it one by one would touch a random page of
 * it each time). Staged objects are not found by catalog_object_find until published. */
int catalog_object_stage(catalog *cat, const st_hash *hash, const pack_location *loc);

/* What is staged and not yet published - the sealed packs of a killed run, until
 * catalog_discard_pending publishes them: their number, their objects and those objects' raw
 * bytes. */
int catalog_object_staged_totals(catalog *cat, int64_t *out_packs, int64_t *out_objects, int64_t *out_bytes);

/* Moves staged objects into the objects table in hash order (one sequential pass over it).
 * Run in the transaction that completes a snapshot, and when discarding a killed run (whose
 * sealed packs stay valid and are reused). */
int catalog_object_publish(catalog *cat);

/* *out is true when the catalog holds at least one object. */
int catalog_object_any(catalog *cat, bool *out);

/* Number of objects, their original (raw) bytes and their stored bytes. */
int catalog_object_totals(catalog *cat, int64_t *out_count, int64_t *out_raw, int64_t *out_stored);

/* *out_found tells whether hash is stored; loc (may be NULL) receives where. */
int catalog_object_find(catalog *cat, const st_hash *hash, pack_location *loc, bool *out_found);

/* Calls fn for every object of pack_id in offset order; stops on non-zero return. */
int catalog_object_each_in_pack(catalog *cat, int64_t pack_id,
				int (*fn)(void *ctx, const st_hash *hash, const pack_location *loc), void *ctx);

/* ---- prune (catalog_prune.c) ----
 *
 * Run under the write lock, inside one transaction of the writer's connection (a dry run:
 * on a reader). catalog_prune_begin records the kept snapshots (the complete ones) in a
 * temporary table; once every kept dump file was rebased (catalog_dump_files_to_rebase is
 * empty), catalog_prune_mark records what they use - the node versions they see (and every
 * current one, the next backup's base), their dump files, their folder records (and each
 * folder's newest) and every object those name; the other calls use that mark. */

/* Rows that prune removes (or would remove), per table. */
typedef struct catalog_prune_counts {
	int64_t node_versions, entries, dump_files, folder_records, objects, packs;
} catalog_prune_counts;

/* One pack, and how much of it the kept snapshots use. */
typedef struct catalog_pack_usage {
	int64_t id;
	char name[64];
	uint64_t size;
	int64_t objects;
	int64_t live_objects;
	uint64_t live_stored; /* stored bytes of the live objects, record headers not included */
} catalog_pack_usage;

/* Kept: the complete snapshots but those in assume_forgotten (a dry run's forget). */
int catalog_prune_begin(catalog *cat, const int64_t *assume_forgotten, size_t count);
int catalog_prune_mark(catalog *cat);

/* Every pack with its usage, by id (caller frees *out). */
int catalog_prune_pack_usage(catalog *cat, catalog_pack_usage **out, size_t *out_count);

/* Calls fn for every live object of pack_id in offset order; stops on non-zero return. */
int catalog_prune_each_live_in_pack(catalog *cat, int64_t pack_id,
				    int (*fn)(void *ctx, const st_hash *hash, const pack_location *loc), void *ctx);

/* Counts the garbage rows (packs: not counted here, see catalog_prune_pack_usage). */
int catalog_prune_count(catalog *cat, catalog_prune_counts *out);

/* Replaces the locations of repacked objects with their staged copies (and publishes other
 * staged objects), deletes the garbage rows and the packs that no object names any more, and
 * drops the mark; *out says how many of each went. */
int catalog_prune_apply(catalog *cat, catalog_prune_counts *out);

/* Counts entries whose content (object or chunk) is not in the objects table, objects and
 * staged objects whose pack is not in the packs table, and objects that point outside their
 * pack (the rows of complete and forgotten snapshots); each problem is passed to report (one line). */
int catalog_check_references(catalog *cat, void (*report)(void *ctx, const char *problem), void *ctx,
			     uint64_t *out_problems);

/* ---- reading a snapshot's trees ---- */

typedef struct catalog_tree_iter catalog_tree_iter;

/* One entry of a node in a snapshot, with where its content is. */
typedef struct catalog_tree_entry {
	catalog_entry entry;
	pack_location location; /* single-object files */
	bool has_location;
	pack_location *chunk_locations; /* chunked files: entry.chunk_count of them */
} catalog_tree_entry;

typedef struct catalog_node_tree {
	int64_t version_id;     /* the node version: ascending (by_uuid: within one uuid) */
	catalog_node node;
	catalog_tree_entry *entries;
	size_t count;
} catalog_node_tree;

int catalog_tree_iter_open(catalog_tree_iter **out, catalog *cat, int64_t snapshot_id);

/* Like catalog_tree_iter_open, for the nodes whose uuid starts with uuid_prefix only (a whole
 * uuid: that node; "" every node). Only those nodes' entries are read. */
int catalog_tree_iter_open_prefix(catalog_tree_iter **out, catalog *cat, int64_t snapshot_id, const char *uuid_prefix);

/* An iterator over every node version of the complete and forgotten snapshots, whichever
 * snapshot it belongs to (a pending snapshot's versions are left out). */
int catalog_tree_iter_open_all(catalog_tree_iter **out, catalog *cat);

/* *out is the next node with its entries (owned by the caller, free with
 * catalog_node_tree_free), or NULL at the end. */
int catalog_tree_iter_next(catalog_tree_iter *iter, catalog_node_tree **out);
void catalog_tree_iter_close(catalog_tree_iter *iter);
void catalog_node_tree_free(catalog_node_tree *tree);
typedef enum catalog_tree_order {
	CATALOG_TREE_BY_VERSION, /* as catalog_tree_iter_open */
	CATALOG_TREE_BY_UUID     /* by uuid (then version): the node folders of one shard folder
				  * (repository/node/xx/yy) come one after the other */
} catalog_tree_order;

/* Calls fn for every node of snapshot_id's view with its entries, in order (the tree is fn's to
 * change and is freed after the call), until the end or fn's first non-zero return, which it
 * returns. Memory holds one node at a time. */
int catalog_tree_each(catalog *cat, int64_t snapshot_id, catalog_tree_order order,
		      int (*fn)(void *ctx, catalog_node_tree *tree), void *ctx);

/* Keeps the entries i of tree with keep[i] (in order), releasing the others. */
void catalog_node_tree_keep(catalog_node_tree *tree, const bool *keep);

/* Checks a node's tree read from the catalog before anything uses it (ST_ERR_CORRUPT, one line
 * naming the node and the entry): a well-formed uuid; every path relative, of plain components
 * ('..', '.', empty and over-long names refused); no path twice; every entry below a directory
 * entry of the node (never below a file or a link); permission bits only; a link with a
 * target; a file whose stored content holds exactly its size. Names with a NUL byte are
 * refused when read (catalog_tree_iter_next). */
int catalog_tree_validate(const catalog_node_tree *tree);

#endif
