/*
 * forget.h - the forget job: which snapshots a retention policy keeps, and forgetting the rest.
 *
 * restic's semantics: a snapshot kept by any rule is kept. keep_last keeps the newest N; each
 * period rule (hourly, daily, weekly, monthly, yearly; periods in UTC, weeks are ISO weeks) keeps
 * the newest snapshot of each of the N most recent periods that hold a snapshot; keep_within
 * keeps every snapshot taken at most that long before the newest one. Explicit ids forget
 * exactly those snapshots instead. Forgetting marks the snapshots forgotten in the catalog, in
 * one transaction under the destination's lock (catalog_snapshot_forget): nothing a kept
 * snapshot uses changes, and no pack is touched (what only forgotten snapshots use is garbage
 * for a later prune).
 */
#ifndef STRATA_ENGINE_FORGET_H
#define STRATA_ENGINE_FORGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The rules, as bits of forget_decision.reasons (in this order in outputs). */
typedef enum forget_rule {
	FORGET_KEEP_LAST,
	FORGET_KEEP_HOURLY,
	FORGET_KEEP_DAILY,
	FORGET_KEEP_WEEKLY,
	FORGET_KEEP_MONTHLY,
	FORGET_KEEP_YEARLY,
	FORGET_KEEP_WITHIN,
	FORGET_RULE_END
} forget_rule;

/* "last", "hourly", ... "within". */
const char *forget_rule_name(forget_rule rule);

/* A calendar duration, as --keep-within gives it (e.g. 1y2m, 7d, 12h). */
typedef struct forget_duration {
	int years, months, days, hours;
} forget_duration;

/* Parses [Ny][Nm][Nd][Nh] in any order, at least one part, not all zero (ST_ERR_USAGE). */
int forget_parse_duration(const char *text, forget_duration *out);

typedef struct forget_options {
	const char *dest_path;
	int64_t counts[FORGET_KEEP_WITHIN]; /* keep_last .. keep_yearly; 0: rule not given */
	bool has_within;
	forget_duration within;
	const int64_t *ids;   /* explicit snapshots to forget (then no rule may be given) */
	size_t id_count;
	bool dry_run;         /* decide and report, change nothing (no lock taken) */
	int64_t wait_seconds; /* for the lock, as dest_open_wait */
} forget_options;

typedef struct forget_decision {
	int64_t id;
	int64_t time_us;
	bool keep;
	unsigned reasons; /* bit (1u << rule) for each rule that keeps the snapshot */
} forget_decision;

typedef struct forget_result {
	forget_decision *snapshots; /* every complete snapshot, oldest first */
	size_t count;
	int64_t kept, forgotten;
} forget_result;

/* Decides over the complete snapshots and, unless dry_run, forgets the ones not kept. An id
 * that is not a complete snapshot is ST_ERR_NOTFOUND; neither rules nor ids is ST_ERR_USAGE. */
int forget_run(const forget_options *options, forget_result *out);
void forget_result_release(forget_result *r);

/* Applies the rules to snapshots (oldest first: id and time_us set), setting keep and reasons;
 * exposed for tests. */
void forget_apply_policy(const forget_options *options, forget_decision *snapshots, size_t count);

#endif
