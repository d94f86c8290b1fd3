/*
 * confine.c - files and folders below a root descriptor, never following a link (see confine.h).
 *
 * The fast path asks the kernel to resolve a whole relative path beneath the descriptor with no
 * symbolic link anywhere (openat2). Whenever that fails - a component is missing, is a link or
 * is something else, or the kernel has no openat2 - the path is walked one component at a time
 * with O_NOFOLLOW | O_DIRECTORY, which is where folders are created and links refused or
 * replaced, and where precise messages come from.
 */
#include "common/confine.h"

#include "common/error.h"
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* How often a component that changes under us (created, removed, replaced by another process)
 * is tried again before the restore gives up on it. */
#define CONFINE_RETRIES 4

static atomic_int openat2_disabled;

void st_confine_disable_openat2(int disable)
{
	atomic_store(&openat2_disabled, disable);
}

int st_confine_check_path(const char *relpath, const char *display)
{
	if (relpath[0] == '/')
		return st_error_set(ST_ERR_TARGET, "path '%s' would escape the restore target '%s'", relpath, display);
	if (relpath[0] == '\0')
		return 0;
	for (const char *part = relpath; part != NULL;) {
		const char *slash = strchr(part, '/');
		size_t len = slash ? (size_t)(slash - part) : strlen(part);
		if (len == 0 || (len == 1 && part[0] == '.') || (len == 2 && part[0] == '.' && part[1] == '.'))
			return st_error_set(ST_ERR_TARGET, "path '%s' would escape the restore target '%s'", relpath,
					    display);
		if (len > NAME_MAX)
			return st_error_set(ST_ERR_TARGET, "path '%s' has a name longer than %d bytes", relpath, NAME_MAX);
		part = slash ? slash + 1 : NULL;
	}
	return 0;
}

int st_confine_root_open(int *out_fd, const char *path, mode_t mode)
{
	*out_fd = -1;
	if (st_mkdir_p(path, mode) != 0)
		return st_error_reclassify(ST_ERR_TARGET);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to open the restore target '%s'", path);
	*out_fd = fd;
	return 0;
}

static int refuse_in_the_way(const struct stat *st, const char *display, const char *shown)
{
	if (S_ISLNK(st->st_mode))
		return st_error_set(ST_ERR_TARGET,
				    "'%s/%s' is a symbolic link: restore never follows one (--force replaces the link)",
				    display, shown);
	return st_error_set(ST_ERR_TARGET, "'%s/%s' is in the way (--force replaces it)", display, shown);
}

/* Opens (creating or replacing as flags allow) the folder name in parent; shown is the path so
 * far, for messages. */
static int open_component(int *out_fd, int parent, const char *name, mode_t mode, unsigned flags,
			  const char *display, const char *shown)
{
	for (int attempt = 0; attempt < CONFINE_RETRIES; attempt++) {
		int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			*out_fd = fd;
			return 0;
		}
		int err = errno;
		if (err == ENOENT && (flags & (ST_CONFINE_CREATE | ST_CONFINE_REPLACE))) {
			if (mkdirat(parent, name, mode) != 0 && errno != EEXIST)
				return st_error_set_errno(ST_ERR_TARGET, errno, "unable to create directory '%s/%s'",
							  display, shown);
			continue;
		}
		if (err != ELOOP && err != ENOTDIR)
			return st_error_set_errno(ST_ERR_TARGET, err, "unable to open directory '%s/%s'", display, shown);
		struct stat st;
		if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode))
			continue; /* changed under us: look again */
		if (!(flags & ST_CONFINE_REPLACE))
			return refuse_in_the_way(&st, display, shown);
		if (unlinkat(parent, name, 0) != 0 && errno != ENOENT)
			return st_error_set_errno(ST_ERR_TARGET, errno, "unable to remove '%s/%s'", display, shown);
	}
	return st_error_set(ST_ERR_TARGET, "'%s/%s' kept changing while it was being restored", display, shown);
}

