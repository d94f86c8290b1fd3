#!/usr/bin/env bash
# signals: SIGINT and SIGTERM stop a backup or a restore cleanly.
#   - SIGINT while a backup stores files: exit 130, one line 'interrupted by SIGINT', the lock
#     free (the next backup runs), no pending snapshot in the catalog, snapshot 1 unchanged,
#     and the next backup completes;
#   - SIGTERM while pg_dump runs (a --database-only backup of a database with a large table):
#     exit 143, the pg_dump child gone too, no pending snapshot, the next backup completes;
#   - SIGINT during a restore: exit 130; restore --force then gives the source tree;
#   - SIGTERM during check --read-data: exit 143.
# The stop must not wait for the job to finish: a run that outlives its stop request by more
# than a few seconds fails the test (strata's own deadline is under one second).
source "$(dirname "$0")/lib.sh"

DSN=$(new_db signals)
SRC=$(new_tmp)
WORK=$(new_tmp)
DEST=$WORK/dest

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 200 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "first backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC"
assert_exit 0 "snapshots" -- "$STRATA" snapshots --dest "$DEST" --json
first=$(json_get "$LAST_STDOUT" snapshots.0)
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 1500 --mode add --size-scale 4 --quiet >/dev/null

pending_snapshots() {
  sqlite3 "$DEST/catalog.db" "SELECT count(*) FROM snapshots WHERE state <> 'complete'"
}

# stop_after SIGNAL WAIT_CMD CMD... — runs CMD in the background, waits until WAIT_CMD (given
# the pid) succeeds, sends SIGNAL, and waits for CMD to end (at most 10 s). STOP_STATUS holds
# its exit status.
stop_after() {
  local signal=$1 ready=$2 pid i
  shift 2
  "$@" >"$WORK/stopped.out" 2>"$WORK/stopped.err" &
  pid=$!
  on_exit "kill -9 $pid 2>/dev/null || true"
  for ((i = 0; i < 3000; i++)); do
    $ready "$pid" && break
    kill -0 "$pid" 2>/dev/null || fail "the command ended before it could be stopped"
    sleep 0.01
  done
  STOPPED_CHILDREN=$(pgrep -P "$pid" || true)
  kill "-$signal" "$pid" 2>/dev/null || true # it may have ended just now
  for ((i = 0; i < 1000; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  kill -0 "$pid" 2>/dev/null && fail "still running 10 s after SIG$signal"
  STOP_STATUS=0
  { wait "$pid"; } 2>/dev/null || STOP_STATUS=$?
  STOP_STDERR=$(cat "$WORK/stopped.err")
}

has_own_pack() {
  local n
  n=$(find "$DEST/packs" -name '*.pack' -newer "$DEST/catalog.db" 2>/dev/null | grep -c . || true)
  ((n > 0))
}
# The dump itself (pg_dump --snapshot=...), not the short 'pg_dump --version' run before it.
has_pg_dump_child() {
  pgrep -P "$1" -f -- '--snapshot=' >/dev/null
}
started_a_while_ago() {
  sleep 0.3
}

note "SIGINT while a backup stores files"
touch "$DEST/catalog.db"
stop_after INT has_own_pack "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --jobs 1 --level 9
assert_eq 130 "$STOP_STATUS" "backup stopped by SIGINT: exit status"
assert_eq "strata: error: interrupted by SIGINT" "$STOP_STDERR" "backup stopped by SIGINT: message"
assert_eq 0 "$(pending_snapshots)" "pending snapshots after SIGINT"
assert_exit 0 "snapshots after SIGINT" -- "$STRATA" snapshots --dest "$DEST" --json
assert_eq "$first" "$(json_get "$LAST_STDOUT" snapshots.0)" "snapshot 1 after SIGINT"
assert_eq "$first" "$(json_get "$LAST_STDOUT" snapshots.-1)" "no second snapshot after SIGINT"
assert_exit 0 "backup after SIGINT" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 1700 "$(json_get "$LAST_STDOUT" nodes)" "backup after SIGINT: nodes"

note "SIGTERM while pg_dump runs"
psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" \
  -c "CREATE TABLE big AS SELECT g, md5(g::text) AS a, md5((g + 1)::text) AS b FROM generate_series(1, 2500000) g"
stop_after TERM has_pg_dump_child "$STRATA" backup --dest "$DEST" --dsn "$DSN" --database-only
assert_eq 143 "$STOP_STATUS" "backup stopped by SIGTERM: exit status"
assert_contains "$STOP_STDERR" "strata: error: interrupted by SIGTERM" "backup stopped by SIGTERM: message"
[[ -n $STOPPED_CHILDREN ]] || fail "no pg_dump child was seen"
for child in $STOPPED_CHILDREN; do
  for ((i = 0; i < 500; i++)); do
    kill -0 "$child" 2>/dev/null || break
    sleep 0.01
  done
  kill -0 "$child" 2>/dev/null && fail "pg_dump ($child) still runs after strata was stopped"
done
assert_eq 0 "$(pending_snapshots)" "pending snapshots after SIGTERM"
assert_exit 0 "backup after SIGTERM" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --database-only

note "SIGINT during a restore"
stop_after INT started_a_while_ago "$STRATA" restore --dest "$DEST" --snapshot 2 --to-repository "$WORK/out"
if ((STOP_STATUS != 0)); then
  assert_eq 130 "$STOP_STATUS" "restore stopped by SIGINT: exit status"
  assert_eq "strata: error: interrupted by SIGINT" "$STOP_STDERR" "restore stopped by SIGINT: message"
else
  note "the restore ended before SIGINT arrived"
fi
assert_exit 0 "restore --force after SIGINT" -- "$STRATA" restore --dest "$DEST" --snapshot 2 \
  --to-repository "$WORK/out" --force
assert_same_repo "$SRC" "$WORK/out" "restore --force after SIGINT"

note "SIGTERM during check --read-data"
stop_after TERM started_a_while_ago "$STRATA" check --dest "$DEST" --read-data --jobs 1
if ((STOP_STATUS != 0)); then
  assert_eq 143 "$STOP_STATUS" "check stopped by SIGTERM: exit status"
else
  note "the check ended before SIGTERM arrived"
fi
note "ok"
