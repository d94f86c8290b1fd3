#!/usr/bin/env bash
# profile: backup --profile takes database and repository from an AiiDA config.json found
# through AIIDA_PATH, in the 2.x format (port as a string) and the 1.x format (port as a
# number), with --profile NAME and --profile alone (the default profile). The profile's
# database belongs to the password-only role strata_pw over TCP, with no PGPASSWORD or
# .pgpass: the password can only come from config.json. It never appears on stdout, stderr
# or in the destination; the snapshot records the profile's name and format. Every bad
# configuration is a one-line error with exit code 2.
source "$(dirname "$0")/lib.sh"

unset PGPASSWORD
export PGPASSFILE=/nonexistent/pgpass
PW=$ROLE_PASSWORD
TCP=${STRATA_TEST_PG_TCP_PORT:?}

DB=$(new_role_db profile)
SRC=$(new_tmp)
WORK=$(new_tmp)
note "generating 40 nodes as $ROLE over TCP"
"$GENREPO" --dsn "$(role_dsn "$DB")" --root "$SRC" --nodes 40 \
  --quiet >/dev/null

# AIIDA_PATH: an empty entry, a missing folder, then the one that exists (.aiida appended).
mkdir -p "$WORK/home2/.aiida" "$WORK/home1x/.aiida"
export AIIDA_PATH=":$WORK/missing:$WORK/home2"
cat >"$WORK/home2/.aiida/config.json" <<JSON
{"CONFIG_VERSION": {"CURRENT": 9, "OLDEST_COMPATIBLE": 9}, "default_profile": "main",
 "profiles": {
  "main": {"PROFILE_UUID": "0123", "storage": {"backend": "core.psql_dos", "config": {
    "database_engine": "postgresql_psycopg", "database_hostname": "127.0.0.1", "database_port": "$TCP",
    "database_username": "$ROLE", "database_password": "$PW", "database_name": "$DB",
    "repository_uri": "file://$SRC"}},
   "process_control": {"backend": "core.rabbitmq", "config": {"broker_password": "guest"}}},
  "wrongpw": {"storage": {"backend": "core.psql_dos", "config": {"database_hostname": "127.0.0.1",
    "database_port": $TCP, "database_username": "$ROLE", "database_password": "not-$PW",
    "database_name": "$DB", "repository_uri": "file://$SRC"}}},
  "lite": {"storage": {"backend": "core.sqlite_dos", "config": {"filepath": "$SRC"}}},
  "remote": {"storage": {"backend": "core.psql_dos", "config": {"database_name": "$DB",
    "repository_uri": "sftp://host$SRC"}}}
 }}
JSON

D=$WORK/dest
assert_exit 0 "init" -- "$STRATA" init --dest "$D"
note "backup --profile main (2.x, port as a string)"
assert_exit 0 "backup --profile main" -- "$STRATA" backup --dest "$D" --profile main --json
assert_eq 40 "$(json_get "$LAST_STDOUT" nodes)" "nodes of the profile backup"
[[ $LAST_STDOUT$LAST_STDERR != *"$PW"* ]] || fail "the password was printed"

note "backup --profile (the default profile), with -v"
"$GENREPO" --dsn "$(role_dsn "$DB")" --root "$SRC" --nodes 5 \
  --mode add --quiet >/dev/null
assert_exit 0 "backup --profile" -- "$STRATA" backup --profile --dest "$D" -v
[[ $LAST_STDOUT$LAST_STDERR != *"$PW"* ]] || fail "the password was printed with -v"
assert_exit 0 "snapshots --json" -- "$STRATA" snapshots --dest "$D" --json
assert_eq main "$(json_get "$LAST_STDOUT" snapshots.1.profile.name)" "recorded profile name"
assert_eq 2.x "$(json_get "$LAST_STDOUT" snapshots.1.profile.format)" "recorded profile format"
assert_eq "$DB" "$(json_get "$LAST_STDOUT" snapshots.1.profile.database)" "recorded database"
assert_contains "$(json_get "$LAST_STDOUT" snapshots.1.source)" "profile 'main'" "snapshot source"
assert_eq 45 "$(json_get "$LAST_STDOUT" snapshots.1.nodes)" "nodes after the second backup"
if grep -rqa -- "$PW" "$D"; then fail "the password is in the destination"; fi
if grep -rqa -- "guest" "$D"; then fail "the broker password is in the destination"; fi

