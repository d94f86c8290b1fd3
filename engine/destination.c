/*
 * destination.c - create a destination, list its snapshots (see destination.h).
 */
#include "engine/destination.h"

#include "catalog/dest.h"

int destination_init(const char *dest_path)
{
	return dest_init(dest_path);
}

int destination_snapshots(const char *dest_path, catalog_snapshot **out, size_t *out_count)
{
	dest *d = NULL;
	*out = NULL;
	*out_count = 0;
	int rc = dest_open(&d, dest_path, DEST_READ);
	if (rc == 0)
		rc = catalog_snapshot_list(dest_catalog(d), out, out_count);
	dest_close(d);
	return rc;
}
