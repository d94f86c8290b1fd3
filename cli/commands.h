/*
 * commands.h - the subcommands of the strata command and their shared argument helpers.
 *
 * Each cmd_* function parses its own options (getopt_long) and returns an st_error_kind;
 * main() turns that into the documented exit code and prints the one-line error.
 */
#ifndef STRATA_CLI_COMMANDS_H
#define STRATA_CLI_COMMANDS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

int cmd_init(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_snapshots(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_check(int argc, char **argv);

/* Common option parsing. cli_getopt wraps getopt_long: on an unknown option or a missing
 * argument it records a usage error naming it and returns '?'. */
int cli_getopt(int argc, char **argv, const char *command, const struct option *options);

/* Parses an integer option value within [min, max] (usage error otherwise). */
int cli_parse_int(const char *option, const char *value, long long min, long long max, long long *out);

/* --dest, falling back to STRATA_DEST; usage error when neither is given. */
int cli_require_dest(const char **dest, const char *command);

/* Usage error for a required option. */
int cli_missing(const char *command, const char *option);

/* Prints help to stdout. */
void cli_print_help(const char *text);

/* Whether human output goes to stdout: a terminal, or --verbose. */
bool cli_human_output(bool verbose);

#endif
