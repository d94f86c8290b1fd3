/*
 * node_tree.h - the file tree of one node folder, as the scanner reads it.
 *
 * A node's folder is <repository>/node/<u[0:2]>/<u[2:4]>/<u[4:]>/ (AiiDA 1.x). The walk lists
 * every directory, regular file and symbolic link below it with the metadata a restore needs;
 * links are recorded, never followed. Other file types (sockets, devices, fifos) are skipped
 * with a warning. Entries come sorted by path, so a parent directory precedes its children.
 */
#ifndef STRATA_SCANNER_NODE_TREE_H
#define STRATA_SCANNER_NODE_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum scan_entry_type {
	SCAN_ENTRY_FILE = 1,
	SCAN_ENTRY_DIR = 2,
	SCAN_ENTRY_SYMLINK = 3
} scan_entry_type;

typedef struct scan_entry {
	char *path;     /* relative to the node folder, '/'-separated, never empty */
	char *target;   /* symlink target, NULL otherwise */
	uint64_t size;  /* regular files */
	uint64_t inode; /* to read files in inode order */
	int64_t mtime_ns;
	uint32_t mode;  /* permission bits (07777) */
	scan_entry_type type;
} scan_entry;

typedef struct scan_tree {
	scan_entry *entries;
	size_t count;
	size_t capacity;
	bool exists;          /* false: the node has no folder, which is normal */
	uint32_t root_mode;   /* of the node folder itself */
	int64_t root_mtime_ns;
} scan_tree;

/* Writes "<repository>/node/<u[0:2]>/<u[2:4]>/<u[4:]>" into out. Returns ST_ERR_GENERIC when the
 * uuid is malformed or the path does not fit. */
int scan_node_dir(char *out, size_t cap, const char *repository, const char *uuid);

/* Reads the tree below node_dir into out (which the caller releases). A missing folder is not an
 * error: out->exists is false. Unreadable folders are ST_ERR_SOURCE. */
int scan_tree_read(scan_tree *out, const char *node_dir);

void scan_tree_release(scan_tree *tree);

#endif
