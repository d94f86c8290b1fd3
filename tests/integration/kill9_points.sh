#!/usr/bin/env bash
# kill9_points: kill -9 at twelve points of a backup (files and database) and at twelve points
# of a restore.
#
# Kill points are destination operations, not times, so that they fall inside the run whatever
# the machine's load (lib.sh: count_backend_ops, kill_points, run_self_killed).
#
# Backup: snapshot 1 holds 100 nodes; 600 more (size scale 4) are added. One uninterrupted
# second backup counts its destination operations (T); then, from a copy of the destination
# after snapshot 1, the second backup kills itself with SIGKILL before its operation T*k/11 for
# k = 1..10 and before each of its last two. After each kill:
#   - snapshots either still list only snapshot 1, byte for byte, or (a kill after the commit)
#     list snapshot 1 unchanged plus one complete second snapshot;
#   - check --read-data is clean and snapshot 1 restores to the first tree;
#   - the backup run again completes, and the latest snapshot restores to the source tree.
# Restore: one uninterrupted restore counts its operations (R); a restore into a fresh target
# kills itself before its operation R*k/11 for k = 1..10 and before each of its last two; each time the destination still checks clean and `restore --force` into
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

note "counting the operations of one uninterrupted second backup"
cp -a "$DEST1" "$WORK/dest"
count_backend_ops "${backup_cmd[@]}"
note "the second backup makes $BACKEND_OPS destination operations"
mapfile -t points < <(kill_points "$BACKEND_OPS" "$POINTS")

# A backup's operation count varies by one or two between runs (when packs seal depends on
# thread timing): the ten spread points must kill it, the last two may come after its end.
expect_self_killed() {
  local what=$1 at=$2
  if ((KILLED_STATUS != 137)); then
    ((k > POINTS && KILLED_STATUS == 0)) || fail "$what: exit $KILLED_STATUS, not a SIGKILL before operation $at"
    note "$what: the run ended before operation $at"
  fi
}

for ((k = 1; k <= ${#points[@]}; k++)); do
  rm -rf "$WORK/dest" "$WORK/out"
  cp -a "$DEST1" "$WORK/dest"
  at=${points[k - 1]}
  run_self_killed "$at" "${backup_cmd[@]}"
  expect_self_killed "point $k" "$at"
  assert_exit 0 "point $k: snapshots after the kill" -- "$STRATA" snapshots --dest "$WORK/dest" --json
  snaps=$LAST_STDOUT
  if [[ $snaps == "$snaps1" ]]; then
    state="nothing published"
  else
    assert_eq "$first1" "$(json_get "$snaps" snapshots.0)" "point $k: snapshot 1 after the kill"
    assert_eq 700 "$(json_get "$snaps" snapshots.1.nodes)" "point $k: a published second snapshot is complete"
    state="second snapshot published"
  fi
  note "point $k: killed before operation $at of $BACKEND_OPS: $state"
  assert_exit 0 "point $k: check --read-data after the kill" -- "$STRATA" check --dest "$WORK/dest" --read-data
  assert_exit 0 "point $k: restore snapshot 1 after the kill" -- "$STRATA" restore --dest "$WORK/dest" \
    --snapshot 1 --to-repository "$WORK/out/first"
  assert_same_listing "$listing1" "$WORK/out/first" "point $k: snapshot 1"
  assert_exit 0 "point $k: backup again" -- "${backup_cmd[@]}" --json
  assert_eq 700 "$(json_get "$LAST_STDOUT" nodes)" "point $k: the backup run again: nodes"
  assert_exit 0 "point $k: restore latest" -- "$STRATA" restore --dest "$WORK/dest" --to-repository "$WORK/out/latest"
  assert_same_listing "$listing2" "$WORK/out/latest" "point $k: latest snapshot"
done

note "counting the operations of one uninterrupted restore"
rm -rf "$WORK/out"
count_backend_ops "$STRATA" restore --dest "$WORK/dest" --to-repository "$WORK/out/counted"
note "the restore makes $BACKEND_OPS destination operations"
mapfile -t points < <(kill_points "$BACKEND_OPS" "$POINTS")
for ((k = 1; k <= ${#points[@]}; k++)); do
  target=$WORK/out/r$k
  at=${points[k - 1]}
  run_self_killed "$at" "$STRATA" restore --dest "$WORK/dest" --to-repository "$target"
  expect_self_killed "restore point $k" "$at"
  note "restore point $k: killed before operation $at of $BACKEND_OPS"
  assert_exit 0 "restore point $k: check after the kill" -- "$STRATA" check --dest "$WORK/dest"
  assert_exit 0 "restore point $k: restore --force" -- "$STRATA" restore --dest "$WORK/dest" \
    --to-repository "$target" --force
  assert_same_listing "$listing2" "$target" "restore point $k: restore --force after the kill"
  rm -rf "$target"
done
assert_exit 0 "check --read-data at the end" -- "$STRATA" check --dest "$WORK/dest" --read-data
note "ok"
