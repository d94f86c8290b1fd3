#!/usr/bin/env bash
# container_consistency: the database a restore of an AiiDA 2.x snapshot writes never references
# an object the container it writes lacks, or the restore says so.
#   - one referenced object deleted before the first backup: the backup exits 11 and leaves that
#     node (whole); restoring that snapshot with --to-dsn exits 11 with one warning line naming
#     node and key for that key and for each other key only that node references, and --json
#     counts the keys checked and those missing;
#   - the object put back: the next backup takes the node, and a restore of that snapshot passes
#     the check, having checked exactly as many keys as the trees hold (distinct per node);
#   - a restore of the first snapshot then fills what it lacks from the second (content found by
#     its sha256 among the node's files there), written loose, and completes (exit 0);
#   - a files-only restore does not claim a check it cannot make.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

FIXTURE="python3 $(dirname "$0")/container_fixture.py"
DSN=$(new_db container_cons)
GEN=$(new_tmp)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)

# Keys of the trees, distinct per node: what the restore's check counts.
tree_keys() {
  psql -X -At -d "$1" -c 'SELECT repository_metadata::text FROM db_dbnode' | python3 -c '
import json, sys
def keys(n, out):
    if "k" in n: out.add(n["k"])
    for c in n.get("o", {}).values(): keys(c, out)
    return out
print(sum(len(keys(json.loads(line), set())) for line in sys.stdin))'
}

note "a profile of 40 nodes; one loose object that one node alone references is deleted"
"$GENREPO" --dsn "$DSN" --root "$GEN" --nodes 40 --quiet >/dev/null
psql -X -At -F $'\t' -d "$DSN" -c 'SELECT id, uuid FROM db_dbnode ORDER BY id' |
  $FIXTURE make "$SRC" 21 | psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" >/dev/null
# The key, its node, and how many keys only that node references (a backup leaves the node whole).
read -r gone_key gone_uuid lacking < <(
  psql -X -At -F $'\t' -d "$DSN" -c 'SELECT uuid, repository_metadata::text FROM db_dbnode ORDER BY id' |
    python3 -c '
import json, os, sys
def keys(n, out):
    if "k" in n: out.add(n["k"])
    for c in n.get("o", {}).values(): keys(c, out)
    return out
users = {}
for line in sys.stdin:
    uuid, meta = line.rstrip("\n").split("\t", 1)
    for k in keys(json.loads(meta), set()): users.setdefault(k, []).append(uuid)
for k, u in sorted(users.items()):
    if len(u) == 1 and os.path.exists(os.path.join(sys.argv[1], "container", "loose", k[:2], k[2:])):
        print(k, u[0], sum(1 for v in users.values() if v == u)); break' "$SRC")
[[ -n ${gone_uuid:-} ]] || fail "no loose object that one node alone references"
loose_file=$SRC/container/loose/${gone_key:0:2}/${gone_key:2}
cp -p "$loose_file" "$OUT/kept-object"
$FIXTURE remove "$SRC" "$gone_key"
keys=$(tree_keys "$DSN")

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 11 "backup with a missing object" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 1 "$(json_get "$LAST_STDOUT" left_nodes)" "backup: left_nodes"
assert_contains "$LAST_STDERR" "node $gone_uuid left for the next backup: object '$gone_key'" "backup: the warning"

note "restoring that snapshot with its database: exit 11, one line naming node and key"
DSN2=$(new_db2 container_cons_r1)
assert_exit 11 "restore of the incomplete snapshot" -- "$STRATA" restore --dest "$DEST" --snapshot 1 \
  --to-repository "$OUT/r1" --to-dsn "$DSN2" --json
assert_eq 1 "$(grep -c "^strata: warning: restore: node $gone_uuid references object $gone_key, which snapshot 1 lacks" \
  <<<"$LAST_STDERR")" "restore: one warning line naming node, key and snapshot"
assert_eq "$lacking" "$(grep -c "^strata: warning: restore: node $gone_uuid references object [0-9a-f]*, which snapshot 1 lacks" \
  <<<"$LAST_STDERR")" "restore: one line for each key only that node references (it was left whole)"
assert_eq "$lacking" "$(grep -c '^strata: warning:' <<<"$LAST_STDERR")" "restore: no other warning"
assert_eq "$keys" "$(json_get "$LAST_STDOUT" container_check.keys)" "restore: keys checked"
assert_eq "$lacking" "$(json_get "$LAST_STDOUT" container_check.missing)" "restore: keys missing"
[[ ! -e $OUT/r1/container/loose/${gone_key:0:2}/${gone_key:2} ]] || fail "the missing object was restored from nowhere"

note "a files-only restore makes no check"
assert_exit 0 "files-only restore" -- "$STRATA" restore --dest "$DEST" --snapshot 1 --to-repository "$OUT/r2" --json
assert_eq "" "$(json_get "$LAST_STDOUT" container_check)" "files-only restore: no container_check"

note "the object put back: the next backup takes the node; its snapshot restores and checks clean"
cp -p "$OUT/kept-object" "$loose_file"
assert_exit 0 "backup with the object back" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 1 "$(json_get "$LAST_STDOUT" new_nodes)" "second backup: the node left before"
DSN3=$(new_db2 container_cons_r2)
assert_exit 0 "restore of the complete snapshot" -- "$STRATA" restore --dest "$DEST" --snapshot 2 \
  --to-repository "$OUT/r3" --to-dsn "$DSN3" --json
assert_eq "$keys" "$(json_get "$LAST_STDOUT" container_check.keys)" "round trip: keys checked"
assert_eq 0 "$(json_get "$LAST_STDOUT" container_check.missing)" "round trip: keys missing"
psql -X -At -F $'\t' -d "$DSN3" -c 'SELECT id, repository_metadata::text FROM db_dbnode ORDER BY id' |
  $FIXTURE check "$OUT/r3" >/dev/null || fail "the fixture finds a key the restored container lacks"

note "the first snapshot again: what it lacks is filled from the second"
DSN4=$(new_db2 container_cons_r3)
assert_exit 0 "restore of the incomplete snapshot, filled" -- "$STRATA" restore --dest "$DEST" --snapshot 1 \
  --to-repository "$OUT/r4" --to-dsn "$DSN4" --json
assert_eq "$keys" "$(json_get "$LAST_STDOUT" container_check.keys)" "filled: keys checked"
assert_eq 0 "$(json_get "$LAST_STDOUT" container_check.missing)" "filled: keys missing"
assert_eq "$lacking" "$(json_get "$LAST_STDOUT" container_check.filled)" "filled: keys filled"
[[ -f $OUT/r4/container/loose/${gone_key:0:2}/${gone_key:2} ]] || fail "the missing object was not written loose"
psql -X -At -F $'\t' -d "$DSN4" -c 'SELECT id, repository_metadata::text FROM db_dbnode ORDER BY id' |
  $FIXTURE check "$OUT/r4" >/dev/null || fail "the fixture finds a key the filled container lacks"
assert_exit 0 "restore of the incomplete snapshot, filled, -v" -- "$STRATA" restore --dest "$DEST" --snapshot 1 \
  --to-repository "$OUT/r5" --to-dsn "$(new_db2 container_cons_r4)" -v
assert_contains "$LAST_STDOUT$LAST_STDERR" "node $gone_uuid references object $gone_key, which snapshot 1 lacks: filled from snapshot 2" \
  "filled: the note"
note "ok"
