/*
 * backup_info.c - backup_info.json and strata backup --config (see backup_info.h).
 */
#include "engine/backup_info.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/mem.h"
#include "scanner/pg_session.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#define BACKUP_INFO_MAX (1u << 20)

static const char *const field_oldest = "oldest_object_backedup";
static const char *const field_dir = "backup_dir";
static const char *const field_days = "days_to_backup";
static const char *const field_end = "end_date_of_backup";
static const char *const field_periodicity = "periodicity";
static const char *const field_threshold = "backup_length_threshold";

void backup_info_free(backup_info *bi)
{
	if (bi == NULL)
		return;
	free(bi->backup_dir);
	st_json_free(bi->doc);
	free(bi);
}

/* Reads up to max digits into *out; returns how many were read. */
static int digits(const char **p, int max, int *out)
{
	int n = 0, v = 0;
	while (n < max && isdigit((unsigned char)**p)) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	*out = v;
	return n;
}

int backup_info_parse_time(const char *text, int64_t *out_us, int *out_offset_s)
{
	const char *p = text;
	struct tm tm = {0};
	int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, micro = 0;
	bool zoned = false;
	int offset = 0;
	if (digits(&p, 4, &year) != 4 || *p++ != '-' || digits(&p, 2, &month) != 2 || *p++ != '-' ||
	    digits(&p, 2, &day) != 2)
		goto bad;
	if (*p == ' ' || *p == 'T') {
		p++;
		if (digits(&p, 2, &hour) != 2 || *p++ != ':' || digits(&p, 2, &minute) != 2)
			goto bad;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &second) != 2)
				goto bad;
			if (*p == '.') {
				p++;
				int n = digits(&p, 6, &micro);
				if (n == 0)
					goto bad;
				for (; n < 6; n++)
					micro *= 10;
				while (isdigit((unsigned char)*p)) /* beyond microseconds: dropped */
					p++;
			}
		}
		if (*p == 'Z') {
			zoned = true;
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh = 0, om = 0;
			if (digits(&p, 2, &oh) != 2)
				goto bad;
			if (*p == ':')
				p++;
			if (isdigit((unsigned char)*p) && digits(&p, 2, &om) != 2)
				goto bad;
			zoned = true;
			offset = sign * (oh * 3600 + om * 60);
		}
	}
	if (*p != '\0' || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
		goto bad;
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = minute;
	tm.tm_sec = second;
	time_t t;
	if (zoned) {
		t = timegm(&tm) - offset;
	} else {
		tm.tm_isdst = -1;
		t = mktime(&tm);
		offset = (int)tm.tm_gmtoff;
	}
	*out_us = (int64_t)t * 1000000 + micro;
	*out_offset_s = offset;
	return 0;
bad:
	return st_error_set(ST_ERR_USAGE, "'%s' is not a timestamp (expected e.g. '2014-07-18 13:54:53.688484+00:00')",
			    text);
}

void backup_info_format_time(char *out, size_t cap, int64_t us, int offset_s)
{
	int64_t seconds = us / 1000000, micro = us % 1000000;
	if (micro < 0) {
		micro += 1000000;
		seconds--;
	}
	time_t local = (time_t)(seconds + offset_s);
	struct tm tm;
	gmtime_r(&local, &tm);
	char date[32], frac[16] = "";
	strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
	if (micro != 0)
		snprintf(frac, sizeof frac, ".%06lld", (long long)micro);
	int a = offset_s < 0 ? -offset_s : offset_s;
	snprintf(out, cap, "%s%s%c%02d:%02d", date, frac, offset_s < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
}

char *backup_info_normpath(const char *path)
{
	bool absolute = path[0] == '/';
	char *copy = st_strdup(path), *save = NULL;
	size_t cap = strlen(path) + 2, count = 0;
	char **parts = st_malloc(cap * sizeof *parts);
	for (char *part = strtok_r(copy, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0 && count > 0 && strcmp(parts[count - 1], "..") != 0) {
			count--;
			continue;
		}
		if (strcmp(part, "..") == 0 && absolute)
			continue;
		parts[count++] = part;
	}
	char *out = st_malloc(strlen(path) + 2);
	size_t len = 0;
	if (absolute)
		out[len++] = '/';
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			out[len++] = '/';
		memcpy(out + len, parts[i], strlen(parts[i]));
		len += strlen(parts[i]);
	}
	if (len == 0)
		out[len++] = '.';
	out[len] = '\0';
	free(parts);
	free(copy);
	return out;
}

/* An integer field: *present false for null or absent; a string of digits is accepted, as
 * the 1.x script passed the values through int(). */
