/*
 * backup_info.h - backup_info.json, the settings file of AiiDA 1.x's backup script, and
 * strata's runs of it (strata backup --config FILE).
 *
 * The six fields of the 1.x script keep their meaning: oldest_object_backedup (a timestamp, or
 * null for the time of the oldest node), backup_dir (the destination; normalised like
 * os.path.normpath, and it must exist), days_to_backup or end_date_of_backup (not both: an
 * error), periodicity (days per round) and backup_length_threshold (hours). Naive timestamps
 * take the local time zone. strata's own settings live under the key "strata" (see
 * BACKUP_INFO_STRATA_KEY), which the 1.x script never read.
 *
 * Rounds: each covers [oldest - 2 minutes, min(oldest + periodicity, end)], where end is
 * end_date_of_backup, oldest + days_to_backup, or now - and never later than now; rounds
 * continue while what is left is at least the threshold (and not empty). A strata snapshot is
 * always complete, so the due rounds are taken by one backup whose selection also covers every
 * node created since the first round's start (besides the id watermark, which catches nodes with
 * older ctimes); oldest_object_backedup then advances to the last round's end - only after the
 * snapshot has committed - and the file is rewritten atomically, its timestamp in the format it
 * had ("2014-07-18 13:54:53.688484+00:00"), everything else kept.
 */
#ifndef STRATA_ENGINE_BACKUP_INFO_H
#define STRATA_ENGINE_BACKUP_INFO_H

#include "common/json.h"
#include "engine/backup.h"

#include <stdbool.h>
#include <stdint.h>

#define BACKUP_INFO_STRATA_KEY "strata"
/* The overlap of each round with the previous one, as in the 1.x script. */
#define BACKUP_INFO_OVERLAP_US (2LL * 60 * 1000000)
#define BACKUP_INFO_DAY_US (86400LL * 1000000)
#define BACKUP_INFO_HOUR_US (3600LL * 1000000)

typedef struct backup_info {
	bool has_oldest;
	int64_t oldest_us;
	int oldest_offset_s;      /* UTC offset the timestamp was written with */
	char *backup_dir;         /* normalised */
	bool has_days;
	int64_t days_to_backup;
	bool has_end;
	int64_t end_us;
	int64_t periodicity;      /* days */
	int64_t threshold_hours;
	bool has_internal_end;
	int64_t internal_end_us;  /* days_to_backup from oldest, or end_date_of_backup */
	st_json *doc;             /* the whole file, written back with the new oldest */
} backup_info;

/* Parses the text of a backup_info.json; path names it in messages. Errors (ST_ERR_USAGE) are
 * one line naming the field: missing, of the wrong type, a bad timestamp, both ends set. */
int backup_info_parse(backup_info **out, const char *text, const char *path);
int backup_info_load(backup_info **out, const char *path);
void backup_info_free(backup_info *bi);

/* A timestamp as the 1.x script reads it: "YYYY-MM-DD[ T]HH:MM[:SS[.ffffff]][Z|+HH:MM]" or a
 * date; without a zone, local time. *out_offset_s is the offset it was written with. */
int backup_info_parse_time(const char *text, int64_t *out_us, int *out_offset_s);

/* us written as Python's str(datetime) with UTC offset offset_s:
 * "2014-07-18 13:54:53.688484+00:00" (no fraction when it is zero). */
void backup_info_format_time(char *out, size_t cap, int64_t us, int offset_s);

/* os.path.normpath of path (caller frees). */
char *backup_info_normpath(const char *path);

/* The rounds due from oldest_us at now_us. */
typedef struct backup_info_plan {
	int rounds;
	int64_t start_us;   /* first round's start (oldest - 2 minutes) */
	int64_t end_us;     /* last round's end: the new oldest_object_backedup */
	int64_t limit_us;   /* where the rounds stop: the end of backup, or now */
	int64_t left_us;    /* what was left when the rounds stopped (shorter than the threshold) */
} backup_info_plan;

void backup_info_plan_rounds(const backup_info *bi, int64_t oldest_us, int64_t now_us, backup_info_plan *out);

/* Sets oldest_object_backedup in the document and writes it to path atomically. */
int backup_info_save(backup_info *bi, const char *path, int64_t oldest_us);

/* strata backup --config FILE: the backup options (source, jobs...) come from the caller; the
 * destination is backup_dir unless options->dest_path is set. */
typedef struct backup_info_result {
	backup_info_plan plan;
	bool ran;                 /* a backup ran (rounds > 0) */
	backup_result backup;     /* when ran */
	char oldest_before[48];
	char oldest_after[48];
} backup_info_result;

int backup_info_run(const char *path, const backup_options *options, backup_info_result *out);

#endif
