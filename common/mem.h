/*
 * mem.h - allocation that never returns NULL.
 *
 * strata treats running out of memory as fatal: these wrappers print one line and abort, so
 * callers do not carry an error path for every small allocation. Large, size-driven buffers
 * (file contents) are bounded by the callers' memory budgets instead.
 */
#ifndef STRATA_COMMON_MEM_H
#define STRATA_COMMON_MEM_H

#include <stddef.h>

void *st_malloc(size_t size);
void *st_calloc(size_t count, size_t size);
void *st_realloc(void *ptr, size_t size);
char *st_strdup(const char *s);
/* printf into a new string owned by the caller. */
char *st_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
