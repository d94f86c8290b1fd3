/*
 * container_metadata.c - batched reads of repository_metadata (see container_metadata.h).
 *
 * A slot holds one span's result as libpq returned it, rows in id order; lookups search it.
 * A slot being read is marked loading so that others wait for it instead of reading it again;
 * the slot used longest ago is the one replaced.
 */
#include "scanner/container_metadata.h"

#include "common/mem.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct metadata_slot {
	int64_t span;      /* id / CONTAINER_METADATA_SPAN; -1 when empty */
	bool loading;
	uint64_t used;     /* tick of the last lookup */
	PGresult *rows;    /* id, repository_metadata::text, ordered by id */
} metadata_slot;

struct container_metadata {
	container_metadata_query query;
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t loaded;
	uint64_t tick;
	metadata_slot slots[CONTAINER_METADATA_SLOTS];
};

container_metadata *container_metadata_new(container_metadata_query query, void *ctx)
{
	container_metadata *m = st_calloc(1, sizeof *m);
	m->query = query;
	m->ctx = ctx;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->loaded, NULL);
	for (int i = 0; i < CONTAINER_METADATA_SLOTS; i++)
		m->slots[i].span = -1;
	return m;
}

void container_metadata_free(container_metadata *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < CONTAINER_METADATA_SLOTS; i++)
		PQclear(m->slots[i].rows);
	pthread_cond_destroy(&m->loaded);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static metadata_slot *slot_of_span(container_metadata *m, int64_t span)
{
	for (int i = 0; i < CONTAINER_METADATA_SLOTS; i++)
		if (m->slots[i].span == span)
			return &m->slots[i];
	return NULL;
}

/* The slot to replace: an empty one, else the one used longest ago that is not loading; NULL
 * when every slot is loading. */
static metadata_slot *slot_to_replace(container_metadata *m)
{
	metadata_slot *best = NULL;
	for (int i = 0; i < CONTAINER_METADATA_SLOTS; i++) {
		metadata_slot *s = &m->slots[i];
		if (!s->loading && (best == NULL || s->used < best->used))
			best = s;
	}
	return best;
}

/* Reads span into slot (claimed as loading); called and returns with the lock held. */
static int load_span(container_metadata *m, metadata_slot *slot, int64_t span)
{
	PQclear(slot->rows);
	slot->rows = NULL;
	slot->span = span;
	slot->loading = true;
	pthread_mutex_unlock(&m->lock);
	char sql[192];
	int64_t first = span * CONTAINER_METADATA_SPAN;
	snprintf(sql, sizeof sql,
		 "SELECT id, repository_metadata::text FROM db_dbnode WHERE id >= %" PRId64 " AND id < %" PRId64
		 " ORDER BY id",
		 first, first + CONTAINER_METADATA_SPAN);
	PGresult *rows = NULL;
	int rc = m->query(m->ctx, sql, &rows);
	pthread_mutex_lock(&m->lock);
	slot->loading = false;
	slot->rows = rows;
	if (rc != 0) {
		PQclear(rows);
		slot->rows = NULL;
		slot->span = -1;
	}
	pthread_cond_broadcast(&m->loaded);
	return rc;
}

/* The span's slot, read first when it is not cached; called and returns with the lock held. */
static int find_span(container_metadata *m, int64_t span, metadata_slot **out)
{
	for (;;) {
		metadata_slot *slot = slot_of_span(m, span);
		if (slot != NULL && !slot->loading) {
			*out = slot;
			return 0;
		}
		if (slot == NULL && (slot = slot_to_replace(m)) != NULL) {
			int rc = load_span(m, slot, span);
			if (rc != 0)
				return rc;
			continue;
		}
		pthread_cond_wait(&m->loaded, &m->lock);
	}
}

/* Binary search of the slot's rows for id. */
static char *copy_row(const metadata_slot *slot, int64_t id)
{
	int lo = 0, hi = PQntuples(slot->rows);
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		int64_t at = strtoll(PQgetvalue(slot->rows, mid, 0), NULL, 10);
		if (at == id)
			return PQgetisnull(slot->rows, mid, 1) ? NULL : st_strdup(PQgetvalue(slot->rows, mid, 1));
		if (at < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int container_metadata_get(container_metadata *m, int64_t id, char **out)
{
	metadata_slot *slot = NULL;
	*out = NULL;
	pthread_mutex_lock(&m->lock);
	int rc = id < 0 ? 0 : find_span(m, id / CONTAINER_METADATA_SPAN, &slot);
	if (rc == 0 && slot != NULL) {
		slot->used = ++m->tick;
		*out = copy_row(slot, id);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}
