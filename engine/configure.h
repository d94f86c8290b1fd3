/*
 * configure.h - strata configure: a nightly backup of an AiiDA profile, set up the way
 * `verdi devel configure-backup` did for AiiDA 1.x.
 *
 * It writes <folder>/backup_info.json with the six fields of the 1.x script (backup_info.h)
 * and strata's own settings under "strata" (the profile and the configuration folder, so that
 * cron's empty environment finds them), initialises the destination (or keeps an existing
 * strata destination), and writes <folder>/strata_backup.sh, an executable script that runs
 * `strata backup --config <folder>/backup_info.json --log-file <folder>/backup.log` with the
 * absolute path of this strata. The
 * profile is read (and so checked) but nothing is connected to.
 */
#ifndef STRATA_ENGINE_CONFIGURE_H
#define STRATA_ENGINE_CONFIGURE_H

#include <stdbool.h>
#include <stdint.h>

#define CONFIGURE_PERIODICITY_DEFAULT 2
#define CONFIGURE_THRESHOLD_DEFAULT 1
#define CONFIGURE_INFO_NAME "backup_info.json"
#define CONFIGURE_SCRIPT_NAME "strata_backup.sh"
/* The script's log file (backup --log-file), in the folder. */
#define CONFIGURE_LOG_NAME "backup.log"
/* When the crontab line runs the script: every night at 02:00. */
#define CONFIGURE_CRON_SCHEDULE "0 2 * * *"

typedef struct configure_options {
	const char *profile;      /* NULL: the default profile */
	const char *config_dir;   /* NULL: through AIIDA_PATH */
	const char *folder;       /* NULL: <configuration folder>/backup_<profile> */
	const char *dest;         /* NULL: <folder>/backup_dest */
	const char *oldest;       /* oldest_object_backedup; NULL: null (the oldest node) */
	int64_t days_to_backup;   /* < 0: null */
	const char *end_date;     /* NULL: null */
	int64_t periodicity;      /* days, >= 1 */
	int64_t threshold_hours;  /* >= 0 */
	const char *strata_path;  /* the strata binary the script runs (absolute) */
	const char *schedule;     /* cron schedule; NULL: CONFIGURE_CRON_SCHEDULE */
	bool force;               /* replace an existing backup_info.json and script */
} configure_options;

typedef struct configure_result {
	char *profile;            /* the profile's name */
	char *folder;
	char *dest;
	char *info_path;
	char *script_path;
	char *cron_line;
	bool dest_created;        /* false: an existing destination was kept */
} configure_result;

/* The profile's name and the default folder and destination for options (each caller frees). */
int configure_defaults(const configure_options *options, char **out_profile, char **out_folder, char **out_dest);

/* Checks a timestamp answer for field (NULL or "" means null): ST_ERR_USAGE naming field when
 * backup --config could not read it. */
int configure_check_time(const char *field, const char *text);

int configure_run(const configure_options *options, configure_result *out);
void configure_result_release(configure_result *r);

#endif
