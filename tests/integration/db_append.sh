#!/usr/bin/env bash
# db_append: a dump file that only grew (a table whose new rows all follow its old ones, as
# db_dbnode's do after new nodes and no updates) is stored as its new rows: a delta of copy
# segments that needs no rebuild of the previous version.
# A profile whose db_dbnode holds ~12000 rows is backed up --database-only; then 1% new nodes
# (backup #2 must count db_dbnode among its append_files and store less than 3% of backup #1's
# database bytes), then again 1% new nodes (#3: an append on an append), then an UPDATE that
# moves 1% of the rows (#4: a delta, not an append), then new nodes again (#5: an append on a
# rebuilt delta). Every snapshot restores to the row checksums recorded after its backup, the
# longest chain through --dump-dir and stock pg_restore too, and check --read-data passes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

export PGTZ=UTC PGDATESTYLE=ISO

DSN=$(new_db dbappend)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)
SUMS=$(new_tmp)

bulk_profile "$DSN" "$SRC"
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"

declare -a APPENDS DELTAS DBSTORED
backup() {
  local n=$1
  db_checksums "$DSN" >"$SUMS/$n"
  assert_exit 0 "backup #$n (--database-only)" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
    --repository "$SRC" --database-only --json
  mapfile -t f < <(json_fields "$LAST_STDOUT" id database.append_files database.delta_files \
    database.stored_bytes)
  assert_eq "$n" "${f[0]}" "backup #$n: snapshot id"
  APPENDS[n]=${f[1]}
  DELTAS[n]=${f[2]}
  DBSTORED[n]=${f[3]}
  note "backup #$n: append_files ${APPENDS[n]}, delta_files ${DELTAS[n]}, database stored_bytes ${DBSTORED[n]}"
}

backup 1
assert_eq 0 "${APPENDS[1]}" "backup #1: append_files (nothing to append to)"

add_bulk_nodes "$DSN" 120
backup 2
((APPENDS[2] >= 1)) || fail "backup #2: append_files ${APPENDS[2]}, expected db_dbnode (120 new rows at its end)"
((APPENDS[2] <= DELTAS[2])) || fail "backup #2: append_files ${APPENDS[2]} > delta_files ${DELTAS[2]}"
((DBSTORED[2] * 100 < DBSTORED[1] * 3)) ||
  fail "backup #2 stored ${DBSTORED[2]} database bytes, not less than 3% of backup #1's ${DBSTORED[1]}"

add_bulk_nodes "$DSN" 120
backup 3
((APPENDS[3] >= 1)) || fail "backup #3: append_files ${APPENDS[3]}, expected an append on the append of #2"

psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" -c "UPDATE db_dbnode SET label = label || 'x' WHERE id % 100 = 5"
backup 4
((DELTAS[4] >= 1)) || fail "backup #4: delta_files ${DELTAS[4]}, expected db_dbnode as a delta"

add_bulk_nodes "$DSN" 120
backup 5
((APPENDS[5] >= 1)) || fail "backup #5: append_files ${APPENDS[5]}, expected an append on the delta of #4"

for ((n = 1; n <= 5; n++)); do
  target=$(new_db2 "dbappend_r$n")
  assert_exit 0 "restore snapshot $n --to-dsn" -- "$STRATA" restore --dest "$DEST" --snapshot "$n" \
    --to-dsn "$target" --json
  [[ $LAST_STDOUT =~ \"verified\":\ *true ]] || fail "restore snapshot $n: not verified: $LAST_STDOUT"
  diff "$SUMS/$n" <(db_checksums "$target") >"$OUT/diff$n" ||
    fail "snapshot $n (append_files ${APPENDS[n]}) restores to other rows than were backed up: $(cat "$OUT/diff$n")"
done

assert_exit 0 "restore --dump-dir snapshot 5" -- "$STRATA" restore --dest "$DEST" --snapshot 5 \
  --dump-dir "$OUT/dump"
PLAIN=$(new_db dbappend_plain)
pg_restore --exit-on-error -d "$PLAIN" "$OUT/dump" || fail "stock pg_restore of snapshot 5's --dump-dir failed"
diff "$SUMS/5" <(db_checksums "$PLAIN") || fail "snapshot 5 via --dump-dir and pg_restore differs from what was backed up"

assert_exit 0 "check --read-data" -- "$STRATA" check --dest "$DEST" --read-data
note "ok: appends: ${APPENDS[*]}; deltas: ${DELTAS[*]}; database stored bytes: ${DBSTORED[*]}"
