/*
 * catalog_tree_check.c - a node's tree as read from the catalog is untrusted input: the checks
 * a restore and `check` apply before any of it is used (see catalog_tree_validate).
 */
#include "catalog/catalog_internal.h"

#include "common/error.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static bool is_node_uuid(const char *uuid)
{
	return uuid != NULL && strlen(uuid) == CATALOG_UUID_LEN && strspn(uuid, "0123456789abcdef-") == CATALOG_UUID_LEN;
}

/* A relative path of plain components: no empty, '.' or '..' component, no leading '/'. */
static bool is_plain_relative_path(const char *path)
{
	if (path == NULL || path[0] == '\0' || path[0] == '/')
		return false;
	for (const char *part = path; part != NULL;) {
		const char *slash = strchr(part, '/');
		size_t len = slash ? (size_t)(slash - part) : strlen(part);
		if (len == 0 || len > NAME_MAX || (len == 1 && part[0] == '.') ||
		    (len == 2 && part[0] == '.' && part[1] == '.'))
			return false;
		part = slash ? slash + 1 : NULL;
	}
	return true;
}

static int compare_entry_path(const void *key, const void *element)
{
	return strcmp(key, ((const catalog_tree_entry *)element)->entry.path);
}

/* The entry whose path is the first len bytes of path, or NULL. Entries are sorted by path. */
static const catalog_tree_entry *find_parent(const catalog_node_tree *tree, const char *path, size_t len)
{
	char parent[PATH_MAX];
	if (len >= sizeof parent)
		return NULL;
	memcpy(parent, path, len);
	parent[len] = '\0';
	return bsearch(parent, tree->entries, tree->count, sizeof *tree->entries, compare_entry_path);
}

static int check_file_sizes(const catalog_node_tree *tree, const catalog_tree_entry *e)
{
	uint64_t stored = 0;
	if (e->entry.chunk_count == 0) {
		if (!e->has_location)
			return st_error_set(ST_ERR_CORRUPT, "node %s file '%s': content is not in any pack",
					    tree->node.uuid, e->entry.path);
		stored = e->location.raw_size;
	}
	for (size_t i = 0; i < e->entry.chunk_count; i++)
		stored += e->chunk_locations[i].raw_size;
	if (stored != e->entry.size)
		return st_error_set(ST_ERR_CORRUPT, "node %s file '%s': size %llu, but its content holds %llu bytes",
				    tree->node.uuid, e->entry.path, (unsigned long long)e->entry.size,
				    (unsigned long long)stored);
	return 0;
}

static int check_entry(const catalog_node_tree *tree, size_t i)
{
	const catalog_tree_entry *e = &tree->entries[i];
	const char *uuid = tree->node.uuid;
	if (!is_plain_relative_path(e->entry.path))
		return st_error_set(ST_ERR_CORRUPT, "node %s: entry '%s' is not a plain relative path", uuid,
				    e->entry.path ? e->entry.path : "(null)");
	if (i > 0 && strcmp(tree->entries[i - 1].entry.path, e->entry.path) >= 0)
		return st_error_set(ST_ERR_CORRUPT, "node %s: entry '%s' is listed twice or out of order", uuid,
				    e->entry.path);
	if (e->entry.mode > 07777)
		return st_error_set(ST_ERR_CORRUPT, "node %s: entry '%s' has mode %o, not permission bits", uuid,
				    e->entry.path, e->entry.mode);
	const char *slash = strrchr(e->entry.path, '/');
	if (slash != NULL) {
		const catalog_tree_entry *parent = find_parent(tree, e->entry.path, (size_t)(slash - e->entry.path));
		if (parent == NULL || parent->entry.type != CATALOG_ENTRY_DIR)
			return st_error_set(ST_ERR_CORRUPT, "node %s: entry '%s' is not below a directory of the node",
					    uuid, e->entry.path);
	}
	switch (e->entry.type) {
	case CATALOG_ENTRY_DIR:
		return 0;
	case CATALOG_ENTRY_SYMLINK:
		if (e->entry.target == NULL)
			return st_error_set(ST_ERR_CORRUPT, "node %s: link '%s' has no target", uuid, e->entry.path);
		return 0;
	case CATALOG_ENTRY_FILE:
		return check_file_sizes(tree, e);
	}
	return st_error_set(ST_ERR_CORRUPT, "node %s: entry '%s' has unknown type %d", uuid, e->entry.path,
			    (int)e->entry.type);
}

int catalog_tree_validate(const catalog_node_tree *tree)
{
	if (!is_node_uuid(tree->node.uuid))
		return st_error_set(ST_ERR_CORRUPT, "catalog holds node %lld with a malformed uuid",
				    (long long)tree->node.node_id);
	if (!tree->node.has_folder && tree->count > 0)
		return st_error_set(ST_ERR_CORRUPT, "node %s has entries but no folder", tree->node.uuid);
	if (tree->node.root_mode > 07777)
		return st_error_set(ST_ERR_CORRUPT, "node %s: folder mode %o is not permission bits", tree->node.uuid,
				    tree->node.root_mode);
	for (size_t i = 0; i < tree->count; i++) {
		int rc = check_entry(tree, i);
		if (rc != 0)
			return rc;
	}
	return 0;
}
