/*
 * check.c - the check job (see check.h).
 *
 * With read_data, packs are verified in parallel, one pack per worker at a time; the store
 * reads each pack's objects in offset order (sequential I/O).
 */
#include "engine/check.h"

#include "catalog/catalog.h"
#include "catalog/dest.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/interrupt.h"
#include "common/mem.h"
#include "common/queue.h"
#include "common/workers.h"
#include "engine/db_dump.h"
#include "engine/restore.h"
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct check_job {
	const check_options *options;
	dest *d;
	store *objects;
	st_queue *queue; /* int64_t * pack ids */
	pthread_mutex_t report_lock;
	atomic_llong problems;
	atomic_llong objects_read;
	atomic_llong bytes_read;
} check_job;

/* Passes one problem on, serialised, and counts it. */
static void report(void *ctx, const char *problem)
{
	check_job *job = ctx;
	atomic_fetch_add(&job->problems, 1);
	pthread_mutex_lock(&job->report_lock);
	if (job->options->report)
		job->options->report(job->options->report_ctx, problem);
	pthread_mutex_unlock(&job->report_lock);
}

/* Every node version's tree, as a restore would check it before writing anything. */
static void check_trees(check_job *job)
{
	catalog_tree_iter *iter = NULL;
	catalog_node_tree *tree = NULL;
	int rc = catalog_tree_iter_open_all(&iter, dest_catalog(job->d));
	while (rc == 0 && (rc = catalog_tree_iter_next(iter, &tree)) == 0 && tree != NULL) {
		if (catalog_tree_validate(tree) != 0)
			report(job, st_error_message());
		catalog_node_tree_free(tree);
	}
	if (rc != 0)
		report(job, st_error_message());
	catalog_tree_iter_close(iter);
}

static int check_folder(void *ctx, const catalog_folder *folder)
{
	if (restore_check_folder(folder) != 0)
		report(ctx, st_error_message());
	return 0;
}

/* Every record of the folders above the node folders, as a restore checks the ones it sets. */
static void check_folders(check_job *job)
{
	if (catalog_folder_each(dest_catalog(job->d), check_folder, job) != 0)
		report(job, st_error_message());
}

static int verify_worker(void *arg)
{
	check_job *job = arg;
	void *item;
	while (st_queue_pop(job->queue, &item)) {
		int64_t objects = 0, bytes = 0;
		store_verify_pack(job->objects, *(int64_t *)item, report, job, &objects, &bytes);
		atomic_fetch_add(&job->objects_read, objects);
		atomic_fetch_add(&job->bytes_read, bytes);
		free(item);
	}
	store_thread_release();
	return 0;
}

/* Packs queued ahead of the verifying workers. */
#define CHECK_PACKS_QUEUED 4

static int read_all_data(check_job *job)
{
	int64_t *ids = NULL;
	size_t count = 0;
	int rc = store_pack_ids(job->objects, &ids, &count);
	if (rc != 0)
		return rc;
	int jobs = job->options->jobs > 0 ? job->options->jobs : st_cpu_count();
	job->queue = st_queue_new(CHECK_PACKS_QUEUED);
	st_workers *workers = NULL;
	if ((rc = st_workers_start(&workers, jobs, verify_worker, NULL, job)) != 0)
		goto cleanup;
	for (size_t i = 0; i < count && (rc = st_interrupt_check()) == 0; i++) {
		int64_t *id = st_malloc(sizeof *id);
		*id = ids[i];
		if (!st_queue_push(job->queue, id))
			free(id);
	}
	st_queue_close(job->queue);
	st_workers_join(workers);
cleanup:
	st_queue_free(job->queue);
	free(ids);
	return rc;
}

int check_run(const check_options *options, check_result *out)
{
	double started = st_now_seconds();
	check_job job = {.options = options};
	catalog_snapshot *snapshots = NULL;
	size_t snapshot_count = 0;
	uint64_t reference_problems = 0, chain_problems = 0;
	memset(out, 0, sizeof *out);
	pthread_mutex_init(&job.report_lock, NULL);
	atomic_init(&job.problems, 0);
	int rc = dest_open(&job.d, options->dest_path, DEST_READ);
	catalog *cat = rc == 0 ? dest_catalog(job.d) : NULL;
	if (rc == 0)
		rc = catalog_integrity_check(cat);
	if (rc == 0)
		rc = catalog_snapshot_list(cat, &snapshots, &snapshot_count);
	if (rc == 0)
		rc = store_open(&job.objects, job.d, NULL);
	if (rc == 0)
		rc = catalog_check_references(cat, report, &job, &reference_problems);
	if (rc == 0)
		rc = catalog_check_dump_chains(cat, DB_DUMP_MAX_CHAIN, report, &job, &chain_problems);
	if (rc == 0)
		check_trees(&job);
	if (rc == 0)
		check_folders(&job);
	if (rc == 0)
		rc = store_check_packs(job.objects, report, &job, &out->packs);
	if (rc == 0 && options->read_data)
		rc = read_all_data(&job);
	out->snapshots = (int64_t)snapshot_count;
	out->objects_read = atomic_load(&job.objects_read);
	out->bytes_read = atomic_load(&job.bytes_read);
	out->problems = atomic_load(&job.problems);
	out->seconds = st_now_seconds() - started;
	if (rc == 0 && out->problems > 0)
		rc = st_error_set(ST_ERR_CORRUPT, "check of '%s' found %lld problem(s)", options->dest_path,
				  (long long)out->problems);
	catalog_snapshot_list_free(snapshots, snapshot_count);
	store_free(job.objects);
	dest_close(job.d);
	pthread_mutex_destroy(&job.report_lock);
	return rc;
}