note "1.x format (AIIDADB_*, port as a number) through an AIIDA_PATH entry ending in .aiida"
cat >"$WORK/home1x/.aiida/config.json" <<JSON
{"CONFIG_VERSION": {"CURRENT": 5, "OLDEST_COMPATIBLE": 5}, "default_profile": "old",
 "profiles": {"old": {"PROFILE_UUID": "abcd", "AIIDADB_ENGINE": "postgresql_psycopg2",
  "AIIDADB_BACKEND": "django", "AIIDADB_HOST": "127.0.0.1", "AIIDADB_PORT": $TCP,
  "AIIDADB_NAME": "$DB", "AIIDADB_USER": "$ROLE", "AIIDADB_PASS": "$PW",
  "AIIDADB_REPOSITORY_URI": "file://$SRC", "options": {}}}}
JSON
D1=$WORK/dest1x
assert_exit 0 "init 1.x" -- "$STRATA" init --dest "$D1"
AIIDA_PATH="$WORK/home1x/.aiida" assert_exit 0 "backup --profile old" -- "$STRATA" backup --dest "$D1" \
  --profile old --json
assert_eq 45 "$(json_get "$LAST_STDOUT" nodes)" "nodes of the 1.x profile backup"
assert_exit 0 "snapshots 1.x" -- "$STRATA" snapshots --dest "$D1" --json
assert_eq 1.x "$(json_get "$LAST_STDOUT" snapshots.0.profile.format)" "1.x format recorded"
assert_eq django "$(json_get "$LAST_STDOUT" snapshots.0.profile.backend)" "1.x backend recorded"
assert_exit 0 "restore of the profile backup" -- "$STRATA" restore --dest "$D1" --to-repository "$WORK/restored"
assert_same_repo "$SRC" "$WORK/restored" "restore of a profile backup"

note "errors: one line each"
expect_config_error() { # WHAT NEEDLE ARGS...
  local what=$1 needle=$2
  shift 2
  assert_exit 2 "$what" -- "$STRATA" backup --dest "$D" "$@"
  assert_one_error "$what"
  assert_contains "$LAST_STDERR" "$needle" "$what"
  [[ $LAST_STDERR != *"$PW"* ]] || fail "$what: the password was printed"
}
expect_config_error "unknown profile" "has no profile 'nope'" --profile nope
expect_config_error "sqlite storage" "core.sqlite_dos" --profile lite
expect_config_error "not a file:// repository" "not file://" --profile remote
expect_config_error "--profile with --dsn" "excludes" --profile main --dsn "$(role_dsn "$DB")"
AIIDA_PATH=$WORK/nowhere expect_config_error "missing config.json" "does not exist" --profile
mkdir -p "$WORK/bad/.aiida"
printf '{"profiles": {"a": ' >"$WORK/bad/.aiida/config.json"
AIIDA_PATH=$WORK/bad expect_config_error "malformed config.json" "not valid JSON" --profile a
expect_config_error "--config-dir" "has no profile 'main'" --config-dir "$WORK/home1x/.aiida" --profile main

note "a wrong password in the profile: exit 5, the password not shown"
assert_exit 5 "wrong password" -- "$STRATA" backup --dest "$D" --profile wrongpw
assert_one_error "wrong password"
[[ $LAST_STDERR != *"not-$PW"* ]] || fail "the wrong password was printed"
note "ok"
