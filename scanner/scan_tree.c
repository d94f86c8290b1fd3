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

/* Little-endian, whatever the machine: digests are kept in a catalog that may move. */
static void digest_number(st_hasher *h, uint64_t value)
{
	unsigned char bytes[8];
	for (int i = 0; i < 8; i++)
		bytes[i] = (unsigned char)(value >> (8 * i));
	st_hasher_update(h, bytes, sizeof bytes);
}

/* A string with its length first, so that fields cannot run into one another. */
static void digest_string(st_hasher *h, const char *text)
{
	size_t len = text != NULL ? strlen(text) + 1 : 0;
	digest_number(h, len);
	if (len > 0)
		st_hasher_update(h, text, len);
}

void scan_tree_digest(st_hash *out, const scan_tree *tree)
{
	st_hasher *h = st_hasher_new();
	digest_number(h, tree->exists);
	digest_number(h, tree->root_mode);
	digest_number(h, (uint64_t)tree->root_mtime_ns);
	digest_number(h, tree->count);
	for (size_t i = 0; i < tree->count; i++) {
		const scan_entry *e = &tree->entries[i];
		digest_string(h, e->path);
		digest_number(h, (uint64_t)e->type);
		digest_number(h, e->mode);
		digest_number(h, e->size);
		digest_number(h, (uint64_t)e->mtime_ns);
		digest_string(h, e->target);
		digest_string(h, e->key);
	}
	st_hasher_final(out, h);
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
