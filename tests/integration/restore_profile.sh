#!/usr/bin/env bash
# restore_profile: life after a disaster. A profile backed up with --profile is restored in one
# command onto the second cluster (another system identifier) with --to-profile: database,
# files, and a new profile entry in config.json (mode 0600, the backed-up profile's format and
# other settings, the new connection and repository, a new PROFILE_UUID). `strata backup
# --profile` of that new profile then backs up into the same destination: the restored
# database is recognised (restore marked it), the history continues and deduplicates. A foreign
# database is refused with a message that names --adopt, and accepted with it. An existing
# profile name is refused before anything is restored. restore --from-archive --to-profile of an
# export does the same from the archive alone (the manifest's profile record and row counts).
source "$(dirname "$0")/lib.sh"

unset PGPASSWORD
export PGPASSFILE=/nonexistent/pgpass
PW=s3cret-pw
ROLE=strata_pw
TCP2=$(_lib_dsn_field "$STRATA_TEST_DSN2" port)
SOCK2=$(_lib_dsn_field "$STRATA_TEST_DSN2" host)

DSN=$(new_db restoreprofile)
SRC=$(new_tmp)
WORK=$(new_tmp)
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 80 --quiet >/dev/null
mkdir -p "$WORK/home/.aiida"
export AIIDA_PATH=$WORK/home
CONFIG=$WORK/home/.aiida/config.json
cat >"$CONFIG" <<JSON
{"CONFIG_VERSION": {"CURRENT": 9, "OLDEST_COMPATIBLE": 9}, "default_profile": "orig",
 "profiles": {"orig": {"PROFILE_UUID": "00112233445566778899aabbccddeeff",
   "storage": {"backend": "core.psql_dos", "config": {"database_engine": "postgresql_psycopg",
     "database_hostname": "$(_lib_dsn_field "$DSN" host)", "database_port": "$(_lib_dsn_field "$DSN" port)",
     "database_username": "postgres", "database_password": "", "database_name": "$(_lib_dsn_field "$DSN" dbname)",
     "repository_uri": "file://$SRC"}},
   "process_control": {"backend": "core.rabbitmq", "config": {"broker_host": "rmq.example", "broker_password": "guest"}},
   "options": {"warnings.showdeprecations": false}}}}
JSON
D=$WORK/dest
assert_exit 0 "init" -- "$STRATA" init --dest "$D"
assert_exit 0 "backup --profile orig" -- "$STRATA" backup --dest "$D" --profile orig

NEWDB=restored_$$_$RANDOM
on_exit "dropdb --if-exists --force -h '$SOCK2' -p '$TCP2' -U postgres $NEWDB"
TO_DSN="host=127.0.0.1 port=$TCP2 user=$ROLE password=$PW dbname=$NEWDB"
NEWREPO=$WORK/newrepo

note "1: --to-profile needs both sides"
assert_exit 2 "--to-profile without --to-dsn" -- "$STRATA" restore --dest "$D" --to-repository "$NEWREPO" \
  --to-profile moved
assert_one_error "--to-profile without --to-dsn"

note "2: restore database, files and a new profile in one command"
assert_exit 0 "restore --to-profile" -- "$STRATA" restore --dest "$D" --to-dsn "$TO_DSN" \
  --to-repository "$NEWREPO" --to-profile moved --json -v
assert_eq moved "$(json_get "$LAST_STDOUT" profile.name)" "profile in the JSON"
assert_contains "$LAST_STDERR" "added profile 'moved'" "what restore says"
assert_contains "$LAST_STDERR" "check them before running processes" "what is left to do"
[[ $LAST_STDOUT$LAST_STDERR != *"$PW"* ]] || fail "restore printed the password"
assert_same_repo "$SRC" "$NEWREPO" "restored files"
assert_eq 600 "$(stat -c %a "$CONFIG")" "mode of config.json"
python3 - "$CONFIG" "$NEWDB" "$NEWREPO" "$TCP2" "$PW" <<'PY' || fail "the new profile entry is not as expected"
import json, sys
cfg = json.load(open(sys.argv[1]))
new, orig = cfg["profiles"]["moved"], cfg["profiles"]["orig"]
c = new["storage"]["config"]
assert new["storage"]["backend"] == "core.psql_dos", new
assert c["database_name"] == sys.argv[2] and c["repository_uri"] == "file://" + sys.argv[3], c
assert c["database_hostname"] == "127.0.0.1" and str(c["database_port"]) == sys.argv[4], c
assert c["database_username"] == "strata_pw" and c["database_password"] == sys.argv[5], c
assert new["process_control"]["config"]["broker_host"] == "rmq.example", new
assert "broker_password" not in new["process_control"]["config"], new  # secrets are never recorded
assert new["options"] == orig["options"], new
assert new["PROFILE_UUID"] != orig["PROFILE_UUID"], new
assert cfg["default_profile"] == "orig", cfg
PY

note "3: the new profile backs up into the same destination: recognised, deduplicated"
assert_exit 0 "backup --profile moved" -- "$STRATA" backup --dest "$D" --profile moved --json -v
assert_contains "$LAST_STDERR" "was restored from this destination" "the restored database is recognised"
assert_eq 0 "$(json_get "$LAST_STDOUT" new_nodes)" "nodes new after the restore"
assert_eq 80 "$(json_get "$LAST_STDOUT" nodes)" "nodes after the restore"
assert_eq 0 "$(json_get "$LAST_STDOUT" new_objects)" "file objects new after the restore"
"$GENREPO" --dsn "$TO_DSN" --root "$NEWREPO" --nodes 5 --mode add --quiet >/dev/null
assert_exit 0 "backup --profile moved after new work" -- "$STRATA" backup --dest "$D" --profile moved --json
assert_eq 5 "$(json_get "$LAST_STDOUT" new_nodes)" "new nodes of the restored profile"
assert_exit 0 "restore of the continued history" -- "$STRATA" restore --dest "$D" --to-repository "$WORK/again"
assert_same_repo "$NEWREPO" "$WORK/again" "the continued history restores"

