/*
 * forget.c - the forget job (see forget.h).
 */
#include "engine/forget.h"

#include "catalog/catalog.h"
#include "catalog/dest.h"
#include "common/error.h"
#include "common/mem.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define US_PER_SECOND INT64_C(1000000)

static const char *const rule_names[FORGET_RULE_END] = {
	[FORGET_KEEP_LAST] = "last",       [FORGET_KEEP_HOURLY] = "hourly", [FORGET_KEEP_DAILY] = "daily",
	[FORGET_KEEP_WEEKLY] = "weekly",   [FORGET_KEEP_MONTHLY] = "monthly", [FORGET_KEEP_YEARLY] = "yearly",
	[FORGET_KEEP_WITHIN] = "within",
};

const char *forget_rule_name(forget_rule rule)
{
	return rule < FORGET_RULE_END ? rule_names[rule] : "?";
}

int forget_parse_duration(const char *text, forget_duration *out)
{
	memset(out, 0, sizeof *out);
	const char *p = text;
	bool any = false, nonzero = false;
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p))
			goto bad;
		char *end = NULL;
		long n = strtol(p, &end, 10);
		if (n > 100000 || end == p)
			goto bad;
		int *field = *end == 'y' ? &out->years : *end == 'm' ? &out->months : *end == 'd' ? &out->days
			   : *end == 'h' ? &out->hours : NULL;
		if (field == NULL)
			goto bad;
		*field += (int)n;
		any = true;
		nonzero = nonzero || n > 0;
		p = end + 1;
	}
	if (any && nonzero)
		return 0;
bad:
	return st_error_set(ST_ERR_USAGE, "'%s' is not a duration such as 7d, 12h or 1y2m (y, m, d, h)", text);
}

/* The period a snapshot falls in, for a period rule (UTC). */
static int64_t period_key(forget_rule rule, int64_t time_us)
{
	time_t seconds = (time_t)(time_us / US_PER_SECOND);
	struct tm tm;
	gmtime_r(&seconds, &tm);
	switch (rule) {
	case FORGET_KEEP_HOURLY: return (int64_t)(tm.tm_year * 400 + tm.tm_yday) * 24 + tm.tm_hour;
	case FORGET_KEEP_DAILY: return (int64_t)tm.tm_year * 400 + tm.tm_yday;
	case FORGET_KEEP_WEEKLY: {
		char iso[16];
		strftime(iso, sizeof iso, "%G%V", &tm);
		return strtoll(iso, NULL, 10);
	}
	case FORGET_KEEP_MONTHLY: return (int64_t)tm.tm_year * 12 + tm.tm_mon;
	default: return tm.tm_year;
	}
}

/* Newest first: by time, then by id. */
static int newest_first(const void *a, const void *b)
{
	const forget_decision *x = *(forget_decision *const *)a, *y = *(forget_decision *const *)b;
	if (x->time_us != y->time_us)
		return x->time_us < y->time_us ? 1 : -1;
	return (x->id < y->id) - (x->id > y->id);
}

/* The oldest time --keep-within keeps: newest minus the duration, on the calendar (UTC). */
static int64_t within_limit(const forget_duration *d, int64_t newest_us)
{
	time_t seconds = (time_t)(newest_us / US_PER_SECOND);
	struct tm tm;
	gmtime_r(&seconds, &tm);
	tm.tm_year -= d->years;
	tm.tm_mon -= d->months;
	tm.tm_mday -= d->days;
	tm.tm_hour -= d->hours;
	return (int64_t)timegm(&tm) * US_PER_SECOND + newest_us % US_PER_SECOND;
}

