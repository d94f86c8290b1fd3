/*
 * scan_tree.h - the file tree of one node, as a source kind reports it (see source.h).
 *
 * Every kind fills the same tree: directories, regular files and symbolic links below the
 * node's root, with the metadata a restore needs. Entries are sorted by path, so a parent
 * directory precedes its children. The tree owns its strings; scan_tree_release frees them.
 */
#ifndef STRATA_SCANNER_SCAN_TREE_H
#define STRATA_SCANNER_SCAN_TREE_H

#include "common/hash.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum scan_entry_type {
	SCAN_ENTRY_FILE = 1,
	SCAN_ENTRY_DIR = 2,
	SCAN_ENTRY_SYMLINK = 3
} scan_entry_type;

typedef struct scan_entry {
	char *path;     /* relative to the node's root, '/'-separated, never empty */
	char *target;   /* symlink target, NULL otherwise */
	char *key;      /* where the kind finds a file's bytes (2.x: its object key), NULL otherwise */
	uint64_t size;  /* regular files */
	uint64_t inode; /* read-order key: reading a node's files in ascending order of it is
			 * fastest (1.x: the inode number, close to disk order on ext4) */
	int64_t mtime_ns;
	uint32_t mode;  /* permission bits (07777) */
	scan_entry_type type;
} scan_entry;

typedef struct scan_tree {
	scan_entry *entries;
	size_t count;
	size_t capacity;
	bool exists;          /* false: the node has no files at all (no folder), which is normal */
	uint32_t root_mode;   /* of the node's root folder */
	int64_t root_mtime_ns;
	int64_t special_skipped; /* fifos, sockets and devices left out (each with a warning) */
} scan_tree;

/* Appends a zeroed entry and returns it (borrowed; it moves with the next append). */
scan_entry *scan_tree_append(scan_tree *tree);

/* Sorts the entries by path. */
void scan_tree_sort(scan_tree *tree);

/* A digest of what the tree says (sorted, as a kind returns it): for every entry its path, type,
 * mode, size, mtime, link target and object key, and the root's mode and mtime - not the
 * read-order key. Equal digests mean the same files as far as the source tells without reading
 * them (2.x: the same object keys; 1.x: the same listing, sizes and mtimes). */
void scan_tree_digest(st_hash *out, const scan_tree *tree);

/* Frees the entries and their strings and zeroes the tree. */
void scan_tree_release(scan_tree *tree);

#endif