static int walk(int *out_fd, int dirfd, const char *relpath, mode_t mode, unsigned flags, const char *display)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s", relpath) >= (int)sizeof path)
		return st_error_set(ST_ERR_TARGET, "path '%s' is too long", relpath);
	int current = -1; /* -1: still at dirfd, which is not ours to close */
	int rc = 0;
	for (char *name = path; rc == 0;) {
		char *slash = strchr(name, '/');
		if (slash != NULL)
			*slash = '\0';
		int next = -1;
		rc = open_component(&next, current < 0 ? dirfd : current, name, mode, flags, display, path);
		if (current >= 0)
			close(current);
		current = next;
		if (slash == NULL)
			break;
		*slash = '/';
		name = slash + 1;
	}
	if (rc != 0) {
		if (current >= 0)
			close(current);
		return rc;
	}
	*out_fd = current;
	return 0;
}

static int openat2_beneath(int dirfd, const char *relpath)
{
	if (atomic_load(&openat2_disabled))
		return -1;
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, relpath, &how, sizeof how);
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		atomic_store(&openat2_disabled, 1); /* no openat2 here (or a filter forbids it) */
	return (int)fd;
}

int st_confine_dir(int *out_fd, int dirfd, const char *relpath, mode_t mode, unsigned flags, const char *display)
{
	*out_fd = -1;
	int rc = st_confine_check_path(relpath, display);
	if (rc != 0)
		return rc;
	if (relpath[0] == '\0') {
		int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return st_error_set_errno(ST_ERR_TARGET, errno, "unable to open '%s'", display);
		*out_fd = fd;
		return 0;
	}
	int fd = openat2_beneath(dirfd, relpath);
	if (fd >= 0) {
		*out_fd = fd;
		return 0;
	}
	return walk(out_fd, dirfd, relpath, mode, flags, display);
}

int st_confine_dir_existing(int *out_fd, int dirfd, const char *relpath, const char *display)
{
	*out_fd = -1;
	int rc = st_confine_check_path(relpath, display);
	if (rc != 0 || relpath[0] == '\0')
		return rc != 0 ? rc : st_confine_dir(out_fd, dirfd, relpath, 0, 0, display);
	int fd = openat2_beneath(dirfd, relpath);
	if (fd >= 0) {
		*out_fd = fd;
		return 0;
	}
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s", relpath) >= (int)sizeof path)
		return st_error_set(ST_ERR_TARGET, "path '%s' is too long", relpath);
	int current = -1; /* -1: still at dirfd, which is not ours to close */
	for (char *name = path; name != NULL;) {
		char *slash = strchr(name, '/');
		if (slash != NULL)
			*slash = '\0';
		int next = openat(current < 0 ? dirfd : current, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int err = errno;
		if (current >= 0)
			close(current);
		current = next;
		if (next < 0) {
			if (err != ENOENT && err != ENOTDIR && err != ELOOP)
				rc = st_error_set_errno(ST_ERR_TARGET, err, "unable to open directory '%s/%s'", display, relpath);
			break;
		}
		name = slash ? slash + 1 : NULL;
	}
	*out_fd = current;
	return rc;
}

/* Opens the folder that holds relpath; *out_name points at relpath's last component. The
 * returned descriptor is dirfd itself (*out_owned false) when relpath has one component. */
static int open_parent(int *out_fd, bool *out_owned, const char **out_name, int dirfd, const char *relpath,
		       unsigned flags, const char *display)
{
	int rc = st_confine_check_path(relpath, display);
	if (rc == 0 && relpath[0] == '\0')
		rc = st_error_set(ST_ERR_TARGET, "an empty path names nothing below '%s'", display);
	if (rc != 0)
		return rc;
	const char *slash = strrchr(relpath, '/');
	*out_name = slash ? slash + 1 : relpath;
	*out_owned = slash != NULL;
	if (slash == NULL) {
		*out_fd = dirfd;
		return 0;
	}
	char parent[PATH_MAX];
	if (snprintf(parent, sizeof parent, "%.*s", (int)(slash - relpath), relpath) >= (int)sizeof parent)
		return st_error_set(ST_ERR_TARGET, "path '%s' is too long", relpath);
	return st_confine_dir(out_fd, dirfd, parent, 0700, flags & ST_CONFINE_REPLACE, display);
}

/* An entry called name is in the way of a new file or link: with replace it is unlinked (a
 * folder never is), otherwise refused. */
static int clear_the_way(int parent, const char *name, unsigned flags, const char *display, const char *relpath)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0
				       : st_error_set_errno(ST_ERR_TARGET, errno, "unable to examine '%s/%s'", display, relpath);
	if (S_ISDIR(st.st_mode))
		return st_error_set(ST_ERR_TARGET, "'%s/%s' is a directory in the way", display, relpath);
	if (!(flags & ST_CONFINE_REPLACE)) {
		if (S_ISLNK(st.st_mode))
			return refuse_in_the_way(&st, display, relpath);
		return st_error_set(ST_ERR_TARGET, "'%s/%s' already exists (--force replaces it)", display, relpath);
	}
	if (unlinkat(parent, name, 0) != 0 && errno != ENOENT)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to remove '%s/%s'", display, relpath);
	return 0;
}

