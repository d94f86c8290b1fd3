/*
 * cmd_configure.c - strata configure: asks on a terminal, takes flags otherwise, then calls
 * configure_run (engine/configure.h) and prints the crontab line.
 */
#include "cli/commands.h"
#include "cli/output.h"

#include "common/error.h"
#include "common/json.h"
#include "engine/configure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Wrong answers to one question before configure gives up. */
#define ASK_ATTEMPTS 5
#define DAYS_MAX (100LL * 365)
#define HOURS_MAX (100LL * 365 * 24)

static const char help[] =
	"usage: strata configure --profile [NAME] [--folder DIR] [--dest DIR] [OPTIONS]\n"
	"       STRATA_DEST=DIR strata configure --profile [NAME] [--folder DIR] [OPTIONS]\n"
	"\n"
	"Sets up the nightly backup of an AiiDA profile, as 'verdi devel configure-backup' did:\n"
	"writes FOLDER/backup_info.json (the six fields of AiiDA 1.x's backup script, and strata's\n"
	"own settings under \"strata\"), initialises the destination, writes the executable script\n"
	"FOLDER/" CONFIGURE_SCRIPT_NAME " that runs 'strata backup --config FOLDER/backup_info.json',\n"
	"and prints the crontab line that calls it. On a terminal it asks for every value not given\n"
	"as an option (defaults in brackets); otherwise the options and defaults are used.\n"
	"\n"
	"  --profile [NAME]        the AiiDA profile (alone: the default profile)\n"
	"  --config-dir DIR        the AiiDA configuration folder (default: through AIIDA_PATH)\n"
	"  --folder DIR            where backup_info.json and the script go\n"
	"                          (default: <configuration folder>/backup_<profile>)\n"
	"  --dest DIR              the destination, backup_dir (default: FOLDER/backup_dest)\n"
	"  --oldest TIMESTAMP      oldest_object_backedup (default: null, the oldest node)\n"
	"  --days-to-backup N      days_to_backup (default: null)\n"
	"  --end-date TIMESTAMP    end_date_of_backup (default: null)\n"
	"  --periodicity DAYS      days per round (default: " CLI_STR(CONFIGURE_PERIODICITY_DEFAULT) ")\n"
	"  --threshold HOURS       backup_length_threshold (default: " CLI_STR(CONFIGURE_THRESHOLD_DEFAULT) ")\n"
	"  --schedule 'M H D M W'  the crontab schedule (default: '" CONFIGURE_CRON_SCHEDULE "')\n"
	"  --no-input              never ask, even on a terminal\n"
	"  --force                 replace an existing configuration in FOLDER\n"
	"  --json                  print the result as one JSON document\n"
	"  -h, --help              show this help\n"
	"\n"
	"Timestamps look like 2014-07-18 13:54:53.688484+00:00 (without a zone: local time).\n";

typedef struct configure_request {
	configure_options o;
	bool use_profile;
	bool no_input;
	bool json;
	bool days_given, end_given, oldest_given, periodicity_given, threshold_given;
	char *answers[16]; /* owned answer strings */
	size_t answer_count;
} configure_request;

