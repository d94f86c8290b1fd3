/*
 * reconcile.c - the node ids on which the database and the catalog disagree (see reconcile.h).
 */
#include "engine/reconcile.h"

#include "common/error.h"
#include "common/interrupt.h"
#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

/* First capacity of an id list (it doubles from there). */
#define ID_LIST_INITIAL 256
/* Nodes fetched from the database cursor at a time while listing. */
#define LIST_BATCH 1024

void id_list_append(id_list *list, int64_t id)
{
	if (list->count == list->capacity) {
		list->capacity = list->capacity ? 2 * list->capacity : ID_LIST_INITIAL;
		list->ids = st_realloc(list->ids, list->capacity * sizeof *list->ids);
	}
	list->ids[list->count++] = id;
}

static int compare_ids(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

void id_list_sort(id_list *list)
{
	if (list->count > 1)
		qsort(list->ids, list->count, sizeof *list->ids, compare_ids);
}

void id_list_release(id_list *list)
{
	free(list->ids);
	memset(list, 0, sizeof *list);
}

void reconcile_diff_release(reconcile_diff *diff)
{
	id_list_release(&diff->missing);
	id_list_release(&diff->vanished);
}

/* Lists [lo, hi] on both sides and merges the two sorted lists into missing and vanished. */
static int list_range(reconcile_diff *diff, scan_db *db, catalog *cat, int64_t lo, int64_t hi)
{
	int64_t *held = NULL;
	size_t held_count = 0, h = 0, got = 0;
	scan_cursor *cursor = NULL;
	scan_node *batch = st_calloc(LIST_BATCH, sizeof *batch);
	int rc = catalog_node_current_ids(cat, lo, hi, &held, &held_count);
	if (rc == 0)
		rc = scan_db_nodes_between(&cursor, db, lo, hi);
	while (rc == 0 && (rc = scan_cursor_next(cursor, batch, LIST_BATCH, &got)) == 0 && got > 0) {
		diff->ids_listed += (int64_t)got;
		for (size_t i = 0; i < got; i++) {
			while (h < held_count && held[h] < batch[i].id)
				id_list_append(&diff->vanished, held[h++]);
			if (h < held_count && held[h] == batch[i].id)
				h++;
			else
				id_list_append(&diff->missing, batch[i].id);
		}
	}
	while (rc == 0 && h < held_count)
		id_list_append(&diff->vanished, held[h++]);
	diff->ids_listed += (int64_t)held_count;
	diff->ranges_listed++;
	scan_cursor_close(cursor);
	free(batch);
	free(held);
	return rc;
}

typedef struct id_range {
	int64_t lo;
	int64_t hi;
} id_range;

/* The ranges still to compare (a stack: it holds only ranges that differ) and the buckets of
 * the one being compared. */
typedef struct reconcile_state {
	reconcile_diff *diff;
	scan_db *db;
	catalog *cat;
	id_range *pending;
	size_t pending_count;
	size_t pending_capacity;
	st_id_sums *db_sums;
	st_id_sums *cat_sums;
} reconcile_state;

static void push_range(reconcile_state *st, int64_t lo, int64_t hi)
{
	if (st->pending_count == st->pending_capacity) {
		st->pending_capacity = st->pending_capacity ? 2 * st->pending_capacity : RECONCILE_FANOUT;
		st->pending = st_realloc(st->pending, st->pending_capacity * sizeof *st->pending);
	}
	st->pending[st->pending_count++] = (id_range){lo, hi};
}

/* Compares the buckets of one range; lists the differing buckets that hold few ids or whose
 * ids are all on one side, and leaves the others to be divided again (buckets of one id hold
 * at most one per side, so the division ends). */
static int compare_range(reconcile_state *st, id_range range)
{
	uint64_t span = (uint64_t)(range.hi - range.lo) + 1;
	int64_t width = (int64_t)((span + RECONCILE_FANOUT - 1) / RECONCILE_FANOUT);
	size_t buckets = (size_t)((span + (uint64_t)width - 1) / (uint64_t)width);
	/* The database computes its side while the catalog computes its own. */
	int rc = scan_db_id_sums_begin(st->db, range.lo, range.hi, width, buckets);
	if (rc == 0) {
		int cat_rc = catalog_node_id_sums(st->cat, range.lo, range.hi, width, st->cat_sums, buckets);
		rc = scan_db_id_sums_end(st->db, st->db_sums, buckets);
		if (rc == 0)
			rc = cat_rc;
	}
	st->diff->ranges_compared++;
	for (size_t b = 0; b < buckets && rc == 0; b++) {
		const st_id_sums *in_db = &st->db_sums[b], *in_cat = &st->cat_sums[b];
		if (st_id_sums_equal(in_db, in_cat))
			continue;
		int64_t lo = range.lo + (int64_t)b * width;
		int64_t hi = b + 1 == buckets ? range.hi : lo + width - 1;
		if (in_db->count == 0 || in_cat->count == 0 || in_db->count + in_cat->count <= RECONCILE_LIST_IDS)
			rc = list_range(st->diff, st->db, st->cat, lo, hi);
		else
			push_range(st, lo, hi);
	}
	return rc;
}

static void finish(reconcile_diff *diff)
{
	id_list_sort(&diff->missing);
	id_list_sort(&diff->vanished);
}

int reconcile_ranges(reconcile_diff *out, scan_db *db, catalog *cat, int64_t lo, int64_t hi)
{
	memset(out, 0, sizeof *out);
	if (hi < lo)
		return 0;
	if ((uint64_t)(hi - lo) < RECONCILE_LIST_IDS) {
		int rc = list_range(out, db, cat, lo, hi);
		finish(out);
		return rc;
	}
	reconcile_state st = {
		.diff = out,
		.db = db,
		.cat = cat,
		.db_sums = st_calloc(RECONCILE_FANOUT, sizeof *st.db_sums),
		.cat_sums = st_calloc(RECONCILE_FANOUT, sizeof *st.cat_sums),
	};
	push_range(&st, lo, hi);
	int rc = 0;
	while (rc == 0 && st.pending_count > 0) {
		if ((rc = st_interrupt_check()) != 0)
			break;
		rc = compare_range(&st, st.pending[--st.pending_count]);
	}
	free(st.pending);
	free(st.db_sums);
	free(st.cat_sums);
	finish(out);
	return rc;
}

int reconcile_every_id(reconcile_diff *out, scan_db *db, catalog *cat, int64_t lo, int64_t hi)
{
	memset(out, 0, sizeof *out);
	int rc = hi < lo ? 0 : list_range(out, db, cat, lo, hi);
	finish(out);
	return rc;
}
