/*
 * interrupt.c - the stop request and its watcher thread (see interrupt.h).
 */
#include "common/interrupt.h"

#include "common/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* At most this many children are tracked at once (strata runs one pg_dump or pg_restore). */
#define TRACKED_CHILDREN_MAX 8

static atomic_int requested_signal;
static atomic_int tracked[TRACKED_CHILDREN_MAX];

bool st_interrupted(void)
{
	return atomic_load(&requested_signal) != 0;
}

int st_interrupt_signal(void)
{
	return atomic_load(&requested_signal);
}

int st_interrupt_check(void)
{
	int sig = atomic_load(&requested_signal);
	if (sig == 0)
		return 0;
	return st_error_set(ST_ERR_INTERRUPTED, "interrupted by %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

void st_interrupt_track_child(pid_t pid)
{
	for (int i = 0; i < TRACKED_CHILDREN_MAX; i++) {
		int expected = 0;
		if (atomic_compare_exchange_strong(&tracked[i], &expected, (int)pid))
			break;
	}
	/* A stop requested while the child was being started: end it now. */
	if (st_interrupted())
		kill(pid, SIGTERM);
}

void st_interrupt_forget_child(pid_t pid)
{
	for (int i = 0; i < TRACKED_CHILDREN_MAX; i++) {
		int expected = (int)pid;
		if (atomic_compare_exchange_strong(&tracked[i], &expected, 0))
			break;
	}
}

void st_interrupt_child_sigmask(sigset_t *out)
{
	sigemptyset(out);
}

static void stop_children(void)
{
	for (int i = 0; i < TRACKED_CHILDREN_MAX; i++) {
		int pid = atomic_load(&tracked[i]);
		if (pid > 0)
			kill((pid_t)pid, SIGTERM);
	}
}

void st_interrupt_simulate(int signal)
{
	atomic_store(&requested_signal, signal);
	stop_children();
}

static void *watch(void *arg)
{
	sigset_t *set = arg;
	int sig = 0;
	while (sigwait(set, &sig) != 0)
		;
	st_interrupt_simulate(sig);
	/* Wait for the job to wind down; a second signal or the deadline ends the process. */
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += (long)ST_INTERRUPT_GRACE_MS * 1000000L;
	deadline.tv_sec += deadline.tv_nsec / 1000000000L;
	deadline.tv_nsec %= 1000000000L;
	while (sigtimedwait(set, NULL, &(struct timespec){0, 50 * 1000000L}) < 0) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec > deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
			break;
	}
	stop_children();
	/* The job did not wind down in time: say why the run ends (write(2): no stdio lock that a
	 * busy thread may hold). */
	static const char int_line[] = "strata: error: interrupted by SIGINT\n";
	static const char term_line[] = "strata: error: interrupted by SIGTERM\n";
	ssize_t ignored = sig == SIGTERM ? write(STDERR_FILENO, term_line, sizeof term_line - 1)
					 : write(STDERR_FILENO, int_line, sizeof int_line - 1);
	(void)ignored;
	_exit(128 + sig);
	return NULL;
}

int st_interrupt_install(void)
{
	static sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_t thread;
	if (rc == 0)
		rc = pthread_create(&thread, NULL, watch, &set);
	if (rc == 0)
		rc = pthread_detach(thread);
	if (rc != 0)
		return st_error_set(ST_ERR_GENERIC, "unable to watch for signals: %s", strerror(rc));
	return 0;
}