/* One line from stdin without its newline (caller frees); NULL at end of input. */
static char *read_line(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

typedef int (*answer_check)(const char *answer, void *ctx);

/* Asks question until check accepts the answer (an empty answer takes def, which may be NULL
 * for "none"); the answer is returned in *out (NULL for none; owned by req). */
static int ask(configure_request *req, const char *question, const char *def, answer_check check, void *ctx,
	       const char **out)
{
	for (int attempt = 0; attempt < ASK_ATTEMPTS; attempt++) {
		printf("%s [%s]: ", question, def ? def : "none");
		fflush(stdout);
		char *line = read_line();
		if (line == NULL)
			return st_error_set(ST_ERR_USAGE, "configure: no answer to '%s'", question);
		const char *answer = line[0] ? line : def;
		if (answer != NULL && strcmp(answer, "none") == 0)
			answer = NULL;
		if (check == NULL || check(answer, ctx) == 0) {
			/* A copy: the default may be freed before the answer is used. */
			*out = NULL;
			if (answer != NULL && req->answer_count < sizeof req->answers / sizeof req->answers[0]) {
				req->answers[req->answer_count] = strdup(answer);
				*out = req->answers[req->answer_count++];
			}
			free(line);
			return 0;
		}
		printf("  %s\n", st_error_message());
		free(line);
	}
	return st_error_set(ST_ERR_USAGE, "configure: no valid answer to '%s'", question);
}

static int check_time(const char *answer, void *ctx)
{
	return configure_check_time(*(const char *const *)ctx, answer);
}

static const char *const oldest_field = "oldest_object_backedup";
static const char *const end_field = "end_date_of_backup";

typedef struct int_range {
	const char *name;
	long long min, max;
	bool optional;
	long long value;
} int_range;

static int check_int(const char *answer, void *ctx)
{
	int_range *r = ctx;
	if (answer == NULL) {
		r->value = -1;
		return r->optional ? 0 : st_error_set(ST_ERR_USAGE, "%s needs a value", r->name);
	}
	return cli_parse_int(r->name, answer, r->min, r->max, &r->value);
}

static int check_dir(const char *answer, void *ctx)
{
	(void)ctx;
	return answer == NULL ? st_error_set(ST_ERR_USAGE, "a folder is needed") : 0;
}

/* The questions for what the options left open. */
static int interview(configure_request *req)
{
	configure_options *o = &req->o;
	char *profile = NULL, *folder = NULL, *dest = NULL, number[32];
	int rc = configure_defaults(o, &profile, &folder, &dest);
	if (rc != 0)
		return rc;
	printf("Nightly backup of AiiDA profile '%s' (Enter takes the value in brackets)\n", profile);
	if (rc == 0 && o->folder == NULL)
		rc = ask(req, "Folder for backup_info.json and the backup script", folder, check_dir, NULL, &o->folder);
	if (rc == 0 && o->dest == NULL) {
		free(dest);
		dest = NULL;
		char *unused_profile = NULL, *unused_folder = NULL;
		if ((rc = configure_defaults(o, &unused_profile, &unused_folder, &dest)) == 0)
			rc = ask(req, "Destination of the backups (backup_dir)", dest, check_dir, NULL, &o->dest);
		free(unused_profile);
		free(unused_folder);
	}
	if (rc == 0 && !req->oldest_given)
		rc = ask(req, "Oldest object to back up (timestamp; none: the oldest node)", NULL, check_time,
			 (void *)&oldest_field, &o->oldest);
	int_range days = {"days_to_backup", 0, DAYS_MAX, true, -1};
	const char *answer = NULL;
	if (rc == 0 && !req->days_given && !req->end_given) {
		if ((rc = ask(req, "Number of days to back up (none: no limit)", NULL, check_int, &days, &answer)) == 0)
			o->days_to_backup = days.value;
	}
	if (rc == 0 && !req->end_given && o->days_to_backup < 0)
		rc = ask(req, "End date of the backup (timestamp; none: now)", NULL, check_time, (void *)&end_field,
			 &o->end_date);
	int_range period = {"periodicity", 1, DAYS_MAX, false, 0};
	snprintf(number, sizeof number, "%lld", (long long)o->periodicity);
	if (rc == 0 && !req->periodicity_given &&
	    (rc = ask(req, "Periodicity (days per round)", number, check_int, &period, &answer)) == 0)
		o->periodicity = period.value;
	int_range threshold = {"backup_length_threshold", 0, HOURS_MAX, false, 0};
	snprintf(number, sizeof number, "%lld", (long long)o->threshold_hours);
	if (rc == 0 && !req->threshold_given &&
	    (rc = ask(req, "Backup length threshold (hours)", number, check_int, &threshold, &answer)) == 0)
		o->threshold_hours = threshold.value;
	free(profile);
	free(folder);
	free(dest);
	return rc;
}

static int parse(configure_request *req, int argc, char **argv)
{
	static const struct option options[] = {
		{"profile", optional_argument, NULL, 'P'},   {"config-dir", required_argument, NULL, 'C'},
		{"folder", required_argument, NULL, 'F'},    {"dest", required_argument, NULL, 'd'},
		{"oldest", required_argument, NULL, 'O'},    {"days-to-backup", required_argument, NULL, 'D'},
		{"end-date", required_argument, NULL, 'E'},  {"periodicity", required_argument, NULL, 'p'},
		{"threshold", required_argument, NULL, 't'}, {"schedule", required_argument, NULL, 's'},
		{"no-input", no_argument, NULL, 'n'},        {"force", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'J'},            {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	configure_options *o = &req->o;
	long long n = 0;
	int c, rc = 0;
	o->days_to_backup = -1;
	o->periodicity = CONFIGURE_PERIODICITY_DEFAULT;
	o->threshold_hours = CONFIGURE_THRESHOLD_DEFAULT;
	while (rc == 0 && (c = cli_getopt(argc, argv, "configure", options)) != -1) {
		switch (c) {
		case 'P': req->use_profile = true; o->profile = cli_optional_value(argc, argv); break;
		case 'C': o->config_dir = optarg; break;
		case 'F': o->folder = optarg; break;
		case 'd': o->dest = optarg; break;
		case 'O': o->oldest = optarg; req->oldest_given = true; break;
		case 'D':
			rc = cli_parse_int("--days-to-backup", optarg, 0, DAYS_MAX, &n);
			o->days_to_backup = n;
			req->days_given = true;
			break;
		case 'E': o->end_date = optarg; req->end_given = true; break;
		case 'p':
			rc = cli_parse_int("--periodicity", optarg, 1, DAYS_MAX, &n);
			o->periodicity = n;
			req->periodicity_given = true;
			break;
		case 't':
			rc = cli_parse_int("--threshold", optarg, 0, HOURS_MAX, &n);
			o->threshold_hours = n;
			req->threshold_given = true;
			break;
		case 's': o->schedule = optarg; break;
		case 'n': req->no_input = true; break;
		case 'f': o->force = true; break;
		case 'J': req->json = true; break;
		case 'h': return cli_help(help);
		default: return ST_ERR_USAGE;
		}
	}
	if (rc != 0)
		return rc;
	if (optind < argc)
		return st_error_set(ST_ERR_USAGE, "configure: unexpected argument '%s'", argv[optind]);
	if (!req->use_profile)
		return cli_missing("configure", "--profile [NAME]");
	if (req->days_given && req->end_given)
		return st_error_set(ST_ERR_USAGE, "configure: --days-to-backup and --end-date exclude each other");
	return 0;
}

static int print_result(const configure_request *req, const configure_result *r)
{
	if (req->json) {
		st_json *doc = out_json_document();
		st_json_set_string(doc, "profile", r->profile);
		st_json_set_string(doc, "folder", r->folder);
		st_json_set_string(doc, "dest", r->dest);
		st_json_set_bool(doc, "dest_created", r->dest_created);
		st_json_set_string(doc, "backup_info", r->info_path);
		st_json_set_string(doc, "script", r->script_path);
		st_json_set_string(doc, "cron_line", r->cron_line);
		return out_json_emit(doc);
	}
	printf("configured the nightly backup of AiiDA profile '%s':\n", r->profile);
	printf("  settings     %s\n", r->info_path);
	printf("  destination  %s (%s)\n", r->dest, r->dest_created ? "initialised" : "existing, kept");
	printf("  script       %s\n", r->script_path);
	printf("add this line to your crontab ('crontab -e'):\n%s\n", r->cron_line);
	return 0;
}

int cmd_configure(int argc, char **argv)
{
	configure_request req = {0};
	configure_result r = {0};
	char self[4096];
	int rc = parse(&req, argc, argv);
	if (rc != 0)
		return rc;
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return st_error_set(ST_ERR_GENERIC, "unable to find the path of the strata binary");
	self[n] = '\0';
	req.o.strata_path = self;
	if (!req.no_input && !req.json && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
		rc = interview(&req);
	if (rc == 0)
		rc = configure_run(&req.o, &r);
	if (rc == 0)
		rc = print_result(&req, &r);
	configure_result_release(&r);
	for (size_t i = 0; i < req.answer_count; i++)
		free(req.answers[i]);
	return rc;
}
