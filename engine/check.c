/*
 * check.c - the check job (see check.h).
 *
 * With read_data, packs are verified in parallel, one pack per worker at a time, reading
 * objects in offset order (sequential I/O).
 */
#include "engine/check.h"

#include "catalog/catalog.h"
#include "catalog/dest.h"
#include "catalog/pack.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/mem.h"
#include "common/queue.h"
#include "common/workers.h"
#include "engine/pack_files.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct located_object {
	st_hash hash;
	pack_location location;
} located_object;

/* One pack's objects, for a worker to verify. */
typedef struct pack_task {
	int64_t pack_id;
	located_object *objects;
	size_t count;
	size_t capacity;
} pack_task;

typedef struct check_job {
	const check_options *options;
	dest *d;
	pack_files *packs;
	st_queue *queue;
	pthread_mutex_t report_lock;
	atomic_llong problems;
	atomic_llong objects_read;
	atomic_llong bytes_read;
} check_job;

static void report(check_job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(check_job *job, const char *fmt, ...)
{
	char line[ST_ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	atomic_fetch_add(&job->problems, 1);
	pthread_mutex_lock(&job->report_lock);
	if (job->options->report)
		job->options->report(job->options->report_ctx, line);
	pthread_mutex_unlock(&job->report_lock);
}

static void report_reference(void *ctx, const char *problem)
{
	report(ctx, "%s", problem);
}

static void check_pack_files(check_job *job, const catalog_pack *packs, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		char *path = dest_pack_path(job->d, packs[i].name);
		struct stat st;
		int fd;
		const char *name;
		if (stat(path, &st) != 0)
			report(job, "pack '%s' is missing: %s", path, strerror(errno));
		else if ((uint64_t)st.st_size < packs[i].size)
			report(job, "pack '%s' is truncated: %lld bytes, expected %llu", path, (long long)st.st_size,
			       (unsigned long long)packs[i].size);
		else if (pack_files_get(job->packs, packs[i].id, &fd, &name) != 0)
			report(job, "%s", st_error_message());
		free(path);
	}
}

static int verify_pack(check_job *job, const pack_task *task)
{
	int fd;
	const char *name;
	if (pack_files_get(job->packs, task->pack_id, &fd, &name) != 0)
		return 0; /* already reported by check_pack_files */
	for (size_t i = 0; i < task->count; i++) {
		const located_object *o = &task->objects[i];
		void *buf = NULL;
		if (pack_check_location(&o->location, name) == 0)
			buf = st_malloc(o->location.raw_size ? (size_t)o->location.raw_size : 1);
		if (buf == NULL || pack_read_object(buf, fd, &o->location, &o->hash, name) != 0) {
			char hex[ST_HASH_HEX_SIZE];
			st_hash_to_hex(hex, &o->hash);
			report(job, "object %s: %s", hex, st_error_message());
		}
		free(buf);
		atomic_fetch_add(&job->objects_read, 1);
		atomic_fetch_add(&job->bytes_read, (long long)o->location.stored_size);
	}
	return 0;
}

static void free_task(pack_task *task)
{
	free(task->objects);
	free(task);
}

static int verify_worker(void *arg)
{
	check_job *job = arg;
	void *item;
	while (st_queue_pop(job->queue, &item)) {
		verify_pack(job, item);
		free_task(item);
	}
	return 0;
}

/* Packs queued ahead of the verifying workers (each is a list of its objects). */
#define CHECK_PACKS_QUEUED 4
/* First capacity of a pack's object list (it doubles from there). */
#define CHECK_OBJECTS_INITIAL 1024

static int collect_object(void *ctx, const st_hash *hash, const pack_location *loc)
{
	pack_task *task = ctx;
	if (task->count == task->capacity) {
		task->capacity = task->capacity ? 2 * task->capacity : CHECK_OBJECTS_INITIAL;
		task->objects = st_realloc(task->objects, task->capacity * sizeof *task->objects);
	}
	task->objects[task->count++] = (located_object){.hash = *hash, .location = *loc};
	return 0;
}

static int read_all_data(check_job *job, const catalog_pack *packs, size_t count)
{
	int jobs = job->options->jobs > 0 ? job->options->jobs : st_cpu_count();
	job->queue = st_queue_new(CHECK_PACKS_QUEUED);
	st_workers *workers = NULL;
	int rc = st_workers_start(&workers, jobs, verify_worker, NULL, job);
	if (rc != 0) {
		st_queue_free(job->queue);
		return rc;
	}
	for (size_t i = 0; i < count && rc == 0; i++) {
		pack_task *task = st_calloc(1, sizeof *task);
		task->pack_id = packs[i].id;
		rc = catalog_object_each_in_pack(dest_catalog(job->d), packs[i].id, collect_object, task);
		if (rc != 0 || !st_queue_push(job->queue, task))
			free_task(task);
	}
	st_queue_close(job->queue);
	st_workers_join(workers);
	st_queue_free(job->queue);
	return rc;
}

int check_run(const check_options *options, check_result *out)
{
	double started = st_now_seconds();
	check_job job = {.options = options};
	catalog_pack *packs = NULL;
	catalog_snapshot *snapshots = NULL;
	size_t pack_count = 0, snapshot_count = 0;
	uint64_t reference_problems = 0;
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
		rc = catalog_pack_list(cat, &packs, &pack_count);
	if (rc == 0)
		rc = pack_files_new(&job.packs, job.d);
	if (rc == 0)
		rc = catalog_check_references(cat, report_reference, &job, &reference_problems);
	if (rc == 0)
		check_pack_files(&job, packs, pack_count);
	if (rc == 0 && options->read_data)
		rc = read_all_data(&job, packs, pack_count);
	out->snapshots = (int64_t)snapshot_count;
	out->packs = (int64_t)pack_count;
	out->objects_read = atomic_load(&job.objects_read);
	out->bytes_read = atomic_load(&job.bytes_read);
	out->problems = atomic_load(&job.problems);
	out->seconds = st_now_seconds() - started;
	if (rc == 0 && out->problems > 0)
		rc = st_error_set(ST_ERR_CORRUPT, "check of '%s' found %lld problem(s)", options->dest_path,
				  (long long)out->problems);
	free(packs);
	catalog_snapshot_list_free(snapshots, snapshot_count);
	pack_files_free(job.packs);
	dest_close(job.d);
	pthread_mutex_destroy(&job.report_lock);
	return rc;
}
