#!/usr/bin/env bash
# container_roundtrip: AiiDA 2.x profiles (db_dbnode.repository_metadata + a disk-objectstore
# container, written by container_fixture.py: loose and packed objects, compressed and not,
# shared content, nested and empty folders, empty files, nodes without files).
#   - round trip: backup, then restore of files and database; every key of every node's
#     repository_metadata in the restored database resolves in the restored container to bytes
#     with that sha256, the container_id is the source's, the row checksums are identical; the
#     objects are in packs (none loose), or loose only with --loose;
#   - an incremental backup reads only the new nodes' objects;
#   - objects packed and their loose copies deleted between two backups (as `verdi storage
#     maintain` does), and a loose object deleted during a backup after it was packed: found
#     through packs.idx;
#   - a corrupt object and a missing one: exit 11, each named with node and key, those nodes
#     left for the next backup;
#   - export of a 2.x snapshot holds container/, the same as restore writes (tar -xf), and
#     restore --from-archive writes it back;
#   - a repository_metadata that is no tree strata reads ('..', '/', a key that is not sha256 hex,
#     wrong types): a one-line error naming the node (exit 6);
#   - a destination keeps one kind (1.x folders or 2.x container); --loose and --node are
#     refused where they do not apply;
#   - a container_id that differs from the database's 'repository|uuid': a one-line error.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

FIXTURE="python3 $(dirname "$0")/container_fixture.py"
DSN=$(new_db container_rt)
GEN=$(new_tmp)   # the 1.x folders strata-genrepo writes besides the database: not used
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)

nodes_tsv() { psql -X -At -F $'\t' -d "$1" -c "SELECT id, uuid FROM db_dbnode WHERE id > ${2:-0} ORDER BY id"; }
metadata_tsv() { psql -X -At -F $'\t' -d "$1" -c 'SELECT id, repository_metadata::text FROM db_dbnode ORDER BY id'; }
max_id() { psql -X -At -d "$DSN" -c 'SELECT coalesce(max(id), 0) FROM db_dbnode'; }
# Number of file keys in the trees of the nodes with id > $1.
file_count_above() {
  psql -X -At -d "$DSN" -c "SELECT id, repository_metadata::text FROM db_dbnode WHERE id > $1" |
    python3 -c '
import json, sys
def count(n):
    return 1 if "k" in n else sum(count(c) for c in n.get("o", {}).values())
print(sum(count(json.loads(line.split("|", 1)[1])) for line in sys.stdin))'
}
# Adds N nodes (AiiDA rows from strata-genrepo, trees and loose objects from the fixture).
add_nodes() {
  local n=$1 seed=$2 before
  before=$(max_id)
  "$GENREPO" --dsn "$DSN" --root "$GEN" --nodes "$n" --mode add --seed "$seed" --quiet >/dev/null
  nodes_tsv "$DSN" "$before" | $FIXTURE add "$SRC" "$seed" | psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" >/dev/null
}

# backup_new WHAT N FILES: a backup (exit 0) that adds N nodes and reads FILES files.
backup_new() {
  assert_exit 0 "$1" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
  assert_eq "$2" "$(json_get "$LAST_STDOUT" new_nodes)" "$1: new_nodes"
  [[ -z ${3:-} ]] || assert_eq "$3" "$(json_get "$LAST_STDOUT" read_files)" "$1: read_files (the new nodes' objects only)"
}

note "generating 80 nodes and their container"
"$GENREPO" --dsn "$DSN" --root "$GEN" --nodes 80 --quiet >/dev/null
nodes_tsv "$DSN" | $FIXTURE make "$SRC" 7 | psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" >/dev/null
cid=$($FIXTURE config-id "$SRC")
(($($FIXTURE loose-keys "$SRC" | wc -l) > 0)) || fail "the fixture wrote no loose object"
(($($FIXTURE packed-keys "$SRC" | wc -l) > 0)) || fail "the fixture wrote no packed object"
(($(psql -X -At -d "$DSN" -c "SELECT count(*) FROM db_dbnode WHERE repository_metadata = '{}'") > 0)) ||
  fail "no node without files"
(($(psql -X -At -d "$DSN" -c "SELECT count(*) FROM db_dbnode WHERE repository_metadata::text LIKE '%: {}%'") > 0)) ||
  fail "no empty folder"
db_nodes=$(psql -X -At -d "$DSN" -c 'SELECT count(*) FROM db_dbnode')
files=$(file_count_above 0)

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq "$db_nodes" "$(json_get "$LAST_STDOUT" nodes)" "backup: nodes"
assert_eq "$files" "$(json_get "$LAST_STDOUT" files)" "backup: files"
assert_eq 0 "$(json_get "$LAST_STDOUT" left_nodes)" "backup: left_nodes"
assert_exit 0 "check --read-data" -- "$STRATA" check --dest "$DEST" --read-data

note "restore files and database"
DSN2=$(new_db2 container_rt_restored)
assert_exit 0 "restore" -- "$STRATA" restore --dest "$DEST" --to-repository "$OUT/r1" --to-dsn "$DSN2" --json
for sub in config.json packs.idx packs loose duplicates sandbox; do
  [[ -e $OUT/r1/container/$sub ]] || fail "restored container lacks $sub"
