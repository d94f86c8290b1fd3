/*
 * main.c - the strata command: dispatch to a subcommand, print its error, exit with its code.
 *
 * main() also sets the sink of the library's log (common/log.h): warnings and notes of the
 * engine and scanner become "strata: ..." lines on stderr, the only place they are written.
 * Warnings always; notes (steps such as "creating database") only with -v or when stderr is a
 * terminal, so that cron and --json runs stay quiet on success.
 *
 * Exit codes are stable (README.md): 0 success, 1 internal error, 2 usage, 3 destination,
 * 4 locked, 5 database, 6 source repository, 7 not found, 8 corruption, 9 restore target,
 * 10 out of disk space, 11 completed with warnings, 12 object storage error (s3: endpoint
 * unreachable, bucket missing, credentials missing or refused), 130 interrupted (SIGINT), 143
 * terminated (SIGTERM).
 */
#include "cli/commands.h"
#include "cli/output.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/interrupt.h"
#include "common/log.h"

#include <malloc.h>
#include <sys/resource.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"Usage: strata COMMAND --dest DIR [OPTIONS]\n"
	"  or:  STRATA_DEST=DIR strata COMMAND [OPTIONS]\n"
	"  or:  strata --version | --help\n"
	"\n"
	"strata - backup and restore for AiiDA-style repositories (PostgreSQL + node folders)\n"
	"\n"
	"commands:\n"
	"  init       create a destination\n"
	"  configure  set up the nightly backup of an AiiDA profile (backup_info.json, cron script)\n"
	"  backup     back up a repository (incremental, deduplicated, crash-safe)\n"
	"  snapshots  list the snapshots of a destination\n"
	"  ls         list the nodes of a snapshot, or a node's files\n"
	"  diff       nodes and files added, removed and changed between two snapshots\n"
	"  stats      stored against original bytes, deduplication, compression, growth\n"
	"  restore    restore a snapshot, or the nodes and paths it names, into a new directory\n"
	"  cat        write one file of a snapshot to standard output\n"
	"  check      verify a destination (--read-data reads every object)\n"
	"  forget     remove snapshots from a destination's view (keep rules or ids)\n"
	"  prune      delete what only forgotten snapshots use, giving the space back\n"
	"  export     write one snapshot as a tar archive that stock tar and pg_restore restore\n"
	"  import     add an exported archive to a destination as a new snapshot (deduplicated)\n"
	"\n"
	"'strata COMMAND --help' describes a command. --dest may come from the environment\n"
	"variable STRATA_DEST; it is a directory or s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]\n"
	"(credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). --json prints one JSON\n"
	"document on stdout (README.md lists its fields); -v prints a summary and notes even when\n"
	"not on a terminal.\n"
	"\n"
	"  -h, --help     show this help\n"
	"  -V, --version  show the version of strata\n"
	"\n"
	"exit codes: 0 success, 1 internal error, 2 usage error, 3 destination error,\n"
	"  4 destination locked, 5 database error, 6 source repository error, 7 not found,\n"
	"  8 corruption found, 9 restore target error, 10 out of disk space,\n"
	"  11 completed with warnings (backup skipped special files, or left a node whose file\n"
	"     vanished or changed while being read, for the next run; a restore wrote an AiiDA\n"
	"     2.x database that references objects the restored container lacks),\n"
	"  12 object storage error (s3: endpoint unreachable, bucket missing, credentials\n"
	"     missing or refused),\n"
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
	{"cat", cmd_cat},
	{"check", cmd_check},
	{"forget", cmd_forget},
	{"prune", cmd_prune},
	{"export", cmd_export},
	{"import", cmd_import},
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

/* Whether stderr is a terminal (set once in main): notes are shown there without -v. */
static bool stderr_is_terminal;

/* The sink of the library tiers' messages (common/log.h): one "strata: " line each on stderr.
 * Notes only reach a terminal or a -v run (commands set the level from -v). */
static void log_to_stderr(void *ctx, st_log_kind kind, const char *message)
{
	(void)ctx;
	if (kind == ST_LOG_KIND_NOTE && !stderr_is_terminal && st_log_get_level() < ST_LOG_VERBOSE)
		return;
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
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "version") == 0) {
		printf("strata %s\n", out_version);
		return 0;
	}
	stderr_is_terminal = isatty(STDERR_FILENO);
	st_log_set_sink(log_to_stderr, NULL);
	st_fault_inject_from_env();
	if (st_interrupt_install() != 0) {
		fprintf(stderr, "strata: error: %s\n", st_error_message());
		return st_error_exit_code(ST_ERR_GENERIC);
	}
	/* Dozens of I/O threads would otherwise each get a malloc arena: memory must stay bounded. */
	mallopt(M_ARENA_MAX, CLI_MALLOC_ARENAS);
	/* The store keeps the packs it reads open: take every descriptor the hard limit allows. */
	struct rlimit files;
	if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
		files.rlim_cur = files.rlim_max;
		setrlimit(RLIMIT_NOFILE, &files);
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		int rc = commands[i].run(argc - 1, argv + 1);
		if (rc == CLI_HELP_SHOWN)
			return 0;
		if (rc == CLI_COMPLETED_WITH_WARNINGS)
			return ST_EXIT_WARNINGS;
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
