/*
 * error.c - the per-thread error record (see error.h).
 */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local st_error current;

/* dst = "<a>: <b>", truncated to fit. */
static void join_message(char *dst, size_t cap, const char *a, const char *b)
{
	size_t len = 0;
	for (const char *parts[3] = {a, ": ", b}, **p = parts; p < parts + 3; p++)
		for (const char *c = *p; *c && len + 1 < cap; c++)
			dst[len++] = *c;
	dst[len] = '\0';
}

__attribute__((format(printf, 3, 0)))
static void format_message(char *dst, size_t cap, const char *fmt, va_list ap)
{
	vsnprintf(dst, cap, fmt, ap);
}

int st_error_set(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	format_message(current.message, sizeof current.message, fmt, ap);
	va_end(ap);
	current.code = code;
	return code;
}

int st_error_set_errno(int code, int err, const char *fmt, ...)
{
	char text[ST_ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	format_message(text, sizeof text, fmt, ap);
	va_end(ap);
	if (err == ENOSPC || err == EDQUOT)
		code = ST_ERR_NOSPACE;
	join_message(current.message, sizeof current.message, text, strerror(err));
	current.code = code;
	return code;
}

int st_error_prefix(const char *fmt, ...)
{
	char context[ST_ERROR_MESSAGE_MAX];
	char joined[ST_ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	format_message(context, sizeof context, fmt, ap);
	va_end(ap);
	join_message(joined, sizeof joined, context, current.message);
	memcpy(current.message, joined, sizeof joined);
	return current.code;
}

const char *st_error_message(void)
{
	return current.message;
}

int st_error_code(void)
{
	return current.code;
}

void st_error_clear(void)
{
	current.code = ST_OK;
	current.message[0] = '\0';
}

void st_error_save(st_error *out)
{
	*out = current;
}

int st_error_restore(const st_error *saved)
{
	current = *saved;
	return current.code;
}

static const char *const error_names[] = {
	"ok", "error", "usage", "destination", "locked", "database", "source",
	"not-found", "corrupt", "target", "no-space", "interrupted",
};

int st_error_exit_code(int code)
{
	if (code == ST_OK)
		return 0;
	if (code < 0 && code >= ST_ERR_INTERRUPTED)
		return code == ST_ERR_INTERRUPTED ? 130 : -code;
	return 1;
}

const char *st_error_name(int code)
{
	if (code <= 0 && code >= ST_ERR_INTERRUPTED)
		return error_names[-code];
	return "error";
}
