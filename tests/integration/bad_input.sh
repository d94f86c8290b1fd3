#!/usr/bin/env bash
# bad_input: every bad input gets exactly one stderr line 'strata: error: ...' and its documented
# exit code, and leaves the destination as it was: `snapshots --json` prints the same document
# and `check` passes (no partial snapshot). Covers an unreachable database, a wrong password
# (never echoed, never stored), a database without db_dbnode, a missing repository,
# uninitialised / foreign / nonexistent destinations, init on a non-empty directory, an unknown
# snapshot, usage errors, a locked destination, a non-empty restore target and a full disk.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db bad_input)
EMPTY_DSN=$(new_db bad_input_empty)
SRC=$(new_tmp)
WORK=$(new_tmp)
DEST=$WORK/dest

dbname_of() {
  local kv
  for kv in $1; do
    [[ $kv == dbname=* ]] && printf '%s\n' "${kv#dbname=}"
  done
  return 0
}
DBNAME=$(dbname_of "$DSN")
[[ -n ${STRATA_TEST_PG_TCP_PORT:-} ]] || fail "STRATA_TEST_PG_TCP_PORT is not set (run through tests/run.sh)"

note "generating 60 nodes; first backup"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 60 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "first backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC"
assert_exit 0 "snapshots" -- "$STRATA" snapshots --dest "$DEST" --json
SNAPS=$LAST_STDOUT

DEFERRED=()

# The destination must be exactly as before. A failing check is reported at the end.
assert_dest_unchanged() { # WHAT
  assert_exit 0 "snapshots after: $1" -- "$STRATA" snapshots --dest "$DEST" --json
  assert_eq "$SNAPS" "$LAST_STDOUT" "snapshots --json after: $1"
  local status=0 err
  err=$("$STRATA" check --dest "$DEST" 2>&1 >/dev/null) || status=$?
  if ((status != 0)); then
    DEFERRED+=("check after '$1' exited $status (expected 0): $(printf '%s\n' "$err" | head -n 1) ... $(printf '%s\n' "$err" | tail -n 1)")
    note "check after '$1' failed (reported at the end)"
  fi
}

# Stray stderr lines besides the error line are collected in DEFERRED and reported at the end,
# so that one noisy message does not hide the other cases.
one_error() { # WHAT
  local lines
  lines=$(printf '%s' "$LAST_STDERR" | grep -c '' || true)
  if [[ $lines != 1 ]] && grep -q '^strata: error: ' <<<"$LAST_STDERR"; then
    DEFERRED+=("$1: expected exactly one stderr line, got $lines: $(printf '%s' "$LAST_STDERR" | tr '\n' '|')")
    note "$1: $lines stderr lines (reported at the end)"
  else
    assert_one_error "$1"
  fi
}

# expect_error CODE WHAT -- CMD... : exit code, one error line, destination unchanged.
expect_error() {
  local code=$1 what=$2
  shift 2
  assert_exit "$code" "$what" "$@"
  one_error "$what"
  local out=$LAST_STDOUT err=$LAST_STDERR
  assert_dest_unchanged "$what"
  LAST_STDOUT=$out
  LAST_STDERR=$err
}

backup_args=(backup --dest "$DEST" --dsn "$DSN" --repository "$SRC")

note "database errors"
free_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
expect_error 5 "unreachable database" -- "$STRATA" backup --dest "$DEST" \
  --dsn "host=127.0.0.1 port=$free_port user=postgres dbname=$DBNAME connect_timeout=5" --repository "$SRC"

bad_pw="Wr0ng-pw-$RANDOM$RANDOM"
expect_error 5 "wrong password" -- "$STRATA" backup --dest "$DEST" \
  --dsn "host=127.0.0.1 port=$STRATA_TEST_PG_TCP_PORT user=strata_pw password=$bad_pw dbname=$DBNAME" \
  --repository "$SRC"
[[ $LAST_STDOUT$LAST_STDERR != *"$bad_pw"* ]] || fail "the wrong password appears in the output: $LAST_STDERR"
expect_error 5 "wrong password (URI, --json)" -- "$STRATA" backup --dest "$DEST" --json \
  --dsn "postgresql://strata_pw:$bad_pw@127.0.0.1:$STRATA_TEST_PG_TCP_PORT/$DBNAME" --repository "$SRC"
