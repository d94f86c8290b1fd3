/*
 * node_tree.h - the walk of one AiiDA 1.x node folder: the 1.x source kind's tree
 * (source_nodefolder.c), and the folder layout restore writes.
 *
 * A node's folder is <repository>/node/<u[0:2]>/<u[2:4]>/<u[4:]>/ (AiiDA 1.x). The walk lists
 * every directory, regular file and symbolic link below it with the metadata a restore needs;
 * links are recorded, never followed. Other file types (sockets, devices, fifos) are skipped
 * with a warning and counted (scan_tree.special_skipped). Entries come sorted by path, so a parent directory precedes its children.
 */
#ifndef STRATA_SCANNER_NODE_TREE_H
#define STRATA_SCANNER_NODE_TREE_H

#include "scanner/scan_tree.h"

#include <stddef.h>

/* Writes "<repository>/node/<u[0:2]>/<u[2:4]>/<u[4:]>" into out. Returns ST_ERR_GENERIC when the
 * uuid is malformed or the path does not fit. */
int scan_node_dir(char *out, size_t cap, const char *repository, const char *uuid);

/* Reads the tree below node_dir into out (which the caller releases). A missing folder is not an
 * error: out->exists is false. Unreadable folders are ST_ERR_SOURCE. */
int scan_tree_read(scan_tree *out, const char *node_dir);

#endif
