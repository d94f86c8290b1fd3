/*
 * configure.c - strata configure (see configure.h).
 */
#include "engine/configure.h"

#include "engine/aiida_profile.h"
#include "engine/backup_info.h"
#include "engine/destination.h"

#include "catalog/dest.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/json.h"
#include "common/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* path made absolute against the working directory, and normalised (caller frees). */
static char *absolute(const char *path)
{
	char *joined;
	if (path[0] == '/') {
		joined = st_strdup(path);
	} else {
		char cwd[4096];
		if (getcwd(cwd, sizeof cwd) == NULL)
			snprintf(cwd, sizeof cwd, ".");
		joined = st_sprintf("%s/%s", cwd, path);
	}
	char *normal = backup_info_normpath(joined);
	free(joined);
	return normal;
}

int configure_defaults(const configure_options *o, char **out_profile, char **out_folder, char **out_dest)
{
	aiida_profile *p = NULL;
	int rc = aiida_profile_load(&p, o->config_dir, o->profile);
	if (rc != 0)
		return rc;
	char *dir = aiida_config_dir(o->config_dir);
	char *config_abs = absolute(dir);
	*out_profile = st_strdup(p->name);
	*out_folder = o->folder ? absolute(o->folder) : st_sprintf("%s/backup_%s", config_abs, p->name);
	*out_dest = o->dest ? absolute(o->dest) : st_sprintf("%s/backup_dest", *out_folder);
	free(config_abs);
	free(dir);
	aiida_profile_free(p);
	return 0;
}

int configure_check_time(const char *field, const char *text)
{
	int64_t us = 0;
	int offset = 0;
	if (text == NULL || text[0] == '\0')
		return 0;
	if (backup_info_parse_time(text, &us, &offset) != 0)
		return st_error_prefix("%s", field);
	return 0;
}

/* The destination: created when missing or empty, kept when it is a strata destination. */
static int prepare_destination(const char *path, bool *created)
{
	bool exists = false, empty = false;
	int rc = st_dir_state(path, &exists, &empty);
	if (rc != 0)
		return st_error_reclassify(ST_ERR_DEST);
	*created = !exists || empty;
	if (*created)
		return destination_init(path);
	dest *d = NULL;
	if ((rc = dest_open(&d, path, DEST_READ)) != 0)
		return rc;
	dest_close(d);
	return 0;
}

/* s quoted for sh: '...' with each ' written as '\'' (caller frees). */
static char *sh_quote(const char *s)
{
	size_t len = 2;
	for (const char *p = s; *p; p++)
		len += *p == '\'' ? 4 : 1;
	char *out = st_malloc(len + 1), *w = out;
	*w++ = '\'';
	for (const char *p = s; *p; p++) {
		if (*p == '\'') {
			memcpy(w, "'\\''", 4);
			w += 4;
		} else {
			*w++ = *p;
		}
	}
	*w++ = '\'';
	*w = '\0';
	return out;
}

static st_json *info_document(const configure_options *o, const configure_result *r, const char *config_dir)
{
	st_json *doc = st_json_object();
	st_json_set_string(doc, "oldest_object_backedup", o->oldest && o->oldest[0] ? o->oldest : NULL);
	st_json_set_string(doc, "backup_dir", r->dest);
	if (o->days_to_backup >= 0)
		st_json_set_int(doc, "days_to_backup", o->days_to_backup);
	else
		st_json_set(doc, "days_to_backup", NULL);
	st_json_set_string(doc, "end_date_of_backup", o->end_date && o->end_date[0] ? o->end_date : NULL);
	st_json_set_int(doc, "periodicity", o->periodicity);
	st_json_set_int(doc, "backup_length_threshold", o->threshold_hours);
	st_json *own = st_json_object();
	st_json_set_string(own, "profile", r->profile);
	st_json_set_string(own, "config_dir", config_dir);
	st_json_set(doc, BACKUP_INFO_STRATA_KEY, own);
	return doc;
}

