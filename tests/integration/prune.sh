#!/usr/bin/env bash
# prune: five backups (files and a database with 12000 extra rows, 1% of them changed each
# time, so that dump files are stored as delta chains), nodes added and deleted between them.
#   - prune with nothing forgotten removes nothing and frees nothing;
#   - forget --keep-last 1 --prune --dry-run changes nothing (catalog and pack files) and
#     predicts what the real run then removes and frees;
#   - forget --keep-last 1 --prune: only snapshot 5 is listed, its dump files are full copies
#     (their bases were forgotten), no node version that only forgotten snapshots saw stays, pack
#     files are exactly the catalog's packs, the packs take less space, check --read-data is
#     clean, snapshot 5 restores to the same tree and rows as before; a backup after it is
#     incremental and restores; a second prune finds nothing;
#   - a dump delta chain cut in the middle (forget 2 of 1-5): snapshot 3 is rebased to full
#     copies, 4 and 5 keep their deltas (chain lengths recomputed), 1, 3, 4, 5 restore to their
#     rows and trees, and node versions seen only by snapshot 2 go;
#   - --max-unused 0% rewrites every partly used pack: nothing unused stays, all restores;
#   - usage errors; prune while another run holds the lock (exit 4; --dry-run still works);
#   - the destination failing its Nth operation (ENOSPC, EIO) at 30 points spread over a
#     prune: one-line error (exit 10 or 3), the catalog byte-identical to before (or, for a fault
#     in the deletion of the old packs after the commit, a warning and exit 11), check clean,
#     the kept snapshot restores; prune without the fault then completes with no pack left over.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

DSN=$(new_db prune)
SRC=$(new_tmp)
WORK=$(new_tmp)
DEST=$WORK/dest
SUMS=$(new_tmp)

sql() { psql -X -At -v ON_ERROR_STOP=1 -d "$DSN" -c "$1"; }

catalog_digest() { sqlite3 "$1/catalog.db" .dump | md5sum | cut -d' ' -f1; }
pack_files() { (cd "$1/packs" && ls | sort | tr '\n' ' '); }
catalog_packs() { sqlite3 "$1/catalog.db" "SELECT name FROM packs ORDER BY name" | tr '\n' ' '; }
packs_bytes() { du -sb "$1/packs" | cut -f1; }
assert_no_stray_packs() {
  assert_eq "$(catalog_packs "$1")" "$(pack_files "$1")" "$2: pack files are the catalog's packs"
}
listed_ids() {
  assert_exit 0 "snapshots --json" -- "$STRATA" snapshots --dest "$1" --json
  python3 -c 'import json, sys
print(" ".join(str(s["id"]) for s in json.loads(sys.argv[1])["snapshots"]))' "$LAST_STDOUT"
}
deltas() {
  sqlite3 "$1/catalog.db" "SELECT group_concat(snapshot_id || '<' || base_snapshot, ' ') FROM
    (SELECT DISTINCT snapshot_id, base_snapshot FROM dump_files WHERE storage <> 0 ORDER BY snapshot_id)"
}
# restores_as DEST ID WHAT — snapshot ID of DEST restores to the tree and rows it had at backup.
restores_as() {
  local dest=$1 id=$2 what=$3 out target
  out=$(new_tmp)
  assert_exit 0 "$what: restore files of snapshot $id" -- "$STRATA" restore --dest "$dest" --snapshot "$id" \
    --to-repository "$out/r"
  tree_listing "$out/r" >"$out/listing"
  diff "$SUMS/tree.$id" "$out/listing" >"$out/treediff" ||
    fail "$what: snapshot $id restores to another tree than was backed up: $(head -c 2000 "$out/treediff")"
  target=$(new_db2 "prune_r")
  assert_exit 0 "$what: restore database of snapshot $id" -- "$STRATA" restore --dest "$dest" --snapshot "$id" \
    --to-dsn "$target"
  diff "$SUMS/db.$id" <(db_checksums "$target") >"$out/dbdiff" ||
    fail "$what: snapshot $id restores to other rows than were backed up: $(head -c 2000 "$out/dbdiff")"
  rm -rf "$out"
}

