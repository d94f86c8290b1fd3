/*
 * backend_fault.c - a backend that wraps another and fails its Nth operation (see backend.h).
 *
 * For tests of what a full disk, an I/O error or a kill -9 at any point leaves behind. Every operation
 * that touches destination bytes counts (open, read, create, append, sync, close of a written
 * object, rename, list, remove, lock); describing names and local paths do not.
 */
#include "catalog/backend_internal.h"

#include "common/error.h"
#include "common/mem.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct fault_driver {
	backend *inner;
	long fail_at;
	int err;
	atomic_long count;
} fault_driver;

static const backend_ops fault_ops;

/* Counts one operation; records the injected error when it is the one to fail. */
static int tick(fault_driver *f, const char *op)
{
	long n = atomic_fetch_add(&f->count, 1) + 1;
	if (f->fail_at > 0 && n >= f->fail_at && f->err == BACKEND_FAULT_KILL)
		raise(SIGKILL);
	if (f->fail_at > 0 && n >= f->fail_at)
		return st_error_set_errno(ST_ERR_DEST, f->err, "injected fault in operation %ld (%s)", n, op);
	return 0;
}

#define INNER(f) ((f)->inner->ops)
#define INNER_DRIVER(f) ((f)->inner->driver)

static int fault_open_read(void *driver, backend_space space, const char *name, void **out, uint64_t *out_size)
{
	fault_driver *f = driver;
	int rc = tick(f, "open");
	return rc != 0 ? rc : INNER(f)->open_read(INNER_DRIVER(f), space, name, out, out_size);
}

static int fault_read_range(void *driver, void *handle, void *buf, size_t len, uint64_t offset)
{
	fault_driver *f = driver;
	int rc = tick(f, "read");
	return rc != 0 ? rc : INNER(f)->read_range(INNER_DRIVER(f), handle, buf, len, offset);
}

static void fault_close_read(void *driver, void *handle)
{
	fault_driver *f = driver;
	INNER(f)->close_read(INNER_DRIVER(f), handle);
}

static int fault_create(void *driver, backend_space space, const char *name, void **out)
{
	fault_driver *f = driver;
	int rc = tick(f, "create");
	return rc != 0 ? rc : INNER(f)->create(INNER_DRIVER(f), space, name, out);
}

static int fault_append(void *driver, void *handle, const void *data, size_t len)
{
	fault_driver *f = driver;
	int rc = tick(f, "append");
	return rc != 0 ? rc : INNER(f)->append(INNER_DRIVER(f), handle, data, len);
}

static int fault_sync(void *driver, void *handle)
{
	fault_driver *f = driver;
	int rc = tick(f, "sync");
	return rc != 0 ? rc : INNER(f)->sync(INNER_DRIVER(f), handle);
}

static int fault_close_write(void *driver, void *handle)
{
	fault_driver *f = driver;
	int rc = tick(f, "close");
	int inner_rc = INNER(f)->close_write(INNER_DRIVER(f), handle); /* the handle is freed either way */
	return rc != 0 ? rc : inner_rc;
}

static int fault_rename(void *driver, backend_space space, const char *from, const char *to)
{
	fault_driver *f = driver;
	int rc = tick(f, "rename");
	return rc != 0 ? rc : INNER(f)->rename(INNER_DRIVER(f), space, from, to);
}

static int fault_list(void *driver, backend_space space, char ***out, size_t *out_count)
{
	fault_driver *f = driver;
	int rc = tick(f, "list");
	return rc != 0 ? rc : INNER(f)->list(INNER_DRIVER(f), space, out, out_count);
}

static int fault_remove(void *driver, backend_space space, const char *name)
{
	fault_driver *f = driver;
	int rc = tick(f, "remove");
	return rc != 0 ? rc : INNER(f)->remove(INNER_DRIVER(f), space, name);
}

static int fault_lock(void *driver)
{
	fault_driver *f = driver;
	int rc = tick(f, "lock");
	return rc != 0 ? rc : INNER(f)->lock(INNER_DRIVER(f));
}

static void fault_unlock(void *driver)
{
	fault_driver *f = driver;
	INNER(f)->unlock(INNER_DRIVER(f));
}

static char *fault_describe(void *driver, backend_space space, const char *name)
{
	fault_driver *f = driver;
	return INNER(f)->describe(INNER_DRIVER(f), space, name);
}

static int fault_catalog_path(void *driver, char **out)
{
	fault_driver *f = driver;
	return INNER(f)->catalog_path(INNER_DRIVER(f), out);
}

static int fault_publish(void *driver, const char *file)
{
	fault_driver *f = driver;
	/* Over a backend without a publish step there is no operation to count (or fail). */
	if (INNER(f)->publish == NULL)
		return 0;
	int rc = tick(f, "publish");
	return rc != 0 ? rc : INNER(f)->publish(INNER_DRIVER(f), file);
}

static int fault_scratch_dir(void *driver, char **out)
{
	fault_driver *f = driver;
	return INNER(f)->scratch_dir(INNER_DRIVER(f), out);
}

static int fault_scratch_clean(void *driver)
{
	fault_driver *f = driver;
	return INNER(f)->scratch_clean(INNER_DRIVER(f));
}

static int fault_state(void *driver, bool *out_exists, bool *out_empty)
{
	fault_driver *f = driver;
	return INNER(f)->state(INNER_DRIVER(f), out_exists, out_empty);
}

static int fault_init(void *driver)
{
	fault_driver *f = driver;
	return INNER(f)->init(INNER_DRIVER(f));
}

static void fault_free(void *driver)
{
	fault_driver *f = driver;
	if (f->err == BACKEND_FAULT_COUNT)
		fprintf(stderr, "strata: backend operations: %ld\n", atomic_load(&f->count));
	backend_free(f->inner);
	free(f);
}

static const backend_ops fault_ops = {
	.kind = "fault",
	.open_read = fault_open_read,
	.read_range = fault_read_range,
	.close_read = fault_close_read,
	.create = fault_create,
	.append = fault_append,
	.sync = fault_sync,
	.close_write = fault_close_write,
	.rename = fault_rename,
	.list = fault_list,
	.remove = fault_remove,
	.lock = fault_lock,
	.unlock = fault_unlock,
	.describe = fault_describe,
	.catalog_path = fault_catalog_path,
	.publish = fault_publish,
	.scratch_dir = fault_scratch_dir,
	.scratch_clean = fault_scratch_clean,
	.state = fault_state,
	.init = fault_init,
	.free = fault_free,
};

backend *backend_fault_new(backend *inner, long fail_at, int err)
{
	fault_driver *f = st_calloc(1, sizeof *f);
	f->inner = inner;
	f->fail_at = fail_at;
	f->err = err;
	atomic_init(&f->count, 0);
	return backend_new(&fault_ops, f);
}

long backend_fault_count(const backend *b)
{
	fault_driver *f = backend_driver_of(b, &fault_ops);
	return f != NULL ? atomic_load(&f->count) : 0;
}
