/*
 * dump_fifo.c - large dump files served to pg_restore through named pipes (see dump_fifo.h).
 */
#include "engine/dump_fifo.h"

#include "common/error.h"
#include "common/mem.h"
#include "engine/zdelta.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long the watcher sleeps when no pending FIFO has a reader yet. */
#define DUMP_FIFO_POLL_NS (1000 * 1000)

typedef struct fifo_entry {
	const catalog_dump_file *file;
	int dir_fd;
	char *path; /* for messages */
	bool opened; /* its writer runs, or ran and was not joined yet */
	int fd;                       /* the write end, handed to the writer */
	bool is_delta;                /* a zstd delta, prepared by the preparer thread */
	bool prepared;                /* its basis_fd and delta_fd are ready (under the lock) */
	int basis_fd, delta_fd;       /* a zstd delta: its checked basis and the delta (else -1) */
	struct dump_fifo_server *owner;
	pthread_t writer;
} fifo_entry;

struct dump_fifo_server {
	store *objects;
	dump_fifo_prepare_fn prepare;
	void *prepare_ctx;
	fifo_entry *entries;
	size_t count;
	pthread_t watcher, preparer;
	bool watching, preparing;
	pthread_cond_t prepared; /* an entry was prepared, or a failure or the end came */
	pthread_mutex_t lock; /* guards everything below */
	bool stop;
	pid_t reader;
	bool failed;      /* a writer failed on its own (not because the reader went away) */
	bool reader_gone; /* a writer found the reader gone (EPIPE) */
	st_error first;   /* the first failure */
};

dump_fifo_server *dump_fifo_server_new(store *objects, dump_fifo_prepare_fn prepare, void *prepare_ctx)
{
	dump_fifo_server *s = st_calloc(1, sizeof *s);
	s->objects = objects;
	s->prepare = prepare;
	s->prepare_ctx = prepare_ctx;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->prepared, NULL);
	return s;
}

bool dump_fifo_wanted(const catalog_dump_file *file)
{
	if (file->size < DUMP_FIFO_MIN_SIZE)
		return false;
	return file->storage == CATALOG_DUMP_ZDELTA ||
	       (file->storage == CATALOG_DUMP_FULL && st_hash_equal(&file->content.hash, &file->hash));
}

int dump_fifo_server_add(dump_fifo_server *s, int dir_fd, const char *dir, const catalog_dump_file *file)
{
	char *path = st_sprintf("%s/%s", dir, file->name);
	if (mkfifoat(dir_fd, file->name, 0600) != 0) {
		int rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to create the named pipe '%s'", path);
		free(path);
		return rc;
	}
	s->entries = st_realloc(s->entries, (s->count + 1) * sizeof *s->entries);
	s->entries[s->count++] = (fifo_entry){.file = file, .dir_fd = dir_fd, .path = path, .fd = -1,
					      .is_delta = file->storage == CATALOG_DUMP_ZDELTA, .basis_fd = -1,
					      .delta_fd = -1, .owner = s};
	return 0;
}

/* Records this thread's error as the server's first failure and stops the reader: pg_restore
 * must not go on (and succeed) with a table it did not get whole. */
static void record_failure(dump_fifo_server *s)
{
	pthread_mutex_lock(&s->lock);
	if (!s->failed) {
		s->failed = true;
		st_error_save(&s->first);
		if (s->reader > 0)
			kill(s->reader, SIGTERM);
	}
	pthread_mutex_unlock(&s->lock);
}

/* A reader that closed its end early: pg_restore's own exit says why, unless it claims success. */
static void record_reader_gone(dump_fifo_server *s)
{
	pthread_mutex_lock(&s->lock);
	if (!s->failed && !s->reader_gone) {
		s->reader_gone = true;
		st_error_save(&s->first);
	}
	pthread_mutex_unlock(&s->lock);
}

/* A delta patched into the pipe, hashed as it goes: the basis was checked and every segment
 * carries a checksum, so what pg_restore reads is right; the whole file's hash checks this. */
static int write_patched(const fifo_entry *e)
{
	st_hasher *hasher = st_hasher_new();
	int rc = zdelta_patch_fd_hashed(e->basis_fd, e->delta_fd, e->fd, e->path, hasher);
	st_hash got;
	st_hasher_final(&got, hasher);
	if (rc == 0 && !st_hash_equal(&got, &e->file->hash))
		rc = st_error_set(ST_ERR_CORRUPT, "rebuilt dump file '%s' does not match its hash", e->path);
	return rc;
}

/* Waits until the preparer has e's basis and delta ready; false when a failure or the end came
 * first (the failure is recorded already). */
static bool wait_prepared(fifo_entry *e)
{
	dump_fifo_server *s = e->owner;
	pthread_mutex_lock(&s->lock);
	while (!e->prepared && !s->failed && !s->stop)
		pthread_cond_wait(&s->prepared, &s->lock);
	bool ready = e->prepared;
	pthread_mutex_unlock(&s->lock);
	return ready;
}

