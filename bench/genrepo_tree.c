/*
 * genrepo_tree.c - worker pool that writes node folders for strata-genrepo
 * (see genrepo_tree.h).
 *
 * The main thread stages jobs locally and hands them over in batches, so
 * the queue lock is taken once per STAGE_CAP folders, not once per folder.
 * Workers take up to POP_MAX jobs at a time. A failing worker records its
 * error, sets failed and wakes everyone; the main thread sees the failure
 * at its next hand-over and stops. Within a folder every call is relative
 * to an open directory descriptor, so long roots cost one lookup, not one
 * per file.
 */
#include "genrepo_tree.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "genrepo_folder.h"

/* Large enough that the main thread can finish the database side while the
 * workers still write (64 bytes a job; pages are touched only when used). */
#define QUEUE_CAP (1u << 20)
#define STAGE_CAP 64
#define POP_MAX 16
#define ROOT_MAX 3000

typedef struct tree_job {
    char uuid[37];
    unsigned kind;
    int64_t ctime_us;
    uint64_t seed;
} tree_job;

typedef struct worker {
    gen_tree *tree;
    pthread_t thread;
    bool started;
    char *buf;            /* GEN_CHUNK + GEN_CHUNK_SLACK bytes */
    gen_error error;
} worker;

struct gen_tree {
    char *root;
    double size_scale;
    unsigned nworkers;
    worker *workers;
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    pthread_cond_t idle;  /* signalled when a worker exits */
    tree_job *queue;      /* ring of QUEUE_CAP */
    size_t head;
    size_t count;
    tree_job stage[STAGE_CAP]; /* main thread only */
    size_t staged;
    bool closed;          /* no more jobs will come */
    bool stop;            /* gen_tree_free: quit now */
    bool failed;          /* a worker failed; error holds why */
    bool joined;
    bool sync_ready;      /* lock and conditions initialised */
    unsigned running;
    gen_error error;
    _Atomic uint64_t folders;
    _Atomic uint64_t files;
    _Atomic uint64_t dirs;
    _Atomic uint64_t symlinks;
    _Atomic uint64_t bytes;
};

/* ---- small system helpers -------------------------------------------- */

static const char *errstr(int errnum, char *buf, size_t size)
{
    return strerror_r(errnum, buf, size); /* GNU variant: _GNU_SOURCE */
}

static void timespec_from_us(struct timespec times[2], int64_t unix_us)
{
    times[0].tv_sec = (time_t)(unix_us / 1000000);
    times[0].tv_nsec = (long)(unix_us % 1000000) * 1000;
    if (times[0].tv_nsec < 0) {
        times[0].tv_nsec += 1000000000;
        times[0].tv_sec -= 1;
    }
    times[1] = times[0];
}

