/*
 * workers.h - a fixed set of threads running one function, and their first error.
 *
 * A job stage starts N threads on the same function and argument. A thread whose function
 * returns non-zero has failed: the first failure's error record is kept and handed to the
 * thread that calls st_workers_join(), so a failure in any worker becomes the job's error, and
 * on_error(arg) runs once so the job can stop its other stages (for example close queues).
 */
#ifndef STRATA_COMMON_WORKERS_H
#define STRATA_COMMON_WORKERS_H

#include <stdbool.h>

typedef struct st_workers st_workers;

/* Starts count threads running fn(arg) into *out; on_error may be NULL. Fewer threads than
 * count may start when the system refuses more; ST_ERR_GENERIC only when none could start. */
int st_workers_start(st_workers **out, int count, int (*fn)(void *arg), void (*on_error)(void *arg), void *arg);

/* Waits for every thread, frees the set; returns 0 or the first worker error (made current). */
int st_workers_join(st_workers *workers);

/* A sensible default thread count: the number of online CPUs (at least 1). */
int st_cpu_count(void);

#endif
