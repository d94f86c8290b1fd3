/*
 * output.h - what the strata command prints: JSON documents, sizes, times, progress.
 *
 * JSON (built with common/json.h, never by hand) goes to stdout as one document per command;
 * human text goes to stdout only when it is a terminal or --verbose asks for it (cron stays
 * quiet on success); progress goes to stderr, only on a terminal.
 */
#ifndef STRATA_CLI_OUTPUT_H
#define STRATA_CLI_OUTPUT_H

#include "common/json.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The version of strata ("0.1.0"), from the build (CMake's PROJECT_VERSION). */
extern const char out_version[];

/* A new JSON document: an object whose first member is "version" (out_version). Every --json
 * output starts with it. */
st_json *out_json_document(void);

/* One integer member of a JSON object. */
typedef struct out_int_field {
	const char *key;
	int64_t value;
} out_int_field;

/* Sets obj[fields[i].key] to fields[i].value for each field, in order. */
void out_json_set_ints(st_json *obj, const out_int_field *fields, size_t count);

/* Sets obj[key] to a duration in seconds, rounded to milliseconds. */
void out_json_seconds(st_json *obj, const char *key, double seconds);

/* Prints doc on stdout as one line and frees it; the error when stdout fails. */
int out_json_emit(st_json *doc);

/* Buffer sizes for out_size and out_time/out_time_iso. */
#define OUT_SIZE_MAX 32
#define OUT_TIME_MAX 32

/* "1.5 GiB"-style size into buf. */
const char *out_size(char *buf, size_t cap, int64_t bytes);

/* "2026-11-22 04:36:51 UTC" from microseconds since 1970. */
const char *out_time(char *buf, size_t cap, int64_t time_us);

/* ISO 8601 UTC ("2026-11-22T04:36:51Z") for JSON. */
const char *out_time_iso(char *buf, size_t cap, int64_t time_us);

/* Progress line on stderr (overwritten in place); out_progress_end() clears it. */
void out_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_progress_end(void);

/* --log-file: appends "<ISO time> strata[pid]: <line>" lines to path from now on (the log's
 * warnings and notes, the command's summary, its error). ST_ERR_USAGE when it cannot be
 * opened. */
int out_log_open(const char *path);
/* One line into the log file, if one is open. */
void out_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_log_close(void);

#endif
