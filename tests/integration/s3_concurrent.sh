#!/usr/bin/env bash
# s3_concurrent: the write lock of an S3 destination is an object created with If-None-Match: *.
#   1. two backups started at the same moment: exactly one succeeds, the other exits 4 with one
#      'strata: error:' line about the lock; one snapshot is published; check --read-data passes;
#   2. a lock object of a run on another host: backup exits 4 naming that holder, and the lock
#      object is left alone; once it is removed a backup works;
#   3. a lock object of this host whose pid is gone (a run killed with -9): the next backup takes
#      it over and succeeds, and no lock object stays behind.
source "$(dirname "$0")/lib.sh"

s3_setup conc
DSN=$(new_db s3_concurrent)
SRC=$(new_tmp)
WORK=$(new_tmp)
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 800 --size-scale 3 --quiet >/dev/null

count_snapshots() {
  "$STRATA" snapshots --dest "$S3_DEST" --json |
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)["snapshots"]))'
}

assert_exit 0 "init" -- "$STRATA" init --dest "$S3_DEST"

note "1: two backups at the same moment"
backup() { # OUT_PREFIX
  "$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC" --jobs 1 --level 9 --json \
    >"$1.out" 2>"$1.err"
}
backup "$WORK/a" &
pid_a=$!
backup "$WORK/b" &
pid_b=$!
on_exit "kill $pid_a $pid_b 2>/dev/null || true"
status_a=0
status_b=0
wait "$pid_a" || status_a=$?
wait "$pid_b" || status_b=$?
note "exit codes: $status_a and $status_b"
case "$status_a $status_b" in
  "0 4") loser=$WORK/b.err ;;
  "4 0") loser=$WORK/a.err ;;
  *) fail "expected one backup to exit 0 and the other 4, got $status_a and $status_b: $(cat "$WORK/a.err" "$WORK/b.err")" ;;
esac
err=$(cat "$loser")
[[ $(printf '%s' "$err" | grep -c '') == 1 && $err == "strata: error: "*locked* ]] ||
  fail "the losing backup: expected one 'strata: error: ... locked' line, got: $err"
assert_eq 1 "$(count_snapshots)" "snapshots after two simultaneous backups"
assert_exit 0 "check --read-data" -- "$STRATA" check --dest "$S3_DEST" --read-data
[[ $(s3_keys) != *dest/lock* ]] || fail "a lock object stayed behind after the backups"

note "2: the lock of a run on another host"
printf '{"host": "far-away-host", "pid": 4242, "started": "2026-12-02 01:00:03 UTC", "time": 1, "id": "x"}\n' \
  >"$WORK/lock"
s3_curl -o /dev/null -T "$WORK/lock" "$S3_ENDPOINT/$S3_BUCKET/dest/lock"
assert_exit 4 "backup while another host holds the lock" -- \
  "$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC"
assert_one_error "backup while another host holds the lock"
assert_contains "$LAST_STDERR" "pid 4242 on host 'far-away-host'" "the holder is named"
[[ $(s3_keys) == *dest/lock* ]] || fail "the other host's lock was removed"
s3_curl -o /dev/null -X DELETE "$S3_ENDPOINT/$S3_BUCKET/dest/lock"
assert_exit 0 "backup once that lock is gone" -- "$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC"

note "3: a stale lock of this host"
sleep 0.1 &
dead_pid=$!
wait "$dead_pid"
printf '{"host": "%s", "pid": %d, "started": "2026-12-02 01:00:03 UTC", "time": 1, "id": "y"}\n' \
  "$(hostname)" "$dead_pid" >"$WORK/lock"
s3_curl -o /dev/null -T "$WORK/lock" "$S3_ENDPOINT/$S3_BUCKET/dest/lock"
assert_exit 0 "backup over a stale lock of this host" -- \
  "$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC"
[[ $(s3_keys) != *dest/lock* ]] || fail "the lock object stayed behind"
assert_eq 3 "$(count_snapshots)" "snapshots at the end"
note "ok"
