/*
 * source_internal.h - what a source kind implements (see source.h); for source.c, the kinds
 * (source_*.c) and their tests, nothing else.
 *
 * A kind is a static const table of operations plus a void * driver, in the manner of
 * pgBackRest's storage drivers (src/storage/storage.intern.h). source.c detects the kind from
 * the root's shape, opens its driver, and forwards every call; a kind never sees another.
 * An open entry is a kind's own struct whose first member is a source_entry, so one allocation
 * serves a file.
 */
#ifndef STRATA_SCANNER_SOURCE_INTERNAL_H
#define STRATA_SCANNER_SOURCE_INTERNAL_H

#include "scanner/source.h"

typedef struct source_entry_ops {
	int (*read)(source_entry *entry, void *buf, size_t len);
	void (*close)(source_entry *entry);
} source_entry_ops;

struct source_entry {
	const source_entry_ops *ops;
};

/* The operations of one kind; every one receives the kind's driver. Contracts as in source.h. */
typedef struct source_ops {
	source_kind kind;
	int (*attach)(void *driver, scan_db *db);
	int (*node_exists)(void *driver, const scan_node *node, bool *out);
	int (*node_tree)(void *driver, const scan_node *node, scan_tree *out);
	int (*open_entry)(void *driver, const scan_node *node, const scan_entry *entry, source_entry **out);
	void (*note_node)(void *driver, const scan_node *node);
	int (*folder_meta)(void *driver, source_folder **out, size_t *out_count);
	const char *(*container_config)(void *driver); /* NULL for a kind without one */
	void (*close)(void *driver);
} source_ops;

/* Opens a source file for reading, never through a link (errno set on failure, -1): with
 * O_NOATIME, which spares a metadata write per file, where the owner (or root) may ask for it. */
int source_open_file(const char *path);

/* The 1.x kind (source_nodefolder.c): node folders below repository ("<root>/repository", which
 * holds node/). root is the root as the user named it, for messages. */
extern const source_ops source_nodefolder_ops;
void *source_nodefolder_new(const char *repository, const char *root);

/* The 2.x kind (source_container.c): the disk-objectstore container dir ("<root>/container").
 * Reads config.json and opens packs.idx; *out is set (and freed with the ops' close) also when
 * that fails. */
extern const source_ops source_container_ops;
int source_container_new(void **out, const char *dir, const char *root);
const char *source_container_config(void *driver);

#endif
