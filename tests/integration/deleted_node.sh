#!/usr/bin/env bash
# deleted_node: 5 nodes with folders are deleted from db_dbnode (and their folders removed)
# after a backup. The next backup marks exactly 5 nodes deleted and reads nothing; its restore
# lacks the 5 folders and equals the source; snapshot 1 still restores them byte-identical
# (with modes and mtimes) to a copy taken before the deletion.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db deleted_node)
SRC=$(new_tmp)
SAVED=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)

sql() {
  psql -X -At -v ON_ERROR_STOP=1 -d "$DSN" -c "$1"
}

note "generating 200 nodes"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 200 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "first backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 200 "$(json_get "$LAST_STDOUT" nodes)" "first backup: nodes"
assert_exit 0 "snapshots before" -- "$STRATA" snapshots --dest "$DEST" --json
snap1_before=$(json_get "$LAST_STDOUT" snapshots.0)

# Five nodes with non-empty folders, spread over the id range.
ids=()
rels=()
while IFS='|' read -r id uuid; do
  rel=repository/node/${uuid:0:2}/${uuid:2:2}/${uuid:4}
  if [[ -d $SRC/$rel ]] && (($(find "$SRC/$rel" -type f -printf . | wc -c) > 0)); then
    ids+=("$id")
    rels+=("$rel")
  fi
  ((${#ids[@]} < 5)) || break
done < <(sql 'SELECT id, uuid FROM db_dbnode WHERE id % 17 = 3 ORDER BY id')
assert_eq 5 "${#ids[@]}" "nodes chosen for deletion"
idlist=$(IFS=,; echo "${ids[*]}")
note "deleting nodes $idlist"

for i in "${!rels[@]}"; do
  mkdir -p "$SAVED/$i"
  cp -a "$SRC/${rels[$i]}" "$SAVED/$i/node"
done
delete_nodes "$DSN" "$idlist"
# As AiiDA would, also drop the shard directories left empty (restore does not create them).
for rel in "${rels[@]}"; do
  rm -rf "${SRC:?}/$rel"
  rmdir --ignore-fail-on-non-empty "$SRC/${rel%/*}"
  rmdir --ignore-fail-on-non-empty "$SRC/${rel%/*/*}" 2>/dev/null || true
done

assert_exit 0 "second backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
second=$LAST_STDOUT
assert_eq 5 "$(json_get "$second" deleted_nodes)" "second backup: deleted_nodes"
assert_eq 0 "$(json_get "$second" new_nodes)" "second backup: new_nodes"
assert_eq 0 "$(json_get "$second" read_files)" "second backup: read_files"
assert_eq 195 "$(json_get "$second" nodes)" "second backup: nodes"
assert_eq "$(find "$SRC/repository/node" -type f -printf . | wc -c)" "$(json_get "$second" files)" \
  "second backup: files"

assert_exit 0 "snapshots after" -- "$STRATA" snapshots --dest "$DEST" --json
snaps=$LAST_STDOUT
assert_eq "$snap1_before" "$(json_get "$snaps" snapshots.0)" "snapshot 1 unchanged by the second backup"
assert_eq 5 "$(json_get "$snaps" snapshots.1.deleted_nodes)" "snapshot 2 deleted_nodes"
assert_eq 195 "$(json_get "$snaps" snapshots.1.nodes)" "snapshot 2 nodes"

assert_exit 0 "restore latest" -- "$STRATA" restore --dest "$DEST" --to-repository "$OUT/latest"
for rel in "${rels[@]}"; do
  [[ ! -e $OUT/latest/$rel ]] || fail "restore latest has the deleted node folder $rel"
done
assert_same_repo "$SRC" "$OUT/latest" "restore latest vs source"

assert_exit 0 "restore --snapshot 1" -- "$STRATA" restore --dest "$DEST" --snapshot 1 \
  --to-repository "$OUT/first"
for i in "${!rels[@]}"; do
  [[ -d $OUT/first/${rels[$i]} ]] || fail "restore --snapshot 1 lacks ${rels[$i]}"
  assert_same_tree "$SAVED/$i/node" "$OUT/first/${rels[$i]}" "snapshot 1's copy of ${rels[$i]}"
done

# A third backup after deletion neither deletes nor adds anything more.
assert_exit 0 "third backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 0 "$(json_get "$LAST_STDOUT" deleted_nodes)" "third backup: deleted_nodes"
assert_eq 0 "$(json_get "$LAST_STDOUT" new_nodes)" "third backup: new_nodes"
assert_eq 195 "$(json_get "$LAST_STDOUT" nodes)" "third backup: nodes"

assert_exit 0 "check --read-data" -- "$STRATA" check --dest "$DEST" --read-data
note "ok"
