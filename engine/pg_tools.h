/*
 * pg_tools.h - finding and running pg_dump and pg_restore.
 *
 * The tools are looked up in STRATA_PG_BINDIR, then /usr/lib/postgresql/<server major>/bin,
 * then the newest /usr/lib/postgresql/<N>/bin, then PATH. A tool older than the server is
 * refused (pg_dump cannot dump a newer server). The password reaches the child through
 * PGPASSWORD in its environment, never its command line; stderr is captured so a failure
 * becomes one line.
 */
#ifndef STRATA_ENGINE_PG_TOOLS_H
#define STRATA_ENGINE_PG_TOOLS_H

#include "scanner/pg_session.h"

#include <limits.h>
#include <sys/types.h>

/* Size of a tool's name ("pg_restore"), terminator included. */
#define PG_TOOL_NAME_MAX 32

typedef struct pg_tool {
	char name[PG_TOOL_NAME_MAX];
	char path[PATH_MAX];
	char version[PG_VERSION_MAX]; /* e.g. "15.18" */
	int major;
} pg_tool;

/* Finds name for a server of major version server_major. ST_ERR_DATABASE with what to do when
 * it is missing or older than the server. */
int pg_tool_find(pg_tool *out, const char *name, int server_major);

/* Runs the tool with args (NULL-terminated, without argv[0]); password may be NULL. A non-zero
 * exit is ST_ERR_DATABASE: "<name> failed (exit N): <last line of its stderr>". When
 * out_stdout is non-NULL, the child's stdout is returned there (caller frees). */
int pg_tool_run(const pg_tool *tool, const char *const *args, const char *password, char **out_stdout);

/* Told the child's pid once it runs, and 0 before it is reaped (after its output ended). */
typedef void (*pg_tool_watch_fn)(void *ctx, pid_t pid);

/* pg_tool_run that tells watch (may be NULL) about the child, so another thread can stop it. */
int pg_tool_run_watched(const pg_tool *tool, const char *const *args, const char *password, char **out_stdout,
			pg_tool_watch_fn watch, void *watch_ctx);

#endif
