/*
 * commands.h - the subcommands of the strata command and their shared argument helpers.
 *
 * Each cmd_* function parses its own options (getopt_long), calls one engine entry point, and
 * returns an st_error_kind; main() turns that into the documented exit code and prints the
 * one-line error. --help is handled one way everywhere: the command's 'h' case returns
 * cli_help(its help text), which prints it and returns CLI_HELP_SHOWN; main() exits 0.
 */
#ifndef STRATA_CLI_COMMANDS_H
#define STRATA_CLI_COMMANDS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returned by a command that printed its help instead of running (exit code 0). */
#define CLI_HELP_SHOWN 1
/* Returned by a command that completed with warnings (exit code ST_EXIT_WARNINGS, 11). */
#define CLI_COMPLETED_WITH_WARNINGS 2

/* Bounds of the parallelism options. */
#define CLI_JOBS_MAX 256
#define CLI_IO_THREADS_MAX 1024

/* A numeric constant as a string literal, for help texts. */
#define CLI_STR(x) CLI_STR_(x)
#define CLI_STR_(x) #x

int cmd_init(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_snapshots(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_configure(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_forget(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);

/* Common option parsing. cli_getopt wraps getopt_long: on an unknown option or a missing
 * argument it records a usage error naming it and returns '?'. */
int cli_getopt(int argc, char **argv, const char *command, const struct option *options);

/* Parses an integer option value within [min, max] (usage error otherwise). */
int cli_parse_int(const char *option, const char *value, long long min, long long max, long long *out);

/* Parses a snapshot given as option (--snapshot, or diff's A and B): "latest" gives latest (the
 * engine's sentinel), anything else must be a snapshot id of 1 or more (usage error otherwise). */
int cli_parse_snapshot(const char *option, const char *value, int64_t latest, int64_t *out);

/* --dest, falling back to STRATA_DEST; usage error when neither is given. */
int cli_require_dest(const char **dest, const char *command);

/* Usage error for a required option. */
int cli_missing(const char *command, const char *option);

/* Prints a command's help to stdout; returns CLI_HELP_SHOWN. */
int cli_help(const char *text);

/* An optional option value: "--opt=VALUE", "--opt VALUE" (when the next argument is not an
 * option), or "--opt" alone (NULL). Call from the option's case; may advance optind. */
const char *cli_optional_value(int argc, char **argv);

/* --wait[=SECONDS] (call from its case): *out is -1 (no limit) or SECONDS, at most
 * CLI_WAIT_MAX. value_may_follow lets the value be the next argument (commands without
 * positional arguments); otherwise only --wait=SECONDS gives one. */
int cli_parse_wait(int argc, char **argv, bool value_may_follow, int64_t *out);

/* A week: a lock held longer than that is not one to wait for. */
#define CLI_WAIT_MAX (7LL * 86400)

/* The prune options and report, shared by prune and forget --prune (cmd_prune.c). */
struct prune_options;
struct prune_result;
struct st_json;
/* Parses --max-unused's value: "N%" or "N" (percent, 0-100), or "unlimited". */
int cli_parse_max_unused(const char *value, double *out);
/* Sets the result's members in obj. */
void cli_prune_json(struct st_json *obj, const struct prune_options *o, const struct prune_result *r);
/* The result for people, on stdout. */
void cli_prune_print(const struct prune_options *o, const struct prune_result *r);
int cmd_prune(int argc, char **argv);

/* A node uuid (8-4-4-4-12 hex digits, any case) into out, lowercase; false when malformed. */
bool cli_node_uuid(char out[37], const char *value, size_t len);

/* Whether human output goes to stdout: a terminal, or --verbose. */
bool cli_human_output(bool verbose);

#endif
