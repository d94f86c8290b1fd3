#!/usr/bin/env bash
# concurrent: two backups on the same destination never both run. Checked three ways:
#   1. two backups started at the same moment: exactly one succeeds, the other exits 4 with
#      one clear error line;
#   2. a second backup started while the first is known to hold the lock: exit 4 at once,
#      and the first still succeeds;
#   3. the lock held by another process (flock): backup exits 4 without waiting; once the
#      lock is released a normal backup works.
# Afterwards the destination has exactly the snapshots of the successful runs, check
# --read-data passes, and the restore equals the source.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db concurrent)
SRC=$(new_tmp)
WORK=$(new_tmp)

note "generating 1500 nodes (size scale 4)"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 1500 --size-scale 4 --quiet >/dev/null

# Slow enough (one compressing thread, zstd level 9) to take a second or more.
slow_backup() { # DEST OUT_PREFIX
  "$STRATA" backup --dest "$1" --dsn "$DSN" --repository "$SRC" --jobs 1 --level 9 --json \
    >"$2.out" 2>"$2.err"
}

lock_is_held() { # DEST
  flock_is_held "$1/lock"
}

count_snapshots() { # DEST
  "$STRATA" snapshots --dest "$1" --json |
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)["snapshots"]))'
}

check_locked_error() { # ERR_FILE WHAT
  local err
  err=$(cat "$1")
  [[ $(printf '%s' "$err" | grep -c '') == 1 && $err == "strata: error: "* ]] ||
    fail "$2: expected one 'strata: error:' line, got: $err"
  [[ $err == *lock* ]] || fail "$2: the error does not mention the lock: $err"
}

note "1: two backups at the same moment"
D1=$WORK/d1
assert_exit 0 "init d1" -- "$STRATA" init --dest "$D1"
slow_backup "$D1" "$WORK/a" &
pid_a=$!
slow_backup "$D1" "$WORK/b" &
pid_b=$!
on_exit "kill $pid_a $pid_b 2>/dev/null || true"
status_a=0
status_b=0
wait "$pid_a" || status_a=$?
wait "$pid_b" || status_b=$?
note "exit codes: $status_a and $status_b"
case "$status_a $status_b" in
  "0 4") check_locked_error "$WORK/b.err" "the losing backup" ;;
  "4 0") check_locked_error "$WORK/a.err" "the losing backup" ;;
  *) fail "expected one backup to exit 0 and the other 4, got $status_a and $status_b: $(cat "$WORK/a.err" "$WORK/b.err")" ;;
esac
assert_eq 1 "$(count_snapshots "$D1")" "snapshots after two simultaneous backups"
assert_exit 0 "check --read-data d1" -- "$STRATA" check --dest "$D1" --read-data

note "2: a second backup while the first holds the lock"
D2=$WORK/d2
assert_exit 0 "init d2" -- "$STRATA" init --dest "$D2"
slow_backup "$D2" "$WORK/first" &
pid_first=$!
on_exit "kill $pid_first 2>/dev/null || true"
for ((i = 0; i < 1000; i++)); do
  lock_is_held "$D2" && break
  kill -0 "$pid_first" 2>/dev/null || break
  sleep 0.005
done
lock_is_held "$D2" || fail "the first backup never held the lock (finished too fast?)"
SECONDS=0
assert_exit 4 "second backup while the first runs" -- "$STRATA" backup --dest "$D2" --dsn "$DSN" \
  --repository "$SRC"
assert_one_error "second backup while the first runs"
assert_contains "$LAST_STDERR" "lock" "second backup's error"
((SECONDS < 5)) || fail "the second backup waited ${SECONDS}s instead of failing at once"
kill -0 "$pid_first" 2>/dev/null || note "(the first backup had already finished when the second gave up)"
status_first=0
wait "$pid_first" || status_first=$?
assert_eq 0 "$status_first" "exit code of the first backup ($(cat "$WORK/first.err"))"
assert_eq 1500 "$(json_get "$(cat "$WORK/first.out")" nodes)" "first backup: nodes"
assert_eq 1 "$(count_snapshots "$D2")" "snapshots after the refused second backup"

note "3: the lock held by another process"
hold_flock "$D2/lock"
SECONDS=0
assert_exit 4 "backup while flock holds the lock" -- "$STRATA" backup --dest "$D2" --dsn "$DSN" \
  --repository "$SRC"
assert_one_error "backup while flock holds the lock"
((SECONDS < 5)) || fail "backup waited ${SECONDS}s for the lock instead of failing at once"
release_flock
lock_is_held "$D2" && fail "the lock is still held after its holder was killed"

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 10 --mode add --quiet >/dev/null
assert_exit 0 "backup after the lock was released" -- "$STRATA" backup --dest "$D2" --dsn "$DSN" \
  --repository "$SRC" --json
assert_eq 10 "$(json_get "$LAST_STDOUT" new_nodes)" "backup after release: new_nodes"
assert_eq 2 "$(count_snapshots "$D2")" "snapshots at the end"
assert_exit 0 "check --read-data d2" -- "$STRATA" check --dest "$D2" --read-data
assert_exit 0 "restore latest" -- "$STRATA" restore --dest "$D2" --to-repository "$WORK/restored"
assert_same_repo "$SRC" "$WORK/restored" "restore latest vs source"
note "ok"
