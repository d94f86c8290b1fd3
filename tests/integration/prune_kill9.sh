#!/usr/bin/env bash
# prune_kill9: kill -9 at ten points spread over a prune, and a backup started while a prune runs.
#
# Four backups (files and database, 200 nodes then 150 more of size scale 4, nodes deleted, bulk
# rows changed so that dump files are delta chains), then forget 1 2: snapshot 3's dump files
# build on forgotten versions, so the prune rebases them, and --max-unused 0% rewrites every
# partly used pack. One uninterrupted prune counts its destination operations (T, with
# STRATA_FAULT_BACKEND=count); from a copy of the destination before it, the prune kills itself
# with SIGKILL before its operation T*k/11 for k = 1..10 (STRATA_FAULT_BACKEND=N:KILL: points
# spread over reading, writing and syncing new packs, the commit and the deletion of old ones,
# whatever the machine's load), and before each of its last two operations (the deletion of old
# packs after the commit). After each kill:
#   - snapshots still list 3 and 4;
#   - check --read-data is clean, and snapshots 3 and 4 restore to the trees they were taken
#     of (and 4 to its rows);
#   - prune run again completes, leaves no pack file the catalog does not name, and check
#     --read-data is clean.
# Then, with a prune stopped (SIGSTOP) while it holds the lock: a backup fails at once (exit 4,
# one line naming the holder), a backup with --wait=1 gives up after a second (exit 4), and a
# backup with --wait waits, completes once the prune is let go (SIGCONT), and restores.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

DSN=$(new_db prune_kill9)
SRC=$(new_tmp)
WORK=$(new_tmp)
SUMS=$(new_tmp)
BASE=$WORK/base
POINTS=10

sql() { psql -X -At -v ON_ERROR_STOP=1 -d "$DSN" -c "$1"; }
catalog_packs() { sqlite3 "$1/catalog.db" "SELECT name FROM packs ORDER BY name" | tr '\n' ' '; }
pack_files() { (cd "$1/packs" && ls | sort | tr '\n' ' '); }
listed_ids() {
  assert_exit 0 "snapshots --json" -- "$STRATA" snapshots --dest "$1" --json
  python3 -c 'import json, sys
print(" ".join(str(s["id"]) for s in json.loads(sys.argv[1])["snapshots"]))' "$LAST_STDOUT"
}
restores_files() {
  local dest=$1 id=$2 what=$3
  rm -rf "$WORK/r"
  assert_exit 0 "$what: restore snapshot $id" -- "$STRATA" restore --dest "$dest" --snapshot "$id" \
    --to-repository "$WORK/r"
  tree_listing "$WORK/r" >"$WORK/listing"
  diff "$SUMS/tree.$id" "$WORK/listing" >"$WORK/treediff" ||
    fail "$what: snapshot $id restores to another tree: $(head -c 2000 "$WORK/treediff")"
  rm -rf "$WORK/r"
}

note "four backups, then forget 1 2"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 200 --size-scale 2 --quiet >/dev/null
sql "INSERT INTO db_dbnode (uuid, node_type, process_type, label, description, ctime, mtime, attributes, extras, user_id)
     SELECT gen_random_uuid(), 'data.core.dict.Dict.', NULL, 'bulk ' || g, 'row ' || md5(g::text), now(), now(),
            jsonb_build_object('a', md5(g::text), 'n', g), '{}'::jsonb, (SELECT min(id) FROM db_dbuser)
     FROM generate_series(1, 12000) g" >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$BASE"
for n in 1 2 3 4; do
  if ((n > 1)); then
    remove_nodes "$DSN" "$SRC" "id % 5 = $n"
    "$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 50 --size-scale 4 --mode add --seed "$n" --quiet >/dev/null
    sql "UPDATE db_dbnode SET label = label || 'x' WHERE node_type LIKE 'data.core.dict.%' AND id % 100 = $n" >/dev/null
  fi
  assert_exit 0 "backup #$n" -- "$STRATA" backup --dest "$BASE" --dsn "$DSN" --repository "$SRC"
  tree_listing "$SRC" >"$SUMS/tree.$n"
done
db_checksums "$DSN" >"$SUMS/db.4"
assert_exit 0 "forget 1 2" -- "$STRATA" forget --dest "$BASE" 1 2
rebase=$(sqlite3 "$BASE/catalog.db" "SELECT count(*) FROM dump_files WHERE snapshot_id = 3 AND storage <> 0")
((rebase > 0)) || fail "snapshot 3 has no delta to rebase"

prune_cmd=(prune --max-unused 0% --json)

