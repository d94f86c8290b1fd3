/*
 * json.h - JSON documents: built, printed, parsed and read, through jansson.
 *
 * The only place that includes jansson.h: st_json is an opaque handle, so no jansson type
 * appears in another module's header. Every string written is escaped by the library; a string
 * that is not valid UTF-8 is written with each offending byte replaced by '?' (JSON text is
 * UTF-8), so a name never makes a document invalid. Objects keep their members in insertion
 * order, and documents are written on one line as {"key": value, ...} - the shape strata's
 * --json outputs and stored database facts have always had.
 *
 * Ownership: a value returned by st_json_object/st_json_array/st_json_parse is the caller's, freed
 * with st_json_free; st_json_set and st_json_append take ownership of the child they are given;
 * a value returned by st_json_get is borrowed from its parent. Allocation failure aborts, as
 * st_malloc does (mem.h).
 */
#ifndef STRATA_COMMON_JSON_H
#define STRATA_COMMON_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct st_json st_json;

/* New empty object or array (caller frees with st_json_free). */
st_json *st_json_object(void);
st_json *st_json_array(void);
void st_json_free(st_json *value);

/* Sets obj[key] to child, taking ownership of it; a NULL child sets JSON null. */
void st_json_set(st_json *obj, const char *key, st_json *child);
void st_json_set_int(st_json *obj, const char *key, int64_t value);
/* Written with up to 15 significant digits. */
void st_json_set_real(st_json *obj, const char *key, double value);
void st_json_set_bool(st_json *obj, const char *key, bool value);
/* NULL sets JSON null. */
void st_json_set_string(st_json *obj, const char *key, const char *value);

/* A new string value (caller frees, or gives it to st_json_set/st_json_append). */
st_json *st_json_string(const char *value);
/* A new integer value, likewise. */
st_json *st_json_int(int64_t value);

/* Number of elements of an array (0 when value is not one), and element i, borrowed. */
size_t st_json_array_size(const st_json *value);
const st_json *st_json_array_get(const st_json *value, size_t i);

/* Appends child to array, taking ownership of it. */
void st_json_append(st_json *array, st_json *child);
/* Appends a string (NULL appends JSON null). */
void st_json_append_string(st_json *array, const char *value);

/* The document as one line of text, without a newline (caller frees). */
char *st_json_dump(const st_json *value);

/* Writes the document and a newline to f; ST_ERR_GENERIC (or ST_ERR_NOSPACE) when f fails. */
int st_json_print(FILE *f, const st_json *value);

/* Parses text into *out (caller frees). Text that is not JSON is ST_ERR_CORRUPT, naming what
 * (e.g. "database facts of snapshot 3") and where the parser stopped. */
int st_json_parse(st_json **out, const char *text, const char *what);

/* obj[key], borrowed; NULL when obj is not an object or has no such member. */
const st_json *st_json_get(const st_json *obj, const char *key);

/* The value of a string, NULL when value is NULL or not a string. */
const char *st_json_string_value(const st_json *value);

/* The value of an integer into *out; false (and *out untouched) when value is NULL or not an
 * integer. */
bool st_json_int_value(const st_json *value, int64_t *out);

/* The value of a boolean into *out; false (and *out untouched) when value is NULL or not true
 * or false. */
bool st_json_bool_value(const st_json *value, bool *out);

/* Calls fn for each member of obj in order (key, borrowed value) until fn returns non-zero,
 * which is returned; 0 when obj is not an object or every call returned 0. */
int st_json_object_each(const st_json *obj, int (*fn)(void *ctx, const char *key, const st_json *value),
			void *ctx);

/* obj[key] as a mutable borrowed object, NULL when obj is not an object or obj[key] is not one. */
st_json *st_json_get_object(st_json *obj, const char *key);

/* Removes obj[key] when present. */
void st_json_remove(st_json *obj, const char *key);

/* Whether value is an object; whether it is JSON null (false for NULL). */
bool st_json_is_object(const st_json *value);
bool st_json_is_null(const st_json *value);

/* A deep copy of value (caller frees). */
st_json *st_json_copy(const st_json *value);

/* The document indented by 4 spaces, with a final newline, for files people read and edit
 * (AiiDA writes config.json that way; caller frees). */
char *st_json_dump_indented(const st_json *value);

/* Calls fn for each member of obj in order, stopping at (and returning) the first non-zero
 * result; 0 when obj is not an object. */
int st_json_each(const st_json *obj, int (*fn)(void *ctx, const char *key, const st_json *value), void *ctx);

/* ---- a document written piece by piece ----
 *
 * An object written to a FILE member by member, where a member may be an array written element
 * by element, so that a document of a million elements never is in memory whole. The text is
 * the one st_json_dump gives for the same document. Each value is encoded by the library;
 * only the framing ({, ", ", ": ", [ and the closing brackets) is written here. */
typedef struct st_json_writer st_json_writer;

/* Starts an object on f (borrowed; what names it in errors). */
st_json_writer *st_json_writer_begin(FILE *f, const char *what);

/* Writes the member key: value, taking ownership of value (NULL writes JSON null). */
void st_json_writer_member(st_json_writer *w, const char *key, st_json *value);

/* Starts the member key as an array; st_json_writer_element adds its elements (taking ownership
 * of each) until st_json_writer_array_end. */
void st_json_writer_array_begin(st_json_writer *w, const char *key);
void st_json_writer_element(st_json_writer *w, st_json *value);
void st_json_writer_array_end(st_json_writer *w);

/* Closes the object, flushes f and frees w: ST_ERR_GENERIC (ST_ERR_NOSPACE for a full disk)
 * naming what when a write failed. */
int st_json_writer_end(st_json_writer *w);

#endif
