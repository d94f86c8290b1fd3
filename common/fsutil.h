/*
 * fsutil.h - file-system helpers with strata's error convention.
 *
 * Every helper returns 0 or a negative st_error_kind with the error record set, naming the
 * path. Writes go through st_sys_write so tests can make the Nth write fail (see
 * st_fault_inject_from_env): crash and full-disk paths are tested, not argued.
 */
#ifndef STRATA_COMMON_FSUTIL_H
#define STRATA_COMMON_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* The write system call strata uses for destination and restore data; replaceable by tests. */
extern ssize_t (*st_sys_write)(int fd, const void *buf, size_t len);

/* Reads STRATA_FAULT_WRITE_ENOSPC=N from the environment: the Nth write (1-based) and every
 * later one then fail with ENOSPC. For tests of full-disk handling. */
void st_fault_inject_from_env(void);

/* Creates path and its missing parents with mode. */
int st_mkdir_p(const char *path, mode_t mode);

/* Writes all of buf to fd; what names the file in the error. */
int st_write_all(int fd, const void *buf, size_t len, const char *what);

/* Reads exactly len bytes at offset; a short read is ST_ERR_CORRUPT. */
int st_pread_all(int fd, void *buf, size_t len, uint64_t offset, const char *what);

/*
 * A read-only view of len bytes of a regular file at offset, for reading ranges of files much
 * larger than memory without copying them: mapped (MAP_POPULATE: read in one go), or, where the
 * file cannot be mapped, read into the caller's buffer (of at least len bytes). The range must
 * lie within the file (a mapped page past its end would fault). st_view_close unmaps it.
 */
typedef struct st_view {
	const char *data;
	void *map;
	size_t map_len;
} st_view;

int st_view_open(st_view *view, int fd, uint64_t offset, size_t len, void *fallback, const char *what);
void st_view_close(st_view *view);

/* fsync(fd), or of the directory at path. */
int st_fsync_fd(int fd, const char *what);
int st_fsync_dir(const char *path);

/* Reads a whole small file into a NUL-terminated buffer the caller frees. */
int st_read_small_file(char **out, size_t *out_len, const char *path, size_t max_len);

/* Writes data to path atomically: temp file, fsync, rename, fsync of the directory. */
int st_write_file_atomic(const char *path, const void *data, size_t len);
/* The same, with the new file's mode (e.g. 0600 for a file that holds passwords). */
int st_write_file_atomic_mode(const char *path, const void *data, size_t len, mode_t mode);

/* out = true when path is a directory holding nothing (false for a missing path: out_exists
 * tells). */
int st_dir_state(const char *path, bool *out_exists, bool *out_empty);

/* The names in the directory at path, less those that start with '.'; the caller frees each
 * name and the array. */
int st_list_dir(const char *path, char ***out, size_t *out_count);

/* Creates a new directory <prefix>-XXXXXX (mode 0700) below TMPDIR, or /tmp when TMPDIR is
 * unset or empty; *out (caller frees) is its path. ST_ERR_TARGET naming it when it cannot. */
int st_make_temp_dir(char **out, const char *prefix);

/* Removes path and everything below it (links are removed, not followed); a missing path is
 * fine. */
int st_remove_tree(const char *path);

/* A time in nanoseconds since 1970 as a timespec (tv_nsec in 0..999999999, also before 1970). */
struct timespec st_timespec_from_ns(int64_t ns);

/* Monotonic seconds, for statistics. */
double st_now_seconds(void);

#endif