void forget_apply_policy(const forget_options *options, forget_decision *snapshots, size_t count)
{
	forget_decision **order = st_calloc(count > 0 ? count : 1, sizeof *order);
	for (size_t i = 0; i < count; i++) {
		order[i] = &snapshots[i];
		order[i]->keep = false;
		order[i]->reasons = 0;
	}
	qsort(order, count, sizeof *order, newest_first);
	for (int rule = FORGET_KEEP_LAST; rule < FORGET_KEEP_WITHIN; rule++) {
		int64_t left = options->counts[rule];
		bool has_last = false;
		int64_t last_key = 0;
		for (size_t i = 0; i < count && left > 0; i++) {
			int64_t key = rule == FORGET_KEEP_LAST ? (int64_t)i : period_key((forget_rule)rule, order[i]->time_us);
			if (has_last && key == last_key)
				continue;
			has_last = true;
			last_key = key;
			order[i]->reasons |= 1u << rule;
			left--;
		}
	}
	if (options->has_within && count > 0) {
		int64_t limit = within_limit(&options->within, order[0]->time_us);
		for (size_t i = 0; i < count && order[i]->time_us >= limit; i++)
			order[i]->reasons |= 1u << FORGET_KEEP_WITHIN;
	}
	for (size_t i = 0; i < count; i++)
		snapshots[i].keep = snapshots[i].reasons != 0;
	free(order);
}

static bool has_rule(const forget_options *o)
{
	for (int rule = FORGET_KEEP_LAST; rule < FORGET_KEEP_WITHIN; rule++)
		if (o->counts[rule] > 0)
			return true;
	return o->has_within;
}

/* Explicit ids: exactly those go; each must be a complete snapshot. */
static int apply_ids(const forget_options *options, forget_decision *snapshots, size_t count)
{
	for (size_t i = 0; i < count; i++)
		snapshots[i].keep = true;
	for (size_t j = 0; j < options->id_count; j++) {
		bool found = false;
		for (size_t i = 0; i < count; i++) {
			if (snapshots[i].id == options->ids[j]) {
				snapshots[i].keep = false;
				found = true;
			}
		}
		if (!found)
			return st_error_set(ST_ERR_NOTFOUND, "snapshot '%lld' not found", (long long)options->ids[j]);
	}
	return 0;
}

int forget_run(const forget_options *options, forget_result *out)
{
	dest *d = NULL;
	catalog_snapshot *list = NULL;
	size_t count = 0;
	int64_t *gone = NULL;
	memset(out, 0, sizeof *out);
	if (has_rule(options) == (options->id_count > 0))
		return st_error_set(ST_ERR_USAGE, options->id_count > 0 ? "forget takes either snapshot ids or keep rules, not both"
									 : "forget needs a keep rule or snapshot ids");
	int rc = dest_open_wait(&d, options->dest_path, options->dry_run ? DEST_READ : DEST_WRITE, options->wait_seconds);
	if (rc == 0)
		rc = catalog_snapshot_list(dest_catalog(d), &list, &count);
	if (rc != 0)
		goto cleanup;
	out->snapshots = st_calloc(count > 0 ? count : 1, sizeof *out->snapshots);
	out->count = count;
	for (size_t i = 0; i < count; i++) {
		out->snapshots[i].id = list[i].id;
		out->snapshots[i].time_us = list[i].time_us;
	}
	if (options->id_count > 0)
		rc = apply_ids(options, out->snapshots, count);
	else
		forget_apply_policy(options, out->snapshots, count);
	if (rc != 0)
		goto cleanup;
	gone = st_calloc(count > 0 ? count : 1, sizeof *gone);
	for (size_t i = 0; i < count; i++) {
		if (out->snapshots[i].keep)
			out->kept++;
		else
			gone[out->forgotten++] = out->snapshots[i].id;
	}
	if (!options->dry_run && out->forgotten > 0)
		rc = catalog_snapshot_forget(dest_catalog(d), gone, (size_t)out->forgotten);
	if (rc == 0 && !options->dry_run && out->forgotten > 0)
		rc = dest_publish(d);
cleanup:
	free(gone);
	catalog_snapshot_list_free(list, count);
	dest_close(d);
	if (rc != 0)
		forget_result_release(out);
	return rc;
}

void forget_result_release(forget_result *r)
{
	free(r->snapshots);
	memset(r, 0, sizeof *r);
}
