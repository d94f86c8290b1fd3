#!/usr/bin/env bash
# node_folder_change: an AiiDA 1.x node that is not sealed yet gets files in its folder after a
# backup stored it; the next backup finds the node by its moved mtime, compares the folder's
# listing (paths, sizes, mtimes) with the one held and reads the node again, so that:
#   - backup 2 rechecks exactly that node, reads every file of its folder, adds no node, and the
#     snapshot's totals follow (one file more);
#   - restoring snapshot 2 gives the source as it is; restoring snapshot 1 still gives the node's
#     folder as it was at backup 1; diff 1 2 names that node alone as changed;
#   - an mtime bumped with no change of the folder (extras) reads nothing and stores nothing;
#   - a node whose file vanishes while its new version is read is left for the next run (exit
#     11, test hook STRATA_FAULT_VANISH): its held version ends in that snapshot and the next
#     backup reads it again.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db node_folder_change)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)

sql() {
  psql -X -At -v ON_ERROR_STOP=1 -d "$DSN" -c "$1"
}

backup() {
  assert_exit "$1" "$2" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
}

note "generating 60 nodes; node N (with files) is a CalcJob that is not sealed"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 60 --quiet >/dev/null
nuuid=
while IFS='|' read -r id uuid; do
  dir=$SRC/repository/node/${uuid:0:2}/${uuid:2:2}/${uuid:4}/path
  if [[ -d $dir ]] && (($(find "$dir" -type f | wc -l) >= 2)); then
    nid=$id nuuid=$uuid ndir=$dir
    break
  fi
done < <(sql "SELECT id, uuid FROM db_dbnode ORDER BY id")
[[ -n $nuuid ]] || fail "no node with two files or more"
rel=${ndir#"$SRC/"}
sql "UPDATE db_dbnode SET attributes = coalesce(attributes, '{}') || '{\"sealed\": false}' WHERE id = $nid" >/dev/null

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
backup 0 "backup 1"
first=$LAST_STDOUT
cp -a "$ndir" "$OUT/node-at-1"

note "a file of node N grows, one is added, the mtime is bumped"
victim=$(find "$ndir" -type f | sort | head -n 1)
printf 'more output\n' >>"$victim"
printf 'retrieved later\n' >"$ndir/_retrieved_later.txt"
sql "UPDATE db_dbnode SET mtime = now() WHERE id = $nid" >/dev/null
node_files=$(find "$ndir" -type f | wc -l)
backup 0 "backup 2"
second=$LAST_STDOUT
assert_eq 1 "$(json_get "$second" rechecked_nodes)" "backup 2: rechecked_nodes"
assert_eq 1 "$(json_get "$second" changed_nodes)" "backup 2: changed_nodes"
assert_eq 0 "$(json_get "$second" new_nodes)" "backup 2: new_nodes"
assert_eq "$node_files" "$(json_get "$second" read_files)" "backup 2: read_files (node N's folder)"
assert_eq "$(json_get "$first" nodes)" "$(json_get "$second" nodes)" "backup 2: nodes"
assert_eq $(($(json_get "$first" files) + 1)) "$(json_get "$second" files)" "backup 2: files"

note "snapshot 2 restores the source; snapshot 1 the node as it was"
assert_exit 0 "restore snapshot 2" -- "$STRATA" restore --dest "$DEST" --snapshot 2 --to-repository "$OUT/r2"
assert_same_repo "$SRC" "$OUT/r2" "snapshot 2 vs source"
assert_exit 0 "restore snapshot 1" -- "$STRATA" restore --dest "$DEST" --snapshot 1 --to-repository "$OUT/r1"
assert_same_tree "$OUT/node-at-1" "$OUT/r1/$rel" "snapshot 1: node N as at backup 1"
[[ ! -e $OUT/r1/$rel/_retrieved_later.txt ]] || fail "snapshot 1 holds the file added after it"

assert_exit 0 "diff 1 2" -- "$STRATA" diff --dest "$DEST" 1 2 --json
assert_eq 1 "$(json_get "$LAST_STDOUT" changed_nodes)" "diff 1 2: changed_nodes"
assert_eq "$nuuid" "$(json_get "$LAST_STDOUT" nodes.0.uuid)" "diff 1 2: the node changed"

note "an mtime bumped without a change of the folder: compared, nothing read"
sql "UPDATE db_dbnode SET extras = coalesce(extras, '{}') || '{\"tag\": 1}', mtime = now() WHERE id = $nid" >/dev/null
backup 0 "backup 3"
assert_eq 1 "$(json_get "$LAST_STDOUT" rechecked_nodes)" "extras: rechecked_nodes"
assert_eq 1 "$(json_get "$LAST_STDOUT" unchanged_nodes)" "extras: unchanged_nodes"
assert_eq 0 "$(json_get "$LAST_STDOUT" read_files)" "extras: read_files"
assert_eq 0 "$(json_get "$LAST_STDOUT" new_objects)" "extras: new_objects"

note "node N changes again and a file of it vanishes while backup 4 reads it: left, its held version ended"
printf 'still running\n' >>"$victim"
sql "UPDATE db_dbnode SET mtime = now() WHERE id = $nid" >/dev/null
STRATA_FAULT_VANISH="$nuuid/${victim#"${ndir%/path}/"}" backup 11 "backup 4 (a file vanishes while read)"
[[ ! -e $victim ]] || fail "the hook did not delete $victim"
fourth=$LAST_STDOUT
assert_eq 1 "$(json_get "$fourth" left_nodes)" "backup 4: left_nodes"
assert_eq 1 "$(json_get "$fourth" withdrawn_nodes)" "backup 4: withdrawn_nodes"
assert_eq $(($(json_get "$second" nodes) - 1)) "$(json_get "$fourth" nodes)" "backup 4: nodes (N is not in it)"
backup 0 "backup 5"
assert_eq 1 "$(json_get "$LAST_STDOUT" new_nodes)" "backup 5: node N read again (reconciliation)"
assert_exit 0 "restore snapshot 5" -- "$STRATA" restore --dest "$DEST" --to-repository "$OUT/r5"
assert_same_repo "$SRC" "$OUT/r5" "snapshot 5 vs source"
note "ok"
