/*
 * log.h - messages for the user on stderr.
 *
 * strata is quiet on success when run from cron: info lines appear only with verbosity >= 1,
 * warnings always. Messages never contain credentials: callers pass DSNs through
 * st_dsn_redact() (dsn.h) before logging them.
 */
#ifndef STRATA_COMMON_LOG_H
#define STRATA_COMMON_LOG_H

typedef enum st_log_level {
	ST_LOG_QUIET = -1,
	ST_LOG_NORMAL = 0,
	ST_LOG_VERBOSE = 1,
	ST_LOG_DEBUG = 2
} st_log_level;

void st_log_set_level(st_log_level level);
st_log_level st_log_get_level(void);

void st_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void st_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void st_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
