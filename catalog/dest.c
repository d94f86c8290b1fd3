/*
 * dest.c - destination identity, catalog and lock over a backend (see dest.h).
 */
#include "catalog/dest.h"

#include "common/error.h"
#include "common/interrupt.h"
#include "common/log.h"
#include "common/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define MARKER_FIRST_LINE "strata destination"
#define MARKER_MAX 4096
#define DEST_FORMAT 1

struct dest {
	char *path;
	backend *b;
	catalog *cat;
};

static void random_hex(char *out, size_t digits)
{
	unsigned char bytes[32];
	size_t n = (digits + 1) / 2;
	if (getrandom(bytes, n, 0) != (ssize_t)n) {
		for (size_t i = 0; i < n; i++)
			bytes[i] = (unsigned char)rand();
	}
	for (size_t i = 0; i < digits; i++)
		out[i] = "0123456789abcdef"[(bytes[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	out[digits] = '\0';
}

void dest_new_pack_name(char out[17 + 5])
{
	random_hex(out, 16);
	strcat(out, ".pack");
}

static bool has_marker(backend *b)
{
	backend_read *r = NULL;
	if (backend_open_read(b, BACKEND_SPACE_META, BACKEND_MARKER_NAME, &r) != 0)
		return false;
	backend_read_close(r);
	return true;
}

/* The backend of what the user named: an object store for "s3:...", else a local directory. */
static int backend_for(backend **out, const char *path)
{
	return backend_is_s3_url(path) ? backend_s3_new(out, path) : backend_local_new(out, path);
}

/* Publishes cat through b (a backend with a publish step): a consistent copy next to the
 * working catalog, handed over whole, then removed. */
static int publish_catalog(backend *b, catalog *cat)
{
	if (!backend_has_publish(b))
		return 0;
	char *path = NULL;
	int rc = backend_catalog_path(b, &path);
	if (rc != 0)
		return rc;
	char *copy = st_sprintf("%s.publish", path);
	rc = catalog_copy_to(cat, copy);
	if (rc == 0)
		rc = backend_publish(b, copy);
	unlink(copy);
	free(copy);
	free(path);
	return rc;
}

int dest_publish(dest *d)
{
	return publish_catalog(d->b, d->cat);
}

int dest_init_backend(backend *b, const char *what)
{
	bool exists = false, empty = false;
	int rc = backend_state(b, &exists, &empty);
	if (rc != 0) {
		st_error_prefix("unable to initialise a destination");
		return st_error_code() == ST_ERR_REMOTE ? ST_ERR_REMOTE : st_error_reclassify(ST_ERR_DEST);
	}
	if (exists && !empty) {
		bool is_dest = has_marker(b);
		st_error_clear();
		return st_error_set(ST_ERR_DEST, is_dest ? "destination '%s' is already initialised"
							 : "unable to initialise '%s': directory is not empty", what);
	}
	char id[33];
	random_hex(id, 32);
	char *text = st_sprintf(MARKER_FIRST_LINE "\nformat %d\nid %s\n", DEST_FORMAT, id);
	char *catalog_path = NULL;
	catalog *cat = NULL;
	rc = backend_init(b);
	if (rc == 0)
		rc = backend_catalog_path(b, &catalog_path);
	if (rc == 0)
		rc = catalog_open(&cat, catalog_path, CATALOG_CREATE);
	if (rc == 0)
		rc = catalog_meta_set(cat, "destination_id", id);
	if (rc == 0)
		rc = publish_catalog(b, cat);
	catalog_close(cat);
	/* The marker comes last: a destination without it was never completely made. */
	if (rc == 0)
		rc = backend_put_atomic(b, BACKEND_SPACE_META, BACKEND_MARKER_NAME, text, strlen(text));
	free(text);
	free(catalog_path);
	return rc;
}

int dest_init(const char *path)
{
	backend *b = NULL;
	int rc = backend_for(&b, path);
	if (rc == 0)
		rc = dest_init_backend(b, path);
	backend_free(b);
	return rc;
}

static int check_marker(backend *b, const char *what)
{
	bool exists = false, empty = false;
	int rc = backend_state(b, &exists, &empty);
	if (rc != 0) {
		st_error_prefix("unable to open a destination");
		return st_error_code() == ST_ERR_REMOTE ? ST_ERR_REMOTE : st_error_reclassify(ST_ERR_DEST);
	}
	if (!exists)
		return st_error_set(ST_ERR_DEST, "destination '%s' does not exist (create it with 'strata init')", what);
	if (empty)
		return st_error_set(ST_ERR_DEST, "destination '%s' is not initialised (run 'strata init --dest %s')",
				    what, what);
	char *text = NULL;
	rc = backend_read_all(b, BACKEND_SPACE_META, BACKEND_MARKER_NAME, MARKER_MAX, &text, NULL);
	if (rc == ST_ERR_NOTFOUND)
		return st_error_set(ST_ERR_DEST, "'%s' is not a strata destination: no %s file", what,
				    BACKEND_MARKER_NAME);
	if (rc != 0)
		return st_error_prefix("unable to open destination '%s'", what);
	int format = 0;
	if (strncmp(text, MARKER_FIRST_LINE "\n", strlen(MARKER_FIRST_LINE) + 1) != 0 ||
	    sscanf(text + strlen(MARKER_FIRST_LINE) + 1, "format %d", &format) != 1)
		rc = st_error_set(ST_ERR_DEST, "'%s' is not a strata destination: unrecognised %s", what,
				  BACKEND_MARKER_NAME);
	else if (format > DEST_FORMAT)
		rc = st_error_set(ST_ERR_DEST, "destination '%s' has format %d, newer than this strata supports (%d)",
				  what, format, DEST_FORMAT);
	free(text);
	return rc;
}

/* Takes the lock, retrying every DEST_LOCK_RETRY_MS until wait_seconds have passed (forever
 * when negative). The holder's flock goes with its process, so a dead holder frees it. */
static int lock_waiting(backend *b, int64_t wait_seconds)
{
	int rc = backend_lock(b);
	if (rc != ST_ERR_LOCKED || wait_seconds == 0)
		return rc;
	st_log_info("%s; waiting for it%s", st_error_message(), wait_seconds > 0 ? "" : " (no time limit)");
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	const struct timespec pause = {0, DEST_LOCK_RETRY_MS * 1000000L};
	for (;;) {
		nanosleep(&pause, NULL);
		if ((rc = st_interrupt_check()) != 0)
			return rc;
		if ((rc = backend_lock(b)) != ST_ERR_LOCKED)
			return rc;
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t waited_ms = (int64_t)(now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (wait_seconds > 0 && waited_ms >= wait_seconds * 1000)
			return st_error_prefix("still locked after waiting %lld s", (long long)wait_seconds);
	}
}

int dest_open_backend(dest **out, backend *b, const char *what, dest_mode mode)
{
	return dest_open_backend_wait(out, b, what, mode, 0);
}

int dest_open_backend_wait(dest **out, backend *b, const char *what, dest_mode mode, int64_t wait_seconds)
{
	dest *d = st_calloc(1, sizeof *d);
	d->path = st_strdup(what);
	d->b = b;
	char *catalog_path = NULL;
	int rc = check_marker(b, what);
	if (rc == 0 && mode == DEST_WRITE)
		rc = lock_waiting(b, wait_seconds);
	if (rc == 0)
		rc = backend_catalog_path(b, &catalog_path);
	if (rc == 0)
		rc = catalog_open(&d->cat, catalog_path, mode == DEST_WRITE ? CATALOG_WRITE : CATALOG_READ);
	free(catalog_path);
	if (rc != 0) {
		dest_close(d);
		return rc;
	}
	*out = d;
	return 0;
}

/* STRATA_FAULT_BACKEND="N:ENOSPC" or "N:EIO" (tests only): a destination opened for writing
 * fails its Nth backend operation and every later one, so that tests can fail a real run at
 * every point of its I/O; "N:KILL": the process kills itself with SIGKILL instead, before its Nth
 * operation; "count": the number of operations is printed on stderr at the end
 * (backend_fault_new). KILL and count apply to read-only destinations too (a restore's reads). */
static backend *with_injected_faults(backend *b, dest_mode mode)
{
	const char *spec = getenv("STRATA_FAULT_BACKEND");
	if (spec == NULL)
		return b;
	if (strcmp(spec, "count") == 0)
		return backend_fault_new(b, 0, BACKEND_FAULT_COUNT);
	char *end = NULL;
	long fail_at = strtol(spec, &end, 10);
	if (fail_at <= 0 || end == NULL || *end != ':')
		return b;
	int err = strcmp(end + 1, "EIO") == 0 ? EIO : strcmp(end + 1, "KILL") == 0 ? BACKEND_FAULT_KILL : ENOSPC;
	if (mode != DEST_WRITE && err != BACKEND_FAULT_KILL)
		return b;
	return backend_fault_new(b, fail_at, err);
}

int dest_open(dest **out, const char *path, dest_mode mode)
{
	return dest_open_wait(out, path, mode, 0);
}

int dest_open_wait(dest **out, const char *path, dest_mode mode, int64_t wait_seconds)
{
	backend *b = NULL;
	int rc = backend_for(&b, path);
	if (rc != 0)
		return rc;
	return dest_open_backend_wait(out, with_injected_faults(b, mode), path, mode, wait_seconds);
}

void dest_close(dest *d)
{
	if (d == NULL)
		return;
	catalog_close(d->cat);
	backend_free(d->b);
	free(d->path);
	free(d);
}

catalog *dest_catalog(dest *d)
{
	return d->cat;
}

backend *dest_backend(dest *d)
{
	return d->b;
}

const char *dest_path(const dest *d)
{
	return d->path;
}

int dest_open_reader(dest *d, catalog **out)
{
	char *path = NULL;
	int rc = backend_catalog_path(d->b, &path);
	if (rc == 0)
		rc = catalog_open(out, path, CATALOG_READ);
	free(path);
	return rc;
}

int dest_scratch_dir(dest *d, char **out)
{
	return backend_scratch_dir(d->b, out);
}

int dest_clean_scratch(dest *d)
{
	return backend_scratch_clean(d->b);
}
