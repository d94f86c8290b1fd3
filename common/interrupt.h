/*
 * interrupt.h - SIGINT and SIGTERM as a request to stop, answered within a second.
 *
 * st_interrupt_install(), called first thing in main (before any thread starts), blocks both
 * signals in every thread and starts one watcher thread that waits for them. The first signal
 * sets the stop request that the jobs poll (st_interrupted, st_interrupt_check) at their safe
 * points, and forwards SIGTERM to the child processes registered with st_interrupt_track_child
 * (pg_dump, pg_restore), so that a job blocked on one returns too. A job that stops this way
 * cleans up as on any failure (pending snapshot discarded, lock released). If the process is
 * still running ST_INTERRUPT_GRACE_MS after the signal, or at a second signal, the watcher ends
 * it at once with exit code 128 + the signal: a run never outlives a stop request by more than
 * that, and what it leaves (a pending snapshot, an unsealed pack) is what kill -9 leaves, which
 * the next run discards.
 *
 * Child processes must not inherit the blocked mask: spawn them with st_interrupt_child_sigmask.
 */
#ifndef STRATA_COMMON_INTERRUPT_H
#define STRATA_COMMON_INTERRUPT_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#define ST_INTERRUPT_GRACE_MS 900

/* Blocks SIGINT and SIGTERM and starts the watcher thread. Returns 0 or ST_ERR_GENERIC. */
int st_interrupt_install(void);

/* True once SIGINT or SIGTERM arrived. */
bool st_interrupted(void);

/* The signal that asked to stop, or 0. */
int st_interrupt_signal(void);

/* ST_ERR_INTERRUPTED with "interrupted by SIGINT" (or SIGTERM) once a stop was requested,
 * otherwise 0. */
int st_interrupt_check(void);

/* Registers (pid > 0) or forgets a child process that a stop request must end. */
void st_interrupt_track_child(pid_t pid);
void st_interrupt_forget_child(pid_t pid);

/* The signal mask a spawned child should start with (nothing blocked). */
void st_interrupt_child_sigmask(sigset_t *out);

/* Tests only: acts as if signal arrived (without the watcher's deadline). */
void st_interrupt_simulate(int signal);

#endif
