/*
 * log.c - messages for the user on stderr (see log.h).
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static st_log_level current_level = ST_LOG_NORMAL;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void st_log_set_level(st_log_level level)
{
	current_level = level;
}

st_log_level st_log_get_level(void)
{
	return current_level;
}

__attribute__((format(printf, 2, 0)))
static void emit(const char *prefix, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "strata: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&log_lock);
}

void st_log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("warning: ", fmt, ap);
	va_end(ap);
}

void st_log_info(const char *fmt, ...)
{
	va_list ap;
	if (current_level < ST_LOG_VERBOSE)
		return;
	va_start(ap, fmt);
	emit("", fmt, ap);
	va_end(ap);
}

void st_log_debug(const char *fmt, ...)
{
	va_list ap;
	if (current_level < ST_LOG_DEBUG)
		return;
	va_start(ap, fmt);
	emit("debug: ", fmt, ap);
	va_end(ap);
}