/* mkdirat that counts what it creates; exist_ok accepts EEXIST. */
static int make_dir(int dfd, const char *path, bool exist_ok, gen_tree_stats *stats)
{
    if (mkdirat(dfd, path, 0755) == 0) {
        stats->dirs++;
        return 0;
    }
    return errno == EEXIST && exist_ok ? 0 : -1;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        const ssize_t n = write(fd, data, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Records "<what> '<dir>/<rel>': <strerror(errno)>" as the worker's error. */
static int worker_fail(worker *w, const char *what, const char *dir, const char *rel)
{
    const int saved = errno;
    char reason[128];

    gen_error_set(&w->error, "%s '%s%s%s': %s", what, dir, rel ? "/path/" : "",
                  rel ? rel : "", errstr(saved, reason, sizeof(reason)));
    return -1;
}

/* ---- one folder ------------------------------------------------------ */

/* Creates the node folder, and the two shard levels above it if missing
 * (other workers may be creating them at the same moment). */
static int make_node_dir(worker *w, const tree_job *job, const char *node_dir,
                         gen_tree_stats *stats)
{
    char shard[ROOT_MAX + 32];

    if (make_dir(AT_FDCWD, node_dir, false, stats) == 0)
        return 0;
    if (errno != ENOENT)
        return worker_fail(w, "create folder", node_dir, NULL);
    snprintf(shard, sizeof(shard), "%s/repository/node/%.2s", w->tree->root, job->uuid);
    if (make_dir(AT_FDCWD, shard, true, stats) != 0)
        return worker_fail(w, "create folder", shard, NULL);
    snprintf(shard, sizeof(shard), "%s/repository/node/%.2s/%.2s", w->tree->root, job->uuid,
             job->uuid + 2);
    if (make_dir(AT_FDCWD, shard, true, stats) != 0)
        return worker_fail(w, "create folder", shard, NULL);
    if (make_dir(AT_FDCWD, node_dir, false, stats) != 0)
        return worker_fail(w, "create folder", node_dir, NULL);
    return 0;
}

static int write_content(worker *w, int fd, const gen_file_spec *spec)
{
    gen_rng rng;
    gen_content content;
    uint64_t left = spec->size;

    gen_rng_seed(&rng, spec->content_seed);
    gen_content_init(&content, &rng, spec->text);
    while (left > 0) {
        const size_t want = left < GEN_CHUNK ? (size_t)left : (size_t)GEN_CHUNK;

        gen_content_fill(&content, w->buf, want);
        if (write_all(fd, w->buf, want) != 0)
            return -1;
        left -= want;
    }
    return 0;
}

static int write_file(worker *w, int dfd, const char *node_dir, const gen_file_spec *spec,
                      gen_tree_stats *stats)
{
    struct timespec times[2];
    const int fd = openat(dfd, spec->rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                          (mode_t)spec->mode);

    if (fd < 0)
        return worker_fail(w, "create", node_dir, spec->rel);
    timespec_from_us(times, spec->mtime_us);
    if (write_content(w, fd, spec) != 0 || futimens(fd, times) != 0) {
        worker_fail(w, "write", node_dir, spec->rel);
        close(fd);
        return -1;
    }
    if (close(fd) != 0)
        return worker_fail(w, "close", node_dir, spec->rel);
    stats->files++;
    stats->bytes += spec->size;
    return 0;
}

static int write_symlink(worker *w, int dfd, const char *node_dir, const gen_file_spec *spec,
                         gen_tree_stats *stats)
{
    struct timespec times[2];

    timespec_from_us(times, spec->mtime_us);
    if (symlinkat(spec->link_target, dfd, spec->rel) != 0)
        return worker_fail(w, "create symlink", node_dir, spec->rel);
    if (utimensat(dfd, spec->rel, times, AT_SYMLINK_NOFOLLOW) != 0)
        return worker_fail(w, "set times of", node_dir, spec->rel);
    stats->symlinks++;
    return 0;
}

/* Creates path/, its subfolders and files. Directory times are set last:
 * creating entries would move them again. */
static int fill_path_dir(worker *w, int nfd, const char *node_dir, const tree_job *job,
                         gen_tree_stats *stats)
{
    gen_folder folder;
    gen_file_spec spec;
    struct timespec times[2];
    int dfd = -1;
    int rc = -1;

    if (make_dir(nfd, "path", false, stats) != 0)
        return worker_fail(w, "create folder", node_dir, "");
    dfd = openat(nfd, "path", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return worker_fail(w, "open", node_dir, "");
    gen_folder_init(&folder, job->seed, job->kind, job->ctime_us, w->tree->size_scale);
    for (unsigned i = 0; i < folder.ndirs; i++)
        if (make_dir(dfd, folder.dirs[i], false, stats) != 0) {
            worker_fail(w, "create folder", node_dir, folder.dirs[i]);
            goto cleanup;
        }
    while (gen_folder_next_file(&folder, &spec)) {
        const bool link = spec.link_target[0] != '\0';

        if (link && write_symlink(w, dfd, node_dir, &spec, stats) != 0)
            goto cleanup;
        if (!link && write_file(w, dfd, node_dir, &spec, stats) != 0)
            goto cleanup;
    }
    timespec_from_us(times, job->ctime_us);
    for (unsigned i = 0; i < folder.ndirs; i++)
        if (utimensat(dfd, folder.dirs[i], times, 0) != 0) {
            worker_fail(w, "set times of", node_dir, folder.dirs[i]);
            goto cleanup;
        }
    if (futimens(dfd, times) != 0) {
        worker_fail(w, "set times of", node_dir, "");
        goto cleanup;
    }
    rc = 0;
cleanup:
    close(dfd);
    return rc;
}

static int write_folder(worker *w, const tree_job *job, gen_tree_stats *stats)
{
    char node_dir[ROOT_MAX + 64];
    struct timespec times[2];
    int nfd;
    int rc;

    snprintf(node_dir, sizeof(node_dir), "%s/repository/node/%.2s/%.2s/%s", w->tree->root,
             job->uuid, job->uuid + 2, job->uuid + 4);
    if (make_node_dir(w, job, node_dir, stats) != 0)
        return -1;
    nfd = open(node_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (nfd < 0)
        return worker_fail(w, "open", node_dir, NULL);
    rc = fill_path_dir(w, nfd, node_dir, job, stats);
    timespec_from_us(times, job->ctime_us);
    if (rc == 0 && futimens(nfd, times) != 0)
        rc = worker_fail(w, "set times of", node_dir, NULL);
    close(nfd);
    if (rc == 0)
        stats->folders++;
    return rc;
}

/* ---- the pool -------------------------------------------------------- */

static void add_stats(gen_tree *tree, const gen_tree_stats *stats)
{
    atomic_fetch_add_explicit(&tree->folders, stats->folders, memory_order_relaxed);
    atomic_fetch_add_explicit(&tree->files, stats->files, memory_order_relaxed);
    atomic_fetch_add_explicit(&tree->dirs, stats->dirs, memory_order_relaxed);
    atomic_fetch_add_explicit(&tree->symlinks, stats->symlinks, memory_order_relaxed);
    atomic_fetch_add_explicit(&tree->bytes, stats->bytes, memory_order_relaxed);
}

/* Takes up to max jobs; 0 when the queue is closed and drained, or on stop. */
static size_t pop_jobs(gen_tree *tree, tree_job *out, size_t max)
{
    size_t n = 0;

    pthread_mutex_lock(&tree->lock);
    while (tree->count == 0 && !tree->closed && !tree->stop && !tree->failed)
        pthread_cond_wait(&tree->not_empty, &tree->lock);
    if (!tree->stop && !tree->failed) {
        for (; n < max && tree->count > 0; n++) {
            out[n] = tree->queue[tree->head];
            tree->head = (tree->head + 1) % QUEUE_CAP;
            tree->count--;
        }
    }
    if (n > 0)
        pthread_cond_signal(&tree->not_full);
    pthread_mutex_unlock(&tree->lock);
    return n;
}

static void report_failure(gen_tree *tree, const gen_error *error)
{
    pthread_mutex_lock(&tree->lock);
    tree->failed = true;
    gen_error_set(&tree->error, "%s", error->msg);
    pthread_cond_broadcast(&tree->not_empty);
    pthread_cond_broadcast(&tree->not_full);
    pthread_mutex_unlock(&tree->lock);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    gen_tree *tree = w->tree;
    tree_job jobs[POP_MAX];
    size_t n;

    while ((n = pop_jobs(tree, jobs, POP_MAX)) > 0) {
        for (size_t i = 0; i < n; i++) {
            gen_tree_stats stats = {0};
            const int rc = write_folder(w, &jobs[i], &stats);

            add_stats(tree, &stats);
            if (rc != 0) {
                report_failure(tree, &w->error);
                goto out;
            }
        }
    }
out:
    pthread_mutex_lock(&tree->lock);
    tree->running--;
    pthread_cond_broadcast(&tree->idle);
    pthread_mutex_unlock(&tree->lock);
    return NULL;
}

/* Moves the staged jobs into the queue, waiting for room. */
static int flush_stage(gen_tree *tree, gen_error *err)
{
    size_t done = 0;
    int rc = 0;

    pthread_mutex_lock(&tree->lock);
    while (done < tree->staged) {
        while (tree->count == QUEUE_CAP && !tree->failed)
            pthread_cond_wait(&tree->not_full, &tree->lock);
        if (tree->failed)
            break;
        for (; done < tree->staged && tree->count < QUEUE_CAP; done++) {
            tree->queue[(tree->head + tree->count) % QUEUE_CAP] = tree->stage[done];
            tree->count++;
        }
        pthread_cond_broadcast(&tree->not_empty);
    }
    if (tree->failed) {
        gen_error_set(err, "%s", tree->error.msg);
        rc = -1;
    }
    pthread_mutex_unlock(&tree->lock);
    tree->staged = 0;
    return rc;
}

int gen_tree_submit(gen_tree *tree, const gen_node *node, gen_error *err)
{
    tree_job *job = &tree->stage[tree->staged++];

    memcpy(job->uuid, node->uuid, sizeof(job->uuid));
    job->kind = node->kind;
    job->ctime_us = node->ctime_us;
    job->seed = node->seed;
    return tree->staged == STAGE_CAP ? flush_stage(tree, err) : 0;
}

int gen_tree_close(gen_tree *tree, gen_error *err)
{
    const int rc = flush_stage(tree, err);

    pthread_mutex_lock(&tree->lock);
    tree->closed = true;
    pthread_cond_broadcast(&tree->not_empty);
    pthread_mutex_unlock(&tree->lock);
    return rc;
}

bool gen_tree_wait(gen_tree *tree, unsigned timeout_ms)
{
    struct timespec deadline;
    bool done;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)(timeout_ms / 1000);
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_nsec -= 1000000000;
        deadline.tv_sec += 1;
    }
    pthread_mutex_lock(&tree->lock);
    while (tree->running > 0)
        if (pthread_cond_timedwait(&tree->idle, &tree->lock, &deadline) == ETIMEDOUT)
            break;
    done = tree->running == 0;
    pthread_mutex_unlock(&tree->lock);
    return done;
}

void gen_tree_stats_get(gen_tree *tree, gen_tree_stats *out)
{
    out->folders = atomic_load_explicit(&tree->folders, memory_order_relaxed);
    out->files = atomic_load_explicit(&tree->files, memory_order_relaxed);
    out->dirs = atomic_load_explicit(&tree->dirs, memory_order_relaxed);
    out->symlinks = atomic_load_explicit(&tree->symlinks, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&tree->bytes, memory_order_relaxed);
}

static void join_workers(gen_tree *tree)
{
    if (tree->joined)
        return;
    for (unsigned i = 0; i < tree->nworkers; i++)
        if (tree->workers[i].started)
            pthread_join(tree->workers[i].thread, NULL);
    tree->joined = true;
}

int gen_tree_end(gen_tree *tree, gen_error *err)
{
    join_workers(tree);
    if (tree->failed) {
        gen_error_set(err, "%s", tree->error.msg);
        return -1;
    }
    return 0;
}

/* ---- setup and teardown ---------------------------------------------- */

/* mkdir -p for the root itself (not counted: the root is the caller's). */
static int make_root(const char *root, gen_error *err)
{
    char path[ROOT_MAX];
    char reason[128];
    struct stat st;

    snprintf(path, sizeof(path), "%s", root);
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            gen_error_set(err, "create folder '%s': %s", path,
                          errstr(errno, reason, sizeof(reason)));
            return -1;
        }
        *p = '/';
    }
    if ((mkdir(path, 0755) != 0 && errno != EEXIST) || stat(path, &st) != 0) {
        gen_error_set(err, "create folder '%s': %s", path, errstr(errno, reason, sizeof(reason)));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        gen_error_set(err, "--root: '%s' is not a directory", path);
        return -1;
    }
    return 0;
}

