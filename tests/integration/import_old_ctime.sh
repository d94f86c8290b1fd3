#!/usr/bin/env bash
# import_old_ctime: nodes imported after a backup get new (higher) ids but old ctimes (2019-2020,
# as after an AiiDA archive import), far outside any ctime window; the next backup still catches
# all of them through the id watermark, reads exactly their files, and the restore equals the
# source.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db import_old)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)

sql() {
  psql -X -At -v ON_ERROR_STOP=1 -d "$DSN" -c "$1"
}

note "generating 150 nodes"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 150 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "first backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 150 "$(json_get "$LAST_STDOUT" new_nodes)" "first backup: new_nodes"
max_id=$(sql 'SELECT max(id) FROM db_dbnode')

note "importing 15 nodes with old ctimes"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 15 --mode import --quiet >/dev/null
assert_eq 15 "$(sql "SELECT count(*) FROM db_dbnode WHERE id > $max_id")" "imported nodes"
assert_eq 0 "$(sql "SELECT count(*) FROM db_dbnode WHERE id > $max_id AND ctime > now() - interval '1 year'")" \
  "imported nodes with a recent ctime (the generator should give old ones)"
new_files=0
while IFS= read -r uuid; do
  dir=$SRC/repository/node/${uuid:0:2}/${uuid:2:2}/${uuid:4}
  if [[ -d $dir ]]; then
    c=$(find "$dir" -type f -printf . | wc -c)
    new_files=$((new_files + c))
  fi
done < <(sql "SELECT uuid FROM db_dbnode WHERE id > $max_id")
((new_files > 0)) || fail "the imported nodes have no files; the test would prove nothing"

assert_exit 0 "second backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
second=$LAST_STDOUT
assert_eq 15 "$(json_get "$second" new_nodes)" "second backup: new_nodes"
assert_eq "$new_files" "$(json_get "$second" read_files)" "second backup: read_files"
assert_eq 165 "$(json_get "$second" nodes)" "second backup: nodes"

# And once more with a zero overlap window: nothing left to catch.
assert_exit 0 "third backup (--overlap 0)" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
  --repository "$SRC" --json --overlap 0
assert_eq 0 "$(json_get "$LAST_STDOUT" new_nodes)" "third backup: new_nodes"
assert_eq 0 "$(json_get "$LAST_STDOUT" read_files)" "third backup: read_files"

assert_exit 0 "restore latest" -- "$STRATA" restore --dest "$DEST" --to-repository "$OUT/r"
assert_same_repo "$SRC" "$OUT/r" "restore latest vs source"
assert_exit 0 "check --read-data" -- "$STRATA" check --dest "$DEST" --read-data
note "ok"
