/*
 * budget.h - a byte budget shared by threads: the bound on file data in flight.
 *
 * I/O workers take bytes before they read a file and the consumer gives them back after it is
 * written, so memory stays bounded whatever the repository's size. A request larger than the
 * whole budget is granted alone (when nothing else is taken) so that it cannot deadlock.
 */
#ifndef STRATA_COMMON_BUDGET_H
#define STRATA_COMMON_BUDGET_H

#include <stddef.h>

typedef struct st_budget st_budget;

st_budget *st_budget_new(size_t bytes);
void st_budget_free(st_budget *budget);
void st_budget_take(st_budget *budget, size_t bytes);
void st_budget_give(st_budget *budget, size_t bytes);

#endif
