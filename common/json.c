/*
 * json.c - JSON through jansson (see json.h).
 *
 * st_json is never defined: a st_json * is a json_t * seen from outside this file.
 */
#include "common/json.h"

#include "common/error.h"
#include "common/mem.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Writes of reals keep this many significant digits ("%.15g"). */
#define JSON_REAL_DIGITS 15
/* One line, ", " and ": " between members, members in insertion order. */
#define JSON_DUMP_FLAGS (JSON_ENCODE_ANY | JSON_REAL_PRECISION(JSON_REAL_DIGITS))

static json_t *in(st_json *value)
{
	return (json_t *)value;
}

static const json_t *in_const(const st_json *value)
{
	return (const json_t *)value;
}

static pthread_once_t alloc_once = PTHREAD_ONCE_INIT;

/* jansson allocates through st_malloc, so running out of memory aborts as everywhere else. */
static void use_st_malloc(void)
{
	json_set_alloc_funcs(st_malloc, free);
}

/* Every value is built by a constructor below, which makes sure of use_st_malloc first. */
static void init_alloc(void)
{
	pthread_once(&alloc_once, use_st_malloc);
}

/* With st_malloc, jansson returns NULL only for input it refuses, which callers never pass. */
static st_json *out(json_t *value)
{
	if (value == NULL)
		abort();
	return (st_json *)value;
}

/* Length of the valid UTF-8 sequence at p (at most left bytes), 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *p, size_t left)
{
	size_t len = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (len == 0 || len > left)
		return 0;
	uint32_t code = len == 1 ? p[0] : (uint32_t)(p[0] & (0x7f >> len));
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		code = code << 6 | (uint32_t)(p[i] & 0x3f);
	}
	static const uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
	if (code < smallest[len] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
		return 0;
	return len;
}

/* s with every byte that is not part of valid UTF-8 replaced by '?' (caller frees). */
static char *valid_utf8(const char *s)
{
	size_t len = strlen(s);
	char *copy = st_strdup(s);
	for (size_t i = 0; i < len;) {
		size_t n = utf8_sequence((const unsigned char *)s + i, len - i);
		if (n == 0) {
			copy[i] = '?';
			n = 1;
		}
		i += n;
	}
	return copy;
}

static json_t *new_string(const char *s)
{
	json_t *value = json_string(s);
	if (value == NULL) {
		char *fixed = valid_utf8(s);
		value = json_string(fixed);
		free(fixed);
	}
	return value;
}

st_json *st_json_object(void)
{
	init_alloc();
	return out(json_object());
}

st_json *st_json_array(void)
{
	init_alloc();
	return out(json_array());
}

void st_json_free(st_json *value)
{
	json_decref(in(value));
}

void st_json_set(st_json *obj, const char *key, st_json *child)
{
	/* jansson refuses a key that is not UTF-8; a table or file name may not be. */
	char *fixed = valid_utf8(key);
	if (json_object_set_new(in(obj), fixed, child ? in(child) : json_null()) != 0)
		out(NULL);
	free(fixed);
}

void st_json_set_int(st_json *obj, const char *key, int64_t value)
{
	st_json_set(obj, key, out(json_integer((json_int_t)value)));
}

void st_json_set_real(st_json *obj, const char *key, double value)
{
	st_json_set(obj, key, out(json_real(value)));
}

void st_json_set_bool(st_json *obj, const char *key, bool value)
{
	st_json_set(obj, key, out(json_boolean(value)));
}

void st_json_set_string(st_json *obj, const char *key, const char *value)
{
	st_json_set(obj, key, value ? out(new_string(value)) : NULL);
}

void st_json_append(st_json *array, st_json *child)
{
	if (json_array_append_new(in(array), child ? in(child) : json_null()) != 0)
		out(NULL);
}

void st_json_append_string(st_json *array, const char *value)
{
	st_json_append(array, value ? out(new_string(value)) : NULL);
}

char *st_json_dump(const st_json *value)
{
	char *text = json_dumps(in_const(value), JSON_DUMP_FLAGS);
	if (text == NULL)
		out(NULL);
	/* Allocated by st_malloc: the caller's free() releases it. */
	return text;
}

int st_json_print(FILE *f, const st_json *value)
{
	errno = 0;
	if (json_dumpf(in_const(value), f, JSON_DUMP_FLAGS) != 0 || fputc('\n', f) == EOF || fflush(f) != 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno ? errno : EIO, "unable to write a JSON document");
	return 0;
}

int st_json_parse(st_json **out_value, const char *text, const char *what)
{
	json_error_t error;
	init_alloc();
	json_t *value = json_loads(text, JSON_DECODE_ANY, &error);
	if (value == NULL)
		return st_error_set(ST_ERR_CORRUPT, "%s is not valid JSON: %s (line %d, column %d)", what, error.text,
				    error.line, error.column);
	*out_value = (st_json *)value;
	return 0;
}

const st_json *st_json_get(const st_json *obj, const char *key)
{
	if (obj == NULL || !json_is_object(in_const(obj)))
		return NULL;
	return (const st_json *)json_object_get(in_const(obj), key);
}

int st_json_object_each(const st_json *obj, int (*fn)(void *ctx, const char *key, const st_json *value),
			void *ctx)
{
	if (!st_json_is_object(obj))
		return 0;
	const char *key;
	json_t *child;
	int rc = 0;
	/* jansson's iteration macro wants a mutable object; nothing here changes it. */
	json_t *o = (json_t *)(uintptr_t)in_const(obj);
	json_object_foreach (o, key, child) {
		if ((rc = fn(ctx, key, (const st_json *)child)) != 0)
			break;
	}
	return rc;
}

