/*
 * main.c - the strata command: dispatch to a subcommand, print its error, exit with its code.
 *
 * main() also sets the sink of the library's log (common/log.h): warnings and notes of the
 * engine and scanner become "strata: ..." lines on stderr, the only place they are written.
 *
 * Exit codes are stable (README.md): 0 success, 1 internal error, 2 usage, 3 destination,
 * 4 locked, 5 database, 6 source repository, 7 not found, 8 corruption, 9 restore target,
 * 10 out of disk space, 130 interrupted (SIGINT), 143 terminated (SIGTERM).
 */
#include "cli/commands.h"
#include "cli/output.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/interrupt.h"
#include "common/log.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"strata - backup and restore for AiiDA-style repositories (PostgreSQL + node folders)\n"
	"\n"
	"usage: strata COMMAND [OPTIONS]\n"
	"\n"
	"commands:\n"
	"  init       create a destination\n"
	"  configure  set up the nightly backup of an AiiDA profile (backup_info.json, cron script)\n"
	"  backup     back up a repository (incremental, deduplicated, crash-safe)\n"
	"  snapshots  list the snapshots of a destination\n"
	"  ls         list the nodes of a snapshot, or a node's files\n"
	"  diff       nodes and files added, removed and changed between two snapshots\n"
	"  stats      stored against original bytes, deduplication, compression, growth\n"
	"  restore    restore a snapshot into a new directory\n"
	"  check      verify a destination (--read-data reads every object)\n"
	"\n"
	"'strata COMMAND --help' describes a command. --dest may come from STRATA_DEST.\n"
	"\n"
	"exit codes: 0 success, 1 internal error, 2 usage error, 3 destination error,\n"
	"  4 destination locked, 5 database error, 6 source repository error, 7 not found,\n"
	"  8 corruption found, 9 restore target error, 10 out of disk space,\n"
	"  130 interrupted (SIGINT), 143 terminated (SIGTERM)\n";

/* glibc's malloc arenas: few, whatever the number of threads. */
#define CLI_MALLOC_ARENAS 4

typedef struct command {
	const char *name;
	int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
	{"init", cmd_init},
	{"configure", cmd_configure},
	{"backup", cmd_backup},
	{"snapshots", cmd_snapshots},
	{"ls", cmd_ls},
	{"diff", cmd_diff},
	{"stats", cmd_stats},
	{"restore", cmd_restore},
	{"check", cmd_check},
};

/* How each kind of log message starts after "strata: ". */
static const char *const log_prefixes[] = {
	[ST_LOG_KIND_WARNING] = "warning: ",
	[ST_LOG_KIND_NOTE] = "",
	[ST_LOG_KIND_INFO] = "",
	[ST_LOG_KIND_DEBUG] = "debug: ",
};
_Static_assert(sizeof log_prefixes / sizeof log_prefixes[0] == ST_LOG_KIND_END,
	       "log_prefixes needs one entry per st_log_kind");

/* The sink of the library tiers' messages (common/log.h): one "strata: " line each on stderr. */
static void log_to_stderr(void *ctx, st_log_kind kind, const char *message)
{
	(void)ctx;
	fprintf(stderr, "strata: %s%s\n", log_prefixes[kind], message);
	if (kind != ST_LOG_KIND_DEBUG)
		out_log("%s%s", log_prefixes[kind], message);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return st_error_exit_code(ST_ERR_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	st_log_set_sink(log_to_stderr, NULL);
	st_fault_inject_from_env();
	if (st_interrupt_install() != 0) {
		fprintf(stderr, "strata: error: %s\n", st_error_message());
		return st_error_exit_code(ST_ERR_GENERIC);
	}
	/* Dozens of I/O threads would otherwise each get a malloc arena: memory must stay bounded. */
	mallopt(M_ARENA_MAX, CLI_MALLOC_ARENAS);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		int rc = commands[i].run(argc - 1, argv + 1);
		if (rc == CLI_HELP_SHOWN)
			return 0;
		if (rc != 0 && st_interrupted()) {
			/* Whatever failed last, the run stopped because it was asked to. */
			st_interrupt_check();
			fprintf(stderr, "strata: error: %s\n", st_error_message());
			out_log("error: %s (exit %d)", st_error_message(), 128 + st_interrupt_signal());
			out_log_close();
			return 128 + st_interrupt_signal();
		}
		if (rc != 0) {
			fprintf(stderr, "strata: error: %s\n", st_error_message());
			out_log("error: %s (exit %d)", st_error_message(), st_error_exit_code(rc));
		}
		out_log_close();
		return st_error_exit_code(rc);
	}
	fprintf(stderr, "strata: error: unknown command '%s' (see 'strata --help')\n", argv[1]);
	return st_error_exit_code(ST_ERR_USAGE);
}
