/*
 * source.h - the files of a backup's source, behind one interface for every kind of AiiDA
 * repository.
 *
 * A source is opened on a root (the directory the profile's repository URI names, or
 * --repository) and its kind is detected from the root's shape:
 *   - AiiDA 1.x node folders, <root>/repository/node/<u[0:2]>/<u[2:4]>/<u[4:]>/
 *     (source_nodefolder.c, which walks them with node_tree.h);
 *   - the AiiDA 2.x disk-objectstore container, <root>/container/ (source_container.c: trees
 *     from db_dbnode.repository_metadata, bytes from loose and packed objects).
 * A root of neither shape is an error, never an empty source: a backup must not record "no
 * files" where it could not look. source_open checks the shape before anything else happens
 * (no lock taken, no database contacted); source_attach then opens the source at the backup's
 * exported database snapshot and checks that the root agrees with that database (1.x: a root
 * with no node folder while the database lists nodes is refused; 2.x: the container's id
 * against the database's `repository|uuid`).
 *
 * Node selection is not part of this interface, by decision: it is the same for every kind (ids
 * above the catalog's watermark, a ctime window, reconciliation of every id, all read at the
 * exported snapshot) and is combined with what the catalog holds, so the engine calls scan_db_*
 * (source_db.h) for it directly. The source answers for one selected node at a time, as
 * scan_db_* returned it (id, uuid, ctime): its tree (source_node_tree), whether it has one
 * (source_node_exists), and the bytes of one of its files (source_open_entry, then
 * source_entry_read in order). A kind that keeps trees in the database (2.x:
 * db_dbnode.repository_metadata) reads them at the same exported snapshot - scan_db_get_info()'s
 * snapshot_id stays importable by sessions of its own while the scan_db is open - and may keep
 * in an entry what it needs to find the entry's bytes (2.x: the object key).
 *
 * Threads: the node calls and the entry calls may run concurrently from any number of threads
 * (one source_entry is used by one thread at a time). The backup keeps many of them in flight,
 * which is what a cold repository needs: the cost is lookup latency, not bandwidth.
 *
 * Errors: ST_ERR_SOURCE for a root of the wrong shape and for anything unreadable, vanished or
 * changed in the source, with a message naming the file; ST_ERR_GENERIC for a malformed node
 * uuid. A missing node tree is not an error (the node has no files).
 */
#ifndef STRATA_SCANNER_SOURCE_H
#define STRATA_SCANNER_SOURCE_H

#include "scanner/scan_tree.h"
#include "scanner/source_db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum source_kind {
	SOURCE_KIND_NODE_FOLDERS = 1, /* AiiDA 1.x: repository/node/ */
	SOURCE_KIND_CONTAINER = 2     /* AiiDA 2.x: container/ */
} source_kind;

typedef struct source source;

/* The bytes of one entry of a node's tree, open for reading in order. */
typedef struct source_entry source_entry;

/* Resolves root, detects its kind and opens the source (freed with source_close). Errors are
 * ST_ERR_SOURCE: root missing, not a directory, or of neither shape; for a 2.x container, a
 * config.json that is missing or invalid, or a packs.idx that cannot be opened. */
int source_open(source **out, const char *root);

/* Opens the source at db's exported snapshot and checks that the root agrees with the database
 * (ST_ERR_SOURCE otherwise). db must outlive the source. Call once, before the node calls; the
 * 1.x kind reads nothing from the database for its node calls, so they also work unattached. */
int source_attach(source *src, scan_db *db);

/* Closes the source; NULL is allowed. Entries must be closed first. */
void source_close(source *src);

source_kind source_get_kind(const source *src);

/* The directory the source reads, resolved (1.x: "<root>/repository"); borrowed. For
 * descriptions and messages. */
const char *source_path(const source *src);

/* The container's config.json as read (2.x; borrowed), NULL for a kind without one: a backup
 * records it in its snapshot, and a restore writes it back. */
const char *source_container_config_text(const source *src);

/* out = whether the source holds a tree for node now (1.x: its folder exists). */
int source_node_exists(bool *out, source *src, const scan_node *node);

/* Reads node's tree into out, which the caller releases with scan_tree_release (also after an
 * error). A node without files is not an error: out->exists is false. */
int source_node_tree(scan_tree *out, source *src, const scan_node *node);

/* Opens one file entry of node's tree, as source_node_tree returned it, for reading (closed with
 * source_entry_close). A file that vanished, or that changed since the tree was read (size,
 * mtime), is ST_ERR_SOURCE. */
int source_open_entry(source_entry **out, source *src, const scan_node *node, const scan_entry *entry);

/* Reads the next len bytes of the entry into buf: exactly len, in order, never past the size
 * the tree recorded. Content that ends early ("shrank while being read") or cannot be read is
 * ST_ERR_SOURCE; a kind that can verify content (2.x: the sha256 key) reports a mismatch on the
 * read that completes the entry. */
int source_entry_read(source_entry *entry, void *buf, size_t len);

/* Closes the entry; NULL is allowed. */
void source_entry_close(source_entry *entry);

/* ---- the folders above the nodes' trees ----
 *
 * A restore gives these folders (1.x: repository, repository/node and the shard levels
 * node/xx, node/xx/yy) the mode and mtime they had, as tar and rsync -a do. Their mtimes change
 * whenever a node is added or removed, so a backup records, at the end of its scan, the ones
 * that always matter (1.x: repository, repository/node) and the ones that hold a node it read
 * or found deleted (1.x: that node's two shard folders): an incremental backup stats only the
 * shards it touched, each once, and an untouched folder's record from an earlier snapshot still
 * holds. */

/* Longest path of a folder (relative to the root, e.g. "repository/node/ab/cd"). */
#define SOURCE_FOLDER_PATH_MAX 32

typedef struct source_folder {
	char path[SOURCE_FOLDER_PATH_MAX]; /* relative to the root, '/'-separated */
	uint32_t mode;                     /* permission bits */
	int64_t mtime_ns;
} source_folder;

/* Notes that the backup read node or found it deleted, so that source_folder_meta reports the
 * folders that hold it. No I/O, bounded memory (1.x: one bit per shard folder); any thread. A
 * malformed uuid is ignored (the node's own calls report it). */
void source_note_node(source *src, const scan_node *node);

/* Reads the folders above the nodes' trees that every snapshot records, and those that hold a
 * noted node, each once, without following a link at any level. A folder that is missing or is
 * not a folder is left out. *out (caller frees with free) holds *out_count of them, deepest
 * first. Unreadable folders are ST_ERR_SOURCE. */
int source_folder_meta(source *src, source_folder **out, size_t *out_count);

#endif