note "4: an existing profile is refused before anything is restored"
OTHERDB=other_$$_$RANDOM
assert_exit 9 "existing profile" -- "$STRATA" restore --dest "$D" --to-dsn "${TO_DSN% dbname=*} dbname=$OTHERDB" \
  --to-repository "$WORK/other" --to-profile moved
assert_one_error "existing profile"
assert_contains "$LAST_STDERR" "--force" "existing profile"
[[ ! -e $WORK/other ]] || fail "files were restored although the profile was refused"
[[ -z $(psql -X -At -d "$STRATA_TEST_DSN2" -c "SELECT 1 FROM pg_database WHERE datname = '$OTHERDB'") ]] ||
  fail "a database was created although the profile was refused"

note "5: restore --profile: into the database and repository of an existing profile"
FRESHDB=fresh_$$_$RANDOM
on_exit "dropdb --if-exists --force -h '$SOCK2' -p '$TCP2' -U postgres $FRESHDB"
python3 - "$CONFIG" "$FRESHDB" "$WORK/fresh" "$TCP2" "$PW" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["profiles"]["fresh"] = {"storage": {"backend": "core.psql_dos", "config": {
    "database_hostname": "127.0.0.1", "database_port": sys.argv[4], "database_username": "strata_pw",
    "database_password": sys.argv[5], "database_name": sys.argv[2], "repository_uri": "file://" + sys.argv[3]}}}
json.dump(cfg, open(sys.argv[1], "w"))
PY
assert_exit 0 "restore --profile fresh" -- "$STRATA" restore --dest "$D" --snapshot 1 --profile fresh
[[ $LAST_STDOUT$LAST_STDERR != *"$PW"* ]] || fail "restore --profile printed the password"
assert_same_repo "$SRC" "$WORK/fresh" "restore --profile: files"
assert_eq 80 "$(psql -X -At -d "$STRATA_TEST_DSN2" -c "SELECT 1" >/dev/null &&
  psql -X -At -h "$SOCK2" -p "$TCP2" -U postgres -d "$FRESHDB" -c 'SELECT count(*) FROM db_dbnode')" \
  "restore --profile: nodes in the database"

note "6: a foreign database is refused, naming --adopt; --adopt accepts it"
FOREIGN=$(new_db2 foreign)
FSRC=$(new_tmp)
"$GENREPO" --dsn "$FOREIGN" --root "$FSRC" --nodes 3 --quiet >/dev/null
assert_exit 3 "a foreign database" -- "$STRATA" backup --dest "$D" --dsn "$FOREIGN" --repository "$FSRC"
assert_one_error "a foreign database"
assert_contains "$LAST_STDERR" "--adopt" "the refusal says how"
assert_exit 0 "--adopt" -- "$STRATA" backup --dest "$D" --dsn "$FOREIGN" --repository "$FSRC" --adopt
assert_exit 0 "check" -- "$STRATA" check --dest "$D"

note "7: restore --from-archive --to-profile: an export's database, files and a profile, row counts verified"
assert_exit 0 "export of snapshot 1" -- "$STRATA" export --dest "$D" --snapshot 1 --output "$WORK/snap1.tar"
ARCHDB=archived_$$_$RANDOM
on_exit "dropdb --if-exists --force -h '$SOCK2' -p '$TCP2' -U postgres $ARCHDB"
assert_exit 0 "restore --from-archive --to-profile" -- "$STRATA" restore --from-archive "$WORK/snap1.tar" \
  --to-dsn "${TO_DSN% dbname=*} dbname=$ARCHDB" --to-repository "$WORK/from-archive" --to-profile archived --json
assert_eq archived "$(json_get "$LAST_STDOUT" profile.name)" "--from-archive: profile in the JSON"
assert_eq true "$(json_get "$LAST_STDOUT" database.verified)" "--from-archive: row counts verified"
[[ $LAST_STDOUT$LAST_STDERR != *"$PW"* ]] || fail "restore --from-archive printed the password"
assert_same_repo "$SRC" "$WORK/from-archive" "--from-archive --to-profile: files"
python3 - "$CONFIG" "$ARCHDB" "$WORK/from-archive" <<'PY' || fail "the profile from the archive is not as expected"
import json, sys
cfg = json.load(open(sys.argv[1]))
new = cfg["profiles"]["archived"]
c = new["storage"]["config"]
assert new["storage"]["backend"] == "core.psql_dos", new
assert c["database_name"] == sys.argv[2] and c["repository_uri"] == "file://" + sys.argv[3], c
assert new["process_control"]["config"]["broker_host"] == "rmq.example", new
PY
assert_exit 9 "--from-archive: an existing profile" -- "$STRATA" restore --from-archive "$WORK/snap1.tar" \
  --to-dsn "${TO_DSN% dbname=*} dbname=$OTHERDB" --to-repository "$WORK/other2" --to-profile archived
assert_one_error "--from-archive: an existing profile"
[[ ! -e $WORK/other2 ]] || fail "--from-archive wrote files although the profile was refused"
assert_exit 2 "--from-archive --to-profile without --to-dsn" -- "$STRATA" restore --from-archive "$WORK/snap1.tar" \
  --to-repository "$WORK/other3" --to-profile x
assert_one_error "--from-archive --to-profile without --to-dsn"
note "ok"
