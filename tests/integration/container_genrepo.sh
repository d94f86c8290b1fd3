#!/usr/bin/env bash
# container_genrepo: strata-genrepo --format 2 writes an AiiDA 2.x profile that strata backs up
# and restores: loose objects and packs (raw and zlib) in the generated container, every key
# of every tree resolving to its bytes (container_fixture.py check), nodes without files; the
# restored container holds every key; add mode writes loose objects that an incremental backup
# reads, and only those; a 2.x profile restored with --to-profile backs up again with --profile.
source "$(dirname "$0")/lib.sh"

FIXTURE="python3 $(dirname "$0")/container_fixture.py"
DSN=$(new_db container_gen)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)
metadata_tsv() { psql -X -At -F $'\t' -d "$DSN" -c "SELECT id, repository_metadata::text FROM db_dbnode WHERE id > ${1:-0} ORDER BY id"; }
keys_in() { python3 -c '
import json, sys
def count(n):
    return 1 if "k" in n else sum(count(c) for c in n.get("o", {}).values())
print(sum(count(json.loads(line.split("\t", 1)[1])) for line in sys.stdin))'; }

note "generating 300 nodes of an AiiDA 2.x profile"
assert_exit 0 "genrepo --format 2" -- "$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 300 --format 2 --quiet
[[ ! -e $SRC/repository ]] || fail "--format 2 wrote 1.x node folders"
(($($FIXTURE loose-keys "$SRC" | wc -l) > 0)) || fail "no loose object"
packed=$(sqlite3 "$SRC/container/packs.idx" 'SELECT sum(compressed), sum(1 - compressed) FROM db_object')
[[ $packed =~ ^[1-9][0-9]*\|[1-9][0-9]*$ ]] || fail "expected compressed and raw packed objects, got '$packed'"
check=$(metadata_tsv | $FIXTURE check "$SRC")
note "source: $check"
(($(psql -X -At -d "$DSN" -c "SELECT count(*) FROM db_dbnode WHERE repository_metadata = '{}'") > 0)) ||
  fail "no node without files"
assert_eq main_0002 "$(psql -X -At -d "$DSN" -c 'SELECT version_num FROM alembic_version')" "schema version"
assert_eq "$($FIXTURE config-id "$SRC")" "$(psql -X -At -d "$DSN" -c "SELECT val #>> '{}' FROM db_dbsetting WHERE key = 'repository|uuid'")" \
  "'repository|uuid' is the container_id"
files=$(metadata_tsv | keys_in)

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 300 "$(json_get "$LAST_STDOUT" nodes)" "backup: nodes"
assert_eq "$files" "$(json_get "$LAST_STDOUT" files)" "backup: files"
assert_exit 0 "restore" -- "$STRATA" restore --dest "$DEST" --to-repository "$OUT/r1"
assert_eq "$check" "$(metadata_tsv | $FIXTURE check "$OUT/r1")" "every key resolves in the restored container"

before=$(psql -X -At -d "$DSN" -c 'SELECT max(id) FROM db_dbnode')
loose_before=$($FIXTURE loose-keys "$SRC" | wc -l)
assert_exit 0 "genrepo --format 2 --mode add" -- "$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 30 --format 2 \
  --mode add --quiet
(($($FIXTURE loose-keys "$SRC" | wc -l) > loose_before)) || fail "add mode wrote no loose object"
new_files=$(metadata_tsv "$before" | keys_in)
assert_exit 0 "incremental backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 30 "$(json_get "$LAST_STDOUT" new_nodes)" "incremental: new_nodes"
assert_eq "$new_files" "$(json_get "$LAST_STDOUT" read_files)" "incremental: read_files"
assert_exit 0 "restore latest" -- "$STRATA" restore --dest "$DEST" --to-repository "$OUT/r2"
assert_eq "$(metadata_tsv | $FIXTURE check "$SRC")" "$(metadata_tsv | $FIXTURE check "$OUT/r2")" \
  "every key resolves after the incremental backup"
note "a 2.x profile: backup --profile, restore --to-profile, backup --profile of the restored one"
WORK=$(new_tmp)
mkdir -p "$WORK/.aiida"
export AIIDA_PATH=$WORK
cat >"$WORK/.aiida/config.json" <<JSON
{"CONFIG_VERSION": {"CURRENT": 9, "OLDEST_COMPATIBLE": 9}, "default_profile": "orig",
 "profiles": {"orig": {"PROFILE_UUID": "00112233445566778899aabbccddeeff",
   "storage": {"backend": "core.psql_dos", "config": {"database_engine": "postgresql_psycopg",
     "database_hostname": "$(_lib_dsn_field "$DSN" host)", "database_port": "$(_lib_dsn_field "$DSN" port)",
     "database_username": "postgres", "database_password": "", "database_name": "$(_lib_dsn_field "$DSN" dbname)",
     "repository_uri": "file://$SRC"}},
   "process_control": {"backend": "core.rabbitmq", "config": {}}}}}
JSON
PDEST=$WORK/dest
assert_exit 0 "init for profiles" -- "$STRATA" init --dest "$PDEST"
assert_exit 0 "backup --profile orig" -- "$STRATA" backup --dest "$PDEST" --profile orig
DSN2=$(new_db2 container_gen_moved)
assert_exit 0 "restore --to-profile" -- "$STRATA" restore --dest "$PDEST" --to-dsn "$DSN2" \
  --to-repository "$WORK/moved" --to-profile moved
assert_eq "$($FIXTURE config-id "$SRC")" "$($FIXTURE config-id "$WORK/moved")" "container_id of the restored profile"
assert_eq "$(metadata_tsv | $FIXTURE check "$SRC")" \
  "$(psql -X -At -F $'\t' -d "$DSN2" -c 'SELECT id, repository_metadata::text FROM db_dbnode ORDER BY id' |
     $FIXTURE check "$WORK/moved")" "every key of the restored database resolves in the restored container"
assert_exit 0 "backup --profile moved" -- "$STRATA" backup --dest "$PDEST" --profile moved --json
assert_eq 0 "$(json_get "$LAST_STDOUT" new_nodes)" "backup of the restored profile: nothing new"
note "ok"
