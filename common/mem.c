/*
 * mem.c - allocation that never returns NULL (see mem.h).
 */
#include "mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *check(void *ptr, size_t size)
{
	if (ptr == NULL && size != 0) {
		fprintf(stderr, "strata: out of memory allocating %zu bytes\n", size);
		abort();
	}
	return ptr;
}

void *st_malloc(size_t size)
{
	return check(malloc(size), size);
}

void *st_calloc(size_t count, size_t size)
{
	return check(calloc(count, size), count * size);
}

void *st_realloc(void *ptr, size_t size)
{
	return check(realloc(ptr, size), size);
}

char *st_strdup(const char *s)
{
	return check(strdup(s), strlen(s) + 1);
}

char *st_sprintf(const char *fmt, ...)
{
	char *out = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&out, fmt, ap);
	va_end(ap);
	if (n < 0)
		return check(NULL, 1);
	return out;
}
