#!/usr/bin/env bash
# db_delta: dump files larger than 64 KiB are stored as zstd deltas against the previous
# snapshot's version, in chains that a full copy restarts at least every 8 snapshots.
# A profile whose db_dbnode holds ~12000 rows (its dump data file is megabytes) is backed up
# --database-only 11 times, with 1% of db_dbnode's rows changed before each backup after the
# first. Backup #2 must store less than 3% of what backup #1 stored for the database, as at
# least one delta; no more than 7 deltas may follow a full copy, so a full copy comes back within
# the 11 backups. Every snapshot (chain lengths 0..7 and after the new full copy) must restore to
# a fresh database with exactly the row counts and row checksums recorded right after its
# backup; the --dump-dir of the longest chain must restore with stock pg_restore too.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

export PGTZ=UTC PGDATESTYLE=ISO

DSN=$(new_db dbdelta)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)
SUMS=$(new_tmp)

bulk_profile "$DSN" "$SRC"
nodes_file_bytes=$(psql -X -At -d "$DSN" -c "SELECT pg_relation_size('db_dbnode')")
((nodes_file_bytes > 1000000)) || fail "db_dbnode is only $nodes_file_bytes bytes"

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"

ROUNDS=11
declare -a DELTAS DBSTORED
for ((n = 1; n <= ROUNDS; n++)); do
  if ((n > 1)); then
    # 1% of the rows, different ones each round.
    psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" \
      -c "UPDATE db_dbnode SET label = label || 'x', mtime = now() WHERE id % 100 = $((n - 2))"
  fi
  db_checksums "$DSN" >"$SUMS/$n"
  assert_exit 0 "backup #$n (--database-only)" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
    --repository "$SRC" --database-only --json
  mapfile -t f < <(json_fields "$LAST_STDOUT" id has_files has_database database.delta_files \
    database.stored_bytes database.dump_bytes database.dump_files stored_bytes)
  assert_eq "$n" "${f[0]}" "backup #$n: snapshot id"
  assert_eq false "${f[1]}" "backup #$n: has_files"
  assert_eq true "${f[2]}" "backup #$n: has_database"
  DELTAS[n]=${f[3]}
  DBSTORED[n]=${f[4]}
  ((f[5] > nodes_file_bytes / 4)) || fail "backup #$n: dump_bytes ${f[5]} is implausibly small"
  ((f[7] >= f[4])) || fail "backup #$n: stored_bytes ${f[7]} < database.stored_bytes ${f[4]}"
  note "backup #$n: delta_files ${DELTAS[n]}, database stored_bytes ${DBSTORED[n]}, dump ${f[5]} bytes in ${f[6]} files"
done

assert_exit 0 "snapshots --json" -- "$STRATA" snapshots --dest "$DEST" --json
# "id has_database db_dbnode-rows" per snapshot, in one go.
snap_rows=$(python3 -c 'import json, sys
for s in json.loads(sys.argv[1])["snapshots"]:
    print(s["id"], s["has_database"], s["database"]["tables"]["public.db_dbnode"])' "$LAST_STDOUT")

# Every snapshot restores to the state recorded right after its backup.
for ((n = 1; n <= ROUNDS; n++)); do
  expected_nodes=$(awk '$1 == "db_dbnode" { print $2 }' "$SUMS/$n")
  assert_eq "$n True $expected_nodes" "$(sed -n "${n}p" <<<"$snap_rows")" \
    "snapshot $n: has_database and db_dbnode row count in snapshots --json"
  target=$(new_db2 "dbdelta_r$n")
  assert_exit 0 "restore snapshot $n --to-dsn" -- "$STRATA" restore --dest "$DEST" --snapshot "$n" \
    --to-dsn "$target" --json
  [[ $LAST_STDOUT =~ \"verified\":\ *true ]] || fail "restore snapshot $n: not verified: $LAST_STDOUT"
  [[ $LAST_STDOUT =~ \"created_database\":\ *false ]] ||
    fail "restore snapshot $n: created_database should be false (it existed, empty): $LAST_STDOUT"
  if ! diff "$SUMS/$n" <(db_checksums "$target") >"$OUT/diff$n"; then
    fail "snapshot $n (delta_files ${DELTAS[n]}) restores to other rows than were backed up: $(cat "$OUT/diff$n")"
  fi
done

# What each backup stored: deltas, and how long their chains grew.
assert_eq 0 "${DELTAS[1]}" "backup #1: delta_files (nothing to delta against)"
((DELTAS[2] >= 1)) || fail "backup #2: delta_files ${DELTAS[2]}, expected at least 1 (db_dbnode changed by 1%)"
((DBSTORED[2] * 100 < DBSTORED[1] * 3)) ||
  fail "backup #2 stored ${DBSTORED[2]} database bytes, not less than 3% of backup #1's ${DBSTORED[1]}"
# Chains: never more than 7 delta backups in a row after a full one, so the 11 backups must
# contain a full copy after #1 (only db_dbnode's file is large enough to be a delta here).
run=0 max_run=0 fulls_after_first=0
for ((n = 2; n <= ROUNDS; n++)); do
  if ((DELTAS[n] > 0)); then
    run=$((run + 1))
    ((run > max_run)) && max_run=$run
  else
    run=0
    fulls_after_first=$((fulls_after_first + 1))
    ((DBSTORED[n] * 2 > DBSTORED[1])) ||
      fail "backup #$n has no delta but stored only ${DBSTORED[n]} database bytes (#1: ${DBSTORED[1]})"
  fi
done
note "delta_files per backup: ${DELTAS[*]}; longest delta run $max_run"
((max_run <= 7)) || fail "a delta chain of $max_run snapshots (the limit is 7 after a full copy)"
((fulls_after_first >= 1)) || fail "no full copy of the dump in backups #2..#$ROUNDS: delta_files ${DELTAS[*]}"

# The longest chain through --dump-dir and stock pg_restore.
longest=1 run=0
for ((n = 2; n <= ROUNDS; n++)); do
  if ((DELTAS[n] > 0)); then run=$((run + 1)); else run=0; fi
  ((run == max_run)) && { longest=$n; break; }
done
note "snapshot $longest (chain of $max_run deltas) through --dump-dir and stock pg_restore"
assert_exit 0 "restore --dump-dir snapshot $longest" -- "$STRATA" restore --dest "$DEST" \
  --snapshot "$longest" --dump-dir "$OUT/dump"
PLAIN=$(new_db dbdelta_plain)
pg_restore --exit-on-error -d "$PLAIN" "$OUT/dump" || fail "stock pg_restore of snapshot $longest's --dump-dir failed"
diff "$SUMS/$longest" <(db_checksums "$PLAIN") ||
  fail "snapshot $longest via --dump-dir and pg_restore differs from what was backed up"

assert_exit 0 "check --read-data" -- "$STRATA" check --dest "$DEST" --read-data
note "ok"
