/*
 * dest.c - destination layout, identity and lock (see dest.h).
 */
#include "catalog/dest.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARKER_NAME "strata.dest"
#define MARKER_FIRST_LINE "strata destination"
#define DEST_FORMAT 1

struct dest {
	char *path;
	catalog *cat;
	int lock_fd;
};

static void random_hex(char *out, size_t digits)
{
	unsigned char bytes[32];
	size_t n = (digits + 1) / 2;
	if (getrandom(bytes, n, 0) != (ssize_t)n) {
		for (size_t i = 0; i < n; i++)
			bytes[i] = (unsigned char)rand();
	}
	for (size_t i = 0; i < digits; i++)
		out[i] = "0123456789abcdef"[(bytes[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	out[digits] = '\0';
}

void dest_new_pack_name(char out[17 + 5])
{
	random_hex(out, 16);
	strcat(out, ".pack");
}

static char *join(const char *dir, const char *name)
{
	return st_sprintf("%s/%s", dir, name);
}

int dest_init(const char *path)
{
	bool exists = false, empty = false;
	int rc = st_dir_state(path, &exists, &empty);
	if (rc != 0) {
		st_error_prefix("unable to initialise a destination");
		return st_error_reclassify(ST_ERR_DEST);
	}
	if (exists && !empty) {
		char *marker = join(path, MARKER_NAME);
		bool is_dest = access(marker, F_OK) == 0;
		free(marker);
		return st_error_set(ST_ERR_DEST, is_dest ? "destination '%s' is already initialised"
							 : "unable to initialise '%s': directory is not empty", path);
	}
	if (!exists && mkdir(path, 0700) != 0)
		return st_error_set_errno(ST_ERR_DEST, errno, "unable to create destination '%s'", path);

	char *packs = join(path, "packs");
	char *catalog_path = join(path, "catalog.db");
	char *marker = join(path, MARKER_NAME);
	char id[33];
	random_hex(id, 32);
	char *text = st_sprintf(MARKER_FIRST_LINE "\nformat %d\nid %s\n", DEST_FORMAT, id);
	catalog *cat = NULL;
	if (mkdir(packs, 0700) != 0)
		rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to create '%s'", packs);
	if (rc == 0)
		rc = catalog_open(&cat, catalog_path, CATALOG_CREATE);
	if (rc == 0)
		rc = catalog_meta_set(cat, "destination_id", id);
	catalog_close(cat);
	/* The marker comes last: a destination without it was never completely made. */
	if (rc == 0)
		rc = st_write_file_atomic(marker, text, strlen(text));
	free(text);
	free(packs);
	free(catalog_path);
	free(marker);
	return rc;
}

static int check_marker(const char *path)
{
	bool exists = false, empty = false;
	int rc = st_dir_state(path, &exists, &empty);
	if (rc != 0) {
		st_error_prefix("unable to open a destination");
		return st_error_reclassify(ST_ERR_DEST);
	}
	if (!exists)
		return st_error_set(ST_ERR_DEST, "destination '%s' does not exist (create it with 'strata init')", path);
	if (empty)
		return st_error_set(ST_ERR_DEST, "destination '%s' is not initialised (run 'strata init --dest %s')",
				    path, path);
	char *marker = join(path, MARKER_NAME);
	char *text = NULL;
	rc = st_read_small_file(&text, NULL, marker, 4096);
	free(marker);
	if (rc != 0)
		return st_error_set(ST_ERR_DEST, "'%s' is not a strata destination: no %s file", path, MARKER_NAME);
	int format = 0;
	if (strncmp(text, MARKER_FIRST_LINE "\n", strlen(MARKER_FIRST_LINE) + 1) != 0 ||
	    sscanf(text + strlen(MARKER_FIRST_LINE) + 1, "format %d", &format) != 1)
		rc = st_error_set(ST_ERR_DEST, "'%s' is not a strata destination: unrecognised %s", path, MARKER_NAME);
	else if (format > DEST_FORMAT)
		rc = st_error_set(ST_ERR_DEST, "destination '%s' has format %d, newer than this strata supports (%d)",
				  path, format, DEST_FORMAT);
	free(text);
	return rc;
}

static int take_lock(dest *d)
{
	char *lock_path = join(d->path, "lock");
	int rc = 0;
	d->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0) {
		rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to open lock '%s'", lock_path);
		goto cleanup;
	}
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		char holder[32] = "";
		ssize_t n = pread(d->lock_fd, holder, sizeof holder - 1, 0);
		holder[n > 0 ? n : 0] = '\0';
		holder[strcspn(holder, "\n")] = '\0';
		rc = st_error_set(ST_ERR_LOCKED, "destination '%s' is locked by another strata run%s%s%s", d->path,
				  holder[0] ? " (pid " : "", holder, holder[0] ? ")" : "");
		goto cleanup;
	}
	char pid[32];
	int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	if (ftruncate(d->lock_fd, 0) == 0 && pwrite(d->lock_fd, pid, (size_t)len, 0) < 0)
		rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to write lock '%s'", lock_path);
cleanup:
	free(lock_path);
	return rc;
}

int dest_open(dest **out, const char *path, dest_mode mode)
{
	int rc = check_marker(path);
	if (rc != 0)
		return rc;
	dest *d = st_calloc(1, sizeof *d);
	d->path = st_strdup(path);
	d->lock_fd = -1;
	if (mode == DEST_WRITE)
		rc = take_lock(d);
	if (rc == 0) {
		char *catalog_path = join(path, "catalog.db");
		rc = catalog_open(&d->cat, catalog_path, mode == DEST_WRITE ? CATALOG_WRITE : CATALOG_READ);
		free(catalog_path);
	}
	if (rc != 0) {
		dest_close(d);
		return rc;
	}
	*out = d;
	return 0;
}

void dest_close(dest *d)
{
	if (d == NULL)
		return;
	catalog_close(d->cat);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	free(d->path);
	free(d);
}

catalog *dest_catalog(dest *d)
{
	return d->cat;
}

const char *dest_path(const dest *d)
{
	return d->path;
}

char *dest_pack_path(const dest *d, const char *name)
{
	return st_sprintf("%s/packs/%s", d->path, name);
}

static bool is_listed(const catalog_pack *packs, size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(packs[i].name, name) == 0)
			return true;
	return false;
}

int dest_remove_orphan_packs(dest *d, int *out_removed)
{
	catalog_pack *packs = NULL;
	size_t count = 0;
	*out_removed = 0;
	int rc = catalog_pack_list(d->cat, &packs, &count);
	if (rc != 0)
		return rc;
	char *dir_path = join(d->path, "packs");
	DIR *dir = opendir(dir_path);
	if (dir == NULL) {
		rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to open '%s'", dir_path);
		goto cleanup;
	}
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.' || is_listed(packs, count, entry->d_name))
			continue;
		char *pack = join(dir_path, entry->d_name);
		if (unlink(pack) == 0)
			(*out_removed)++;
		free(pack);
	}
	closedir(dir);
cleanup:
	free(dir_path);
	free(packs);
	return rc;
}