done
assert_eq "$cid" "$($FIXTURE config-id "$OUT/r1")" "restored container_id"
assert_eq 0 "$($FIXTURE loose-keys "$OUT/r1" | wc -l)" "restored loose objects (all packed)"
distinct=$(metadata_tsv "$DSN" | $FIXTURE check "$SRC")
assert_eq "$distinct" "$(metadata_tsv "$DSN2" | $FIXTURE check "$OUT/r1")" "every key resolves in the restored container"
assert_eq "${distinct%% *}" "objects=$($FIXTURE packed-keys "$OUT/r1" | wc -l)" "one packed object per distinct key"
assert_eq "$(db_checksums "$DSN")" "$(db_checksums "$DSN2")" "row checksums of the restored database"
assert_exit 0 "restore --loose" -- "$STRATA" restore --dest "$DEST" --to-repository "$OUT/r2" --loose
assert_eq 0 "$($FIXTURE packed-keys "$OUT/r2" | wc -l)" "packed objects with --loose"
assert_eq "$distinct" "$(metadata_tsv "$DSN" | $FIXTURE check "$OUT/r2")" "every key resolves in the loose container"
assert_exit 9 "restore into an existing container" -- "$STRATA" restore --dest "$DEST" --to-repository "$OUT/r1" --force
assert_one_error "restore into an existing container"
assert_contains "$LAST_STDERR" "exists already" "restore into an existing container: the reason"

note "export holds the container layout; restore --from-archive writes it back"
assert_exit 0 "export" -- "$STRATA" export --dest "$DEST" --snapshot 1 --output "$OUT/s1.tar"
tar -tf "$OUT/s1.tar" >"$OUT/s1.list"
grep -qx 'container/config.json' "$OUT/s1.list" || fail "the archive has no container/config.json"
grep -qx 'container/packs.idx' "$OUT/s1.list" || fail "the archive has no container/packs.idx"
mkdir "$OUT/sx"
tar -xf "$OUT/s1.tar" -C "$OUT/sx" || fail "stock tar -xf of the export failed"
assert_exit 0 "restore of snapshot 1" -- "$STRATA" restore --dest "$DEST" --snapshot 1 --to-repository "$OUT/rs1"
diff -r "$OUT/sx/container" "$OUT/rs1/container" >/dev/null ||
  fail "the export's container differs from what restore writes"
assert_exit 0 "restore --from-archive" -- "$STRATA" restore --from-archive "$OUT/s1.tar" --to-repository "$OUT/ra"
assert_eq "$distinct" "$(metadata_tsv "$DSN" | $FIXTURE check "$OUT/ra")" "every key resolves in the container of the archive"

note "incremental: 10 new nodes"
before=$(max_id)
add_nodes 10 11
new_files=$(file_count_above "$before")
backup_new "incremental backup" 10 "$new_files"

note "objects packed and loose copies deleted between two backups"
before=$(max_id)
add_nodes 6 12
new_files=$(file_count_above "$before")
$FIXTURE pack "$SRC" >/dev/null
assert_eq 0 "$($FIXTURE loose-keys "$SRC" | wc -l)" "loose objects after packing"
backup_new "backup after packing" 6 "$new_files"

note "an object packed, its loose copy deleted during the backup"
before=$(max_id)
add_nodes 4 13
$FIXTURE pack "$SRC" --keep-loose >/dev/null
moved=$($FIXTURE loose-keys "$SRC")
moved=${moved%%$'\n'*}
[[ -n $moved ]] || fail "no loose object to move"
export STRATA_FAULT_LOOSE_VANISH=$moved
backup_new "backup while an object moves" 4
unset STRATA_FAULT_LOOSE_VANISH
[[ ! -e $SRC/container/loose/${moved:0:2}/${moved:2} ]] || fail "the hook did not delete the loose copy"

