/*
 * pg_session_internal.h - for the scanner's own files: the libpq handle behind a session.
 */
#ifndef STRATA_SCANNER_PG_SESSION_INTERNAL_H
#define STRATA_SCANNER_PG_SESSION_INTERNAL_H

#include "scanner/pg_session.h"

#include <libpq-fe.h>

PGconn *pg_session_conn(pg_session *s);

/* Runs sql and requires status expected; *out (may be NULL) receives the result. */
int pg_session_exec_status(pg_session *s, const char *sql, ExecStatusType expected, PGresult **out);

/* The first line of a libpq message. */
const char *pg_first_line(const char *message, char *buf, size_t cap);

/* Size of the buffer that pg_first_line fills for an error message. */
#define PG_LINE_MAX 512

#endif