static void *write_entry(void *arg)
{
	fifo_entry *e = arg;
	if (e->is_delta && !wait_prepared(e)) {
		close(e->fd);
		e->fd = -1;
		return NULL;
	}
	/* A reader that goes away makes write fail with EPIPE in this thread, not kill strata. */
	sigset_t pipe_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
	int flags = fcntl(e->fd, F_GETFL);
	int rc = flags < 0 || fcntl(e->fd, F_SETFL, flags & ~O_NONBLOCK) != 0
			 ? st_error_set_errno(ST_ERR_TARGET, errno, "unable to write '%s'", e->path)
		 : e->is_delta ? write_patched(e)
				    : store_get_to_fd(e->owner->objects, e->fd, &e->file->content, e->path);
	if (close(e->fd) != 0 && rc == 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to write '%s'", e->path);
	e->fd = -1;
	if (rc != 0 && strstr(st_error_message(), strerror(EPIPE)) != NULL)
		record_reader_gone(e->owner);
	else if (rc != 0) {
		st_error_prefix("unable to serve dump file '%s'", e->path);
		record_failure(e->owner);
	}
	store_thread_release();
	return NULL;
}

static bool should_stop(dump_fifo_server *s)
{
	pthread_mutex_lock(&s->lock);
	bool stop = s->stop || s->failed;
	pthread_mutex_unlock(&s->lock);
	return stop;
}

/* Opens, without blocking, every pending FIFO that has a reader; true when one was opened. */
static bool open_ready(dump_fifo_server *s)
{
	bool any = false;
	for (size_t i = 0; i < s->count; i++) {
		fifo_entry *e = &s->entries[i];
		if (e->opened)
			continue;
		e->fd = openat(e->dir_fd, e->file->name, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (e->fd < 0) {
			if (errno != ENXIO) {
				st_error_set_errno(ST_ERR_TARGET, errno, "unable to open the named pipe '%s'", e->path);
				record_failure(s);
			}
			continue;
		}
		int err = pthread_create(&e->writer, NULL, write_entry, e);
		if (err != 0) {
			close(e->fd);
			e->fd = -1;
			st_error_set_errno(ST_ERR_GENERIC, err, "unable to start a writer for '%s'", e->path);
			record_failure(s);
			continue;
		}
		e->opened = true;
		any = true;
	}
	return any;
}

static void *watch(void *arg)
{
	dump_fifo_server *s = arg;
	const struct timespec pause = {.tv_sec = 0, .tv_nsec = DUMP_FIFO_POLL_NS};
	while (!should_stop(s))
		if (!open_ready(s))
			nanosleep(&pause, NULL);
	return NULL;
}

/* The largest delta not prepared yet (pg_restore --jobs starts with the largest tables). */
static fifo_entry *next_to_prepare(dump_fifo_server *s, const bool *done)
{
	fifo_entry *best = NULL;
	for (size_t i = 0; i < s->count; i++)
		if (s->entries[i].is_delta && !done[i] && (best == NULL || s->entries[i].file->size > best->file->size))
			best = &s->entries[i];
	return best;
}

/* Rebuilds the bases of the deltas, largest first, while pg_restore creates the schema and loads
 * the other tables; a writer waits for its own. */
static void *prepare_all(void *arg)
{
	dump_fifo_server *s = arg;
	bool *done = st_calloc(s->count ? s->count : 1, sizeof *done);
	for (fifo_entry *e; !should_stop(s) && (e = next_to_prepare(s, done)) != NULL;) {
		done[e - s->entries] = true;
		int basis = -1, delta = -1;
		if (s->prepare(s->prepare_ctx, e->file, &basis, &delta) != 0) {
			st_error_prefix("unable to rebuild dump file '%s'", e->path);
			record_failure(s);
			break;
		}
		pthread_mutex_lock(&s->lock);
		e->basis_fd = basis;
		e->delta_fd = delta;
		e->prepared = true;
		pthread_cond_broadcast(&s->prepared);
		pthread_mutex_unlock(&s->lock);
	}
	free(done);
	store_thread_release();
	return NULL;
}

size_t dump_fifo_server_count(const dump_fifo_server *s)
{
	return s->count;
}

int dump_fifo_server_begin(dump_fifo_server *s)
{
	int err = pthread_create(&s->preparer, NULL, prepare_all, s);
	if (err != 0)
		return st_error_set_errno(ST_ERR_GENERIC, err, "unable to start rebuilding the dump's deltas");
	s->preparing = true;
	err = pthread_create(&s->watcher, NULL, watch, s);
	if (err != 0) {
		bool failed;
		int rc = st_error_set_errno(ST_ERR_GENERIC, err, "unable to start serving the dump's named pipes");
		dump_fifo_server_end(s, &failed);
		return rc;
	}
	s->watching = true;
	return 0;
}

void dump_fifo_server_set_reader(void *server, pid_t pid)
{
	dump_fifo_server *s = server;
	pthread_mutex_lock(&s->lock);
	s->reader = pid;
	/* A failure before pg_restore started still stops it. */
	if (pid > 0 && s->failed)
		kill(pid, SIGTERM);
	pthread_mutex_unlock(&s->lock);
}

int dump_fifo_server_end(dump_fifo_server *s, bool *out_failed)
{
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->prepared);
	pthread_mutex_unlock(&s->lock);
	if (s->watching)
		pthread_join(s->watcher, NULL);
	s->watching = false;
	if (s->preparing)
		pthread_join(s->preparer, NULL);
	s->preparing = false;
	for (size_t i = 0; i < s->count; i++)
		if (s->entries[i].opened) {
			pthread_join(s->entries[i].writer, NULL);
			s->entries[i].opened = false;
		}
	*out_failed = s->failed;
	return s->failed || s->reader_gone ? st_error_restore(&s->first) : 0;
}

void dump_fifo_server_free(dump_fifo_server *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->count; i++) {
		free(s->entries[i].path);
		if (s->entries[i].basis_fd >= 0)
			close(s->entries[i].basis_fd);
		if (s->entries[i].delta_fd >= 0)
			close(s->entries[i].delta_fd);
	}
	free(s->entries);
	pthread_cond_destroy(&s->prepared);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
