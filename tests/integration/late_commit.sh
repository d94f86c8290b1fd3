#!/usr/bin/env bash
# late_commit: a transaction that commits late can add a node whose id is below the catalog's
# watermark and whose ctime is old (outside the overlap window). Simulated by hiding one node
# (row deleted, folder moved aside) during the first backup, then putting back the same row with
# its original id and ctime and its folder. The next plain backup must notice (reconciled=true)
# and add exactly that node; the restore equals the source.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db late_commit)
SRC=$(new_tmp)
ASIDE=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)

sql() {
  psql -X -At -v ON_ERROR_STOP=1 -d "$DSN" -c "$1"
}

note "generating 200 nodes"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 200 --quiet >/dev/null
max_id=$(sql 'SELECT max(id) FROM db_dbnode')

# A node in the middle of the id range, with a folder holding files, created days ago.
hidden_id=
while IFS='|' read -r id uuid; do
  dir=$SRC/repository/node/${uuid:0:2}/${uuid:2:2}/${uuid:4}
  if [[ -d $dir ]] && (($(find "$dir" -type f -printf . | wc -c) > 0)); then
    hidden_id=$id
    hidden_uuid=$uuid
    break
  fi
done < <(sql "SELECT id, uuid FROM db_dbnode
              WHERE id BETWEEN 50 AND $max_id - 50 AND ctime < now() - interval '2 days'
              ORDER BY id")
[[ -n $hidden_id ]] || fail "no suitable node to hide"
hidden_rel=repository/node/${hidden_uuid:0:2}/${hidden_uuid:2:2}/${hidden_uuid:4}
hidden_files=$(find "$SRC/$hidden_rel" -type f -printf . | wc -c)
note "hiding node $hidden_id ($hidden_uuid, $hidden_files files)"

sql "BEGIN;
     CREATE TABLE late_node AS SELECT * FROM db_dbnode WHERE id = $hidden_id;
     DELETE FROM db_dblink WHERE input_id = $hidden_id OR output_id = $hidden_id;
     DELETE FROM db_dbgroup_dbnodes WHERE dbnode_id = $hidden_id;
     DELETE FROM db_dblog WHERE dbnode_id = $hidden_id;
     DELETE FROM db_dbcomment WHERE dbnode_id = $hidden_id;
     DELETE FROM db_dbnode WHERE id = $hidden_id;
     COMMIT;" >/dev/null
mv "$SRC/$hidden_rel" "$ASIDE/node"

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "first backup (node hidden)" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
  --repository "$SRC" --json
first=$LAST_STDOUT
assert_eq 199 "$(json_get "$first" nodes)" "first backup: nodes"
assert_eq "$max_id" "$(sql 'SELECT max(id) FROM db_dbnode')" "max id unchanged by hiding"

note "the late transaction commits: node $hidden_id comes back"
sql "INSERT INTO db_dbnode SELECT * FROM late_node; DROP TABLE late_node;" >/dev/null
mv "$ASIDE/node" "$SRC/$hidden_rel"

assert_exit 0 "second backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
second=$LAST_STDOUT
assert_eq true "$(json_get "$second" reconciled)" "second backup: reconciled"
assert_eq 1 "$(json_get "$second" new_nodes)" "second backup: new_nodes"
assert_eq "$hidden_files" "$(json_get "$second" read_files)" "second backup: read_files"
assert_eq 200 "$(json_get "$second" nodes)" "second backup: nodes"

# Nothing left to reconcile afterwards.
assert_exit 0 "third backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 0 "$(json_get "$LAST_STDOUT" new_nodes)" "third backup: new_nodes"
assert_eq 0 "$(json_get "$LAST_STDOUT" read_files)" "third backup: read_files"

assert_exit 0 "restore latest" -- "$STRATA" restore --dest "$DEST" --to-repository "$OUT/latest"
assert_same_repo "$SRC" "$OUT/latest" "restore latest vs source"
assert_exit 0 "restore --snapshot 1" -- "$STRATA" restore --dest "$DEST" --snapshot 1 \
  --to-repository "$OUT/first"
[[ ! -e $OUT/first/$hidden_rel ]] || fail "snapshot 1 holds the node that was hidden at the time"
assert_exit 0 "check --read-data" -- "$STRATA" check --dest "$DEST" --read-data
note "ok"