static int write_script(const configure_options *o, const configure_result *r)
{
	char *strata = sh_quote(o->strata_path);
	char *info = sh_quote(r->info_path);
	char *log_path = st_sprintf("%s/" CONFIGURE_LOG_NAME, r->folder);
	char *log = sh_quote(log_path);
	char *text = st_sprintf("#!/bin/sh\n"
				"# Written by 'strata configure': the nightly backup of AiiDA profile '%s'\n"
				"# into '%s'. Settings: %s\n"
				"# Quiet on success; a non-zero exit code and one line on stderr on failure;\n"
				"# a line per run (and every warning) in %s.\n"
				"exec %s backup --config %s --log-file %s \"$@\"\n",
				r->profile, r->dest, r->info_path, log_path, strata, info, log);
	free(log);
	free(log_path);
	int rc = st_write_file_atomic_mode(r->script_path, text, strlen(text), 0755);
	if (rc == 0 && chmod(r->script_path, 0755) != 0)
		rc = st_error_set_errno(ST_ERR_GENERIC, errno, "unable to make '%s' executable", r->script_path);
	free(text);
	free(info);
	free(strata);
	return rc;
}

int configure_run(const configure_options *o, configure_result *out)
{
	memset(out, 0, sizeof *out);
	char *config_dir = NULL;
	int rc = 0;
	if (o->periodicity < 1)
		rc = st_error_set(ST_ERR_USAGE, "periodicity must be at least 1 (days), not %lld", (long long)o->periodicity);
	else if (o->threshold_hours < 0)
		rc = st_error_set(ST_ERR_USAGE, "backup_length_threshold must not be negative");
	else if (o->days_to_backup >= 0 && o->end_date != NULL && o->end_date[0])
		rc = st_error_set(ST_ERR_USAGE, "days_to_backup and end_date_of_backup exclude each other");
	if (rc == 0)
		rc = configure_check_time("oldest_object_backedup", o->oldest);
	if (rc == 0)
		rc = configure_check_time("end_date_of_backup", o->end_date);
	if (rc == 0)
		rc = configure_defaults(o, &out->profile, &out->folder, &out->dest);
	if (rc != 0)
		goto cleanup;
	char *dir = aiida_config_dir(o->config_dir);
	config_dir = absolute(dir);
	free(dir);
	out->info_path = st_sprintf("%s/" CONFIGURE_INFO_NAME, out->folder);
	out->script_path = st_sprintf("%s/" CONFIGURE_SCRIPT_NAME, out->folder);
	if (!o->force && (access(out->info_path, F_OK) == 0 || access(out->script_path, F_OK) == 0)) {
		rc = st_error_set(ST_ERR_USAGE, "'%s' is configured already (--force replaces its settings)", out->folder);
		goto cleanup;
	}
	if ((rc = st_mkdir_p(out->folder, 0700)) != 0)
		goto cleanup;
	if ((rc = prepare_destination(out->dest, &out->dest_created)) != 0)
		goto cleanup;
	st_json *doc = info_document(o, out, config_dir);
	char *text = st_json_dump_indented(doc);
	st_json_free(doc);
	rc = st_write_file_atomic(out->info_path, text, strlen(text));
	free(text);
	/* What was written must be what backup --config reads. */
	backup_info *check = NULL;
	if (rc == 0 && (rc = backup_info_load(&check, out->info_path)) == 0)
		backup_info_free(check);
	if (rc == 0)
		rc = write_script(o, out);
	if (rc == 0) {
		char *script = sh_quote(out->script_path);
		out->cron_line = st_sprintf("%s %s", o->schedule ? o->schedule : CONFIGURE_CRON_SCHEDULE, script);
		free(script);
	}
cleanup:
	free(config_dir);
	return rc;
}

void configure_result_release(configure_result *r)
{
	free(r->profile);
	free(r->folder);
	free(r->dest);
	free(r->info_path);
	free(r->script_path);
	free(r->cron_line);
	memset(r, 0, sizeof *r);
}