note "counting the operations of one uninterrupted prune"
cp -a "$BASE" "$WORK/dest"
count_backend_ops "$STRATA" "${prune_cmd[@]}" --dest "$WORK/dest"
note "the prune makes $BACKEND_OPS destination operations: $LAST_STDOUT"
(($(json_get "$LAST_STDOUT" packs_rewritten) > 0)) || fail "the prune rewrote no pack"
assert_eq "$rebase" "$(json_get "$LAST_STDOUT" dump_files_rebased)" "the prune rebased snapshot 3's deltas"

mapfile -t points < <(kill_points "$BACKEND_OPS" "$POINTS")
for ((k = 1; k <= ${#points[@]}; k++)); do
  rm -rf "$WORK/dest"
  cp -a "$BASE" "$WORK/dest"
  at=${points[k - 1]}
  run_self_killed "$at" "$STRATA" "${prune_cmd[@]}" --dest "$WORK/dest"
  assert_eq 137 "$KILLED_STATUS" "point $k: the prune killed itself before operation $at"
  note "point $k: killed before operation $at of $BACKEND_OPS"
  assert_eq "3 4" "$(listed_ids "$WORK/dest")" "point $k: snapshots after the kill"
  assert_exit 0 "point $k: check --read-data after the kill" -- "$STRATA" check --dest "$WORK/dest" --read-data
  restores_files "$WORK/dest" 3 "point $k"
  restores_files "$WORK/dest" 4 "point $k"
  target=$(new_db2 "prune_kill9_$k")
  assert_exit 0 "point $k: restore database of snapshot 4" -- "$STRATA" restore --dest "$WORK/dest" --snapshot 4 \
    --to-dsn "$target"
  diff "$SUMS/db.4" <(db_checksums "$target") >"$WORK/dbdiff" ||
    fail "point $k: snapshot 4 restores to other rows: $(head -c 2000 "$WORK/dbdiff")"
  assert_exit 0 "point $k: prune again" -- "$STRATA" "${prune_cmd[@]}" --dest "$WORK/dest"
  assert_eq "$(catalog_packs "$WORK/dest")" "$(pack_files "$WORK/dest")" "point $k: pack files after the second prune"
  assert_exit 0 "point $k: check --read-data after the second prune" -- "$STRATA" check --dest "$WORK/dest" --read-data
  restores_files "$WORK/dest" 3 "point $k, after the second prune"
done

note "a backup while a prune runs"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 20 --mode add --seed 9 --quiet >/dev/null
tree_listing "$SRC" >"$SUMS/tree.5"
caught=0
for ((try = 1; try <= 30 && caught == 0; try++)); do
  rm -rf "$WORK/dest"
  cp -a "$BASE" "$WORK/dest"
  "$STRATA" "${prune_cmd[@]}" --dest "$WORK/dest" >"$WORK/prune.out" 2>"$WORK/prune.err" &
  prune_pid=$!
  on_exit "kill -9 $prune_pid 2>/dev/null || true"
  while kill -0 "$prune_pid" 2>/dev/null; do
    if flock_is_held "$WORK/dest/lock"; then
      kill -STOP "$prune_pid"
      caught=1
      break
    fi
  done
  ((caught == 1)) || wait "$prune_pid" || true
done
((caught == 1)) || fail "never caught a prune holding the lock in 30 tries"
assert_exit 4 "backup while prune holds the lock" -- "$STRATA" backup --dest "$WORK/dest" --dsn "$DSN" \
  --repository "$SRC"
assert_one_error "backup while prune runs"
assert_contains "$LAST_STDERR" "pid $prune_pid" "the error names the prune"
assert_exit 4 "backup --wait=1 while prune holds the lock" -- "$STRATA" backup --dest "$WORK/dest" --dsn "$DSN" \
  --repository "$SRC" --wait=1
"$STRATA" backup --dest "$WORK/dest" --dsn "$DSN" --repository "$SRC" --wait --json >"$WORK/backup.out" \
  2>"$WORK/backup.err" &
backup_pid=$!
on_exit "kill -9 $backup_pid 2>/dev/null || true"
sleep 0.5
kill -0 "$backup_pid" 2>/dev/null || fail "backup --wait did not wait: $(cat "$WORK/backup.err")"
kill -CONT "$prune_pid"
wait "$prune_pid" || fail "the prune failed after SIGCONT: $(cat "$WORK/prune.err")"
wait "$backup_pid" || fail "backup --wait failed: $(cat "$WORK/backup.err")"
assert_eq 5 "$(json_get "$(cat "$WORK/backup.out")" id)" "the waiting backup's snapshot"
assert_eq "3 4 5" "$(listed_ids "$WORK/dest")" "snapshots after prune and the waiting backup"
assert_exit 0 "check --read-data after both" -- "$STRATA" check --dest "$WORK/dest" --read-data
restores_files "$WORK/dest" 5 "the waiting backup"
restores_files "$WORK/dest" 3 "after prune and the waiting backup"
note "ok"
