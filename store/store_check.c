/*
 * store_check.c - is every pack there, whole, and does every object read back (see store.h)?
 */
#include "store/store_internal.h"

#include "common/error.h"
#include "common/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void report(store_report_fn fn, void *ctx, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void report(store_report_fn fn, void *ctx, const char *fmt, ...)
{
	char line[ST_ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fn(ctx, line);
}

int store_check_packs(store *s, store_report_fn fn, void *ctx, int64_t *out_packs)
{
	catalog_pack *packs = NULL;
	size_t count = 0;
	int rc = catalog_pack_list(dest_catalog(s->d), &packs, &count);
	for (size_t i = 0; i < count && rc == 0; i++) {
		backend_read *file = NULL;
		char *name = backend_describe(s->b, BACKEND_SPACE_PACKS, packs[i].name);
		int open_rc = backend_open_read(s->b, BACKEND_SPACE_PACKS, packs[i].name, &file);
		if (open_rc == ST_ERR_NOTFOUND)
			report(fn, ctx, "pack '%s' is missing", name);
		else if (open_rc != 0)
			report(fn, ctx, "%s", st_error_message());
		else if (backend_read_size(file) < packs[i].size)
			report(fn, ctx, "pack '%s' is truncated: %llu bytes, expected %llu", name,
			       (unsigned long long)backend_read_size(file), (unsigned long long)packs[i].size);
		else if (pack_check_file_header(file) != 0)
			report(fn, ctx, "%s", st_error_message());
		backend_read_close(file);
		free(name);
	}
	*out_packs = (int64_t)count;
	free(packs);
	return rc;
}

int store_pack_ids(store *s, int64_t **out, size_t *out_count)
{
	catalog_pack *packs = NULL;
	size_t count = 0;
	int rc = catalog_pack_list(dest_catalog(s->d), &packs, &count);
	if (rc != 0)
		return rc;
	int64_t *ids = st_malloc((count ? count : 1) * sizeof *ids);
	for (size_t i = 0; i < count; i++)
		ids[i] = packs[i].id;
	free(packs);
	*out = ids;
	*out_count = count;
	return 0;
}

typedef struct located_object {
	st_hash hash;
	pack_location location;
} located_object;

typedef struct object_list {
	located_object *objects;
	size_t count;
	size_t capacity;
} object_list;

static int collect_object(void *ctx, const st_hash *hash, const pack_location *loc)
{
	object_list *list = ctx;
	if (list->count == list->capacity) {
		list->capacity = list->capacity ? 2 * list->capacity : 1024;
		list->objects = st_realloc(list->objects, list->capacity * sizeof *list->objects);
	}
	list->objects[list->count++] = (located_object){.hash = *hash, .location = *loc};
	return 0;
}

int store_verify_pack(store *s, int64_t pack_id, store_report_fn fn, void *ctx, int64_t *out_objects,
		      int64_t *out_bytes)
{
	object_list list = {0};
	int rc = catalog_object_each_in_pack(dest_catalog(s->d), pack_id, collect_object, &list);
	backend_read *file = NULL;
	/* A pack that does not open was reported by store_check_packs. */
	if (rc != 0 || store_pack_open(s, pack_id, &file) != 0)
		goto cleanup;
	for (size_t i = 0; i < list.count; i++) {
		const located_object *o = &list.objects[i];
		void *buf = NULL;
		if (pack_check_location(&o->location, backend_read_name(file)) == 0)
			buf = st_malloc(o->location.raw_size ? (size_t)o->location.raw_size : 1);
		if (buf == NULL || pack_read_object(buf, file, &o->location, &o->hash) != 0) {
			char hex[ST_HASH_HEX_SIZE];
			st_hash_to_hex(hex, &o->hash);
			report(fn, ctx, "object %s: %s", hex, st_error_message());
		}
		free(buf);
		(*out_objects)++;
		*out_bytes += (int64_t)o->location.stored_size;
	}
cleanup:
	free(list.objects);
	return rc;
}
