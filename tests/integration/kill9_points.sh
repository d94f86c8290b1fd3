#!/usr/bin/env bash
# kill9_points: kill -9 at ten points spread over a backup (files and database) and at ten
# points spread over a restore.
#
# Backup: snapshot 1 holds 100 nodes; 600 more (size scale 4) are added. One uninterrupted
# second backup is timed (T); then, from a copy of the destination after snapshot 1, the second
# backup is killed at T*k/11 for k = 1..10. After each kill:
#   - snapshots either still list only snapshot 1, byte for byte, or (a kill after the commit)
#     list snapshot 1 unchanged plus one complete second snapshot;
#   - check --read-data is clean and snapshot 1 restores to the first tree;
#   - the backup run again completes, and the latest snapshot restores to the source tree.
# Restore: one uninterrupted restore is timed (R); a restore into a fresh target is killed at
# R*k/11 for k = 1..10; each time the destination still checks clean and `restore --force` into
# the same target then gives a tree identical to the source.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db kill9_points)
SRC=$(new_tmp)
WORK=$(new_tmp)
DEST1=$WORK/dest1
POINTS=10

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 100 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST1"
assert_exit 0 "first backup" -- "$STRATA" backup --dest "$DEST1" --dsn "$DSN" --repository "$SRC"
assert_exit 0 "snapshots after the first backup" -- "$STRATA" snapshots --dest "$DEST1" --json
snaps1=$LAST_STDOUT
first1=$(json_get "$snaps1" snapshots.0)
listing1=$(tree_listing "$SRC")
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 600 --mode add --size-scale 4 --quiet >/dev/null
listing2=$(tree_listing "$SRC")

backup_cmd=("$STRATA" backup --dest "$WORK/dest" --dsn "$DSN" --repository "$SRC" --jobs 1 --level 9)

note "timing one uninterrupted second backup"
cp -a "$DEST1" "$WORK/dest"
start=$(date +%s.%N)
assert_exit 0 "uninterrupted second backup" -- "${backup_cmd[@]}"
backup_seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
note "the second backup takes ${backup_seconds}s"

for ((k = 1; k <= POINTS; k++)); do
  rm -rf "$WORK/dest" "$WORK/out"
  cp -a "$DEST1" "$WORK/dest"
  at=$(awk -v t="$backup_seconds" -v k="$k" -v n="$POINTS" 'BEGIN { printf "%.3f", t * k / (n + 1) }')
  run_killed "$at" "${backup_cmd[@]}"
  assert_exit 0 "point $k: snapshots after the kill" -- "$STRATA" snapshots --dest "$WORK/dest" --json
  snaps=$LAST_STDOUT
  if [[ $snaps == "$snaps1" ]]; then
    state="nothing published"
  else
    assert_eq "$first1" "$(json_get "$snaps" snapshots.0)" "point $k: snapshot 1 after the kill"
    assert_eq 700 "$(json_get "$snaps" snapshots.1.nodes)" "point $k: a published second snapshot is complete"
    state="second snapshot published"
  fi
  note "point $k: killed at ${at}s (status $KILLED_STATUS): $state"
  assert_exit 0 "point $k: check --read-data after the kill" -- "$STRATA" check --dest "$WORK/dest" --read-data
  assert_exit 0 "point $k: restore snapshot 1 after the kill" -- "$STRATA" restore --dest "$WORK/dest" \
    --snapshot 1 --to-repository "$WORK/out/first"
  assert_same_listing "$listing1" "$WORK/out/first" "point $k: snapshot 1"
  assert_exit 0 "point $k: backup again" -- "${backup_cmd[@]}" --json
  assert_eq 700 "$(json_get "$LAST_STDOUT" nodes)" "point $k: the backup run again: nodes"
  assert_exit 0 "point $k: restore latest" -- "$STRATA" restore --dest "$WORK/dest" --to-repository "$WORK/out/latest"
  assert_same_listing "$listing2" "$WORK/out/latest" "point $k: latest snapshot"
done

note "timing one uninterrupted restore"
rm -rf "$WORK/out"
start=$(date +%s.%N)
assert_exit 0 "uninterrupted restore" -- "$STRATA" restore --dest "$WORK/dest" --to-repository "$WORK/out/timed"
restore_seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
note "the restore takes ${restore_seconds}s"
for ((k = 1; k <= POINTS; k++)); do
  target=$WORK/out/r$k
  at=$(awk -v t="$restore_seconds" -v k="$k" -v n="$POINTS" 'BEGIN { printf "%.3f", t * k / (n + 1) }')
  run_killed "$at" "$STRATA" restore --dest "$WORK/dest" --to-repository "$target"
  note "restore point $k: killed at ${at}s (status $KILLED_STATUS)"
  assert_exit 0 "restore point $k: check after the kill" -- "$STRATA" check --dest "$WORK/dest"
  assert_exit 0 "restore point $k: restore --force" -- "$STRATA" restore --dest "$WORK/dest" \
    --to-repository "$target" --force
  assert_same_listing "$listing2" "$target" "restore point $k: restore --force after the kill"
  rm -rf "$target"
done
assert_exit 0 "check --read-data at the end" -- "$STRATA" check --dest "$WORK/dest" --read-data
note "ok"