static int int_field(const st_json *doc, const char *key, const char *path, bool required, bool *present,
		     int64_t *out)
{
	const st_json *v = st_json_get(doc, key);
	const char *s = st_json_string_value(v);
	char *end = NULL;
	*present = false;
	if (v == NULL || st_json_is_null(v)) {
		if (required)
			return st_error_set(ST_ERR_USAGE, "'%s' has no %s", path, key);
		return 0;
	}
	if (st_json_int_value(v, out)) {
		*present = true;
	} else if (s != NULL && s[0] != '\0' && (*out = strtoll(s, &end, 10), *end == '\0')) {
		*present = true;
	} else {
		return st_error_set(ST_ERR_USAGE, "%s in '%s' is not an integer", key, path);
	}
	if (*out < 0)
		return st_error_set(ST_ERR_USAGE, "%s in '%s' is negative", key, path);
	return 0;
}

static int time_field(const st_json *doc, const char *key, const char *path, bool *present, int64_t *out,
		      int *offset)
{
	const st_json *v = st_json_get(doc, key);
	*present = false;
	if (v == NULL || st_json_is_null(v))
		return 0;
	const char *s = st_json_string_value(v);
	if (s == NULL)
		return st_error_set(ST_ERR_USAGE, "%s in '%s' is not a timestamp string", key, path);
	if (backup_info_parse_time(s, out, offset) != 0)
		return st_error_prefix("%s in '%s'", key, path);
	*present = true;
	return 0;
}

int backup_info_parse(backup_info **out, const char *text, const char *path)
{
	backup_info *bi = st_calloc(1, sizeof *bi);
	char *what = st_sprintf("backup settings '%s'", path);
	int end_offset = 0;
	bool present = false;
	int rc = st_json_parse(&bi->doc, text, what);
	if (rc != 0)
		rc = st_error_reclassify(ST_ERR_USAGE);
	else if (!st_json_is_object(bi->doc))
		rc = st_error_set(ST_ERR_USAGE, "%s is not a JSON object", what);
	if (rc == 0)
		rc = time_field(bi->doc, field_oldest, path, &bi->has_oldest, &bi->oldest_us, &bi->oldest_offset_s);
	if (rc == 0) {
		const char *dir = st_json_string_value(st_json_get(bi->doc, field_dir));
		if (dir == NULL || dir[0] == '\0')
			rc = st_error_set(ST_ERR_USAGE, "'%s' has no %s", path, field_dir);
		else
			bi->backup_dir = backup_info_normpath(dir);
	}
	if (rc == 0)
		rc = int_field(bi->doc, field_days, path, false, &bi->has_days, &bi->days_to_backup);
	if (rc == 0)
		rc = time_field(bi->doc, field_end, path, &bi->has_end, &bi->end_us, &end_offset);
	if (rc == 0 && bi->has_days && bi->has_end)
		rc = st_error_set(ST_ERR_USAGE, "'%s' sets both %s and %s: only one end of backup can be set", path,
				  field_days, field_end);
	if (rc == 0)
		rc = int_field(bi->doc, field_periodicity, path, true, &present, &bi->periodicity);
	if (rc == 0 && bi->periodicity < 1)
		rc = st_error_set(ST_ERR_USAGE, "%s in '%s' must be at least 1 (days)", field_periodicity, path);
	if (rc == 0)
		rc = int_field(bi->doc, field_threshold, path, true, &present, &bi->threshold_hours);
	if (rc == 0 && bi->has_end) {
		bi->has_internal_end = true;
		bi->internal_end_us = bi->end_us;
	} else if (rc == 0 && bi->has_days && bi->has_oldest) {
		bi->has_internal_end = true;
		bi->internal_end_us = bi->oldest_us + bi->days_to_backup * BACKUP_INFO_DAY_US;
	}
	free(what);
	if (rc != 0) {
		backup_info_free(bi);
		return rc;
	}
	*out = bi;
	return 0;
}

int backup_info_load(backup_info **out, const char *path)
{
	char *text = NULL;
	int rc = st_read_small_file(&text, NULL, path, BACKUP_INFO_MAX);
	if (rc != 0)
		return st_error_reclassify(ST_ERR_USAGE);
	rc = backup_info_parse(out, text, path);
	free(text);
	return rc;
}

