/*
 * store_get.c - content out of packs, verified (see store.h).
 *
 * Packs are opened once, on first use, and stay open until store_free: restore and check read
 * from many threads, and opening a pack per object would cost more than reading it.
 */
#include "store/store_internal.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* (Re)reads the catalog's pack list, keeping packs already open. Called under packs_lock. */
static int load_packs(store *s)
{
	catalog_pack *packs = NULL;
	size_t count = 0;
	int rc = catalog_pack_list(dest_catalog(s->d), &packs, &count);
	if (rc != 0)
		return rc;
	store_pack_slot *slots = st_calloc(count ? count : 1, sizeof *slots);
	size_t old = 0;
	for (size_t i = 0; i < count; i++) {
		slots[i].id = packs[i].id;
		snprintf(slots[i].name, sizeof slots[i].name, "%s", packs[i].name);
		slots[i].size = packs[i].size;
		/* Both lists are sorted by id: carry over what is open. */
		while (old < s->pack_count && s->packs[old].id < packs[i].id)
			backend_read_close(s->packs[old++].file);
		if (old < s->pack_count && s->packs[old].id == packs[i].id)
			slots[i].file = s->packs[old++].file;
	}
	while (old < s->pack_count)
		backend_read_close(s->packs[old++].file);
	free(s->packs);
	free(packs);
	s->packs = slots;
	s->pack_count = count;
	s->packs_loaded = true;
	return 0;
}

static store_pack_slot *find_slot(store *s, int64_t id)
{
	size_t lo = 0, hi = s->pack_count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->packs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->pack_count && s->packs[lo].id == id ? &s->packs[lo] : NULL;
}

int store_pack_open(store *s, int64_t pack_id, backend_read **out)
{
	int rc = 0;
	pthread_mutex_lock(&s->packs_lock);
	store_pack_slot *slot = s->packs_loaded ? find_slot(s, pack_id) : NULL;
	if (slot == NULL && (rc = load_packs(s)) == 0)
		slot = find_slot(s, pack_id); /* a pack sealed since the list was read */
	if (rc == 0 && slot == NULL)
		rc = st_error_set(ST_ERR_CORRUPT, "catalog names pack %lld, which it does not list", (long long)pack_id);
	if (rc == 0 && slot->file == NULL) {
		backend_read *file = NULL;
		if ((rc = backend_open_read(s->b, BACKEND_SPACE_PACKS, slot->name, &file)) == ST_ERR_NOTFOUND)
			rc = st_error_set(ST_ERR_CORRUPT, "unable to open pack: %s", st_error_message());
		else if (rc != 0)
			rc = st_error_prefix("unable to open pack");
		else if ((rc = pack_check_file_header(file)) != 0)
			backend_read_close(file);
		else
			slot->file = file;
	}
	if (rc == 0)
		*out = slot->file;
	pthread_mutex_unlock(&s->packs_lock);
	return rc;
}

int store_read_located(store *s, const pack_location *loc, const st_hash *hash, void **out)
{
	backend_read *file = NULL;
	int rc = store_pack_open(s, loc->pack_id, &file);
	if (rc == 0)
		rc = pack_check_location(loc, backend_read_name(file));
	if (rc != 0)
		return rc;
	void *buf = st_malloc(loc->raw_size ? (size_t)loc->raw_size : 1);
	if ((rc = pack_read_object(buf, file, loc, hash)) != 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

/* Where hash is: ST_ERR_NOTFOUND (no message context) when the catalog does not hold it. */
static int locate(store *s, const st_hash *hash, pack_location *out)
{
	bool found = false;
	int rc = catalog_object_find(dest_catalog(s->d), hash, out, &found);
	if (rc == 0 && !found) {
		char hex[ST_HASH_HEX_SIZE];
		st_hash_to_hex(hex, hash);
		rc = st_error_set(ST_ERR_NOTFOUND, "object %s is not in any pack", hex);
	}
	return rc;
}

int store_get(store *s, const st_hash *hash, void **out, size_t *out_len)
{
	pack_location loc;
	int rc = locate(s, hash, &loc);
	if (rc == 0)
		rc = store_read_located(s, &loc, hash, out);
	if (rc == 0)
		*out_len = (size_t)loc.raw_size;
	return rc;
}

/* The objects of one piece of content, in order. */
typedef struct content_parts {
	const st_hash *whole;
	const st_hash *hashes;      /* count of them */
	const pack_location *locations; /* NULL: look them up */
	size_t count;
} content_parts;

static int write_to_fd(void *ctx, const void *buf, size_t len, const char *what)
{
	return st_write_all(*(const int *)ctx, buf, len, what);
}

/* Hands every part to out, hashing the whole when there are several. */
static int write_parts(store *s, const store_writer *out, const content_parts *parts, const char *what)
{
	st_hasher *whole = parts->count > 1 ? st_hasher_new() : NULL;
	int rc = 0;
	for (size_t i = 0; i < parts->count && rc == 0; i++) {
		pack_location loc;
		void *buf = NULL;
		if (parts->locations != NULL)
			loc = parts->locations[i];
		else if ((rc = locate(s, &parts->hashes[i], &loc)) != 0) {
			rc = st_error_set(ST_ERR_CORRUPT, "content of '%s' is not in any pack", what);
			break;
		}
		if ((rc = store_read_located(s, &loc, &parts->hashes[i], &buf)) != 0)
			break;
		if (whole != NULL)
			st_hasher_update(whole, buf, (size_t)loc.raw_size);
		rc = out->write(out->ctx, buf, (size_t)loc.raw_size, what);
		free(buf);
	}
	if (whole != NULL) {
		st_hash actual;
		st_hasher_final(&actual, whole);
		if (rc == 0 && !st_hash_equal(&actual, parts->whole))
			rc = st_error_set(ST_ERR_CORRUPT, "restored content of '%s' does not match its hash", what);
	}
	return rc;
}

int store_get_to_fd(store *s, int fd, const catalog_blob *content, const char *what)
{
	content_parts parts = {.whole = &content->hash, .hashes = content->chunk_count ? content->chunks : &content->hash,
			       .count = content->chunk_count ? content->chunk_count : 1};
	store_writer out = {.write = write_to_fd, .ctx = &fd};
	return write_parts(s, &out, &parts, what);
}

int store_get_entry_to_writer(store *s, const store_writer *out, const catalog_tree_entry *entry, const char *what)
{
	const catalog_entry *e = &entry->entry;
	content_parts parts = {.whole = &e->hash, .hashes = e->chunk_count ? e->chunks : &e->hash,
			       .locations = e->chunk_count ? entry->chunk_locations : &entry->location,
			       .count = e->chunk_count ? e->chunk_count : 1};
	return write_parts(s, out, &parts, what);
}

int store_get_entry_to_fd(store *s, int fd, const catalog_tree_entry *entry, const char *what)
{
	store_writer out = {.write = write_to_fd, .ctx = &fd};
	return store_get_entry_to_writer(s, &out, entry, what);
}

int store_get_to_path(store *s, const catalog_blob *content, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to create '%s'", path);
	int rc = store_get_to_fd(s, fd, content, path);
	if (close(fd) != 0 && rc == 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to write '%s'", path);
	return rc;
}
