#!/usr/bin/env bash
# backend_faults: a backup (files and database) whose destination fails its Nth operation, for
# every N of the run: the fault wrapper of the destination backend (STRATA_FAULT_BACKEND=N:ERR,
# a test hook) fails the Nth operation and every later one, with ENOSPC or EIO in turn. For every
# N until the backup no longer reaches a fault:
#   - the backup fails with one line (exit 10 for ENOSPC, 3 for an I/O error of the destination);
#   - snapshots are what they were, check --read-data is clean, snapshot 1 restores to its tree;
#   - the same backup without the fault then completes and restores to the source.
# (The catalog is SQLite's own file, outside the backend: its failures are kill9's and
# full_disk's to test.)
source "$(dirname "$0")/lib.sh"

DSN=$(new_db backend_faults)
SRC=$(new_tmp)
WORK=$(new_tmp)
DEST1=$WORK/dest1
DEST=$WORK/dest

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 30 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST1"
assert_exit 0 "first backup" -- "$STRATA" backup --dest "$DEST1" --dsn "$DSN" --repository "$SRC"
assert_exit 0 "snapshots after the first backup" -- "$STRATA" snapshots --dest "$DEST1" --json
snaps1=$LAST_STDOUT
listing1=$(tree_listing "$SRC")
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 20 --mode add --quiet >/dev/null

completed=0
for ((n = 1; n <= 300; n++)); do
  err=ENOSPC
  expected=10
  if ((n % 2 == 0)); then
    err=EIO
    expected=3
  fi
  rm -rf "$DEST" "$WORK/out"
  cp -a "$DEST1" "$DEST"
  status=0
  STRATA_FAULT_BACKEND="$n:$err" "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" \
    >"$WORK/out.txt" 2>"$WORK/err.txt" || status=$?
  if ((status == 0)); then
    completed=$n
    break
  fi
  LAST_STDERR=$(cat "$WORK/err.txt")
  assert_one_error "operation $n failing with $err"
  assert_eq "$expected" "$status" "operation $n failing with $err: exit code ($LAST_STDERR)"
  assert_exit 0 "operation $n: snapshots" -- "$STRATA" snapshots --dest "$DEST" --json
  assert_eq "$snaps1" "$LAST_STDOUT" "operation $n: snapshots after the failed backup"
  assert_exit 0 "operation $n: check --read-data" -- "$STRATA" check --dest "$DEST" --read-data
  assert_exit 0 "operation $n: restore snapshot 1" -- "$STRATA" restore --dest "$DEST" --snapshot 1 \
    --to-repository "$WORK/out/first"
  assert_eq "$listing1" "$(tree_listing "$WORK/out/first")" "operation $n: snapshot 1"
  assert_exit 0 "operation $n: backup without the fault" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
    --repository "$SRC"
  assert_exit 0 "operation $n: restore latest" -- "$STRATA" restore --dest "$DEST" --to-repository "$WORK/out/latest"
  assert_same_repo "$SRC" "$WORK/out/latest" "operation $n: latest snapshot"
done
((completed > 1)) || fail "the backup never met a fault (or never completed within 300 operations)"
note "the backup takes $((completed - 1)) backend operations; each one failed in turn"
note "ok"
