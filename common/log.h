/*
 * log.h - messages for the user, delivered to a sink that the program sets.
 *
 * The library tiers (engine, scanner, catalog, common) never write to stderr: they log here,
 * and the strata command sets the sink that renders messages (as "strata: ..." lines on stderr).
 * Without a sink, messages are dropped - a library user or a unit test sees nothing.
 *
 * strata is quiet on success when run from cron: warnings and notes always reach the sink,
 * info lines only with verbosity >= ST_LOG_VERBOSE, debug lines with ST_LOG_DEBUG. Messages
 * never contain credentials: callers pass DSNs without their password. The sink is called
 * under a lock, one message at a time, from whichever thread logged.
 */
#ifndef STRATA_COMMON_LOG_H
#define STRATA_COMMON_LOG_H

/* The verbosity chosen by the user. */
typedef enum st_log_level {
	ST_LOG_QUIET = -1,
	ST_LOG_NORMAL = 0,
	ST_LOG_VERBOSE = 1,
	ST_LOG_DEBUG = 2
} st_log_level;

/* What a message is: decides whether it reaches the sink, and how the sink shows it. */
typedef enum st_log_kind {
	ST_LOG_KIND_WARNING, /* something went wrong but the job goes on; always delivered */
	ST_LOG_KIND_NOTE,    /* a step the user must know about (a database created); always */
	ST_LOG_KIND_INFO,    /* detail for --verbose */
	ST_LOG_KIND_DEBUG,   /* detail for debugging */
	ST_LOG_KIND_END      /* not a kind: their number, for tables indexed by kind */
} st_log_kind;

/* A message is at most this long (longer ones are cut). */
#define ST_LOG_LINE_MAX 1024

typedef void (*st_log_sink)(void *ctx, st_log_kind kind, const char *message);

/* Sets where messages go; NULL drops them (the default). */
void st_log_set_sink(st_log_sink sink, void *ctx);

void st_log_set_level(st_log_level level);
st_log_level st_log_get_level(void);

void st_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void st_log_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void st_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void st_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