[[ $LAST_STDOUT$LAST_STDERR != *"$bad_pw"* ]] || fail "the wrong password appears in the output (URI): $LAST_STDERR"
if grep -rqa -- "$bad_pw" "$DEST"; then
  fail "the wrong password was written into the destination"
fi

# The right password over TCP works, and is written nowhere in the destination.
psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" -c 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO strata_pw;
  GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO strata_pw;' >/dev/null
PW_DEST=$WORK/pw-dest
assert_exit 0 "init (password destination)" -- "$STRATA" init --dest "$PW_DEST"
assert_exit 0 "backup with the right password over TCP" -- "$STRATA" backup --dest "$PW_DEST" --json \
  --dsn "host=127.0.0.1 port=$STRATA_TEST_PG_TCP_PORT user=strata_pw password=s3cret-pw dbname=$DBNAME" \
  --repository "$SRC"
assert_eq 60 "$(json_get "$LAST_STDOUT" nodes)" "backup over TCP: nodes"
[[ $LAST_STDOUT$LAST_STDERR != *s3cret-pw* ]] || fail "the password appears in the output of a backup"
assert_exit 0 "snapshots (password destination)" -- "$STRATA" snapshots --dest "$PW_DEST" --json
[[ $LAST_STDOUT != *s3cret-pw* ]] || fail "the password appears in snapshots --json"
if grep -rqa -- s3cret-pw "$PW_DEST"; then
  fail "the password was written into the destination: $(grep -rla -- s3cret-pw "$PW_DEST")"
fi

expect_error 5 "database without db_dbnode" -- "$STRATA" backup --dest "$DEST" --dsn "$EMPTY_DSN" \
  --repository "$SRC"
assert_contains "$LAST_STDERR" "db_dbnode" "error for a database without db_dbnode"

note "repository errors"
expect_error 6 "missing repository" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
  --repository "$WORK/no-such-repository"
expect_error 6 "repository root without repository/node" -- "$STRATA" backup --dest "$DEST" \
  --dsn "$DSN" --repository "$(new_tmp)"

note "destination errors"
mkdir "$WORK/empty"
assert_exit 3 "backup into an uninitialised (empty) destination" -- "$STRATA" backup --dest "$WORK/empty" \
  --dsn "$DSN" --repository "$SRC"
one_error "backup into an uninitialised destination"
assert_exit 3 "snapshots of an uninitialised destination" -- "$STRATA" snapshots --dest "$WORK/empty"
one_error "snapshots of an uninitialised destination"
[[ -z $(ls -A "$WORK/empty") ]] || fail "strata wrote into an uninitialised destination: $(ls -A "$WORK/empty")"

mkdir "$WORK/foreign"
echo "my thesis" >"$WORK/foreign/thesis.txt"
mkdir "$WORK/foreign/photos"
assert_exit 3 "backup into a foreign directory" -- "$STRATA" backup --dest "$WORK/foreign" \
  --dsn "$DSN" --repository "$SRC"
one_error "backup into a foreign directory"
assert_exit 3 "check of a foreign directory" -- "$STRATA" check --dest "$WORK/foreign"
one_error "check of a foreign directory"
assert_eq "photos thesis.txt" "$(cd "$WORK/foreign" && echo *)" "foreign directory untouched"

assert_exit 3 "backup into a nonexistent destination" -- "$STRATA" backup --dest "$WORK/nope" \
  --dsn "$DSN" --repository "$SRC"
one_error "backup into a nonexistent destination"
[[ ! -e $WORK/nope ]] || fail "backup created the nonexistent destination"
assert_exit 3 "restore from a nonexistent destination" -- "$STRATA" restore --dest "$WORK/nope" \
  --to-repository "$WORK/r-nope"
one_error "restore from a nonexistent destination"
assert_exit 3 "snapshots of a nonexistent destination (STRATA_DEST)" -- \
  env STRATA_DEST="$WORK/nope" "$STRATA" snapshots
one_error "snapshots of a nonexistent destination (STRATA_DEST)"

