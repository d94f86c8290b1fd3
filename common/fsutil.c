/*
 * fsutil.c - file-system helpers (see fsutil.h).
 */
#include "fsutil.h"

#include "error.h"
#include "mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_long fault_countdown = 0;

static ssize_t faulty_write(int fd, const void *buf, size_t len)
{
	if (atomic_fetch_sub(&fault_countdown, 1) <= 1) {
		errno = ENOSPC;
		return -1;
	}
	return write(fd, buf, len);
}

ssize_t (*st_sys_write)(int fd, const void *buf, size_t len) = write;

void st_fault_inject_from_env(void)
{
	const char *value = getenv("STRATA_FAULT_WRITE_ENOSPC");
	if (value == NULL || *value == '\0')
		return;
	long n = strtol(value, NULL, 10);
	if (n <= 0)
		return;
	atomic_store(&fault_countdown, n);
	st_sys_write = faulty_write;
}

int st_mkdir_p(const char *path, mode_t mode)
{
	if (path[0] == '\0')
		return st_error_set(ST_ERR_GENERIC, "unable to create a directory: empty path");
	char *copy = st_strdup(path);
	int rc = 0;
	for (char *p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, mode) != 0 && errno != EEXIST) {
			rc = st_error_set_errno(ST_ERR_GENERIC, errno, "unable to create directory '%s'", copy);
			break;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	if (rc == 0) {
		struct stat st;
		if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			rc = st_error_set(ST_ERR_GENERIC, "unable to create directory '%s': not a directory", path);
	}
	free(copy);
	return rc;
}

int st_write_all(int fd, const void *buf, size_t len, const char *what)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = st_sys_write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to write '%s'", what);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int st_view_open(st_view *view, int fd, uint64_t offset, size_t len, void *fallback, const char *what)
{
	*view = (st_view){.data = fallback};
	if (len == 0)
		return 0;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start = offset - offset % page;
	size_t lead = (size_t)(offset - start);
	void *map = mmap(NULL, len + lead, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, (off_t)start);
	if (map == MAP_FAILED)
		return st_pread_all(fd, fallback, len, offset, what);
	*view = (st_view){.data = (const char *)map + lead, .map = map, .map_len = len + lead};
	return 0;
}

void st_view_close(st_view *view)
{
	if (view->map != NULL)
		munmap(view->map, view->map_len);
	view->map = NULL;
	view->data = NULL;
}

int st_pread_all(int fd, void *buf, size_t len, uint64_t offset, const char *what)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)offset);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to read '%s'", what);
		}
		if (n == 0)
			return st_error_set(ST_ERR_CORRUPT, "unable to read '%s': unexpected end of file at offset %llu",
					    what, (unsigned long long)offset);
		p += n;
		len -= (size_t)n;
		offset += (uint64_t)n;
	}
	return 0;
}

int st_fsync_fd(int fd, const char *what)
{
	if (fsync(fd) != 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to sync '%s'", what);
	return 0;
}

int st_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open directory '%s'", path);
	int rc = st_fsync_fd(fd, path);
	close(fd);
	return rc;
}

int st_read_small_file(char **out, size_t *out_len, const char *path, size_t max_len)
{
	int rc = 0;
	char *data = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open '%s'", path);
	struct stat st;
	if (fstat(fd, &st) != 0) {
		rc = st_error_set_errno(ST_ERR_GENERIC, errno, "unable to stat '%s'", path);
		goto cleanup;
	}
	if ((size_t)st.st_size > max_len) {
		rc = st_error_set(ST_ERR_GENERIC, "unable to read '%s': larger than %zu bytes", path, max_len);
		goto cleanup;
	}
	data = st_malloc((size_t)st.st_size + 1);
	if ((rc = st_pread_all(fd, data, (size_t)st.st_size, 0, path)) != 0)
		goto cleanup;
	data[st.st_size] = '\0';
	*out = data;
	if (out_len)
		*out_len = (size_t)st.st_size;
	data = NULL;
cleanup:
	free(data);
	close(fd);
	return rc;
}

int st_write_file_atomic(const char *path, const void *data, size_t len)
{
	return st_write_file_atomic_mode(path, data, len, 0644);
}

int st_write_file_atomic_mode(const char *path, const void *data, size_t len, mode_t mode)
{
	int rc = 0;
	char *tmp = st_sprintf("%s.tmp.%d", path, (int)getpid());
	char *dir = st_strdup(path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = st_error_set_errno(ST_ERR_GENERIC, errno, "unable to create '%s'", tmp);
		goto cleanup;
	}
	rc = st_write_all(fd, data, len, tmp);
	if (rc == 0)
		rc = st_fsync_fd(fd, tmp);
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = st_error_set_errno(ST_ERR_GENERIC, errno, "unable to rename '%s'", tmp);
	if (rc == 0)
		rc = st_fsync_dir(dir);
	if (rc != 0)
		unlink(tmp);
cleanup:
	free(tmp);
	free(dir);
	return rc;
}

int st_dir_state(const char *path, bool *out_exists, bool *out_empty)
{
	DIR *dir = opendir(path);
	*out_exists = false;
	*out_empty = false;
	if (dir == NULL) {
		if (errno == ENOENT)
			return 0;
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open directory '%s'", path);
	}
	*out_exists = true;
	*out_empty = true;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
			*out_empty = false;
			break;
		}
	}
	closedir(dir);
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int rc = type == FTW_DP ? rmdir(path) : unlink(path);
	return rc == 0 || errno == ENOENT ? 0 : errno;
}

int st_make_temp_dir(char **out, const char *prefix)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = st_sprintf("%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
	*out = NULL;
	if (mkdtemp(dir) == NULL) {
		int rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to create a temporary directory '%s'", dir);
		free(dir);
		return rc;
	}
	*out = dir;
	return 0;
}

int st_remove_tree(const char *path)
{
	int err = nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (err < 0 && errno == ENOENT)
		return 0;
	if (err != 0)
		return st_error_set_errno(ST_ERR_GENERIC, err > 0 ? err : errno, "unable to remove '%s'", path);
	return 0;
}

int st_list_dir(const char *path, char ***out, size_t *out_count)
{
	DIR *dir = opendir(path);
	if (dir == NULL)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to read directory '%s'", path);
	char **names = NULL;
	size_t count = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.')
			continue;
		names = st_realloc(names, (count + 1) * sizeof *names);
		names[count++] = st_strdup(entry->d_name);
	}
	closedir(dir);
	*out = names;
	*out_count = count;
	return 0;
}

double st_now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct timespec st_timespec_from_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
	if (ts.tv_nsec < 0) {
		ts.tv_sec--;
		ts.tv_nsec += 1000000000;
	}
	return ts;
}
