/*
 * dest.h - a backup destination: its layout, identity and lock.
 *
 * A destination directory holds:
 *   strata.dest   marker: "strata destination", format and a random destination id
 *   catalog.db    the catalog (SQLite, WAL)
 *   packs/        pack files, named <16 hex digits>.pack
 *   lock          flock()ed by the one run that may write
 * Nothing in it needs to be parsed by hand. A directory without the marker is refused: an
 * empty one as "not initialised", anything else as "not a strata destination".
 */
#ifndef STRATA_CATALOG_DEST_H
#define STRATA_CATALOG_DEST_H

#include "catalog/catalog.h"

#include <stdbool.h>

typedef struct dest dest;

typedef enum dest_mode {
	DEST_READ,  /* list, restore, check: no lock, the catalog is read */
	DEST_WRITE  /* backup: takes the exclusive lock first */
} dest_mode;

/* Creates a destination at path: a new directory, or an existing empty one. */
int dest_init(const char *path);

/* Opens the destination at path; in DEST_WRITE mode fails with ST_ERR_LOCKED when another
 * run holds the lock. */
int dest_open(dest **out, const char *path, dest_mode mode);

/* Releases the lock and closes the catalog. NULL is allowed. */
void dest_close(dest *d);

catalog *dest_catalog(dest *d);
const char *dest_path(const dest *d);

/* The path of pack name (caller frees). */
char *dest_pack_path(const dest *d, const char *name);

/* A fresh pack name (16 random hex digits) in out. */
void dest_new_pack_name(char out[17 + 5]);

/* Removes pack files that the catalog does not list: leftovers of a killed run. Only in
 * DEST_WRITE mode (under the lock). *out_removed counts them. */
int dest_remove_orphan_packs(dest *d, int *out_removed);

#endif