assert_exit 3 "init on a non-empty directory" -- "$STRATA" init --dest "$WORK/foreign"
one_error "init on a non-empty directory"
assert_eq "photos thesis.txt" "$(cd "$WORK/foreign" && echo *)" "non-empty directory untouched by init"
expect_error 3 "init on an existing destination" -- "$STRATA" init --dest "$DEST"

note "unknown snapshot"
expect_error 7 "restore --snapshot 999" -- "$STRATA" restore --dest "$DEST" --snapshot 999 \
  --to-repository "$WORK/r999"
[[ ! -e $WORK/r999 ]] || [[ -z $(ls -A "$WORK/r999") ]] || fail "restore of an unknown snapshot wrote files"

note "usage errors"
expect_error 2 "unknown option --bogus" -- "$STRATA" backup "${backup_args[@]:1}" --bogus
expect_error 2 "backup without --dsn" -- "$STRATA" backup --dest "$DEST" --repository "$SRC"
expect_error 2 "backup --jobs 0" -- "$STRATA" "${backup_args[@]}" --jobs 0
expect_error 2 "unknown command" -- "$STRATA" frobnicate --dest "$DEST"
expect_error 2 "restore without --to-repository" -- "$STRATA" restore --dest "$DEST"

note "locked destination"
hold_flock "$DEST/lock"
started=$SECONDS
assert_exit 4 "backup of a locked destination" -- "$STRATA" "${backup_args[@]}"
one_error "backup of a locked destination"
assert_contains "$LAST_STDERR" "lock" "locked destination error"
((SECONDS - started < 10)) || fail "backup of a locked destination took $((SECONDS - started))s to give up"
release_flock
flock_is_held "$DEST/lock" && fail "the lock is still held after its holder ended"
assert_dest_unchanged "locked destination"

note "non-empty restore target"
mkdir -p "$WORK/target/repository"
echo keep >"$WORK/target/repository/precious.txt"
expect_error 9 "restore into a non-empty target" -- "$STRATA" restore --dest "$DEST" \
  --to-repository "$WORK/target"
assert_eq "precious.txt" "$(ls -A "$WORK/target/repository")" "non-empty target untouched"
assert_exit 0 "restore --force into a non-empty target" -- "$STRATA" restore --dest "$DEST" \
  --to-repository "$WORK/target" --force
assert_eq keep "$(cat "$WORK/target/repository/precious.txt")" "unrelated file kept by restore --force"
# Removing the file changes the folder's mtime, which restore had set: keep that one.
restored_mtime=$(stat -c %y "$WORK/target/repository")
rm "$WORK/target/repository/precious.txt"
touch -d "$restored_mtime" "$WORK/target/repository"
assert_same_repo "$SRC" "$WORK/target" "restore --force vs source"

note "full disk"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 30 --mode add --quiet >/dev/null
expect_error 10 "backup with ENOSPC on the first write" -- \
  env STRATA_FAULT_WRITE_ENOSPC=1 "$STRATA" "${backup_args[@]}"
expect_error 10 "backup with ENOSPC on the second write" -- \
  env STRATA_FAULT_WRITE_ENOSPC=2 "$STRATA" "${backup_args[@]}"
assert_exit 10 "restore with ENOSPC" -- env STRATA_FAULT_WRITE_ENOSPC=5 "$STRATA" restore --dest "$DEST" \
  --to-repository "$WORK/r-enospc"
one_error "restore with ENOSPC"
assert_exit 0 "backup after the full disk" -- "$STRATA" "${backup_args[@]}" --json
assert_eq 30 "$(json_get "$LAST_STDOUT" new_nodes)" "backup after the full disk: new_nodes"
assert_eq 90 "$(json_get "$LAST_STDOUT" nodes)" "backup after the full disk: nodes"
assert_exit 0 "restore after the full disk" -- "$STRATA" restore --dest "$DEST" --to-repository "$WORK/r-final"
assert_same_repo "$SRC" "$WORK/r-final" "restore after the full disk vs source"
assert_exit 0 "check --read-data at the end" -- "$STRATA" check --dest "$DEST" --read-data
if ((${#DEFERRED[@]} > 0)); then
  printf 'FAIL: %s\n' "${DEFERRED[@]}" >&2
  exit 1
fi
note "ok"