static int make_repository(gen_tree *tree, gen_error *err)
{
    gen_tree_stats stats = {0};
    char path[ROOT_MAX + 32];
    char reason[128];

    if (make_root(tree->root, err) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/repository", tree->root);
    if (make_dir(AT_FDCWD, path, true, &stats) == 0) {
        snprintf(path, sizeof(path), "%s/repository/node", tree->root);
        if (make_dir(AT_FDCWD, path, true, &stats) == 0) {
            add_stats(tree, &stats);
            return 0;
        }
    }
    gen_error_set(err, "create folder '%s': %s", path, errstr(errno, reason, sizeof(reason)));
    return -1;
}

static int start_workers(gen_tree *tree, gen_error *err)
{
    tree->workers = calloc(tree->nworkers, sizeof(*tree->workers));
    if (tree->workers == NULL) {
        gen_error_set(err, "start workers: out of memory");
        return -1;
    }
    for (unsigned i = 0; i < tree->nworkers; i++) {
        worker *w = &tree->workers[i];
        int rc;

        w->tree = tree;
        w->buf = malloc(GEN_CHUNK + GEN_CHUNK_SLACK);
        if (w->buf == NULL) {
            gen_error_set(err, "start workers: out of memory");
            return -1;
        }
        pthread_mutex_lock(&tree->lock);
        tree->running++;
        pthread_mutex_unlock(&tree->lock);
        rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0) {
            char reason[128];

            pthread_mutex_lock(&tree->lock);
            tree->running--;
            pthread_mutex_unlock(&tree->lock);
            gen_error_set(err, "start worker thread: %s", errstr(rc, reason, sizeof(reason)));
            return -1;
        }
        w->started = true;
    }
    return 0;
}

