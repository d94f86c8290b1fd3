#!/usr/bin/env bash
# incremental: after a first backup, 20 nodes are added; the next backup selects exactly those
# 20 new nodes and reads exactly the regular files of their folders, nothing else. A backup
# with no change reads nothing and adds nothing (also with --full-scan). Restoring the latest
# snapshot gives the current source; restoring the first still gives the old one.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db incremental)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)

sql() {
  psql -X -At -v ON_ERROR_STOP=1 -d "$DSN" -c "$1"
}

# Counts the regular files in the folders of the nodes with an id above $1 (names may hold
# newlines, so count one character per file rather than lines).
files_of_nodes_above() {
  local uuid dir n=0 c
  while IFS= read -r uuid; do
    dir=$SRC/repository/node/${uuid:0:2}/${uuid:2:2}/${uuid:4}
    if [[ -d $dir ]]; then
      c=$(find "$dir" -type f -printf . | wc -c)
      n=$((n + c))
    fi
  done < <(sql "SELECT uuid FROM db_dbnode WHERE id > $1 ORDER BY id")
  echo "$n"
}

count_files() {
  find "$SRC/repository/node" -type f -printf . | wc -c
}

note "generating 200 nodes"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 200 --quiet >/dev/null

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "first backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
first=$LAST_STDOUT
assert_eq 200 "$(json_get "$first" new_nodes)" "first backup: new_nodes"
assert_eq "$(count_files)" "$(json_get "$first" read_files)" "first backup: read_files"
max_id=$(sql 'SELECT max(id) FROM db_dbnode')
listing_before=$(tree_listing "$SRC")

note "adding 20 nodes"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 20 --mode add --quiet >/dev/null
assert_eq 20 "$(sql "SELECT count(*) FROM db_dbnode WHERE id > $max_id")" "nodes above the old max id"
new_files=$(files_of_nodes_above "$max_id")
((new_files > 0)) || fail "the 20 new nodes have no files; the test would prove nothing"
note "the 20 new nodes hold $new_files files"

assert_exit 0 "second backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
second=$LAST_STDOUT
assert_eq 2 "$(json_get "$second" id)" "second backup: snapshot id"
assert_eq 20 "$(json_get "$second" new_nodes)" "second backup: new_nodes"
assert_eq 0 "$(json_get "$second" deleted_nodes)" "second backup: deleted_nodes"
assert_eq "$new_files" "$(json_get "$second" read_files)" "second backup: read_files"
assert_eq 220 "$(json_get "$second" nodes)" "second backup: nodes"
assert_eq "$(count_files)" "$(json_get "$second" files)" "second backup: files"

note "backup without change"
assert_exit 0 "third backup (no change)" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
  --repository "$SRC" --json
third=$LAST_STDOUT
assert_eq 3 "$(json_get "$third" id)" "third backup: snapshot id"
assert_eq 0 "$(json_get "$third" new_nodes)" "third backup: new_nodes"
assert_eq 0 "$(json_get "$third" read_files)" "third backup: read_files"
assert_eq 0 "$(json_get "$third" read_bytes)" "third backup: read_bytes"
assert_eq 0 "$(json_get "$third" new_objects)" "third backup: new_objects"
assert_eq 220 "$(json_get "$third" nodes)" "third backup: nodes"

assert_exit 0 "fourth backup (no change, --full-scan)" -- "$STRATA" backup --dest "$DEST" \
  --dsn "$DSN" --repository "$SRC" --json --full-scan --jobs 1
fourth=$LAST_STDOUT
assert_eq 0 "$(json_get "$fourth" new_nodes)" "full-scan backup: new_nodes"
assert_eq 0 "$(json_get "$fourth" read_files)" "full-scan backup: read_files"
assert_eq 220 "$(json_get "$fourth" nodes)" "full-scan backup: nodes"

assert_exit 0 "snapshots --json" -- "$STRATA" snapshots --dest "$DEST" --json
snaps=$LAST_STDOUT
assert_eq "1 2 3 4" "$(python3 -c 'import json,sys; print(*[s["id"] for s in json.loads(sys.argv[1])["snapshots"]])' "$snaps")" \
  "snapshot ids"
assert_eq 200 "$(json_get "$snaps" snapshots.0.nodes)" "snapshot 1 nodes"
assert_eq 220 "$(json_get "$snaps" snapshots.1.nodes)" "snapshot 2 nodes"
assert_eq 220 "$(json_get "$snaps" snapshots.3.nodes)" "snapshot 4 nodes"

note "restores"
assert_exit 0 "restore latest" -- "$STRATA" restore --dest "$DEST" --to-repository "$OUT/latest"
assert_same_repo "$SRC" "$OUT/latest" "restore latest vs source"
assert_exit 0 "restore --snapshot 1" -- "$STRATA" restore --dest "$DEST" --snapshot 1 \
  --to-repository "$OUT/first"
listing_first=$(tree_listing "$OUT/first")
if [[ $listing_first != "$listing_before" ]]; then
  diff <(printf '%s\n' "$listing_before") <(printf '%s\n' "$listing_first") | head -n 20 >&2
  fail "restore --snapshot 1 differs from the source as it was at the first backup"
fi
assert_exit 0 "check --read-data" -- "$STRATA" check --dest "$DEST" --read-data
note "ok"
