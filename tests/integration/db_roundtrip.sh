#!/usr/bin/env bash
# db_roundtrip: the database side end to end. Back up a generated profile of ~500 nodes, then,
# in ONE restore command, restore its files (--to-repository) and its database (--to-dsn) into a
# database that does not exist yet on the second cluster (strata must create it). For every
# public base table of the source, the row count and an md5 of its rows ordered by primary key
# must match the restored database; so must the sequences and the schema (pg_dump --schema-only).
# The file trees must be identical, the snapshot's schema version must be the source's
# db_dbsetting 'db|schemaversion', its per-table row counts the source's, and the plain
# directory written by --dump-dir must restore with stock pg_restore to the same checksums.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

export PGTZ=UTC PGDATESTYLE=ISO

# db_sequences DSN — "name last_value" for every public sequence.
db_sequences() {
  psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c \
    "SELECT sequencename || ' ' || coalesce(last_value::text, 'null') FROM pg_sequences
      WHERE schemaname = 'public' ORDER BY 1" || fail "could not read the sequences of $1"
}

# db_schema DSN — the schema as pg_dump prints it, without comments and \restrict keys.
db_schema() {
  pg_dump --schema-only --no-owner --no-privileges -d "$1" |
    grep -v -e '^--' -e '^\\restrict' -e '^\\unrestrict' -e '^$' || true
}

dsn_field() {
  local kv
  for kv in $1; do
    [[ $kv == "$2="* ]] && { printf '%s\n' "${kv#*=}"; return 0; }
  done
  return 1
}

DSN=$(new_db dbrt)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)

note "generating 500 nodes"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 500 --quiet >/dev/null

src_sums=$(db_checksums "$DSN")
src_seqs=$(db_sequences "$DSN")
src_schema=$(db_schema "$DSN")
(($(wc -l <<<"$src_sums") >= 8)) || fail "expected the AiiDA tables in the source, got: $src_sums"
grep -q '^db_dbnode 500 ' <<<"$src_sums" || fail "db_dbnode should have 500 rows: $src_sums"
src_version=$(psql -X -At -d "$DSN" -c "SELECT val #>> '{}' FROM db_dbsetting WHERE key = 'db|schemaversion'")
[[ -n $src_version ]] || fail "source has no 'db|schemaversion' setting"
src_rows=$(awk '{ s += $2 } END { print s }' <<<"$src_sums")

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
bj=$LAST_STDOUT
assert_eq true "$(json_get "$bj" has_files)" "backup: has_files"
assert_eq true "$(json_get "$bj" has_database)" "backup: has_database"
dump_files=$(json_get "$bj" database.dump_files)
dump_bytes=$(json_get "$bj" database.dump_bytes)
db_stored=$(json_get "$bj" database.stored_bytes)
total_stored=$(json_get "$bj" stored_bytes)
((dump_files >= 2)) || fail "backup: database.dump_files $dump_files (expected toc.dat and data files)"
((dump_bytes > 0)) || fail "backup: database.dump_bytes $dump_bytes"
((db_stored > 0 && db_stored <= total_stored)) ||
  fail "backup: database.stored_bytes $db_stored should be positive and <= stored_bytes $total_stored"
assert_eq 0 "$(json_get "$bj" database.delta_files)" "backup #1: delta_files (no previous snapshot)"
pg_dump_version=$(pg_dump --version | awk '{ print $3 }')
assert_eq "$pg_dump_version" "$(json_get "$bj" database.pg_dump_version)" "backup: pg_dump_version"

# The snapshot's description of the database.
assert_exit 0 "snapshots --json" -- "$STRATA" snapshots --dest "$DEST" --json
sj=$LAST_STDOUT
assert_eq true "$(json_get "$sj" snapshots.0.has_database)" "snapshot: has_database"
assert_eq true "$(json_get "$sj" snapshots.0.has_files)" "snapshot: has_files"
assert_eq "$src_version" "$(json_get "$sj" snapshots.0.schema_version)" "snapshot: schema_version"
assert_eq "$src_version" "$(json_get "$sj" snapshots.0.database.schema_version)" "snapshot: database.schema_version"
assert_eq "$(dsn_field "$DSN" dbname)" "$(json_get "$sj" snapshots.0.database.database)" "snapshot: database name"
assert_eq "$(psql -X -At -d "$DSN" -c 'SHOW server_version' | cut -d ' ' -f 1)" \
  "$(json_get "$sj" snapshots.0.database.server_version)" "snapshot: server_version"
