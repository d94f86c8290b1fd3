/*
 * source_nodefolder.c - the AiiDA 1.x source kind: one folder per node below
 * <root>/repository/node/ (see source.h; the walk itself is node_tree.c).
 *
 * Node paths are built from the uuids the database gives, never found by walking the shard
 * levels: on a cold repository every lookup is a disk read. The driver holds nothing but its
 * paths, so any number of threads may use it at once.
 */
#include "scanner/source_internal.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/mem.h"
#include "scanner/node_tree.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct nodefolder {
	char *repository; /* holds node/ */
	char *root;       /* as the user named it */
	const char *vanish; /* STRATA_FAULT_VANISH (tests only): "<uuid>/<path>" of a file that
			     * vanishes just before it is opened, as if deleted during the backup */
} nodefolder;

typedef struct nodefolder_entry {
	source_entry base;
	int fd;
	uint64_t offset; /* of the next read */
	char path[];     /* for messages */
} nodefolder_entry;

void *source_nodefolder_new(const char *repository, const char *root)
{
	nodefolder *nf = st_calloc(1, sizeof *nf);
	nf->repository = st_strdup(repository);
	nf->vanish = getenv("STRATA_FAULT_VANISH");
	nf->root = st_strdup(root);
	return nf;
}

static void nodefolder_close(void *driver)
{
	nodefolder *nf = driver;
	free(nf->repository);
	free(nf->root);
	free(nf);
}

/* A node root with nothing in it while the database lists nodes is a wrong --repository far
 * more often than a profile whose nodes all lack files: refuse it rather than record every node
 * as folderless. */
static int nodefolder_attach(void *driver, scan_db *db)
{
	nodefolder *nf = driver;
	int64_t nodes = scan_db_get_info(db)->node_count;
	if (nodes == 0)
		return 0;
	char *node_root = st_sprintf("%s/node", nf->repository);
	bool exists = false, empty = false;
	int rc = st_dir_state(node_root, &exists, &empty);
	if (rc != 0)
		rc = st_error_set_errno(ST_ERR_SOURCE, errno, "unable to read '%s'", node_root);
	else if (empty)
		rc = st_error_set(ST_ERR_SOURCE, "repository '%s' has no node folders but the database lists %lld nodes",
				  nf->root, (long long)nodes);
	free(node_root);
	return rc;
}

static int nodefolder_node_exists(void *driver, const scan_node *node, bool *out)
{
	nodefolder *nf = driver;
	char node_dir[PATH_MAX];
	struct stat st;
	int rc = scan_node_dir(node_dir, sizeof node_dir, nf->repository, node->uuid);
	*out = rc == 0 && lstat(node_dir, &st) == 0 && S_ISDIR(st.st_mode);
	return rc;
}

static int nodefolder_node_tree(void *driver, const scan_node *node, scan_tree *out)
{
	nodefolder *nf = driver;
	char node_dir[PATH_MAX];
	int rc = scan_node_dir(node_dir, sizeof node_dir, nf->repository, node->uuid);
	if (rc == 0)
		rc = scan_tree_read(out, node_dir);
	return rc;
}

static int entry_read(source_entry *base, void *buf, size_t len)
{
	nodefolder_entry *e = (nodefolder_entry *)base;
	int rc = st_pread_all(e->fd, buf, len, e->offset, e->path);
	if (rc == ST_ERR_CORRUPT)
		return st_error_set(ST_ERR_CHANGED, "file '%s' shrank while being read", e->path);
	if (rc != 0) {
		/* Keep the message (it names the file and the reason), as a source error. */
		st_error saved;
		st_error_save(&saved);
		saved.code = ST_ERR_SOURCE;
		return st_error_restore(&saved);
	}
	e->offset += len;
	return 0;
}

static void entry_close(source_entry *base)
{
	nodefolder_entry *e = (nodefolder_entry *)base;
	close(e->fd);
	free(e);
}

static const source_entry_ops nodefolder_entry_ops = {
	.read = entry_read,
	.close = entry_close,
};

/* O_NOATIME spares a metadata write per file; only the owner (or root) may ask for it. */
static int open_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

static int nodefolder_open_entry(void *driver, const scan_node *node, const scan_entry *entry, source_entry **out)
{
	nodefolder *nf = driver;
	char node_dir[PATH_MAX];
	int rc = scan_node_dir(node_dir, sizeof node_dir, nf->repository, node->uuid);
	if (rc != 0)
		return rc;
	size_t cap = strlen(node_dir) + 1 + strlen(entry->path) + 1;
	nodefolder_entry *e = st_malloc(sizeof *e + cap);
	e->base.ops = &nodefolder_entry_ops;
	e->offset = 0;
	snprintf(e->path, cap, "%s/%s", node_dir, entry->path);
	if (nf->vanish != NULL && strncmp(nf->vanish, node->uuid, SCAN_UUID_LEN) == 0 &&
	    nf->vanish[SCAN_UUID_LEN] == '/' && strcmp(nf->vanish + SCAN_UUID_LEN + 1, entry->path) == 0)
		unlink(e->path);
	e->fd = open_file(e->path);
	if (e->fd < 0) {
		if (errno == ENOENT)
			rc = st_error_set(ST_ERR_CHANGED, "file '%s' vanished while being read", e->path);
		else
			rc = st_error_set_errno(ST_ERR_SOURCE, errno, "unable to open '%s'", e->path);
		free(e);
		return rc;
	}
	struct stat st;
	if (fstat(e->fd, &st) != 0)
		rc = st_error_set_errno(ST_ERR_SOURCE, errno, "unable to stat '%s'", e->path);
	else if ((uint64_t)st.st_size != entry->size ||
		 (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec != entry->mtime_ns)
		rc = st_error_set(ST_ERR_CHANGED, "file '%s' changed while being read", e->path);
	if (rc != 0) {
		entry_close(&e->base);
		return rc;
	}
	*out = &e->base;
	return 0;
}

const source_ops source_nodefolder_ops = {
	.kind = SOURCE_KIND_NODE_FOLDERS,
	.attach = nodefolder_attach,
	.node_exists = nodefolder_node_exists,
	.node_tree = nodefolder_node_tree,
	.open_entry = nodefolder_open_entry,
	.close = nodefolder_close,
};
