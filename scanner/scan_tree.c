/*
 * scan_tree.c - a node's file tree (see scan_tree.h).
 */
#include "scanner/scan_tree.h"

#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

scan_entry *scan_tree_append(scan_tree *tree)
{
	if (tree->count == tree->capacity) {
		tree->capacity = tree->capacity ? tree->capacity * 2 : 16;
		tree->entries = st_realloc(tree->entries, tree->capacity * sizeof *tree->entries);
	}
	scan_entry *entry = &tree->entries[tree->count++];
	memset(entry, 0, sizeof *entry);
	return entry;
}

static int compare_paths(const void *a, const void *b)
{
	return strcmp(((const scan_entry *)a)->path, ((const scan_entry *)b)->path);
}

void scan_tree_sort(scan_tree *tree)
{
	if (tree->count > 1)
		qsort(tree->entries, tree->count, sizeof *tree->entries, compare_paths);
}

void scan_tree_release(scan_tree *tree)
{
	for (size_t i = 0; i < tree->count; i++) {
		free(tree->entries[i].path);
		free(tree->entries[i].target);
		free(tree->entries[i].key);
	}
	free(tree->entries);
	memset(tree, 0, sizeof *tree);
}
