/*
 * output.h - what the strata command prints: JSON documents, sizes, times, progress.
 *
 * JSON goes to stdout as one document per command; human text goes to stdout only when it is
 * a terminal or --verbose asks for it (cron stays quiet on success); progress goes to stderr,
 * only on a terminal.
 */
#ifndef STRATA_CLI_OUTPUT_H
#define STRATA_CLI_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Writes s as a JSON string literal, escaped. */
void out_json_string(FILE *f, const char *s);

/* "1.5 GiB"-style size into buf. */
const char *out_size(char *buf, size_t cap, int64_t bytes);

/* "2026-11-22 04:36:51 UTC" from microseconds since 1970. */
const char *out_time(char *buf, size_t cap, int64_t time_us);

/* ISO 8601 UTC ("2026-11-22T04:36:51Z") for JSON. */
const char *out_time_iso(char *buf, size_t cap, int64_t time_us);

/* Progress line on stderr (overwritten in place); out_progress_end() clears it. */
void out_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_progress_end(void);

#endif
