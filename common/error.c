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

/*
 * The record holds one line: a control character that came in with an argument (a path, a
 * JSON parser's quote of a broken input) is written as '?', so a log line or a cron mail shows
 * the whole message and a reader that splits lines is not misled.
 */
static void keep_on_one_line(char *text)
{
	for (unsigned char *c = (unsigned char *)text; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			*c = '?';
}

__attribute__((format(printf, 3, 0)))
static void format_message(char *dst, size_t cap, const char *fmt, va_list ap)
{
	vsnprintf(dst, cap, fmt, ap);
	keep_on_one_line(dst);
}

int st_error_set(int code, const char *fmt, ...)
{
	/* Formatted apart first: the arguments may point into the current message. */
	char text[ST_ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	format_message(text, sizeof text, fmt, ap);
	va_end(ap);
	memcpy(current.message, text, sizeof text);
	current.code = code;
	return code;
}

int st_error_reclassify(int code)
{
	if (current.code != ST_ERR_NOSPACE)
		current.code = code;
	return current.code;
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

/* Every kind's short name and the strata command's exit code, indexed by -kind. */
static const struct error_row {
	const char *name;
	int exit_code;
} error_table[] = {
	[-ST_OK] = {"ok", 0},
	[-ST_ERR_GENERIC] = {"error", 1},
	[-ST_ERR_USAGE] = {"usage", 2},
	[-ST_ERR_DEST] = {"destination", 3},
	[-ST_ERR_LOCKED] = {"locked", 4},
	[-ST_ERR_DATABASE] = {"database", 5},
	[-ST_ERR_SOURCE] = {"source", 6},
	[-ST_ERR_NOTFOUND] = {"not-found", 7},
	[-ST_ERR_CORRUPT] = {"corrupt", 8},
	[-ST_ERR_TARGET] = {"target", 9},
	[-ST_ERR_NOSPACE] = {"no-space", 10},
	[-ST_ERR_INTERRUPTED] = {"interrupted", 130},
	[-ST_ERR_CHANGED] = {"changed", 6},
	[-ST_ERR_REMOTE] = {"remote", 12},
};
_Static_assert(sizeof error_table / sizeof error_table[0] == -ST_ERR_KIND_END,
	       "error_table needs one row per st_error_kind");

static const struct error_row *row_of(int code)
{
	return code <= 0 && code > ST_ERR_KIND_END ? &error_table[-code] : &error_table[-ST_ERR_GENERIC];
}

int st_error_exit_code(int code)
{
	return row_of(code)->exit_code;
}

const char *st_error_name(int code)
{
	return row_of(code)->name;
}
