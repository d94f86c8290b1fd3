/*
 * output.c - JSON strings, sizes, times and the progress line (see output.h).
 */
#include "cli/output.h"

#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef STRATA_VERSION
#error "STRATA_VERSION must be defined by the build (cli/CMakeLists.txt)"
#endif

const char out_version[] = STRATA_VERSION;

st_json *out_json_document(void)
{
	st_json *doc = st_json_object();
	st_json_set_string(doc, "version", out_version);
	return doc;
}

void out_json_set_ints(st_json *obj, const out_int_field *fields, size_t count)
{
	for (size_t i = 0; i < count; i++)
		st_json_set_int(obj, fields[i].key, fields[i].value);
}

void out_json_seconds(st_json *obj, const char *key, double seconds)
{
	/* Whole milliseconds, as "%.3f" printed them before: 1.25, not 1.2500000000000002. */
	st_json_set_real(obj, key, (double)(int64_t)(seconds * 1000.0 + 0.5) / 1000.0);
}

int out_json_emit(st_json *doc)
{
	int rc = st_json_print(stdout, doc);
	st_json_free(doc);
	return rc;
}

const char *out_size(char *buf, size_t cap, int64_t bytes)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double value = (double)bytes;
	int unit = 0;
	while (value >= 1024 && unit < 4) {
		value /= 1024;
		unit++;
	}
	if (unit == 0)
		snprintf(buf, cap, "%lld B", (long long)bytes);
	else
		snprintf(buf, cap, "%.1f %s", value, units[unit]);
	return buf;
}

static struct tm utc_of(int64_t time_us)
{
	time_t seconds = (time_t)(time_us / 1000000);
	struct tm tm;
	gmtime_r(&seconds, &tm);
	return tm;
}

const char *out_time(char *buf, size_t cap, int64_t time_us)
{
	struct tm tm = utc_of(time_us);
	strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return buf;
}

const char *out_time_iso(char *buf, size_t cap, int64_t time_us)
{
	struct tm tm = utc_of(time_us);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

void out_progress(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("\r\033[K", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

void out_progress_end(void)
{
	fputs("\r\033[K", stderr);
	fflush(stderr);
}

static FILE *log_file;

int out_log_open(const char *path)
{
	if (log_file != NULL)
		fclose(log_file);
	log_file = fopen(path, "ae");
	if (log_file == NULL)
		return st_error_set_errno(ST_ERR_USAGE, errno, "unable to open log file '%s'", path);
	setvbuf(log_file, NULL, _IOLBF, 0);
	return 0;
}

void out_log(const char *fmt, ...)
{
	if (log_file == NULL)
		return;
	char when[OUT_TIME_MAX];
	struct timeval tv;
	gettimeofday(&tv, NULL);
	fprintf(log_file, "%s strata[%d]: ", out_time_iso(when, sizeof when, (int64_t)tv.tv_sec * 1000000 + tv.tv_usec),
		(int)getpid());
	va_list ap;
	va_start(ap, fmt);
	vfprintf(log_file, fmt, ap);
	va_end(ap);
	fputc('\n', log_file);
}

void out_log_close(void)
{
	if (log_file != NULL)
		fclose(log_file);
	log_file = NULL;
}
