/*
 * backend.c - the generic side of destination backends: handles and helpers over a driver's
 * operations (see backend.h).
 */
#include "catalog/backend_internal.h"

#include "common/error.h"
#include "common/mem.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct backend_read {
	backend *b;
	void *handle;
	uint64_t size;
	char *name;
};

struct backend_write {
	backend *b;
	void *handle;
	char *name;
};

backend *backend_new(const backend_ops *ops, void *driver)
{
	backend *b = st_calloc(1, sizeof *b);
	b->ops = ops;
	b->driver = driver;
	return b;
}

void backend_free(backend *b)
{
	if (b == NULL)
		return;
	b->ops->free(b->driver);
	free(b);
}

const char *backend_kind(const backend *b)
{
	return b->ops->kind;
}

void *backend_driver_of(const backend *b, const backend_ops *ops)
{
	return b->ops == ops ? b->driver : NULL;
}

int backend_open_read(backend *b, backend_space space, const char *name, backend_read **out)
{
	void *handle = NULL;
	uint64_t size = 0;
	int rc = b->ops->open_read(b->driver, space, name, &handle, &size);
	if (rc != 0)
		return rc;
	backend_read *r = st_calloc(1, sizeof *r);
	r->b = b;
	r->handle = handle;
	r->size = size;
	r->name = b->ops->describe(b->driver, space, name);
	*out = r;
	return 0;
}

uint64_t backend_read_size(const backend_read *r)
{
	return r->size;
}

const char *backend_read_name(const backend_read *r)
{
	return r->name;
}

int backend_read_range(backend_read *r, void *buf, size_t len, uint64_t offset)
{
	return r->b->ops->read_range(r->b->driver, r->handle, buf, len, offset);
}

void backend_read_close(backend_read *r)
{
	if (r == NULL)
		return;
	r->b->ops->close_read(r->b->driver, r->handle);
	free(r->name);
	free(r);
}

int backend_read_all(backend *b, backend_space space, const char *name, size_t max_len, char **out,
		     size_t *out_len)
{
	backend_read *r = NULL;
	int rc = backend_open_read(b, space, name, &r);
	if (rc != 0)
		return rc;
	char *buf = NULL;
	if (r->size > max_len) {
		rc = st_error_set(ST_ERR_GENERIC, "'%s' is larger than %zu bytes", r->name, max_len);
		goto cleanup;
	}
	buf = st_malloc((size_t)r->size + 1);
	if ((rc = backend_read_range(r, buf, (size_t)r->size, 0)) != 0)
		goto cleanup;
	buf[r->size] = '\0';
	if (out_len != NULL)
		*out_len = (size_t)r->size;
	*out = buf;
	buf = NULL;
cleanup:
	free(buf);
	backend_read_close(r);
	return rc;
}

int backend_create(backend *b, backend_space space, const char *name, backend_write **out)
{
	void *handle = NULL;
	int rc = b->ops->create(b->driver, space, name, &handle);
	if (rc != 0)
		return rc;
	backend_write *w = st_calloc(1, sizeof *w);
	w->b = b;
	w->handle = handle;
	w->name = b->ops->describe(b->driver, space, name);
	*out = w;
	return 0;
}

int backend_append(backend_write *w, const void *data, size_t len)
{
	return w->b->ops->append(w->b->driver, w->handle, data, len);
}

int backend_sync(backend_write *w)
{
	return w->b->ops->sync(w->b->driver, w->handle);
}

const char *backend_write_name(const backend_write *w)
{
	return w->name;
}

int backend_write_close(backend_write *w)
{
	if (w == NULL)
		return 0;
	int rc = w->b->ops->close_write(w->b->driver, w->handle);
	free(w->name);
	free(w);
	return rc;
}

int backend_put_atomic(backend *b, backend_space space, const char *name, const void *data, size_t len)
{
	char *temp = st_sprintf("%s.tmp.%d", name, (int)getpid());
	backend_write *w = NULL;
	int rc = backend_create(b, space, temp, &w);
	bool created = rc == 0;
	if (rc == 0)
		rc = backend_append(w, data, len);
	if (rc == 0)
		rc = backend_sync(w);
	int close_rc = backend_write_close(w);
	if (rc == 0)
		rc = close_rc;
	if (rc == 0)
		rc = backend_rename(b, space, temp, name);
	if (rc != 0 && created) {
		/* Best effort: a leftover temporary name is harmless, the error to report is rc's. */
		st_error saved;
		st_error_save(&saved);
		backend_remove(b, space, temp);
		st_error_restore(&saved);
	}
	free(temp);
	return rc;
}

int backend_rename(backend *b, backend_space space, const char *from, const char *to)
{
	return b->ops->rename(b->driver, space, from, to);
}

int backend_list(backend *b, backend_space space, char ***out, size_t *out_count)
{
	*out = NULL;
	*out_count = 0;
	return b->ops->list(b->driver, space, out, out_count);
}

void backend_list_free(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int backend_remove(backend *b, backend_space space, const char *name)
{
	return b->ops->remove(b->driver, space, name);
}

int backend_lock(backend *b)
{
	return b->ops->lock(b->driver);
}

void backend_unlock(backend *b)
{
	b->ops->unlock(b->driver);
}

char *backend_describe(backend *b, backend_space space, const char *name)
{
	return b->ops->describe(b->driver, space, name);
}

int backend_catalog_path(backend *b, char **out)
{
	return b->ops->catalog_path(b->driver, out);
}

bool backend_has_publish(const backend *b)
{
	return b->ops->publish != NULL;
}

int backend_publish(backend *b, const char *file)
{
	return b->ops->publish != NULL ? b->ops->publish(b->driver, file) : 0;
}

int backend_scratch_dir(backend *b, char **out)
{
	return b->ops->scratch_dir(b->driver, out);
}

int backend_scratch_clean(backend *b)
{
	return b->ops->scratch_clean(b->driver);
}

int backend_state(backend *b, bool *out_exists, bool *out_empty)
{
	return b->ops->state(b->driver, out_exists, out_empty);
}

int backend_init(backend *b)
{
	return b->ops->init(b->driver);
}
