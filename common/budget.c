/*
 * budget.c - a byte budget shared by threads (see budget.h).
 */
#include "budget.h"

#include "mem.h"

#include <pthread.h>
#include <stdlib.h>

struct st_budget {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	size_t total;
	size_t taken;
};

st_budget *st_budget_new(size_t bytes)
{
	st_budget *budget = st_calloc(1, sizeof *budget);
	pthread_mutex_init(&budget->lock, NULL);
	pthread_cond_init(&budget->freed, NULL);
	budget->total = bytes;
	return budget;
}

void st_budget_free(st_budget *budget)
{
	if (budget == NULL)
		return;
	pthread_mutex_destroy(&budget->lock);
	pthread_cond_destroy(&budget->freed);
	free(budget);
}

void st_budget_take(st_budget *budget, size_t bytes)
{
	pthread_mutex_lock(&budget->lock);
	while (budget->taken > 0 && budget->taken + bytes > budget->total)
		pthread_cond_wait(&budget->freed, &budget->lock);
	budget->taken += bytes;
	pthread_mutex_unlock(&budget->lock);
}

void st_budget_give(st_budget *budget, size_t bytes)
{
	pthread_mutex_lock(&budget->lock);
	budget->taken -= bytes;
	pthread_cond_broadcast(&budget->freed);
	pthread_mutex_unlock(&budget->lock);
}
