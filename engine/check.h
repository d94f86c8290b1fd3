/*
 * check.h - the check job: is the destination whole?
 *
 * Always: the catalog's SQLite integrity, every pack the catalog lists exists with at least
 * its recorded size and a valid header, every file's content is a known object, every object
 * lies inside its pack and no object or staged object names a pack the catalog lacks, every
 * dump file of a kept snapshot reaches a full copy through its delta chain (whose bases may be
 * forgotten snapshots' rows) within DB_DUMP_MAX_CHAIN steps, every node tree and every recorded folder above the node folders is
 * one a restore accepts (catalog_tree_validate, restore_check_folder). With read_data: every object is read back, decoded and hashed. Each
 * problem is reported as one line; the job fails with ST_ERR_CORRUPT when there is any.
 */
#ifndef STRATA_ENGINE_CHECK_H
#define STRATA_ENGINE_CHECK_H

#include <stdbool.h>
#include <stdint.h>

typedef struct check_options {
	const char *dest_path;
	bool read_data;
	int jobs;
	void (*report)(void *ctx, const char *problem); /* called once per problem, serialised */
	void *report_ctx;
} check_options;

typedef struct check_result {
	int64_t snapshots;
	int64_t packs;
	int64_t objects_read;
	int64_t bytes_read;
	int64_t problems;
	double seconds;
} check_result;

int check_run(const check_options *options, check_result *out);

#endif
