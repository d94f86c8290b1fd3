/*
 * pack_files.c - open pack files by id (see pack_files.h).
 */
#include "engine/pack_files.h"

#include "catalog/pack.h"
#include "common/error.h"
#include "common/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct pack_slot {
	int64_t id;
	char *path;
	int fd; /* -1 until opened */
} pack_slot;

struct pack_files {
	pthread_mutex_t lock;
	pack_slot *slots; /* sorted by id */
	size_t count;
};

int pack_files_new(pack_files **out, dest *d)
{
	catalog_pack *packs = NULL;
	size_t count = 0;
	int rc = catalog_pack_list(dest_catalog(d), &packs, &count);
	if (rc != 0)
		return rc;
	pack_files *files = st_calloc(1, sizeof *files);
	pthread_mutex_init(&files->lock, NULL);
	files->slots = st_calloc(count ? count : 1, sizeof *files->slots);
	files->count = count;
	for (size_t i = 0; i < count; i++) {
		files->slots[i].id = packs[i].id;
		files->slots[i].path = dest_pack_path(d, packs[i].name);
		files->slots[i].fd = -1;
	}
	free(packs);
	*out = files;
	return 0;
}

void pack_files_free(pack_files *files)
{
	if (files == NULL)
		return;
	for (size_t i = 0; i < files->count; i++) {
		if (files->slots[i].fd >= 0)
			close(files->slots[i].fd);
		free(files->slots[i].path);
	}
	pthread_mutex_destroy(&files->lock);
	free(files->slots);
	free(files);
}

static pack_slot *find_slot(pack_files *files, int64_t id)
{
	size_t lo = 0, hi = files->count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (files->slots[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < files->count && files->slots[lo].id == id ? &files->slots[lo] : NULL;
}

int pack_files_get(pack_files *files, int64_t pack_id, int *out_fd, const char **out_name)
{
	pack_slot *slot = find_slot(files, pack_id);
	if (slot == NULL)
		return st_error_set(ST_ERR_CORRUPT, "catalog names pack %lld, which it does not list", (long long)pack_id);
	int rc = 0;
	pthread_mutex_lock(&files->lock);
	if (slot->fd < 0) {
		int fd = open(slot->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			rc = st_error_set_errno(ST_ERR_CORRUPT, errno, "unable to open pack '%s'", slot->path);
		else if ((rc = pack_check_file_header(fd, slot->path)) != 0)
			close(fd);
		else
			slot->fd = fd;
	}
	pthread_mutex_unlock(&files->lock);
	*out_fd = slot->fd;
	*out_name = slot->path;
	return rc;
}