size=$(json_get "$sj" snapshots.0.database.size_bytes)
((size > 0)) || fail "snapshot: database.size_bytes $size"
snap_tables=$(json_get "$sj" snapshots.0.database.tables | python3 -c '
import json, sys
for k, v in sorted(json.load(sys.stdin).items()):
    print(k, v)')
expect_tables=$(awk '{ print "public." $1, $2 }' <<<"$src_sums" | sort)
assert_eq "$expect_tables" "$snap_tables" "snapshot: per-table row counts"

# One command: files and database, into a database that does not exist yet.
TARGET=$(new_db2 dbrt_target)
target_name=$(dsn_field "$TARGET" dbname)
dropdb -h "$(dsn_field "$TARGET" host)" -p "$(dsn_field "$TARGET" port)" -U postgres "$target_name"
note "restoring files and database in one command"
assert_exit 0 "restore --to-dsn --to-repository" -- "$STRATA" restore --dest "$DEST" \
  --to-dsn "$TARGET" --to-repository "$OUT/repo" --json -v
rj=$LAST_STDOUT
assert_eq true "$(json_get "$rj" database.created_database)" "restore: created_database"
assert_eq true "$(json_get "$rj" database.verified)" "restore: verified"
assert_eq "$src_version" "$(json_get "$rj" database.schema_version)" "restore: schema_version"
assert_eq "$(wc -l <<<"$src_sums")" "$(json_get "$rj" database.tables)" "restore: tables"
assert_eq "$src_rows" "$(json_get "$rj" database.rows)" "restore: rows"
# Its notes are shown with -v (and on a terminal); without, --json prints nothing on stderr.
assert_contains "$LAST_STDERR" "belong to role" "restore -v: says who owns the restored objects"

assert_eq "$src_sums" "$(db_checksums "$TARGET")" "restored database: row counts and checksums"
assert_eq "$src_seqs" "$(db_sequences "$TARGET")" "restored database: sequences"
assert_eq "$src_schema" "$(db_schema "$TARGET")" "restored database: schema"
assert_eq "$src_version" \
  "$(psql -X -At -d "$TARGET" -c "SELECT val #>> '{}' FROM db_dbsetting WHERE key = 'db|schemaversion'")" \
  "restored database: schema version"
assert_same_repo "$SRC" "$OUT/repo" "restored repository vs source"

# The plain pg_dump directory, restored by stock pg_restore.
note "restore --dump-dir, then stock pg_restore"
assert_exit 0 "restore --dump-dir" -- "$STRATA" restore --dest "$DEST" --dump-dir "$OUT/dump" --json
# Its note ("wrote the pg_dump directory ...") is for -v or a terminal: --json alone is quiet.
assert_eq "" "$LAST_STDERR" "restore --dump-dir --json without -v: stderr"
assert_eq "$("$STRATA" --version | cut -d ' ' -f 2)" "$(json_get "$LAST_STDOUT" version)" "restore --json: version"
[[ -f $OUT/dump/toc.dat ]] || fail "--dump-dir wrote no toc.dat: $(ls -A "$OUT/dump" 2>&1)"
pg_restore --list "$OUT/dump" >/dev/null || fail "pg_restore --list cannot read the --dump-dir directory"
PLAIN=$(new_db plain_restore)
pg_restore --exit-on-error -d "$PLAIN" "$OUT/dump" || fail "stock pg_restore of the --dump-dir failed"
assert_eq "$src_sums" "$(db_checksums "$PLAIN")" "stock pg_restore of --dump-dir: checksums"
assert_eq "$src_seqs" "$(db_sequences "$PLAIN")" "stock pg_restore of --dump-dir: sequences"
assert_eq "$src_schema" "$(db_schema "$PLAIN")" "stock pg_restore of --dump-dir: schema"

# Stock pg_restore with --jobs on the second cluster, too (the directory format allows it).
PLAIN2=$(new_db2 plain_restore_j)
pg_restore --exit-on-error --jobs 2 -h "$(dsn_field "$PLAIN2" host)" -p "$(dsn_field "$PLAIN2" port)" \
  -U postgres -d "$(dsn_field "$PLAIN2" dbname)" "$OUT/dump" || fail "pg_restore --jobs 2 of the --dump-dir failed"
assert_eq "$src_sums" "$(db_checksums "$PLAIN2")" "pg_restore --jobs 2 of --dump-dir: checksums"

note "ok"
