/*
 * node_tree.c - the walk of one node folder (see node_tree.h).
 *
 * Uses openat/fstatat relative to each directory's descriptor: one path lookup per entry
 * instead of one per path component, which matters when every lookup is a cold disk read.
 */
#include "scanner/node_tree.h"

#include "common/error.h"
#include "common/log.h"
#include "common/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int scan_node_dir(char *out, size_t cap, const char *repository, const char *uuid)
{
	if (strlen(uuid) != 36 || strspn(uuid, "0123456789abcdef-") != 36)
		return st_error_set(ST_ERR_GENERIC, "invalid node uuid '%s'", uuid);
	int n = snprintf(out, cap, "%s/node/%.2s/%.2s/%s", repository, uuid, uuid + 2, uuid + 4);
	if (n < 0 || (size_t)n >= cap)
		return st_error_set(ST_ERR_GENERIC, "path of node '%s' is too long", uuid);
	return 0;
}

static int64_t mtime_ns_of(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static int read_link(char **out, int dirfd, const char *name, const char *path)
{
	size_t cap = 256;
	for (;;) {
		char *buf = st_malloc(cap);
		ssize_t n = readlinkat(dirfd, name, buf, cap);
		if (n < 0) {
			free(buf);
			return st_error_set_errno(ST_ERR_SOURCE, errno, "unable to read link '%s'", path);
		}
		if ((size_t)n < cap) {
			buf[n] = '\0';
			*out = buf;
			return 0;
		}
		free(buf);
		cap *= 2;
	}
}

static int walk_dir(scan_tree *tree, int dirfd, const char *rel, const char *abs);

static int add_child(scan_tree *tree, int dirfd, const char *name, const char *rel, const char *abs)
{
	struct stat st;
	int rc = 0;
	char *child_rel = rel[0] ? st_sprintf("%s/%s", rel, name) : st_strdup(name);
	char *child_abs = st_sprintf("%s/%s", abs, name);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		rc = st_error_set_errno(ST_ERR_SOURCE, errno, "unable to stat '%s'", child_abs);
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
		st_log_warn("skipping '%s': not a regular file, directory or symbolic link", child_abs);
		tree->special_skipped++;
		goto cleanup;
	}
	scan_entry *entry = scan_tree_append(tree);
	entry->path = child_rel;
	child_rel = NULL;
	entry->mode = (uint32_t)(st.st_mode & 07777);
	entry->mtime_ns = mtime_ns_of(&st);
	entry->inode = (uint64_t)st.st_ino;
	if (S_ISREG(st.st_mode)) {
		entry->type = SCAN_ENTRY_FILE;
		entry->size = (uint64_t)st.st_size;
	} else if (S_ISLNK(st.st_mode)) {
		entry->type = SCAN_ENTRY_SYMLINK;
		rc = read_link(&entry->target, dirfd, name, child_abs);
	} else {
		entry->type = SCAN_ENTRY_DIR;
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			rc = st_error_set_errno(ST_ERR_SOURCE, errno, "unable to open directory '%s'", child_abs);
			goto cleanup;
		}
		rc = walk_dir(tree, fd, entry->path, child_abs);
	}
cleanup:
	free(child_rel);
	free(child_abs);
	return rc;
}

/* Walks the directory open at dirfd (which it closes). */
static int walk_dir(scan_tree *tree, int dirfd, const char *rel, const char *abs)
{
	int rc = 0;
	char *rel_copy = st_strdup(rel);
	DIR *dir = fdopendir(dirfd);
	if (dir == NULL) {
		close(dirfd);
		free(rel_copy);
		return st_error_set_errno(ST_ERR_SOURCE, errno, "unable to read directory '%s'", abs);
	}
	struct dirent *d;
	errno = 0;
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		/* tree->entries may move while we recurse: rel is copied above for that reason. */
		if ((rc = add_child(tree, dirfd, d->d_name, rel_copy, abs)) != 0)
			break;
		errno = 0;
	}
	if (rc == 0 && errno != 0)
		rc = st_error_set_errno(ST_ERR_SOURCE, errno, "unable to read directory '%s'", abs);
	closedir(dir);
	free(rel_copy);
	return rc;
}

int scan_tree_read(scan_tree *out, const char *node_dir)
{
	memset(out, 0, sizeof *out);
	int fd = open(node_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return st_error_set_errno(ST_ERR_SOURCE, errno, "unable to open node folder '%s'", node_dir);
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return st_error_set_errno(ST_ERR_SOURCE, errno, "unable to stat '%s'", node_dir);
	}
	out->exists = true;
	out->root_mode = (uint32_t)(st.st_mode & 07777);
	out->root_mtime_ns = mtime_ns_of(&st);
	int rc = walk_dir(out, fd, "", node_dir);
	if (rc != 0) {
		scan_tree_release(out);
		return rc;
	}
	scan_tree_sort(out);
	return 0;
}
