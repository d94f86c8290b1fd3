/*
 * backend_local.c - the local-directory destination backend (layout in backend.h).
 *
 * Writes go through st_write_all (so STRATA_FAULT_WRITE_ENOSPC reaches them); sync is fsync of
 * the file and of its folder, so a name never outlives a crash without its bytes.
 */
#include "catalog/backend_internal.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/json.h"
#include "common/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CATALOG_NAME "catalog.db"
#define PACKS_DIR "packs"
#define SCRATCH_DIR "tmp"
#define LOCK_NAME "lock"

typedef struct local_driver {
	char *root;
	int lock_fd;
} local_driver;

typedef struct local_write {
	int fd;
	char *path;
	char *dir;
} local_write;

typedef struct local_read {
	int fd;
	char *path;
} local_read;

static char *dir_of(const local_driver *l, backend_space space)
{
	return space == BACKEND_SPACE_PACKS ? st_sprintf("%s/" PACKS_DIR, l->root) : st_strdup(l->root);
}

static char *path_of(const local_driver *l, backend_space space, const char *name)
{
	return space == BACKEND_SPACE_PACKS ? st_sprintf("%s/" PACKS_DIR "/%s", l->root, name)
					    : st_sprintf("%s/%s", l->root, name);
}

static int local_open_read(void *driver, backend_space space, const char *name, void **out, uint64_t *out_size)
{
	char *path = path_of(driver, space, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;
	struct stat st;
	if (fd < 0)
		rc = st_error_set_errno(errno == ENOENT ? ST_ERR_NOTFOUND : ST_ERR_DEST, errno, "unable to open '%s'", path);
	else if (fstat(fd, &st) != 0)
		rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to stat '%s'", path);
	if (rc != 0) {
		if (fd >= 0)
			close(fd);
		free(path);
		return rc;
	}
	local_read *r = st_malloc(sizeof *r);
	r->fd = fd;
	r->path = path;
	*out = r;
	*out_size = (uint64_t)st.st_size;
	return 0;
}

static int local_read_range(void *driver, void *handle, void *buf, size_t len, uint64_t offset)
{
	(void)driver;
	local_read *r = handle;
	return st_pread_all(r->fd, buf, len, offset, r->path);
}

static void local_close_read(void *driver, void *handle)
{
	(void)driver;
	local_read *r = handle;
	close(r->fd);
	free(r->path);
	free(r);
}

static int local_create(void *driver, backend_space space, const char *name, void **out)
{
	char *path = path_of(driver, space, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		int rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to create '%s'", path);
		free(path);
		return rc;
	}
	local_write *w = st_malloc(sizeof *w);
	w->fd = fd;
	w->path = path;
	w->dir = dir_of(driver, space);
	*out = w;
	return 0;
}

static int local_append(void *driver, void *handle, const void *data, size_t len)
{
	(void)driver;
	local_write *w = handle;
	int rc = st_write_all(w->fd, data, len, w->path);
	return rc == ST_ERR_GENERIC ? st_error_set(ST_ERR_DEST, "%s", st_error_message()) : rc;
}

static int local_sync(void *driver, void *handle)
{
	(void)driver;
	local_write *w = handle;
	int rc = st_fsync_fd(w->fd, w->path);
	if (rc == 0)
		rc = st_fsync_dir(w->dir);
	return rc == ST_ERR_GENERIC ? st_error_set(ST_ERR_DEST, "%s", st_error_message()) : rc;
}

static int local_close_write(void *driver, void *handle)
{
	(void)driver;
	local_write *w = handle;
	int rc = 0;
	if (close(w->fd) != 0)
		rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to close '%s'", w->path);
	free(w->path);
	free(w->dir);
	free(w);
	return rc;
}

static int local_rename(void *driver, backend_space space, const char *from, const char *to)
{
	char *from_path = path_of(driver, space, from);
	char *to_path = path_of(driver, space, to);
	char *dir = dir_of(driver, space);
	int rc = 0;
	if (rename(from_path, to_path) != 0)
		rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to rename '%s' to '%s'", from_path, to_path);
	if (rc == 0)
		rc = st_fsync_dir(dir);
	free(from_path);
	free(to_path);
	free(dir);
	return rc;
}

static int local_list(void *driver, backend_space space, char ***out, size_t *out_count)
{
	char *dir_path = dir_of(driver, space);
	int rc = st_list_dir(dir_path, out, out_count);
	free(dir_path);
	return rc == ST_ERR_GENERIC ? st_error_set(ST_ERR_DEST, "%s", st_error_message()) : rc;
}

static int local_remove(void *driver, backend_space space, const char *name)
{
	char *path = path_of(driver, space, name);
	int rc = 0;
	if (unlink(path) != 0 && errno != ENOENT)
		rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to remove '%s'", path);
	free(path);
	return rc;
}

/* The holder's own record, written into the lock file once the lock is taken: who holds it,
 * for the message of the run that finds it held. */
static char *holder_record(void)
{
	char host[256] = "";
	char when[32] = "";
	gethostname(host, sizeof host - 1);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
	st_json *doc = st_json_object();
	st_json_set_string(doc, "host", host);
	st_json_set_int(doc, "pid", (int64_t)getpid());
	st_json_set_string(doc, "started", when);
	char *text = st_json_dump(doc);
	st_json_free(doc);
	char *line = st_sprintf("%s\n", text);
	free(text);
	return line;
}

/* " by pid P on host H since T" from the lock file's record, or "" when it has none (a lock
 * taken by another program, or a record that is being written). Caller frees. */
static char *describe_holder(int fd)
{
	char buf[1024];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	st_json *doc = NULL;
	if (buf[0] == '\0' || st_json_parse(&doc, buf, "lock record") != 0) {
		st_error_clear();
		return st_strdup("");
	}
	int64_t pid = 0;
	const char *host = st_json_string_value(st_json_get(doc, "host"));
	const char *started = st_json_string_value(st_json_get(doc, "started"));
	char *text = st_json_int_value(st_json_get(doc, "pid"), &pid)
			     ? st_sprintf(" (pid %lld on host '%s', started %s)", (long long)pid, host ? host : "?",
					  started ? started : "?")
			     : st_strdup("");
	st_json_free(doc);
	return text;
}

static int local_lock(void *driver)
{
	local_driver *l = driver;
	char *lock_path = st_sprintf("%s/" LOCK_NAME, l->root);
	char *record = NULL;
	int rc = 0;
	int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to open lock '%s'", lock_path);
		goto cleanup;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char *holder = describe_holder(fd);
		rc = st_error_set(ST_ERR_LOCKED, "destination '%s' is locked by another strata run%s", l->root,
				  holder[0] ? holder : " (no record of its holder)");
		free(holder);
		close(fd);
		goto cleanup;
	}
	/* A holder that died released the flock with its descriptor: its record is stale and is
	 * replaced here. */
	l->lock_fd = fd;
	record = holder_record();
	if (ftruncate(fd, 0) != 0 || pwrite(fd, record, strlen(record), 0) < 0)
		rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to write lock '%s'", lock_path);
cleanup:
	free(record);
	free(lock_path);
	return rc;
}

