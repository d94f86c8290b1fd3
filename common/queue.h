/*
 * queue.h - a bounded, blocking, multi-producer multi-consumer queue of pointers.
 *
 * The stages of a job (node feeder, I/O workers, compressors, the pack writer) are joined by
 * these queues. Capacity bounds memory: a full queue blocks its producers. Closing a queue
 * wakes everyone: pushes fail from then on, pops drain what is left and then fail.
 */
#ifndef STRATA_COMMON_QUEUE_H
#define STRATA_COMMON_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct st_queue st_queue;

st_queue *st_queue_new(size_t capacity);
void st_queue_free(st_queue *queue);

/* Blocks while full. Returns false (and keeps item with the caller) once the queue is closed. */
bool st_queue_push(st_queue *queue, void *item);

/* Blocks while empty. Returns false when the queue is closed and drained. */
bool st_queue_pop(st_queue *queue, void **out);

/* What st_queue_pop_timed found. */
typedef enum st_queue_wait {
	ST_QUEUE_ITEM,    /* *out holds the next item */
	ST_QUEUE_TIMEOUT, /* nothing arrived within the timeout */
	ST_QUEUE_CLOSED   /* closed and drained */
} st_queue_wait;

/* st_queue_pop that waits at most timeout_seconds (monotonic clock; <= 0 does not wait) for
 * an item: lets a consumer do timed work, such as sealing a pack that has been open too long,
 * while its producers are slow. */
st_queue_wait st_queue_pop_timed(st_queue *queue, void **out, double timeout_seconds);

void st_queue_close(st_queue *queue);

#endif