note "a corrupt object and a missing one"
before=$(max_id)
add_nodes 8 14
# Two loose keys, each referenced by one new node only: "key uuid" lines.
read -r bad_key bad_uuid gone_key gone_uuid < <(
  psql -X -At -F $'\t' -d "$DSN" -c "SELECT uuid, id > $before, repository_metadata::text FROM db_dbnode" |
    python3 -c '
import json, os, sys
root = sys.argv[1]
def keys(n, out):
    if "k" in n: out.add(n["k"])
    for c in n.get("o", {}).values(): keys(c, out)
users, new = {}, {}
for line in sys.stdin:
    uuid, is_new, meta = line.rstrip("\n").split("\t", 2)
    found = set(); keys(json.loads(meta), found)
    for k in found:
        users.setdefault(k, set()).add(uuid)
        if is_new == "t": new[k] = uuid
picked, nodes = [], set()
for k, u in sorted(new.items()):
    loose = os.path.join(root, "container", "loose", k[:2], k[2:])
    if len(users[k]) == 1 and u not in nodes and os.path.getsize(loose) > 0 if os.path.exists(loose) else False:
        picked += [k, u]; nodes.add(u)
    if len(picked) == 4: break
print(" ".join(picked))' "$SRC")
[[ -n ${gone_uuid:-} ]] || fail "no two loose objects of distinct new nodes"
$FIXTURE corrupt "$SRC" "$bad_key"
$FIXTURE remove "$SRC" "$gone_key"
assert_exit 11 "backup with a corrupt and a missing object" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
  --repository "$SRC" --json
assert_eq 2 "$(json_get "$LAST_STDOUT" left_nodes)" "left_nodes"
assert_eq 6 "$(json_get "$LAST_STDOUT" new_nodes)" "new_nodes besides the two left"
assert_contains "$LAST_STDERR" "node $bad_uuid left for the next backup: object '$bad_key'" "the corrupt object's warning"
assert_contains "$LAST_STDERR" "does not match its key" "the corrupt object's reason"
assert_contains "$LAST_STDERR" "node $gone_uuid left for the next backup: object '$gone_key'" "the missing object's warning"
assert_contains "$LAST_STDERR" "is missing from container" "the missing object's reason"

note "container_id mismatch"
psql -X -q -d "$DSN" -c "UPDATE db_dbsetting SET val = '\"0123456789abcdef0123456789abcdef\"' WHERE key = 'repository|uuid'"
assert_exit 6 "backup of a container the database does not name" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
  --repository "$SRC"
assert_one_error "container_id mismatch"
assert_contains "$LAST_STDERR" "has container_id '$cid' but database" "container_id mismatch: the message"
psql -X -q -d "$DSN" -c "UPDATE db_dbsetting SET val = to_jsonb('$cid'::text) WHERE key = 'repository|uuid'"

note "a repository_metadata that is not a tree strata reads: one line naming the node, exit 6"
add_nodes 1 15
hostile_id=$(max_id)
hostile_uuid=$(psql -X -At -d "$DSN" -c "SELECT uuid FROM db_dbnode WHERE id = $hostile_id")
key=$(printf '%064d' 0)
while IFS='|' read -r tree reason; do
  psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" -c "UPDATE db_dbnode SET repository_metadata = '$tree' WHERE id = $hostile_id"
  assert_exit 6 "backup of the tree $tree" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC"
  # (the two nodes whose objects are still damaged are warned about too)
  assert_eq 1 "$(grep -c '^strata: error: ' <<<"$LAST_STDERR")" "tree $tree: one error line"
  assert_contains "$LAST_STDERR" "repository_metadata of node '$hostile_uuid'" "tree $tree: names the node"
  assert_contains "$LAST_STDERR" "$reason" "tree $tree: the reason"
done <<TREES
{"o": {"..": {"k": "$key"}}}|a name is empty, '.', '..', too long or holds '/'
{"o": {"a/b": {"k": "$key"}}}|a name is empty, '.', '..', too long or holds '/'
{"o": {"a": {"k": "ZZ"}}}|the key is not a sha256 hex digest
{"o": {"a": {"k": 7}}}|a key is not a string
{"o": {"a": 1}}|an entry is not an object
{"o": []}|'o' is not an object
{"k": "$key"}|the root is not a folder
TREES
psql -X -q -d "$DSN" -c "UPDATE db_dbnode SET repository_metadata = '{}' WHERE id = $hostile_id"
assert_exit 11 "backup once the tree is repaired" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC"

note "a destination keeps one kind; selections and --loose are refused where they do not apply"
D1X=$(new_tmp)/dest1x
assert_exit 0 "init (1.x)" -- "$STRATA" init --dest "$D1X"
assert_exit 0 "backup of the 1.x folders" -- "$STRATA" backup --dest "$D1X" --dsn "$DSN" --repository "$GEN"
assert_exit 3 "a 2.x backup into a destination of 1.x snapshots" -- "$STRATA" backup --dest "$D1X" --dsn "$DSN" \
  --repository "$SRC"
assert_one_error "a 2.x backup into a destination of 1.x snapshots"
assert_contains "$LAST_STDERR" "holds backups of AiiDA 1.x node folders" "kind mismatch: the reason"
assert_exit 2 "restore --loose of a 1.x snapshot" -- "$STRATA" restore --dest "$D1X" --to-repository "$OUT/r4" --loose
assert_one_error "restore --loose of a 1.x snapshot"
assert_exit 2 "restore --node of a 2.x snapshot" -- "$STRATA" restore --dest "$DEST" --to-repository "$OUT/r5" \
  --node "$bad_uuid"
assert_one_error "restore --node of a 2.x snapshot"
assert_contains "$LAST_STDERR" "restored whole" "restore --node of a 2.x snapshot: the reason"

note "the latest snapshot restores to a container that holds every key of its nodes"
assert_exit 0 "restore latest" -- "$STRATA" restore --dest "$DEST" --to-repository "$OUT/r3" --json
psql -X -At -F $'\t' -d "$DSN" -c "SELECT id, repository_metadata::text FROM db_dbnode
  WHERE uuid NOT IN ('$bad_uuid', '$gone_uuid') ORDER BY id" | $FIXTURE check "$OUT/r3" >/dev/null
assert_exit 0 "check --read-data at the end" -- "$STRATA" check --dest "$DEST" --read-data
note "ok"