int st_confine_create_file(int *out_fd, int dirfd, const char *relpath, mode_t mode, unsigned flags,
			   const char *display)
{
	*out_fd = -1;
	int parent = -1;
	bool owned = false;
	const char *name = NULL;
	int rc = open_parent(&parent, &owned, &name, dirfd, relpath, flags, display);
	for (int attempt = 0; rc == 0; attempt++) {
		int fd = openat(parent, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0) {
			*out_fd = fd;
			break;
		}
		if (errno != EEXIST || attempt == CONFINE_RETRIES)
			rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to create '%s/%s'", display, relpath);
		else
			rc = clear_the_way(parent, name, flags, display, relpath);
	}
	if (owned && parent >= 0)
		close(parent);
	return rc;
}

int st_confine_symlink(int dirfd, const char *relpath, const char *target, unsigned flags, const char *display)
{
	int parent = -1;
	bool owned = false;
	const char *name = NULL;
	int rc = open_parent(&parent, &owned, &name, dirfd, relpath, flags, display);
	for (int attempt = 0; rc == 0; attempt++) {
		if (symlinkat(target, parent, name) == 0)
			break;
		if (errno != EEXIST || attempt == CONFINE_RETRIES)
			rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to create link '%s/%s'", display, relpath);
		else
			rc = clear_the_way(parent, name, flags, display, relpath);
	}
	if (owned && parent >= 0)
		close(parent);
	return rc;
}

int st_confine_unlink(int dirfd, const char *relpath, const char *display)
{
	int parent = -1;
	bool owned = false;
	const char *name = NULL;
	int rc = open_parent(&parent, &owned, &name, dirfd, relpath, 0, display);
	if (rc == 0 && unlinkat(parent, name, 0) != 0 && errno != ENOENT)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to remove '%s/%s'", display, relpath);
	if (owned && parent >= 0)
		close(parent);
	return rc;
}

int st_confine_set_mtime(int dirfd, const char *relpath, int64_t mtime_ns, const char *display)
{
	int parent = -1;
	bool owned = false;
	const char *name = NULL;
	int rc = open_parent(&parent, &owned, &name, dirfd, relpath, 0, display);
	if (rc == 0) {
		struct timespec times[2] = {st_timespec_from_ns(mtime_ns), st_timespec_from_ns(mtime_ns)};
		if (utimensat(parent, name, times, AT_SYMLINK_NOFOLLOW) != 0)
			rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to set the time of '%s/%s'", display, relpath);
	}
	if (owned && parent >= 0)
		close(parent);
	return rc;
}