note "five backups: nodes added and deleted, 1% of 12000 bulk rows changed between them"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 60 --size-scale 0.5 --quiet >/dev/null
sql "INSERT INTO db_dbnode (uuid, node_type, process_type, label, description, ctime, mtime, attributes, extras, user_id)
     SELECT gen_random_uuid(), 'data.core.dict.Dict.', NULL, 'bulk ' || g, 'row ' || md5(g::text), now(), now(),
            jsonb_build_object('a', md5(g::text), 'b', md5((g * 7)::text), 'n', g), '{}'::jsonb,
            (SELECT min(id) FROM db_dbuser)
     FROM generate_series(1, 12000) g" >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
for n in 1 2 3 4 5; do
  if ((n > 1)); then
    # only nodes the last backup saw are deleted: one made and deleted in between changes its
    # shard folder's mtime where no backup can see it
    remove_nodes "$DSN" "$SRC" "id % 9 = $n"
    "$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 15 --size-scale 0.5 --mode add --seed "$n" --quiet >/dev/null
    sql "UPDATE db_dbnode SET label = label || 'x' WHERE node_type LIKE 'data.core.dict.%' AND id % 100 = $n" >/dev/null
  fi
  assert_exit 0 "backup #$n" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
  assert_eq "$n" "$(json_get "$LAST_STDOUT" id)" "backup #$n: id"
  tree_listing "$SRC" >"$SUMS/tree.$n"
  db_checksums "$DSN" >"$SUMS/db.$n"
done
assert_eq "2<1 3<2 4<3 5<4" "$(deltas "$DEST")" "delta chains of the five backups"
cp -a "$DEST" "$WORK/dest5"
restores_as "$DEST" 5 "before prune"

note "prune with nothing forgotten"
assert_exit 0 "prune (nothing forgotten)" -- "$STRATA" prune --dest "$DEST" --json
for key in packs_deleted packs_rewritten objects_removed node_versions_removed dump_files_removed \
  dump_files_rebased freed_bytes; do
  assert_eq 0 "$(json_get "$LAST_STDOUT" "$key")" "prune with nothing forgotten: $key"
done
assert_eq "1 2 3 4 5" "$(listed_ids "$DEST")" "snapshots after a prune that had nothing to do"

note "forget --keep-last 1 --prune --dry-run"
digest=$(catalog_digest "$DEST")
packs=$(pack_files "$DEST")
assert_exit 0 "forget --keep-last 1 --prune --dry-run" -- "$STRATA" forget --dest "$DEST" --keep-last 1 --prune \
  --dry-run --json
dry=$LAST_STDOUT
assert_eq true "$(json_get "$dry" prune.dry_run)" "dry run: prune.dry_run"
assert_eq "$digest" "$(catalog_digest "$DEST")" "dry run: the catalog is unchanged"
assert_eq "$packs" "$(pack_files "$DEST")" "dry run: the pack files are unchanged"
assert_exit 0 "prune --dry-run, human output" -- "$STRATA" prune --dest "$DEST" --dry-run
assert_contains "$LAST_STDOUT" "would free 0 B" "prune --dry-run with nothing forgotten"

note "forget --keep-last 1 --prune"
before_bytes=$(packs_bytes "$DEST")
assert_exit 0 "forget --keep-last 1 --prune" -- "$STRATA" forget --dest "$DEST" --keep-last 1 --prune --json
real=$LAST_STDOUT
assert_eq "5" "$(listed_ids "$DEST")" "snapshots after forget --keep-last 1 --prune"
for key in packs_deleted packs_rewritten objects_removed node_versions_removed entries_removed dump_files_removed \
  dump_files_rebased freed_bytes; do
  assert_eq "$(json_get "$dry" "prune.$key")" "$(json_get "$real" "prune.$key")" "the dry run predicted $key"
done
(($(json_get "$real" prune.node_versions_removed) > 0)) || fail "no node version removed: $real"
(($(json_get "$real" prune.dump_files_rebased) > 0)) || fail "no dump file rebased: $real"
(($(json_get "$real" prune.freed_bytes) > 0)) || fail "nothing freed: $real"
after_bytes=$(packs_bytes "$DEST")
((after_bytes < before_bytes)) || fail "the packs take $after_bytes bytes after prune, $before_bytes before"
assert_eq "" "$(deltas "$DEST")" "snapshot 5's dump files are full copies now"
assert_eq 0 "$(sqlite3 "$DEST/catalog.db" "SELECT count(*) FROM node_versions WHERE deleted_in IS NOT NULL")" \
  "node versions that only forgotten snapshots saw"
