#!/usr/bin/env bash
# container_mtime: a node that is not sealed yet (a running CalcJob) still gets files after a
# backup stored it; the next backup reads it again because its mtime moved, so a restore of
# any snapshot never references an object its container lacks.
#   - backup 1 while node N is unsealed with one file;
#   - a file changed and one added (repository_metadata and loose objects, mtime bumped):
#     backup 2 rechecks exactly that node, reads its two files and stores a new version of it
#     (no new node, the totals follow);
#   - restore of snapshot 2 with its database: every key of every tree resolves in the restored
#     container to bytes with that sha256 (the fixture's check), the container check finds no
#     key missing, exit 0 (not 11), and N's files are the new ones;
#   - restore of snapshot 1: N has its old file, and its new objects are not in that container;
#   - an extras-only change (mtime bumped, no file changed): the node is compared and nothing
#     is read or stored;
#   - N sealed together with a last file: read again once more.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

FIXTURE="python3 $(dirname "$0")/container_fixture.py"
DSN=$(new_db container_mtime)
GEN=$(new_tmp)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)

sql() {
  psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# Sets node $1's files (PATH=TEXT arguments) in $SRC and the database, as AiiDA does.
set_files() {
  local id=$1
  shift
  $FIXTURE set-files "$SRC" "$id" "$@" | psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" >/dev/null
}

# Every key of every tree of database $1 resolves in the container under $2.
check_container() {
  psql -X -At -F $'\t' -d "$1" -c 'SELECT id, repository_metadata::text FROM db_dbnode ORDER BY id' |
    $FIXTURE check "$2" >/dev/null || fail "$3: the fixture finds a key the restored container lacks"
}

# The bytes of file $3 of node uuid $2 in the container under $1, as database $4 names it.
node_file() {
  local key
  key=$(sql "$4" "SELECT repository_metadata #>> '{o,$3,k}' FROM db_dbnode WHERE uuid = '$2'")
  [[ -n $key ]] || fail "node $2 has no file '$3' in the restored database"
  $FIXTURE cat "$1" "$key"
}

backup() {
  assert_exit 0 "$1" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
}

note "a profile of 30 nodes; node N is a CalcJob that is not sealed, with one file"
"$GENREPO" --dsn "$DSN" --root "$GEN" --nodes 30 --quiet >/dev/null
psql -X -At -F $'\t' -d "$DSN" -c 'SELECT id, uuid FROM db_dbnode ORDER BY id' |
  $FIXTURE make "$SRC" 7 | psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" >/dev/null
read -r nid nuuid < <(sql "$DSN" "SELECT id, uuid FROM db_dbnode ORDER BY id OFFSET 10 LIMIT 1" | tr '|' ' ')
sql "$DSN" "UPDATE db_dbnode SET attributes = coalesce(attributes, '{}') || '{\"sealed\": false}' WHERE id = $nid" >/dev/null
set_files "$nid" "aiida.out=first version of the output"
old_key=$(sql "$DSN" "SELECT repository_metadata #>> '{o,aiida.out,k}' FROM db_dbnode WHERE id = $nid")

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
backup "backup 1"
first=$LAST_STDOUT
assert_eq 30 "$(json_get "$first" new_nodes)" "backup 1: new_nodes"
assert_eq 0 "$(json_get "$first" rechecked_nodes)" "backup 1: rechecked_nodes"

note "no change: nothing is compared, read or stored"
backup "backup of an unchanged profile"
assert_eq 0 "$(json_get "$LAST_STDOUT" rechecked_nodes)" "no change: rechecked_nodes"
assert_eq 0 "$(json_get "$LAST_STDOUT" read_files)" "no change: read_files"

note "node N's output grows and a retrieved file is added (mtime bumped)"
set_files "$nid" "aiida.out=second version of the output, longer" "retrieved/extra.dat=a file retrieved later"
new_key=$(sql "$DSN" "SELECT repository_metadata #>> '{o,aiida.out,k}' FROM db_dbnode WHERE id = $nid")
[[ $new_key != "$old_key" ]] || fail "the fixture did not change the key"
backup "backup 3"
third=$LAST_STDOUT
assert_eq 1 "$(json_get "$third" rechecked_nodes)" "backup 3: rechecked_nodes (node N alone)"
assert_eq 1 "$(json_get "$third" changed_nodes)" "backup 3: changed_nodes"
assert_eq 0 "$(json_get "$third" unchanged_nodes)" "backup 3: unchanged_nodes"
assert_eq 0 "$(json_get "$third" new_nodes)" "backup 3: new_nodes (a new version is not a new node)"
assert_eq 2 "$(json_get "$third" read_files)" "backup 3: read_files (node N's two files)"
assert_eq 2 "$(json_get "$third" new_objects)" "backup 3: new_objects"
assert_eq "$(json_get "$first" nodes)" "$(json_get "$third" nodes)" "backup 3: nodes"
assert_eq $(($(json_get "$first" files) + 1)) "$(json_get "$third" files)" "backup 3: files (one more)"

note "restore of snapshot 3 with its database: every key resolves, no exit 11"
DSN3=$(new_db2 container_mtime_r3)
assert_exit 0 "restore of snapshot 3" -- "$STRATA" restore --dest "$DEST" --snapshot 3 \
  --to-repository "$OUT/r3" --to-dsn "$DSN3" --json
assert_eq 0 "$(json_get "$LAST_STDOUT" container_check.missing)" "snapshot 3: keys missing"
check_container "$DSN3" "$OUT/r3" "snapshot 3"
assert_eq "second version of the output, longer" "$(node_file "$OUT/r3" "$nuuid" aiida.out "$DSN3")" \
  "snapshot 3: node N's aiida.out"

note "restore of snapshot 1: node N has its old contents"
DSN1=$(new_db2 container_mtime_r1)
assert_exit 0 "restore of snapshot 1" -- "$STRATA" restore --dest "$DEST" --snapshot 1 \
  --to-repository "$OUT/r1" --to-dsn "$DSN1" --json
assert_eq 0 "$(json_get "$LAST_STDOUT" container_check.missing)" "snapshot 1: keys missing"
check_container "$DSN1" "$OUT/r1" "snapshot 1"
assert_eq "first version of the output" "$(node_file "$OUT/r1" "$nuuid" aiida.out "$DSN1")" \
  "snapshot 1: node N's aiida.out"
assert_eq "" "$(sql "$DSN1" "SELECT repository_metadata #>> '{o,retrieved}' FROM db_dbnode WHERE id = $nid")" \
  "snapshot 1: node N has no retrieved folder"
[[ ! -e $OUT/r1/container/loose/${new_key:0:2}/${new_key:2} ]] &&
  ! $FIXTURE packed-keys "$OUT/r1" | grep -qx "$new_key" || fail "snapshot 1's container holds node N's new object"

note "an extras-only change bumps the mtime: compared, nothing read or stored"
sql "$DSN" "UPDATE db_dbnode SET extras = coalesce(extras, '{}') || '{\"tag\": \"x\"}', mtime = now() WHERE id IN ($nid, $((nid + 1)))" >/dev/null
backup "backup 4"
assert_eq 2 "$(json_get "$LAST_STDOUT" rechecked_nodes)" "extras: rechecked_nodes"
assert_eq 2 "$(json_get "$LAST_STDOUT" unchanged_nodes)" "extras: unchanged_nodes"
assert_eq 0 "$(json_get "$LAST_STDOUT" changed_nodes)" "extras: changed_nodes"
assert_eq 0 "$(json_get "$LAST_STDOUT" read_files)" "extras: read_files"
assert_eq 0 "$(json_get "$LAST_STDOUT" new_objects)" "extras: new_objects"
assert_eq 0 "$(json_get "$LAST_STDOUT" new_nodes)" "extras: new_nodes"

note "node N sealed with a last file: read again once more; snapshot 5 restores clean"
set_files "$nid" "aiida.out=second version of the output, longer" "retrieved/extra.dat=a file retrieved later" \
  "retrieved/last.dat=the last file"
sql "$DSN" "UPDATE db_dbnode SET attributes = attributes || '{\"sealed\": true}' WHERE id = $nid" >/dev/null
backup "backup 5"
assert_eq 1 "$(json_get "$LAST_STDOUT" changed_nodes)" "sealed: changed_nodes"
assert_eq 1 "$(json_get "$LAST_STDOUT" new_objects)" "sealed: new_objects (the other two are held)"
DSN5=$(new_db2 container_mtime_r5)
assert_exit 0 "restore of snapshot 5" -- "$STRATA" restore --dest "$DEST" --to-repository "$OUT/r5" --to-dsn "$DSN5" --json
assert_eq 0 "$(json_get "$LAST_STDOUT" container_check.missing)" "snapshot 5: keys missing"
check_container "$DSN5" "$OUT/r5" "snapshot 5"
assert_exit 0 "check --read-data" -- "$STRATA" check --dest "$DEST" --read-data
note "ok"