static void local_unlock(void *driver)
{
	local_driver *l = driver;
	if (l->lock_fd >= 0) {
		/* The record goes before the lock does: a record without a holder would mislead. */
		if (ftruncate(l->lock_fd, 0) != 0) {
			/* nothing to do: the next holder rewrites it */
		}
		close(l->lock_fd);
	}
	l->lock_fd = -1;
}

static char *local_describe(void *driver, backend_space space, const char *name)
{
	return path_of(driver, space, name);
}

static int local_catalog_path(void *driver, char **out)
{
	*out = st_sprintf("%s/" CATALOG_NAME, ((local_driver *)driver)->root);
	return 0;
}

static int local_scratch_dir(void *driver, char **out)
{
	char *path = st_sprintf("%s/" SCRATCH_DIR, ((local_driver *)driver)->root);
	int rc = st_mkdir_p(path, 0700);
	if (rc != 0) {
		free(path);
		return rc;
	}
	*out = path;
	return 0;
}

static int local_scratch_clean(void *driver)
{
	char *path = st_sprintf("%s/" SCRATCH_DIR, ((local_driver *)driver)->root);
	int rc = st_remove_tree(path);
	free(path);
	return rc;
}

static int local_state(void *driver, bool *out_exists, bool *out_empty)
{
	return st_dir_state(((local_driver *)driver)->root, out_exists, out_empty);
}

static int local_init(void *driver)
{
	local_driver *l = driver;
	if (mkdir(l->root, 0700) != 0 && errno != EEXIST)
		return st_error_set_errno(ST_ERR_DEST, errno, "unable to create destination '%s'", l->root);
	char *packs = dir_of(l, BACKEND_SPACE_PACKS);
	int rc = 0;
	if (mkdir(packs, 0700) != 0)
		rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to create '%s'", packs);
	free(packs);
	return rc;
}

static void local_free(void *driver)
{
	local_driver *l = driver;
	local_unlock(l);
	free(l->root);
	free(l);
}

static const backend_ops local_ops = {
	.kind = "local",
	.open_read = local_open_read,
	.read_range = local_read_range,
	.close_read = local_close_read,
	.create = local_create,
	.append = local_append,
	.sync = local_sync,
	.close_write = local_close_write,
	.rename = local_rename,
	.list = local_list,
	.remove = local_remove,
	.lock = local_lock,
	.unlock = local_unlock,
	.describe = local_describe,
	.catalog_path = local_catalog_path,
	.scratch_dir = local_scratch_dir,
	.scratch_clean = local_scratch_clean,
	.state = local_state,
	.init = local_init,
	.free = local_free,
};

int backend_local_new(backend **out, const char *path)
{
	if (path == NULL || path[0] == '\0')
		return st_error_set(ST_ERR_DEST, "destination path is empty");
	local_driver *l = st_calloc(1, sizeof *l);
	l->root = st_strdup(path);
	l->lock_fd = -1;
	*out = backend_new(&local_ops, l);
	return 0;
}