assert_eq 0 "$(sqlite3 "$DEST/catalog.db" "SELECT count(*) FROM dump_files WHERE snapshot_id != 5")" \
  "dump files of forgotten snapshots"
assert_no_stray_packs "$DEST" "after prune"
assert_exit 0 "check --read-data after prune" -- "$STRATA" check --dest "$DEST" --read-data
restores_as "$DEST" 5 "after prune"

note "a backup after prune, and a second prune"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 10 --size-scale 0.5 --mode add --seed 6 --quiet >/dev/null
assert_exit 0 "backup #6" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 10 "$(json_get "$LAST_STDOUT" new_nodes)" "backup after prune: new nodes"
tree_listing "$SRC" >"$SUMS/tree.6"
db_checksums "$DSN" >"$SUMS/db.6"
assert_eq "6<5" "$(deltas "$DEST")" "the backup after prune deltas against snapshot 5"
restores_as "$DEST" 6 "backup after prune"
assert_exit 0 "a second prune" -- "$STRATA" prune --dest "$DEST" --json
for key in packs_deleted objects_removed node_versions_removed dump_files_rebased freed_bytes; do
  assert_eq 0 "$(json_get "$LAST_STDOUT" "$key")" "a second prune: $key"
done

note "a dump delta chain cut in the middle: forget 2 of 1-5"
CUT=$WORK/cut
cp -a "$WORK/dest5" "$CUT"
rebased=$(sqlite3 "$CUT/catalog.db" "SELECT count(*) FROM dump_files WHERE snapshot_id = 3 AND storage <> 0")
assert_exit 0 "forget 2 --prune" -- "$STRATA" forget --dest "$CUT" 2 --prune --json
assert_eq "$rebased" "$(json_get "$LAST_STDOUT" prune.dump_files_rebased)" "rebased: snapshot 3's deltas"
(($(json_get "$LAST_STDOUT" prune.node_versions_removed) > 0)) || fail "no version of snapshot 2 alone removed"
assert_eq "4<3 5<4" "$(deltas "$CUT")" "chains after the cut"
assert_eq 1 "$(sqlite3 "$CUT/catalog.db" "SELECT max(chain_length) FROM dump_files WHERE snapshot_id = 4")" \
  "chain length of snapshot 4's deltas"
assert_eq 0 "$(sqlite3 "$CUT/catalog.db" "SELECT count(*) FROM node_versions v WHERE v.added_in = 2
  AND v.deleted_in = 3")" "versions seen by snapshot 2 alone"
assert_no_stray_packs "$CUT" "after the cut"
assert_exit 0 "check --read-data after the cut" -- "$STRATA" check --dest "$CUT" --read-data
for id in 1 3 4 5; do restores_as "$CUT" "$id" "after the cut"; done

note "--max-unused 0%"
ZERO=$WORK/zero
cp -a "$WORK/dest5" "$ZERO"
assert_exit 0 "forget 1 3" -- "$STRATA" forget --dest "$ZERO" 1 3
assert_exit 0 "prune --max-unused 0%" -- "$STRATA" prune --dest "$ZERO" --max-unused 0% --json
assert_eq 0 "$(json_get "$LAST_STDOUT" unused_bytes_after)" "--max-unused 0%: unused bytes left"
(($(json_get "$LAST_STDOUT" packs_rewritten) > 0)) || fail "--max-unused 0% rewrote no pack: $LAST_STDOUT"
(($(json_get "$LAST_STDOUT" objects_repacked) > 0)) || fail "--max-unused 0% copied no object: $LAST_STDOUT"
assert_no_stray_packs "$ZERO" "after --max-unused 0%"
assert_exit 0 "check --read-data after --max-unused 0%" -- "$STRATA" check --dest "$ZERO" --read-data
for id in 2 4 5; do restores_as "$ZERO" "$id" "after --max-unused 0%"; done

