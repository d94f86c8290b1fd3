/*
 * log.c - messages for the user, delivered to the program's sink (see log.h).
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static st_log_level current_level = ST_LOG_NORMAL;
static st_log_sink current_sink;
static void *current_ctx;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void st_log_set_sink(st_log_sink sink, void *ctx)
{
	pthread_mutex_lock(&log_lock);
	current_sink = sink;
	current_ctx = ctx;
	pthread_mutex_unlock(&log_lock);
}

void st_log_set_level(st_log_level level)
{
	current_level = level;
}

st_log_level st_log_get_level(void)
{
	return current_level;
}

__attribute__((format(printf, 2, 0)))
static void emit(st_log_kind kind, const char *fmt, va_list ap)
{
	char message[ST_LOG_LINE_MAX];
	vsnprintf(message, sizeof message, fmt, ap);
	pthread_mutex_lock(&log_lock);
	if (current_sink != NULL)
		current_sink(current_ctx, kind, message);
	pthread_mutex_unlock(&log_lock);
}

void st_log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(ST_LOG_KIND_WARNING, fmt, ap);
	va_end(ap);
}

void st_log_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(ST_LOG_KIND_NOTE, fmt, ap);
	va_end(ap);
}

void st_log_info(const char *fmt, ...)
{
	va_list ap;
	if (current_level < ST_LOG_VERBOSE)
		return;
	va_start(ap, fmt);
	emit(ST_LOG_KIND_INFO, fmt, ap);
	va_end(ap);
}

void st_log_debug(const char *fmt, ...)
{
	va_list ap;
	if (current_level < ST_LOG_DEBUG)
		return;
	va_start(ap, fmt);
	emit(ST_LOG_KIND_DEBUG, fmt, ap);
	va_end(ap);
}
