/*
 * workers.c - thread sets with first-error capture (see workers.h).
 */
#include "workers.h"

#include "error.h"
#include "mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct st_workers {
	pthread_t *threads;
	int count;
	int (*fn)(void *arg);
	void (*on_error)(void *arg);
	void *arg;
	pthread_mutex_t lock;
	atomic_bool failed;
	st_error first_error;
};

static void record_failure(st_workers *workers)
{
	bool first = false;
	pthread_mutex_lock(&workers->lock);
	if (!atomic_load(&workers->failed)) {
		st_error_save(&workers->first_error);
		atomic_store(&workers->failed, true);
		first = true;
	}
	pthread_mutex_unlock(&workers->lock);
	if (first && workers->on_error != NULL)
		workers->on_error(workers->arg);
}

static void *run_worker(void *self)
{
	st_workers *workers = self;
	if (workers->fn(workers->arg) != 0)
		record_failure(workers);
	return NULL;
}

int st_workers_start(st_workers **out, int count, int (*fn)(void *arg), void (*on_error)(void *arg), void *arg)
{
	st_workers *workers = st_calloc(1, sizeof *workers);
	workers->threads = st_calloc((size_t)(count > 0 ? count : 1), sizeof *workers->threads);
	workers->fn = fn;
	workers->on_error = on_error;
	workers->arg = arg;
	pthread_mutex_init(&workers->lock, NULL);
	atomic_init(&workers->failed, false);
	for (int i = 0; i < count; i++) {
		int rc = pthread_create(&workers->threads[i], NULL, run_worker, workers);
		if (rc != 0) {
			if (i == 0) {
				free(workers->threads);
				free(workers);
				return st_error_set_errno(ST_ERR_GENERIC, rc, "unable to start a thread");
			}
			break;
		}
		workers->count++;
	}
	*out = workers;
	return 0;
}

int st_workers_join(st_workers *workers)
{
	int rc = 0;
	for (int i = 0; i < workers->count; i++)
		pthread_join(workers->threads[i], NULL);
	if (atomic_load(&workers->failed))
		rc = st_error_restore(&workers->first_error);
	pthread_mutex_destroy(&workers->lock);
	free(workers->threads);
	free(workers);
	return rc;
}

int st_cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}