note "usage errors and the lock"
assert_exit 2 "prune --max-unused 101%" -- "$STRATA" prune --dest "$ZERO" --max-unused 101%
assert_exit 2 "prune --max-unused x" -- "$STRATA" prune --dest "$ZERO" --max-unused x
assert_exit 2 "prune with an argument" -- "$STRATA" prune --dest "$ZERO" 3
assert_exit 2 "forget --max-unused without --prune" -- "$STRATA" forget --dest "$ZERO" 2 --max-unused 5%
assert_exit 3 "prune of a folder that is no destination" -- "$STRATA" prune --dest "$WORK/none"
hold_flock "$ZERO/lock"
assert_exit 4 "prune while another run holds the lock" -- "$STRATA" prune --dest "$ZERO"
assert_one_error "prune while locked"
assert_exit 0 "prune --dry-run while another run holds the lock" -- "$STRATA" prune --dest "$ZERO" --dry-run
release_flock

note "the destination failing its Nth operation during a prune"
FAULTS=$WORK/faults
cp -a "$WORK/dest5" "$FAULTS"
assert_exit 0 "forget 1 2 3 (the fault run's start)" -- "$STRATA" forget --dest "$FAULTS" 1 2 3
# The smallest N at which a prune no longer meets its fault: the number of its operations + 1.
probe() {
  rm -rf "$WORK/probe"
  cp -a "$FAULTS" "$WORK/probe"
  STRATA_FAULT_BACKEND="$1:EIO" "$STRATA" prune --dest "$WORK/probe" --max-unused 0% >/dev/null 2>&1
}
low=1 high=1
while ! probe "$high"; do
  low=$high
  high=$((high * 2))
  ((high < 1000000)) || fail "prune never completes under the fault wrapper"
done
while ((high - low > 1)); do
  mid=$(((low + high) / 2))
  if probe "$mid"; then high=$mid; else low=$mid; fi
done
ops=$((high - 1))
note "a prune of this destination takes $ops backend operations"
((ops >= 10)) || fail "prune takes only $ops operations"
digest=$(catalog_digest "$FAULTS")
after_commit=0
for ((k = 0; k < 30; k++)); do
  n=$((1 + k * (ops - 1) / 29))
  err=ENOSPC expected=10
  if ((k % 2 == 1)); then err=EIO expected=3; fi
  rm -rf "$WORK/f"
  cp -a "$FAULTS" "$WORK/f"
  status=0
  STRATA_FAULT_BACKEND="$n:$err" "$STRATA" prune --dest "$WORK/f" --max-unused 0% >"$WORK/f.out" 2>"$WORK/f.err" ||
    status=$?
  LAST_STDERR=$(cat "$WORK/f.err")
  if ((status == 11)); then
    # after the commit: only the deletion of the old packs failed, which the next prune finishes
    assert_contains "$LAST_STDERR" "prune is done, but not every old pack could be deleted" \
      "operation $n failing with $err after the commit"
    [[ $(catalog_digest "$WORK/f") != "$digest" ]] || fail "operation $n: a warning, but nothing committed"
    after_commit=$((after_commit + 1))
  else
    assert_one_error "operation $n of $ops failing with $err"
    assert_eq "$expected" "$status" "operation $n failing with $err: exit code ($LAST_STDERR)"
    assert_eq "$digest" "$(catalog_digest "$WORK/f")" "operation $n failing with $err: the catalog is as it was"
  fi
  assert_exit 0 "operation $n: check --read-data" -- "$STRATA" check --dest "$WORK/f" --read-data
  assert_exit 0 "operation $n: restore snapshot 5" -- "$STRATA" restore --dest "$WORK/f" --snapshot 5 \
    --to-repository "$WORK/f/r5"
  assert_eq "$(cat "$SUMS/tree.5")" "$(tree_listing "$WORK/f/r5")" "operation $n: files of snapshot 5"
  rm -rf "$WORK/f/r5"
  assert_exit 0 "operation $n: prune without the fault" -- "$STRATA" prune --dest "$WORK/f" --max-unused 0%
  assert_no_stray_packs "$WORK/f" "operation $n: prune without the fault"
done
((after_commit < 30)) || fail "every fault fell after the commit"
restores_as "$WORK/f" 5 "after the fault runs"
note "ok"
