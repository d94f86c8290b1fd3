#!/usr/bin/env bash
# db_errors: the database side's failures. Each must exit with its documented code and one
# error line on stderr ('strata: error: ...', every other stderr line a 'strata: ' note), and
# must not leave a snapshot behind (snapshots --json unchanged, and the next good backup does not
# find an interrupted one to resume) nor a half-restored target database:
#   restore into a database that holds tables → 9 (and --clean then succeeds and verifies);
#   a target or source cluster refusing the connection → 5;
#   a role without CREATEDB restoring into a database that does not exist → 5, saying to create
#     the database or use a role with CREATEDB;
#   --keep-owners when the dump's owner role is missing on the target → 5 naming the role
#     (without --keep-owners the same restore succeeds, objects owned by the connecting role);
#   no pg_dump (STRATA_PG_BINDIR empty) → 5 'not found'; a pg_dump older than the server → 5;
#   restoring the database of a --files-only snapshot, or the files of a --database-only one → 7;
#   --files-only with --database-only → 2.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

export PGTZ=UTC PGDATESTYLE=ISO

dsn_field() {
  local kv
  for kv in $1; do
    [[ $kv == "$2="* ]] && { printf '%s\n' "${kv#*=}"; return 0; }
  done
  return 1
}

table_count() {
  psql -X -At -d "$1" -c "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
}

