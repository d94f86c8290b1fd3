/*
 * args.c - option parsing shared by the subcommands (see commands.h).
 */
#include "cli/commands.h"

#include "common/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_getopt(int argc, char **argv, const char *command, const struct option *options)
{
	opterr = 0;
	int c = getopt_long(argc, argv, ":hv", options, NULL);
	if (c == '?') {
		if (optopt != 0)
			st_error_set(ST_ERR_USAGE, "%s: unknown option '-%c' (see 'strata %s --help')", command, optopt,
				     command);
		else
			st_error_set(ST_ERR_USAGE, "%s: unknown option '%s' (see 'strata %s --help')", command,
				     argv[optind - 1], command);
	} else if (c == ':') {
		st_error_set(ST_ERR_USAGE, "%s: option '%s' needs a value", command, argv[optind - 1]);
		c = '?';
	}
	return c;
}

int cli_parse_int(const char *option, const char *value, long long min, long long max, long long *out)
{
	char *end = NULL;
	errno = 0;
	long long n = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || n < min || n > max)
		return st_error_set(ST_ERR_USAGE, "invalid value '%s' for %s: expected an integer from %lld to %lld", value,
				    option, min, max);
	*out = n;
	return 0;
}

int cli_parse_snapshot(const char *option, const char *value, int64_t latest, int64_t *out)
{
	long long n = 0;
	if (strcmp(value, "latest") == 0) {
		*out = latest;
		return 0;
	}
	int rc = cli_parse_int(option, value, 1, INT64_MAX, &n);
	*out = n;
	return rc;
}

int cli_missing(const char *command, const char *option)
{
	return st_error_set(ST_ERR_USAGE, "%s: %s is required (see 'strata %s --help')", command, option, command);
}

int cli_require_dest(const char **dest, const char *command)
{
	if (*dest == NULL)
		*dest = getenv("STRATA_DEST");
	if (*dest == NULL || **dest == '\0')
		return cli_missing(command, "--dest (or STRATA_DEST)");
	return 0;
}

int cli_help(const char *text)
{
	fputs(text, stdout);
	return CLI_HELP_SHOWN;
}

bool cli_human_output(bool verbose)
{
	return verbose || isatty(STDOUT_FILENO);
}

const char *cli_optional_value(int argc, char **argv)
{
	if (optarg != NULL)
		return optarg;
	if (optind < argc && argv[optind][0] != '-' && argv[optind][0] != '\0')
		return argv[optind++];
	return NULL;
}

int cli_parse_wait(int argc, char **argv, bool value_may_follow, int64_t *out)
{
	const char *wait = value_may_follow ? cli_optional_value(argc, argv) : optarg;
	long long n = -1;
	int rc = wait != NULL ? cli_parse_int("--wait", wait, 0, CLI_WAIT_MAX, &n) : 0;
	*out = n;
	return rc;
}

bool cli_node_uuid(char out[37], const char *value, size_t len)
{
	if (len != 36)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = value[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? c != '-' : !isxdigit((unsigned char)c))
			return false;
		out[i] = (char)tolower((unsigned char)c);
	}
	out[len] = '\0';
	return true;
}

