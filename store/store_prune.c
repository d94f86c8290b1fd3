/*
 * store_prune.c - prune's pack side: which packs to delete and which to rewrite, and the
 * rewrite itself (see "pruning" in store.h).
 *
 * Restic's rule: a pack no kept snapshot uses is deleted; of the packs that are partly used,
 * the ones with the largest unused share are rewritten until what stays unused is at most
 * max_unused of what stays. A rewrite reads each live object back (decoded and checked
 * against its hash, so damage is never copied), appends it to new packs through the store's
 * one writer, and stages the new locations; catalog_prune_apply then points the objects at
 * them in the transaction that deletes the old packs' rows. The old files are deleted only
 * after that commit (store_remove_orphans), so a crash at any moment leaves either the old
 * packs or the new ones in use, never neither.
 */
#include "store/store_internal.h"

#include "common/error.h"
#include "common/interrupt.h"
#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

/* Bytes of pack u that the kept snapshots use. */
static uint64_t used_bytes(const catalog_pack_usage *u)
{
	return PACK_FILE_HEADER_SIZE + u->live_stored + (uint64_t)u->live_objects * PACK_RECORD_HEADER_SIZE;
}

static uint64_t unused_bytes(const catalog_pack_usage *u)
{
	uint64_t used = used_bytes(u);
	return u->size > used ? u->size - used : 0;
}

/* Partly used packs, the largest unused share first. */
static int most_unused_first(const void *a, const void *b)
{
	const catalog_pack_usage *x = *(catalog_pack_usage *const *)a, *y = *(catalog_pack_usage *const *)b;
	double fx = x->size ? (double)unused_bytes(x) / (double)x->size : 0;
	double fy = y->size ? (double)unused_bytes(y) / (double)y->size : 0;
	if (fx != fy)
		return fx < fy ? 1 : -1;
	return (x->id > y->id) - (x->id < y->id);
}

int store_prune_decide(store *s, double max_unused, int64_t first_new_pack, store_prune_plan *out)
{
	memset(out, 0, sizeof *out);
	catalog_pack_usage *packs = NULL;
	size_t count = 0;
	int rc = catalog_prune_pack_usage(dest_catalog(s->d), &packs, &count);
	if (rc != 0)
		return rc;
	catalog_pack_usage **partly = st_calloc(count > 0 ? count : 1, sizeof *partly);
	size_t partly_count = 0;
	uint64_t kept_size = 0, kept_unused = 0;
	out->pack_ids = st_calloc(count > 0 ? count : 1, sizeof *out->pack_ids);
	for (size_t i = 0; i < count; i++) {
		catalog_pack_usage *u = &packs[i];
		if (u->id >= first_new_pack)
			continue;
		out->packs++;
		out->total_bytes += u->size;
		if (u->live_objects == 0) {
			out->pack_ids[out->delete_count++] = u->id;
			out->freed_bytes += u->size;
			continue;
		}
		kept_size += u->size;
		kept_unused += unused_bytes(u);
		if (unused_bytes(u) > 0)
			partly[partly_count++] = u;
	}
	qsort(partly, partly_count, sizeof *partly, most_unused_first);
	for (size_t i = 0; i < partly_count && (double)kept_unused > max_unused * (double)kept_size; i++) {
		catalog_pack_usage *u = partly[i];
		out->pack_ids[out->delete_count + out->rewrite_count++] = u->id;
		out->freed_bytes += unused_bytes(u);
		out->rewrite_objects += u->live_objects;
		out->rewrite_bytes += used_bytes(u);
		kept_unused -= unused_bytes(u);
		kept_size -= unused_bytes(u);
	}
	out->unused_after = kept_unused;
	free(partly);
	free(packs);
	return 0;
}

void store_prune_plan_release(store_prune_plan *plan)
{
	free(plan->pack_ids);
	memset(plan, 0, sizeof *plan);
}

/* Copies one live object into the open pack, sealing (and staging) full packs. */
static int copy_object(void *ctx, const st_hash *hash, const pack_location *loc)
{
	store *s = ctx;
	int rc = st_interrupt_check();
	store_object obj = {.hash = *hash, .raw_size = (size_t)loc->raw_size, .level = s->level};
	if (rc == 0)
		rc = store_read_located(s, loc, hash, &obj.data);
	bool full = false;
	if (rc == 0)
		rc = store_append(s, &obj, NULL, &full);
	free(obj.data);
	if (rc == 0 && full)
		rc = store_seal(s, NULL);
	return rc;
}

int store_prune_rewrite(store *s, const store_prune_plan *plan)
{
	catalog *cat = dest_catalog(s->d);
	int rc = 0;
	for (size_t i = 0; i < plan->rewrite_count && rc == 0; i++)
		rc = catalog_prune_each_live_in_pack(cat, plan->pack_ids[plan->delete_count + i], copy_object, s);
	if (rc == 0)
		rc = store_seal(s, NULL);
	return rc;
}