static int init_sync(gen_tree *tree, gen_error *err)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);

    rc = rc ? rc : pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    rc = rc ? rc : pthread_mutex_init(&tree->lock, NULL);
    rc = rc ? rc : pthread_cond_init(&tree->not_empty, NULL);
    rc = rc ? rc : pthread_cond_init(&tree->not_full, NULL);
    rc = rc ? rc : pthread_cond_init(&tree->idle, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0) {
        gen_error_set(err, "initialise thread synchronisation: error %d", rc);
        return -1;
    }
    tree->sync_ready = true;
    return 0;
}

int gen_tree_new(gen_tree **out, const gen_tree_config *config, gen_error *err)
{
    gen_tree *tree;

    *out = NULL;
    if (strlen(config->root) >= ROOT_MAX - 1) {
        gen_error_set(err, "--root: path is longer than %d bytes", ROOT_MAX - 2);
        return -1;
    }
    tree = calloc(1, sizeof(*tree));
    if (tree == NULL || (tree->root = strdup(config->root)) == NULL
        || (tree->queue = calloc(QUEUE_CAP, sizeof(*tree->queue))) == NULL) {
        gen_error_set(err, "create worker pool: out of memory");
        gen_tree_free(tree);
        return -1;
    }
    tree->size_scale = config->size_scale;
    tree->nworkers = config->jobs;
    if (init_sync(tree, err) != 0 || make_repository(tree, err) != 0
        || start_workers(tree, err) != 0) {
        gen_tree_free(tree);
        return -1;
    }
    *out = tree;
    return 0;
}

void gen_tree_free(gen_tree *tree)
{
    if (tree == NULL)
        return;
    if (tree->workers != NULL) {
        pthread_mutex_lock(&tree->lock);
        tree->stop = true;
        pthread_cond_broadcast(&tree->not_empty);
        pthread_mutex_unlock(&tree->lock);
        join_workers(tree);
        for (unsigned i = 0; i < tree->nworkers; i++)
            free(tree->workers[i].buf);
        free(tree->workers);
    }
    if (tree->sync_ready) {
        pthread_mutex_destroy(&tree->lock);
        pthread_cond_destroy(&tree->not_empty);
        pthread_cond_destroy(&tree->not_full);
        pthread_cond_destroy(&tree->idle);
    }
    free(tree->queue);
    free(tree->root);
    free(tree);
}