void backup_info_plan_rounds(const backup_info *bi, int64_t oldest_us, int64_t now_us, backup_info_plan *out)
{
	int64_t limit = bi->has_end ? bi->end_us
			: bi->has_days ? oldest_us + bi->days_to_backup * BACKUP_INFO_DAY_US
				       : now_us;
	/* A window never reaches into the future: nodes created later would be skipped. */
	if (limit > now_us)
		limit = now_us;
	int64_t threshold = bi->threshold_hours * BACKUP_INFO_HOUR_US;
	int64_t period = bi->periodicity * BACKUP_INFO_DAY_US;
	int64_t current = oldest_us;
	memset(out, 0, sizeof *out);
	out->start_us = oldest_us - BACKUP_INFO_OVERLAP_US;
	out->end_us = oldest_us;
	out->limit_us = limit;
	while (limit - current > 0 && limit - current >= threshold) {
		int64_t end = current + period < limit ? current + period : limit;
		out->rounds++;
		out->end_us = end;
		current = end;
	}
	out->left_us = limit - current;
}

int backup_info_save(backup_info *bi, const char *path, int64_t oldest_us)
{
	char when[48];
	int offset = bi->has_oldest ? bi->oldest_offset_s : 0;
	if (!bi->has_oldest) {
		time_t t = (time_t)(oldest_us / 1000000);
		struct tm tm;
		localtime_r(&t, &tm);
		offset = (int)tm.tm_gmtoff;
	}
	backup_info_format_time(when, sizeof when, oldest_us, offset);
	st_json_set_string(bi->doc, field_oldest, when);
	char *text = st_json_dump_indented(bi->doc);
	int rc = st_write_file_atomic(path, text, strlen(text));
	free(text);
	if (rc == 0) {
		bi->has_oldest = true;
		bi->oldest_us = oldest_us;
		bi->oldest_offset_s = offset;
	}
	return rc;
}

static int64_t now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* The ctime of the oldest node, for a null oldest_object_backedup; *found false when there
 * are no nodes. */
static int oldest_node_time(const char *dsn, int64_t *out, bool *found)
{
	pg_session *s = NULL;
	char *value = NULL;
	int rc = pg_session_open(&s, dsn, NULL);
	if (rc == 0)
		rc = pg_session_query_text(s, "SELECT (extract(epoch FROM min(ctime)) * 1000000)::bigint FROM db_dbnode",
					   &value);
	*found = rc == 0 && value != NULL;
	if (*found)
		*out = strtoll(value, NULL, 10);
	free(value);
	pg_session_close(s);
	return rc;
}

static void format_left(char *out, size_t cap, int64_t us)
{
	snprintf(out, cap, "%.1f h", (double)us / (double)BACKUP_INFO_HOUR_US);
}

int backup_info_run(const char *path, const backup_options *options, backup_info_result *out)
{
	backup_info *bi = NULL;
	memset(out, 0, sizeof *out);
	int rc = backup_info_load(&bi, path);
	const char *dest_dir = options->dest_path;
	struct stat st;
	if (rc == 0 && dest_dir == NULL) {
		dest_dir = bi->backup_dir;
		if (stat(dest_dir, &st) != 0 || !S_ISDIR(st.st_mode))
			rc = st_error_set(ST_ERR_USAGE, "backup_dir '%s' of '%s' does not exist", dest_dir, path);
	}
	int64_t oldest = 0;
	if (rc == 0 && bi->has_oldest) {
		oldest = bi->oldest_us;
		backup_info_format_time(out->oldest_before, sizeof out->oldest_before, oldest, bi->oldest_offset_s);
	} else if (rc == 0) {
		bool found = false;
		snprintf(out->oldest_before, sizeof out->oldest_before, "null");
		if ((rc = oldest_node_time(options->dsn, &oldest, &found)) == 0 && !found) {
			st_log_info("no nodes in the database yet: no backup round is due");
			goto cleanup;
		}
	}
	if (rc != 0)
		goto cleanup;
	backup_info_plan_rounds(bi, oldest, now_us(), &out->plan);
	if (out->plan.rounds == 0) {
		char left[32];
		format_left(left, sizeof left, out->plan.left_us);
		st_log_info("no backup round is due: %s left since %s, less than the threshold of %lld h", left,
			    out->oldest_before, (long long)bi->threshold_hours);
		snprintf(out->oldest_after, sizeof out->oldest_after, "%s", out->oldest_before);
		goto cleanup;
	}
	backup_options o = *options;
	o.dest_path = dest_dir;
	o.ctime_from_us = out->plan.start_us;
	if ((rc = backup_run(&o, &out->backup)) != 0)
		goto cleanup;
	out->ran = true;
	/* Only now that the snapshot has committed does the window move on. */
	if ((rc = backup_info_save(bi, path, out->plan.end_us)) != 0)
		goto cleanup;
	backup_info_format_time(out->oldest_after, sizeof out->oldest_after, bi->oldest_us, bi->oldest_offset_s);
cleanup:
	backup_info_free(bi);
	return rc;
}
