/*
 * pg_tools.c - finding and running pg_dump and pg_restore (see pg_tools.h).
 */
#include "engine/pg_tools.h"

#include "common/error.h"
#include "common/interrupt.h"
#include "common/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Reads from the child's pipes. */
#define PIPE_READ_SIZE 8192
/* How much of the end of the child's stderr is kept for the error message. */
#define STDERR_TAIL_MAX 2048

static bool is_executable(const char *path)
{
	return access(path, X_OK) == 0;
}

static int newest_installed_major(void)
{
	DIR *dir = opendir("/usr/lib/postgresql");
	int best = 0;
	if (dir == NULL)
		return 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		int major = atoi(entry->d_name);
		if (major > best)
			best = major;
	}
	closedir(dir);
	return best;
}

/* Finds name's executable into out; ST_ERR_DATABASE saying what to install when there is none. */
static int locate(char *out, size_t cap, const char *name, int server_major)
{
	const char *bindir = getenv("STRATA_PG_BINDIR");
	bool found = false;
	if (bindir != NULL && *bindir) {
		snprintf(out, cap, "%s/%s", bindir, name);
		found = is_executable(out);
	} else {
		snprintf(out, cap, "/usr/lib/postgresql/%d/bin/%s", server_major, name);
		found = is_executable(out);
		if (!found) {
			snprintf(out, cap, "/usr/lib/postgresql/%d/bin/%s", newest_installed_major(), name);
			found = is_executable(out);
		}
		const char *path = getenv("PATH");
		char *copy = st_strdup(path ? path : "/usr/bin:/bin");
		for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
			snprintf(out, cap, "%s/%s", dir, name);
			found = is_executable(out);
		}
		free(copy);
	}
	if (!found)
		return st_error_set(ST_ERR_DATABASE, "%s not found: install postgresql-client-%d (or set STRATA_PG_BINDIR)",
				    name, server_major);
	return 0;
}

/* Reads both pipes until the child closes them; keeps all of stdout and the tail of stderr. */
static void drain(int out_fd, int err_fd, char **out_text, char *err_tail, size_t err_cap)
{
	size_t out_len = 0, err_len = 0;
	char buf[PIPE_READ_SIZE];
	struct pollfd fds[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
	int open_count = 2;
	err_tail[0] = '\0';
	while (open_count > 0) {
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(fds[i].fd, buf, sizeof buf);
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_count--;
				continue;
			}
			if (i == 0 && out_text != NULL) {
				*out_text = st_realloc(*out_text, out_len + (size_t)n + 1);
				memcpy(*out_text + out_len, buf, (size_t)n);
				out_len += (size_t)n;
				(*out_text)[out_len] = '\0';
			} else if (i == 1) {
				/* Keep the last err_cap - 1 bytes. */
				size_t keep = err_len + (size_t)n < err_cap ? err_len : (err_cap - 1 > (size_t)n ? err_cap - 1 - (size_t)n : 0);
				memmove(err_tail, err_tail + err_len - keep, keep);
				size_t take = (size_t)n < err_cap - 1 ? (size_t)n : err_cap - 1;
				memcpy(err_tail + keep, buf + (size_t)n - take, take);
				err_len = keep + take;
				err_tail[err_len] = '\0';
			}
		}
	}
}

/* The last non-empty line of text. */
static const char *last_line(char *text)
{
	size_t len = strlen(text);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	char *nl = strrchr(text, '\n');
	return nl ? nl + 1 : text;
}

/* environ plus PGPASSWORD; *out_entry is the one string allocated here. */
static char **child_environment(const char *password, char **out_entry)
{
	size_t count = 0;
	while (environ[count] != NULL)
		count++;
	char **env = st_calloc(count + 2, sizeof *env);
	size_t n = 0;
	for (size_t i = 0; i < count; i++)
		if (password == NULL || strncmp(environ[i], "PGPASSWORD=", 11) != 0)
			env[n++] = environ[i];
	*out_entry = NULL;
	if (password != NULL)
		env[n++] = *out_entry = st_sprintf("PGPASSWORD=%s", password);
	return env;
}

