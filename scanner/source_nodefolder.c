/*
 * source_nodefolder.c - the AiiDA 1.x source kind: one folder per node below
 * <root>/repository/node/ (see source.h; the walk itself is node_tree.c).
 *
 * Node paths are built from the uuids the database gives, never found by walking the shard
 * levels: on a cold repository every lookup is a disk read. The driver holds nothing but its
 * paths and one bit per shard folder node/xx/yy (8 KiB, set atomically) for the shards of the
 * nodes a backup noted, so any number of threads may use it at once. The shard folders are
 * stat'ed once, at the end, in order and relative to open descriptors of the levels above.
 */
#include "scanner/source_internal.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/mem.h"
#include "scanner/node_tree.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Shard folders node/xx/yy: one for each value of the uuid's first four hex digits. */
#define SHARD_COUNT 65536
#define SHARD_WORDS (SHARD_COUNT / 64)

typedef struct nodefolder {
	char *repository; /* holds node/ */
	char *root;       /* as the user named it */
	const char *vanish; /* STRATA_FAULT_VANISH (tests only): "<uuid>/<path>" of a file that
			     * vanishes just before it is opened, as if deleted during the backup */
	atomic_uint_least64_t noted[SHARD_WORDS]; /* a bit per shard node/xx/yy that holds a noted node */
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
	for (size_t i = 0; i < SHARD_WORDS; i++)
		atomic_init(&nf->noted[i], 0);
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
	e->fd = source_open_file(e->path);
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

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void nodefolder_note_node(void *driver, const scan_node *node)
{
	nodefolder *nf = driver;
	unsigned shard = 0;
	for (int i = 0; i < 4; i++) {
		int digit = hex_digit(node->uuid[i]);
		if (digit < 0)
			return;
		shard = shard << 4 | (unsigned)digit;
	}
	atomic_fetch_or(&nf->noted[shard / 64], (uint_least64_t)1 << (shard % 64));
}

/* The folders found so far, deepest first once folder_meta has put them together. */
typedef struct folder_list {
	source_folder *items;
	size_t count, cap;
} folder_list;

static void folder_list_add(folder_list *list, const struct stat *st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void folder_list_add(folder_list *list, const struct stat *st, const char *fmt, ...)
{
	if (list->count == list->cap) {
		list->cap = list->cap ? 2 * list->cap : 256;
		list->items = st_realloc(list->items, list->cap * sizeof *list->items);
	}
	source_folder *f = &list->items[list->count++];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->path, sizeof f->path, fmt, ap);
	va_end(ap);
	f->mode = (uint32_t)(st->st_mode & 07777);
	f->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static void folder_list_append(folder_list *list, const folder_list *more)
{
	if (more->count == 0)
		return;
	list->cap = list->count + more->count + 2;
	list->items = st_realloc(list->items, list->cap * sizeof *list->items);
	memcpy(list->items + list->count, more->items, more->count * sizeof *more->items);
	list->count += more->count;
}

/* A folder that is missing, or is a link or something else, is left out. */
static bool not_a_folder(int err)
{
	return err == ENOENT || err == ENOTDIR || err == ELOOP;
}

/* Opens the folder name below dirfd (AT_FDCWD: an absolute path) without following a link and
 * stats it: *out_fd -1 when it is not a folder. */
static int open_folder(int *out_fd, struct stat *st, int dirfd, const char *name, const char *shown)
{
	*out_fd = -1;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return not_a_folder(errno) ? 0 : st_error_set_errno(ST_ERR_SOURCE, errno, "unable to open '%s'", shown);
	if (fstat(fd, st) != 0) {
		int err = errno;
		close(fd);
		return st_error_set_errno(ST_ERR_SOURCE, err, "unable to stat '%s'", shown);
	}
	*out_fd = fd;
	return 0;
}

/* Stats the noted shards node/xx/yy below node/xx (open as xx_fd) into list. */
static int read_shards(folder_list *list, const nodefolder *nf, int xx_fd, unsigned xx)
{
	for (unsigned yy = 0; yy < 256; yy++) {
		unsigned shard = xx << 8 | yy;
		if (!(atomic_load(&nf->noted[shard / 64]) & ((uint_least64_t)1 << (shard % 64))))
			continue;
		char name[3];
		struct stat st;
		snprintf(name, sizeof name, "%02x", yy);
		if (fstatat(xx_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (not_a_folder(errno))
				continue;
			return st_error_set_errno(ST_ERR_SOURCE, errno, "unable to stat '%s/node/%02x/%s'", nf->repository,
						  xx, name);
		}
		if (S_ISDIR(st.st_mode))
			folder_list_add(list, &st, "repository/node/%02x/%s", xx, name);
	}
	return 0;
}

static bool any_noted(const nodefolder *nf, unsigned xx)
{
	for (unsigned w = xx * 4; w < xx * 4 + 4; w++)
		if (atomic_load(&nf->noted[w]) != 0)
			return true;
	return false;
}

/* Walks node/xx (and below it node/xx/yy) for every xx that holds a noted node: the yy shards go
 * into list as found, the xx shards into upper, to follow them. */
static int read_noted(folder_list *list, folder_list *upper, const nodefolder *nf, int node_fd)
{
	int rc = 0;
	for (unsigned xx = 0; xx < 256 && rc == 0; xx++) {
		if (!any_noted(nf, xx))
			continue;
		char name[3], shown[PATH_MAX];
		struct stat st;
		int xx_fd = -1;
		snprintf(name, sizeof name, "%02x", xx);
		snprintf(shown, sizeof shown, "%s/node/%s", nf->repository, name);
		rc = open_folder(&xx_fd, &st, node_fd, name, shown);
		if (rc != 0 || xx_fd < 0)
			continue;
		rc = read_shards(list, nf, xx_fd, xx);
		folder_list_add(upper, &st, "repository/node/%s", name);
		close(xx_fd);
	}
	return rc;
}

static int nodefolder_folder_meta(void *driver, source_folder **out, size_t *out_count)
{
	nodefolder *nf = driver;
	folder_list list = {0}, upper = {0};
	struct stat repo_st, node_st;
	int repo_fd = -1, node_fd = -1;
	char *node_shown = st_sprintf("%s/node", nf->repository);
	int rc = open_folder(&repo_fd, &repo_st, AT_FDCWD, nf->repository, nf->repository);
	if (rc == 0 && repo_fd >= 0)
		rc = open_folder(&node_fd, &node_st, repo_fd, "node", node_shown);
	if (rc == 0 && node_fd >= 0)
		rc = read_noted(&list, &upper, nf, node_fd);
	if (rc == 0)
		folder_list_append(&list, &upper);
	if (rc == 0 && node_fd >= 0)
		folder_list_add(&list, &node_st, "repository/node");
	if (rc == 0 && repo_fd >= 0)
		folder_list_add(&list, &repo_st, "repository");
	if (node_fd >= 0)
		close(node_fd);
	if (repo_fd >= 0)
		close(repo_fd);
	free(node_shown);
	free(upper.items);
	if (rc != 0) {
		free(list.items);
		return rc;
	}
	*out = list.items;
	*out_count = list.count;
	return 0;
}

const source_ops source_nodefolder_ops = {
	.kind = SOURCE_KIND_NODE_FOLDERS,
	.attach = nodefolder_attach,
	.node_exists = nodefolder_node_exists,
	.node_tree = nodefolder_node_tree,
	.open_entry = nodefolder_open_entry,
	.note_node = nodefolder_note_node,
	.folder_meta = nodefolder_folder_meta,
	.container_config = NULL,
	.close = nodefolder_close,
};