# assert_error CODE WHAT NEEDLE... -- CMD...: exit code CODE; stderr has exactly one
# 'strata: error: ' line, it is the last line, it holds every NEEDLE, and every other line is a
# 'strata: ' note (no stray multi-line library messages).
assert_error() {
  local code=$1 what=$2 needles=()
  shift 2
  while (($# > 0)) && [[ $1 != -- ]]; do
    needles+=("$1")
    shift
  done
  assert_exit "$code" "$what" "$@"
  local errors last
  errors=$(grep -c '^strata: error: ' <<<"$LAST_STDERR" || true)
  assert_eq 1 "$errors" "$what: number of 'strata: error:' lines in: $LAST_STDERR"
  last=$(tail -n 1 <<<"$LAST_STDERR")
  [[ $last == "strata: error: "* ]] || fail "$what: the error is not the last stderr line: $LAST_STDERR"
  if grep -v '^strata: ' <<<"$LAST_STDERR" | grep -q .; then
    fail "$what: stderr has lines that are not 'strata: ' messages: $LAST_STDERR"
  fi
  local n
  for n in "${needles[@]}"; do
    assert_contains "$last" "$n" "$what: error message"
  done
  LAST_ERROR=$last
}

# Checks that do not stop the script: reported together at the end.
SOFT_FAILURES=()
soft_fail() {
  echo "FAIL (reported at the end): $*" >&2
  SOFT_FAILURES+=("$*")
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

snapshots_now() {
  "$STRATA" snapshots --dest "$DEST" --json || fail "snapshots --json failed"
}

assert_snapshots_unchanged() {
  assert_eq "$SNAPS" "$(snapshots_now)" "$1: snapshots --json changed"
}

DSN=$(new_db dberr)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)
BIN=$(new_tmp)
PORT2=$(dsn_field "$STRATA_TEST_DSN2" port)

note "generating 100 nodes, backup #1"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 100 --quiet >/dev/null
src_sums=$(db_checksums "$DSN")
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "backup #1" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
SNAPS=$(snapshots_now)

# --- a target database that already holds tables: 9; --clean replaces them -------------------
note "restore into a database with tables"
T1=$(new_db2 dberr_full)
assert_exit 0 "first restore into an empty database" -- "$STRATA" restore --dest "$DEST" --to-dsn "$T1" --json
assert_eq "$src_sums" "$(db_checksums "$T1")" "first restore: checksums"
# Make the target differ from the snapshot, so that --clean has something to replace.
psql -X -q -v ON_ERROR_STOP=1 -d "$T1" -c "DELETE FROM db_dbnode WHERE id % 3 = 0 AND id NOT IN
  (SELECT input_id FROM db_dblink UNION SELECT output_id FROM db_dblink UNION SELECT dbnode_id FROM db_dbgroup_dbnodes
   UNION SELECT dbnode_id FROM db_dblog UNION SELECT dbnode_id FROM db_dbcomment)" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$T1" -c "UPDATE db_dbsetting SET val = '\"9.9.9\"' WHERE key = 'db|schemaversion'"
changed_sums=$(db_checksums "$T1")
[[ $changed_sums != "$src_sums" ]] || fail "could not change the target database"
assert_error 9 "restore into a database that holds tables" "already" "--clean" -- \
  "$STRATA" restore --dest "$DEST" --to-dsn "$T1"
assert_eq "$changed_sums" "$(db_checksums "$T1")" "a refused restore must leave the target untouched"
assert_exit 0 "restore --clean" -- "$STRATA" restore --dest "$DEST" --to-dsn "$T1" --clean --json
[[ $LAST_STDOUT =~ \"verified\":\ *true ]] || fail "restore --clean: not verified: $LAST_STDOUT"
assert_eq "$src_sums" "$(db_checksums "$T1")" "restore --clean: checksums"
assert_eq 1.0.45 "$(psql -X -At -d "$T1" -c "SELECT val #>> '{}' FROM db_dbsetting WHERE key = 'db|schemaversion'")" \
  "restore --clean: schema version"

# --- clusters that refuse the connection: 5 --------------------------------------------------
note "refused connections"
port=$(free_port)
assert_error 5 "restore to a cluster that refuses the connection" -- \
  "$STRATA" restore --dest "$DEST" --to-dsn "host=127.0.0.1 port=$port user=postgres dbname=nowhere"
assert_error 5 "backup from a cluster that refuses the connection" -- \
  "$STRATA" backup --dest "$DEST" --dsn "host=127.0.0.1 port=$port user=postgres dbname=nowhere" --repository "$SRC"
assert_snapshots_unchanged "backup from a refused cluster"
assert_error 5 "backup --database-only from a cluster that refuses the connection" -- \
  "$STRATA" backup --dest "$DEST" --dsn "host=127.0.0.1 port=$port user=postgres dbname=nowhere" \
  --repository "$SRC" --database-only
assert_snapshots_unchanged "backup --database-only from a refused cluster"

# --- a role without CREATEDB: 5, and what to do about it --------------------------------------
note "role without CREATEDB"
NOCREATE=nocreate_$$
NOCREATE_PW=nc-pw-$RANDOM$RANDOM
psql -X -q -v ON_ERROR_STOP=1 -d "$STRATA_TEST_DSN2" -c "CREATE ROLE $NOCREATE LOGIN PASSWORD '$NOCREATE_PW'"
on_exit "psql -X -q -d '$STRATA_TEST_DSN2' -c 'DROP ROLE IF EXISTS $NOCREATE'"
newdb=dberr_newdb_$$
assert_error 5 "restore by a role without CREATEDB into a new database" \
  "$newdb" "create it first, or use a role with CREATEDB" -- \
  "$STRATA" restore --dest "$DEST" --to-dsn "host=127.0.0.1 port=$PORT2 user=$NOCREATE password=$NOCREATE_PW dbname=$newdb"
[[ $LAST_ERROR == *"on the target cluster: permission denied to create database (create it first"* ]] ||
  soft_fail "role without CREATEDB: the error should give the server's reason intact, got: $LAST_ERROR"
assert_eq "" "$(psql -X -At -d "$STRATA_TEST_DSN2" -c "SELECT datname FROM pg_database WHERE datname = '$newdb'")" \
  "no database was created"
[[ $LAST_STDERR != *"$NOCREATE_PW"* ]] || fail "the password appears on stderr: $LAST_STDERR"

# --- --keep-owners and a role that exists only on the source cluster --------------------------
note "--keep-owners with a missing owner role"
OWNER=aiida_owner_$$
psql -X -q -v ON_ERROR_STOP=1 -d "$STRATA_TEST_DSN" -c "CREATE ROLE $OWNER LOGIN"
ODB=dberr_owned_$$
createdb -h "$(dsn_field "$STRATA_TEST_DSN" host)" -p "$(dsn_field "$STRATA_TEST_DSN" port)" -U postgres -O "$OWNER" "$ODB"
ODSN="host=$(dsn_field "$STRATA_TEST_DSN" host) port=$(dsn_field "$STRATA_TEST_DSN" port) user=postgres dbname=$ODB"
on_exit "dropdb --if-exists --force -h '$(dsn_field "$STRATA_TEST_DSN" host)' -p '$(dsn_field "$STRATA_TEST_DSN" port)' -U postgres '$ODB'; psql -X -q -d '$STRATA_TEST_DSN' -c 'DROP ROLE IF EXISTS $OWNER'"
OSRC=$(new_tmp)
"$GENREPO" --dsn "${ODSN/user=postgres/user=$OWNER}" --root "$OSRC" --nodes 30 --quiet >/dev/null
assert_eq "$OWNER" "$(psql -X -At -d "$ODSN" -c "SELECT tableowner FROM pg_tables WHERE tablename = 'db_dbnode'")" \
  "the source tables belong to $OWNER"
[[ -z $(psql -X -At -d "$STRATA_TEST_DSN2" -c "SELECT 1 FROM pg_roles WHERE rolname = '$OWNER'") ]] ||
  fail "role $OWNER exists on the second cluster"
ODEST=$(new_tmp)/dest
assert_exit 0 "init (owned)" -- "$STRATA" init --dest "$ODEST"
assert_exit 0 "backup of the database owned by $OWNER" -- "$STRATA" backup --dest "$ODEST" --dsn "$ODSN" --repository "$OSRC"
T2=$(new_db2 dberr_keep)
assert_error 5 "restore --keep-owners without the owner role" "$OWNER" -- \
  "$STRATA" restore --dest "$ODEST" --to-dsn "$T2" --keep-owners
assert_eq 0 "$(table_count "$T2")" "a failed --keep-owners restore must not leave tables behind"
assert_exit 0 "the same restore without --keep-owners" -- "$STRATA" restore --dest "$ODEST" --to-dsn "$T2" --json -v
[[ $LAST_STDOUT =~ \"verified\":\ *true ]] || fail "restore without --keep-owners: not verified: $LAST_STDOUT"
assert_contains "$LAST_STDERR" "postgres" "restore without --keep-owners names the role that owns the objects"
assert_eq postgres "$(psql -X -At -d "$T2" -c "SELECT tableowner FROM pg_tables WHERE tablename = 'db_dbnode'")" \
  "without --keep-owners the tables belong to the target connection's role"
assert_eq "$(db_checksums "$ODSN")" "$(db_checksums "$T2")" "restore without --keep-owners: checksums"

# --- pg_dump missing or too old: 5, no snapshot ----------------------------------------------
note "missing and old pg_dump"
mkdir "$BIN/empty" "$BIN/old"
assert_error 5 "backup without pg_dump" "pg_dump" "not found" -- \
  env STRATA_PG_BINDIR="$BIN/empty" "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC"
assert_snapshots_unchanged "backup without pg_dump"
assert_error 5 "backup --database-only without pg_dump" "pg_dump" "not found" -- \
  env STRATA_PG_BINDIR="$BIN/empty" "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --database-only
assert_snapshots_unchanged "backup --database-only without pg_dump"
T3=$(new_db2 dberr_nobin)
assert_error 5 "restore --to-dsn without pg_restore" "pg_restore" "not found" -- \
  env STRATA_PG_BINDIR="$BIN/empty" "$STRATA" restore --dest "$DEST" --to-dsn "$T3"
assert_eq 0 "$(table_count "$T3")" "restore without pg_restore: target untouched"

cat >"$BIN/old/pg_dump" <<'EOF'
#!/bin/sh
if [ "$1" = "--version" ] || [ "$1" = "-V" ]; then
  echo "pg_dump (PostgreSQL) 11.22"
  exit 0
fi
echo "fake old pg_dump must not be run for a dump" >&2
exit 1
EOF
chmod +x "$BIN/old/pg_dump"
ln -s "$(command -v pg_restore)" "$BIN/old/pg_restore"
server_major=$(psql -X -At -d "$DSN" -c 'SHOW server_version_num' | cut -c1-2)
assert_error 5 "backup with a pg_dump older than the server" "11.22" "older than the server" -- \
  env STRATA_PG_BINDIR="$BIN/old" "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC"
assert_contains "$LAST_ERROR" "$server_major" "the error names the server's version"
assert_snapshots_unchanged "backup with an old pg_dump"

# --- snapshots without the requested side: 7 ------------------------------------------------
note "snapshots without the requested side"
assert_error 2 "--files-only with --database-only" -- \
  "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --files-only --database-only
assert_snapshots_unchanged "--files-only with --database-only"

assert_exit 0 "backup --files-only" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --files-only --json
files_only_json=$LAST_STDOUT
fo=$(json_get "$files_only_json" id)
assert_eq false "$(json_get "$files_only_json" has_database)" "backup --files-only: has_database"
[[ $(json_get "$files_only_json" resumed_after_interruption) == false ]] ||
  soft_fail "the first good backup after the failed ones says resumed_after_interruption: true: a backup that failed with exit 5 before dumping left an unfinished snapshot behind"
T4=$(new_db2 dberr_fo)
assert_error 7 "restore --to-dsn of a --files-only snapshot" "$fo" -- \
  "$STRATA" restore --dest "$DEST" --snapshot "$fo" --to-dsn "$T4"
assert_eq 0 "$(table_count "$T4")" "restore of a --files-only snapshot: target untouched"
assert_error 7 "restore --dump-dir of a --files-only snapshot" -- \
  "$STRATA" restore --dest "$DEST" --snapshot "$fo" --dump-dir "$OUT/dump-fo"
[[ ! -e $OUT/dump-fo ]] || fail "restore --dump-dir of a --files-only snapshot created $OUT/dump-fo"
assert_error 7 "restore --to-dsn --to-repository of a --files-only snapshot" -- \
  "$STRATA" restore --dest "$DEST" --snapshot "$fo" --to-dsn "$T4" --to-repository "$OUT/repo-fo"
[[ ! -e $OUT/repo-fo ]] || fail "a refused restore (files+db of a files-only snapshot) wrote $OUT/repo-fo"

assert_exit 0 "backup --database-only" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --database-only --json
do_id=$(json_get "$LAST_STDOUT" id)
assert_eq false "$(json_get "$LAST_STDOUT" has_files)" "backup --database-only: has_files"
assert_error 7 "restore --to-repository of a --database-only snapshot" "$do_id" -- \
  "$STRATA" restore --dest "$DEST" --snapshot "$do_id" --to-repository "$OUT/repo-do"
[[ ! -e $OUT/repo-do ]] || fail "restore of a --database-only snapshot created $OUT/repo-do"
# ...while its database side restores fine (latest is the --database-only snapshot).
T5=$(new_db2 dberr_do)
assert_exit 0 "restore --to-dsn of the --database-only snapshot" -- "$STRATA" restore --dest "$DEST" --to-dsn "$T5"
assert_eq "$src_sums" "$(db_checksums "$T5")" "restore of the --database-only snapshot: checksums"

assert_exit 0 "snapshots --json" -- "$STRATA" snapshots --dest "$DEST" --json
assert_eq "1 $fo $do_id" "$(python3 -c 'import json, sys
print(" ".join(str(s["id"]) for s in json.loads(sys.argv[1])["snapshots"]))' "$LAST_STDOUT")" \
  "snapshot ids at the end (failed runs must not use up or leave any)"
if ((${#SOFT_FAILURES[@]} > 0)); then
  fail "${#SOFT_FAILURES[@]} check(s) failed: $(printf '[%s] ' "${SOFT_FAILURES[@]}")"
fi
note "ok"
