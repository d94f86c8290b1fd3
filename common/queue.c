/*
 * queue.c - bounded blocking queue (see queue.h): a ring buffer under one mutex.
 */
#include "queue.h"

#include "mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct st_queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	void **items;
	size_t capacity;
	size_t head;
	size_t count;
	bool closed;
};

st_queue *st_queue_new(size_t capacity)
{
	st_queue *queue = st_calloc(1, sizeof *queue);
	queue->items = st_calloc(capacity ? capacity : 1, sizeof *queue->items);
	queue->capacity = capacity ? capacity : 1;
	pthread_mutex_init(&queue->lock, NULL);
	/* Timed pops wait on the monotonic clock: a change of the wall clock does not move them. */
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&queue->not_empty, &attr);
	pthread_condattr_destroy(&attr);
	pthread_cond_init(&queue->not_full, NULL);
	return queue;
}

void st_queue_free(st_queue *queue)
{
	if (queue == NULL)
		return;
	pthread_mutex_destroy(&queue->lock);
	pthread_cond_destroy(&queue->not_empty);
	pthread_cond_destroy(&queue->not_full);
	free(queue->items);
	free(queue);
}

bool st_queue_push(st_queue *queue, void *item)
{
	bool pushed = false;
	pthread_mutex_lock(&queue->lock);
	while (queue->count == queue->capacity && !queue->closed)
		pthread_cond_wait(&queue->not_full, &queue->lock);
	if (!queue->closed) {
		queue->items[(queue->head + queue->count) % queue->capacity] = item;
		queue->count++;
		pushed = true;
		pthread_cond_signal(&queue->not_empty);
	}
	pthread_mutex_unlock(&queue->lock);
	return pushed;
}

/* Takes the head item; called under the lock with count > 0. */
static void *take_head(st_queue *queue)
{
	void *item = queue->items[queue->head];
	queue->head = (queue->head + 1) % queue->capacity;
	queue->count--;
	pthread_cond_signal(&queue->not_full);
	return item;
}

bool st_queue_pop(st_queue *queue, void **out)
{
	bool popped = false;
	pthread_mutex_lock(&queue->lock);
	while (queue->count == 0 && !queue->closed)
		pthread_cond_wait(&queue->not_empty, &queue->lock);
	if (queue->count > 0) {
		*out = take_head(queue);
		popped = true;
	}
	pthread_mutex_unlock(&queue->lock);
	return popped;
}

st_queue_wait st_queue_pop_timed(st_queue *queue, void **out, double timeout_seconds)
{
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout_seconds > 0) {
		long long ns = (long long)(timeout_seconds * 1e9) + deadline.tv_nsec;
		deadline.tv_sec += (time_t)(ns / 1000000000);
		deadline.tv_nsec = (long)(ns % 1000000000);
	}
	st_queue_wait result = ST_QUEUE_TIMEOUT;
	bool expired = timeout_seconds <= 0;
	pthread_mutex_lock(&queue->lock);
	while (queue->count == 0 && !queue->closed && !expired)
		expired = pthread_cond_timedwait(&queue->not_empty, &queue->lock, &deadline) == ETIMEDOUT;
	if (queue->count > 0) {
		*out = take_head(queue);
		result = ST_QUEUE_ITEM;
	} else if (queue->closed) {
		result = ST_QUEUE_CLOSED;
	}
	pthread_mutex_unlock(&queue->lock);
	return result;
}

void st_queue_close(st_queue *queue)
{
	pthread_mutex_lock(&queue->lock);
	queue->closed = true;
	pthread_cond_broadcast(&queue->not_empty);
	pthread_cond_broadcast(&queue->not_full);
	pthread_mutex_unlock(&queue->lock);
}
