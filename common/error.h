/*
 * error.h - error codes and the per-thread error record.
 *
 * Every fallible function returns int: 0 on success, a negative st_error_kind on failure. The
 * function that detects a failure records a one-line message (lowercase, no trailing period,
 * subject in single quotes) in the calling thread's error record with st_error_set(); callers
 * return the code upward and may prepend context with st_error_prefix(). Worker threads hand
 * their record to the thread that joins them with st_error_save()/st_error_restore().
 *
 * The codes map one-to-one to the stable exit codes of the strata command (st_error_exit_code),
 * documented in README.md.
 */
#ifndef STRATA_COMMON_ERROR_H
#define STRATA_COMMON_ERROR_H

#include <stddef.h>

typedef enum st_error_kind {
	ST_OK = 0,
	ST_ERR_GENERIC = -1,  /* internal or otherwise unclassified failure */
	ST_ERR_USAGE = -2,    /* bad command line */
	ST_ERR_DEST = -3,     /* destination missing, foreign, or of a newer format */
	ST_ERR_LOCKED = -4,   /* destination locked by another run */
	ST_ERR_DATABASE = -5, /* database unreachable, refused, or not an AiiDA database */
	ST_ERR_SOURCE = -6,   /* source repository missing or unreadable */
	ST_ERR_NOTFOUND = -7, /* unknown snapshot or object */
	ST_ERR_CORRUPT = -8,  /* catalog or pack damaged */
	ST_ERR_TARGET = -9,   /* restore target not empty, or a path would escape it */
	ST_ERR_NOSPACE = -10, /* out of disk space */
	ST_ERR_INTERRUPTED = -11, /* stopped by a signal */
	ST_ERR_CHANGED = -12,     /* a source file vanished or changed while being read (a backup
				   * leaves its node for the next run; escaping, it is a source error) */
	ST_ERR_REMOTE = -13,      /* object storage: endpoint unreachable, bucket missing, credentials
				   * missing or refused */
	ST_ERR_KIND_END = -14     /* not a kind: one past the last, for tables indexed by -kind */
} st_error_kind;

#define ST_ERROR_MESSAGE_MAX 1024

/* A copy of an error record, to carry an error from one thread to another. */
typedef struct st_error {
	int code;
	char message[ST_ERROR_MESSAGE_MAX];
} st_error;

/* Records code and a printf-style message for this thread; returns code. The arguments may
 * include st_error_message() itself. */
int st_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like st_error_set, with ": <strerror(err)>" appended; ENOSPC/EDQUOT become ST_ERR_NOSPACE,
 * other errno values become code. Returns the code recorded. */
int st_error_set_errno(int code, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Gives this thread's error the kind code, keeping its message; a full disk stays
 * ST_ERR_NOSPACE whatever the caller was doing. Returns the recorded code. */
int st_error_reclassify(int code);

/* Prepends "<context>: " to this thread's message; returns the recorded code. */
int st_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* This thread's last message ("" when none) and code (ST_OK when none). */
const char *st_error_message(void);
int st_error_code(void);
void st_error_clear(void);

void st_error_save(st_error *out);
/* Makes saved the calling thread's record; returns its code. */
int st_error_restore(const st_error *saved);

/* Not an error kind: the exit code of a command that completed, with warnings the user must
 * see (a backup that skipped special files). README.md's table lists it with the others. */
enum { ST_EXIT_WARNINGS = 11 };

/* The exit code of the strata command for an error code (0 for ST_OK), and its short name. */
int st_error_exit_code(int code);
const char *st_error_name(int code);

#endif