const char *st_json_string_value(const st_json *value)
{
	return value ? json_string_value(in_const(value)) : NULL;
}

bool st_json_int_value(const st_json *value, int64_t *out_int)
{
	if (value == NULL || !json_is_integer(in_const(value)))
		return false;
	*out_int = (int64_t)json_integer_value(in_const(value));
	return true;
}

bool st_json_bool_value(const st_json *value, bool *out)
{
	if (value == NULL || !json_is_boolean(in_const(value)))
		return false;
	*out = json_is_true(in_const(value));
	return true;
}

int st_json_each(const st_json *obj, int (*fn)(void *ctx, const char *key, const st_json *value), void *ctx)
{
	if (obj == NULL || !json_is_object(in_const(obj)))
		return 0;
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)in_const(obj), key, value)
	{
		int rc = fn(ctx, key, (const st_json *)value);
		if (rc != 0)
			return rc;
	}
	return 0;
}

st_json *st_json_get_object(st_json *obj, const char *key)
{
	if (obj == NULL || !json_is_object(in(obj)))
		return NULL;
	json_t *child = json_object_get(in(obj), key);
	return child != NULL && json_is_object(child) ? (st_json *)child : NULL;
}

void st_json_remove(st_json *obj, const char *key)
{
	if (obj != NULL && json_is_object(in(obj)))
		json_object_del(in(obj), key);
}

bool st_json_is_object(const st_json *value)
{
	return value != NULL && json_is_object(in_const(value));
}

bool st_json_is_null(const st_json *value)
{
	return value != NULL && json_is_null(in_const(value));
}

st_json *st_json_copy(const st_json *value)
{
	init_alloc();
	return out(json_deep_copy(in_const(value)));
}

char *st_json_dump_indented(const st_json *value)
{
	char *text = json_dumps(in_const(value), JSON_ENCODE_ANY | JSON_INDENT(4) | JSON_REAL_PRECISION(JSON_REAL_DIGITS));
	if (text == NULL)
		out(NULL);
	char *with_newline = st_sprintf("%s\n", text);
	free(text);
	return with_newline;
}

st_json *st_json_string(const char *value)
{
	init_alloc();
	return out(new_string(value));
}

st_json *st_json_int(int64_t value)
{
	init_alloc();
	return out(json_integer((json_int_t)value));
}

size_t st_json_array_size(const st_json *value)
{
	return value != NULL && json_is_array(in_const(value)) ? json_array_size(in_const(value)) : 0;
}

const st_json *st_json_array_get(const st_json *value, size_t i)
{
	return value != NULL ? (const st_json *)json_array_get(in_const(value), i) : NULL;
}

struct st_json_writer {
	FILE *f;
	char *what;
	size_t members;   /* written so far */
	size_t elements;  /* of the open array */
	int err;          /* errno of the first write that failed, or 0 */
};

static void writer_failed(st_json_writer *w)
{
	if (w->err == 0)
		w->err = errno ? errno : EIO;
}

static void writer_puts(st_json_writer *w, const char *text)
{
	errno = 0;
	if (w->err == 0 && fputs(text, w->f) == EOF)
		writer_failed(w);
}

/* Writes value (taken; NULL: null) as st_json_dump would inside a document. */
static void writer_value(st_json_writer *w, st_json *value)
{
	json_t *v = value ? in(value) : json_null();
	errno = 0;
	if (w->err == 0 && json_dumpf(v, w->f, JSON_DUMP_FLAGS) != 0)
		writer_failed(w);
	json_decref(v);
}

/* The separator before a member and its key, encoded as a JSON string. */
static void writer_key(st_json_writer *w, const char *key)
{
	writer_puts(w, w->members++ == 0 ? "{" : ", ");
	init_alloc();
	writer_value(w, out(new_string(key)));
	writer_puts(w, ": ");
}

st_json_writer *st_json_writer_begin(FILE *f, const char *what)
{
	st_json_writer *w = st_calloc(1, sizeof *w);
	w->f = f;
	w->what = st_strdup(what);
	return w;
}

void st_json_writer_member(st_json_writer *w, const char *key, st_json *value)
{
	writer_key(w, key);
	writer_value(w, value);
}

void st_json_writer_array_begin(st_json_writer *w, const char *key)
{
	writer_key(w, key);
	writer_puts(w, "[");
	w->elements = 0;
}

void st_json_writer_element(st_json_writer *w, st_json *value)
{
	if (w->elements++ > 0)
		writer_puts(w, ", ");
	writer_value(w, value);
}

void st_json_writer_array_end(st_json_writer *w)
{
	writer_puts(w, "]");
}

int st_json_writer_end(st_json_writer *w)
{
	writer_puts(w, w->members == 0 ? "{}" : "}");
	errno = 0;
	if (w->err == 0 && (fflush(w->f) != 0 || ferror(w->f)))
		writer_failed(w);
	/* ENOSPC and EDQUOT are reported as a full disk. */
	int rc = w->err != 0 ? st_error_set_errno(ST_ERR_GENERIC, w->err, "unable to write '%s'", w->what) : 0;
	free(w->what);
	free(w);
	return rc;
}
