/*
 * source.c - detection of a root's kind, and the forwarding of every call to that kind's driver
 * (see source.h, source_internal.h).
 */
#include "scanner/source_internal.h"

#include "common/error.h"
#include "common/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct source {
	const source_ops *ops;
	void *driver;
	char *path; /* the directory the kind reads */
};

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The kind of the resolved root, by its shape: 1.x node folders win over a container when a
 * root holds both. out_path receives the directory the kind reads (caller frees). */
static int detect_kind(source_kind *out, char **out_path, const char *resolved, const char *root)
{
	char *repository = st_sprintf("%s/repository", resolved);
	char *node_root = st_sprintf("%s/node", repository);
	char *container = st_sprintf("%s/container", resolved);
	int rc = 0;
	if (strlen(repository) >= PATH_MAX - sizeof "/node") {
		rc = st_error_set(ST_ERR_SOURCE, "repository path '%s' is too long", root);
	} else if (is_dir(node_root)) {
		*out = SOURCE_KIND_NODE_FOLDERS;
		*out_path = repository;
		repository = NULL;
	} else if (is_dir(container)) {
		*out = SOURCE_KIND_CONTAINER;
		*out_path = container;
		container = NULL;
	} else {
		rc = st_error_set(ST_ERR_SOURCE,
				  "'%s' is not an AiiDA repository: it holds neither 'repository/node' nor 'container'", root);
	}
	free(repository);
	free(node_root);
	free(container);
	return rc;
}

int source_open(source **out, const char *root)
{
	char resolved[PATH_MAX];
	source_kind kind = SOURCE_KIND_NODE_FOLDERS;
	char *path = NULL;
	*out = NULL;
	if (realpath(root, resolved) == NULL)
		return st_error_set_errno(ST_ERR_SOURCE, errno, "repository '%s' is not accessible", root);
	if (!is_dir(resolved))
		return st_error_set(ST_ERR_SOURCE, "repository '%s' is not a directory", root);
	int rc = detect_kind(&kind, &path, resolved, root);
	if (rc != 0)
		return rc;
	source *src = st_calloc(1, sizeof *src);
	src->path = path;
	if (kind == SOURCE_KIND_CONTAINER) {
		src->ops = &source_container_ops;
		if ((rc = source_container_new(&src->driver, path, root)) != 0) {
			source_close(src);
			return rc;
		}
	} else {
		src->ops = &source_nodefolder_ops;
		src->driver = source_nodefolder_new(path, root);
	}
	*out = src;
	return 0;
}

int source_open_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

int source_attach(source *src, scan_db *db)
{
	return src->ops->attach(src->driver, db);
}

void source_close(source *src)
{
	if (src == NULL)
		return;
	src->ops->close(src->driver);
	free(src->path);
	free(src);
}

source_kind source_get_kind(const source *src)
{
	return src->ops->kind;
}

const char *source_path(const source *src)
{
	return src->path;
}

int source_node_exists(bool *out, source *src, const scan_node *node)
{
	*out = false;
	return src->ops->node_exists(src->driver, node, out);
}

int source_node_tree(scan_tree *out, source *src, const scan_node *node)
{
	memset(out, 0, sizeof *out);
	return src->ops->node_tree(src->driver, node, out);
}

int source_open_entry(source_entry **out, source *src, const scan_node *node, const scan_entry *entry)
{
	*out = NULL;
	if (entry->type != SCAN_ENTRY_FILE)
		return st_error_set(ST_ERR_GENERIC, "'%s' of node '%s' is not a file", entry->path, node->uuid);
	return src->ops->open_entry(src->driver, node, entry, out);
}

int source_entry_read(source_entry *entry, void *buf, size_t len)
{
	return entry->ops->read(entry, buf, len);
}

void source_entry_close(source_entry *entry)
{
	if (entry != NULL)
		entry->ops->close(entry);
}

const char *source_container_config_text(const source *src)
{
	return src->ops->container_config ? src->ops->container_config(src->driver) : NULL;
}

void source_note_node(source *src, const scan_node *node)
{
	src->ops->note_node(src->driver, node);
}

int source_folder_meta(source *src, source_folder **out, size_t *out_count)
{
	*out = NULL;
	*out_count = 0;
	return src->ops->folder_meta(src->driver, out, out_count);
}
