#!/usr/bin/env bash
# lock_wait: a second backup on a locked destination names the holder (pid, host, start time)
# and fails at once; with --wait=SECONDS it waits that long and then fails saying so; with
# --wait it waits until the holder is gone and then runs. A lock whose holder died (kill -9)
# or a stale record in the lock file never stops a backup.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db lockwait)
SRC=$(new_tmp)
WORK=$(new_tmp)
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 1500 --size-scale 4 --quiet >/dev/null
D=$WORK/dest
assert_exit 0 "init" -- "$STRATA" init --dest "$D"

wait_for_lock() { # PID
  local i
  for ((i = 0; i < 2000; i++)); do
    flock_is_held "$D/lock" && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.005
  done
  return 1
}

note "1: the holder is named"
"$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC" --jobs 1 --level 9 >"$WORK/first.out" 2>&1 &
pid_first=$!
on_exit "kill $pid_first 2>/dev/null || true"
wait_for_lock "$pid_first" || fail "the first backup never held the lock"
# The record is written right after the lock is taken.
for ((i = 0; i < 200; i++)); do [[ -s $D/lock ]] && break; sleep 0.01; done
SECONDS=0
assert_exit 4 "second backup" -- "$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC"
assert_one_error "second backup"
((SECONDS < 5)) || fail "the second backup waited ${SECONDS}s instead of failing at once"
assert_contains "$LAST_STDERR" "pid $pid_first" "holder's pid"
assert_contains "$LAST_STDERR" "host '$(hostname)'" "holder's host"
assert_contains "$LAST_STDERR" "started $(date -u +%Y-%m-%d)" "holder's start time"
wait "$pid_first" || fail "the first backup failed: $(cat "$WORK/first.out")"
[[ ! -s $D/lock ]] || fail "the lock file still names a holder after the run: $(cat "$D/lock")"

note "2: --wait=2 against a holder that stays: exit 4 after about 2 s"
hold_flock "$D/lock"
SECONDS=0
assert_exit 4 "backup --wait=2" -- "$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC" --wait=2
((SECONDS >= 2 && SECONDS < 10)) || fail "--wait=2 gave up after ${SECONDS}s"
assert_contains "$LAST_STDERR" "still locked after waiting 2 s" "--wait=2 error"
assert_contains "$LAST_STDERR" "no record of its holder" "a holder that wrote no record"

note "3: --wait without a limit: runs once the holder is gone"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 7 --mode add --quiet >/dev/null
(sleep 2 && kill "$HOLD_FLOCK_PID") &
SECONDS=0
assert_exit 0 "backup --wait" -- "$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC" --wait --json
((SECONDS >= 1)) || fail "backup --wait did not wait (${SECONDS}s)"
assert_eq 7 "$(json_get "$LAST_STDOUT" new_nodes)" "nodes after waiting"
release_flock

note "4: a holder killed with -9 releases the lock by itself"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 1500 --size-scale 4 --mode add --quiet >/dev/null
"$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC" --jobs 1 --level 9 >/dev/null 2>&1 &
pid_killed=$!
wait_for_lock "$pid_killed" || fail "the backup to kill never held the lock"
kill -9 "$pid_killed"
wait "$pid_killed" 2>/dev/null || true
[[ -s $D/lock ]] || fail "the killed holder left no record (the test proves nothing)"
SECONDS=0
assert_exit 0 "backup after the holder died" -- "$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC" --json
((SECONDS < 60)) || fail "took ${SECONDS}s"
assert_exit 0 "check" -- "$STRATA" check --dest "$D"
note "ok"