int pg_tool_run(const pg_tool *tool, const char *const *args, const char *password, char **out_stdout)
{
	return pg_tool_run_watched(tool, args, password, out_stdout, NULL, NULL);
}

int pg_tool_run_watched(const pg_tool *tool, const char *const *args, const char *password, char **out_stdout,
			pg_tool_watch_fn watch, void *watch_ctx)
{
	size_t argc = 0;
	while (args[argc] != NULL)
		argc++;
	char **argv = st_calloc(argc + 2, sizeof *argv);
	argv[0] = (char *)tool->path;
	for (size_t i = 0; i < argc; i++)
		argv[i + 1] = (char *)args[i];
	char *password_entry = NULL;
	char **env = child_environment(password, &password_entry);
	int out_pipe[2], err_pipe[2];
	int rc = 0;
	if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
		rc = st_error_set_errno(ST_ERR_GENERIC, errno, "unable to run %s", tool->name);
		goto cleanup;
	}
	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
	/* The child starts with no signal blocked (strata blocks SIGINT and SIGTERM for its watcher). */
	posix_spawnattr_t attr;
	sigset_t mask;
	st_interrupt_child_sigmask(&mask);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &mask);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	pid_t pid;
	int spawn_rc = posix_spawn(&pid, tool->path, &actions, &attr, argv, env);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	if (spawn_rc == 0)
		st_interrupt_track_child(pid);
	if (spawn_rc == 0 && watch != NULL)
		watch(watch_ctx, pid);
	close(out_pipe[1]);
	close(err_pipe[1]);
	if (spawn_rc != 0) {
		close(out_pipe[0]);
		close(err_pipe[0]);
		rc = st_error_set_errno(ST_ERR_DATABASE, spawn_rc, "unable to run '%s'", tool->path);
		goto cleanup;
	}
	char err_tail[STDERR_TAIL_MAX];
	drain(out_pipe[0], err_pipe[0], out_stdout, err_tail, sizeof err_tail);
	int status = 0;
	/* Until it is reaped the pid cannot be reused: the watcher hears of the end first. */
	if (watch != NULL)
		watch(watch_ctx, 0);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	st_interrupt_forget_child(pid);
	/* A tool that ran out of disk space is a full disk, not a database problem. */
	int kind = strstr(err_tail, "No space left on device") != NULL ? ST_ERR_NOSPACE : ST_ERR_DATABASE;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		rc = st_error_set(kind, "%s failed (%s %d): %s", tool->name,
				  WIFEXITED(status) ? "exit" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
				  last_line(err_tail));
cleanup:
	free(password_entry);
	free(env);
	free(argv);
	return rc;
}

int pg_tool_find(pg_tool *out, const char *name, int server_major)
{
	memset(out, 0, sizeof *out);
	snprintf(out->name, sizeof out->name, "%s", name);
	int rc = locate(out->path, sizeof out->path, name, server_major);
	if (rc != 0)
		return rc;
	char *text = NULL;
	const char *args[] = {"--version", NULL};
	rc = pg_tool_run(out, args, NULL, &text);
	if (rc != 0) {
		free(text);
		return rc;
	}
	/* "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" */
	const char *version = text ? strstr(text, ") ") : NULL;
	if (version == NULL || sscanf(version + 2, "%31s", out->version) != 1) {
		free(text);
		return st_error_set(ST_ERR_DATABASE, "unable to read the version of '%s'", out->path);
	}
	free(text);
	out->major = atoi(out->version);
	if (out->major < server_major)
		return st_error_set(ST_ERR_DATABASE,
				    "%s %s ('%s') is older than the server (PostgreSQL %d): install postgresql-client-%d"
				    " (or set STRATA_PG_BINDIR)",
				    name, out->version, out->path, server_major, server_major);
	return 0;
}
