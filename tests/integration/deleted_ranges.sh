#!/usr/bin/env bash
# deleted_ranges: deletions found by comparing id ranges (engine/reconcile.h). 50 generated
# nodes with folders, then 150,000 nodes without folders (inserted in SQL, 30 days old: enough
# ids per bucket that differing buckets are divided again before they are listed). After the
# first backup: the first and the last node, one in the middle, 20 scattered ones and a whole
# range of 3,000 are deleted; two nodes hidden during the first backup come back (a late
# commit) while their two neighbours are deleted, so that their range keeps its count and its
# sum of ids and only the hashes tell it apart; 10 new nodes are added. The next backup marks
# exactly the deleted nodes deleted (strata diff names them), adds exactly the new and the late
# ones, and lists far fewer ids than the database holds. A backup after it finds no difference
# and lists nothing; --full-scan (every id compared) agrees.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db deleted_ranges)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
WORK=$(new_tmp)

sql() {
  psql -X -At -v ON_ERROR_STOP=1 -d "$DSN" -c "$1"
}

note "generating 50 nodes with folders and 150000 without"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 50 --quiet >/dev/null
add_nodes() { # COUNT AGE: nodes without folders, created AGE ago
  sql "INSERT INTO db_dbnode(uuid, node_type, label, description, ctime, mtime, user_id)
       SELECT gen_random_uuid(), 'data.core.int.Int.', '', '', now() - interval '$2',
              now() - interval '$2', (SELECT min(id) FROM db_dbuser)
       FROM generate_series(1, $1)" >/dev/null
}
add_nodes 150000 '30 days'
first_id=$(sql 'SELECT min(id) FROM db_dbnode')
last_id=$(sql 'SELECT max(id) FROM db_dbnode')
base=$((first_id + 1000)) # among the nodes without folders

# Hidden during the first backup: base+11 and base+13 (they come back as a late commit).
sql "CREATE TABLE late_nodes AS SELECT * FROM db_dbnode WHERE id IN ($((base + 11)), $((base + 13)));
     DELETE FROM db_dbnode WHERE id IN ($((base + 11)), $((base + 13)))" >/dev/null

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "first backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 150048 "$(json_get "$LAST_STDOUT" nodes)" "first backup: nodes"

# The deleted: first, last, middle, 20 scattered, a whole range of 3000, and the neighbours
# base+10 and base+14 of the late nodes (10 + 14 = 11 + 13).
middle=$(((first_id + last_id) / 2))
range_lo=$((first_id + 90000))
deleted_where="id IN ($first_id, $last_id, $middle, $((base + 10)), $((base + 14)))
  OR id BETWEEN $range_lo AND $((range_lo + 2999))
  OR id IN (SELECT id FROM db_dbnode WHERE id > $first_id AND id < $last_id AND id <> $middle
            AND id NOT BETWEEN $range_lo AND $((range_lo + 2999)) AND id NOT BETWEEN $base AND $((base + 20))
            ORDER BY hashint8(id::int8) LIMIT 20)"
sql "SELECT uuid FROM db_dbnode WHERE $deleted_where" | sort >"$WORK/deleted"
deleted_count=$(wc -l <"$WORK/deleted")
assert_eq 3025 "$deleted_count" "nodes chosen for deletion"
first_uuid=$(sql "SELECT uuid FROM db_dbnode WHERE id = $first_id")
first_rel=repository/node/${first_uuid:0:2}/${first_uuid:2:2}/${first_uuid:4}
delete_nodes "$DSN" "$(sql "SELECT string_agg(id::text, ',') FROM db_dbnode WHERE $deleted_where")"
rm -rf "${SRC:?}/$first_rel"

note "two late nodes come back, 10 new ones are added"
sql "INSERT INTO db_dbnode SELECT * FROM late_nodes; DROP TABLE late_nodes" >/dev/null
add_nodes 10 '0 days'
{
  sql "SELECT uuid FROM db_dbnode WHERE id IN ($((base + 11)), $((base + 13)))"
  sql "SELECT uuid FROM db_dbnode WHERE id > $last_id"
} | sort >"$WORK/added"
assert_eq 12 "$(wc -l <"$WORK/added")" "nodes added"

assert_exit 0 "second backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
second=$LAST_STDOUT
assert_eq "$deleted_count" "$(json_get "$second" deleted_nodes)" "second backup: deleted_nodes"
assert_eq 12 "$(json_get "$second" new_nodes)" "second backup: new_nodes"
assert_eq $((150048 - deleted_count + 12)) "$(json_get "$second" nodes)" "second backup: nodes"
assert_eq true "$(json_get "$second" reconciled)" "second backup: reconciled"
listed=$(json_get "$second" listed_ids)
compared=$(json_get "$second" compared_id_ranges)
note "compared $compared id ranges, listed $listed ids"
# What is listed follows the change: the deleted range, and small ranges around each
# difference - not the 150,000 ids of each side.
((listed >= deleted_count && listed < 15000)) || fail "second backup listed $listed ids"
((compared > 1)) || fail "second backup compared $compared id range(s): no bucket was divided again"

assert_exit 0 "diff 1 2" -- "$STRATA" diff --dest "$DEST" 1 2
# Node lines only (a node's files follow it as UUID/path).
printf '%s\n' "$LAST_STDOUT" | sed -n 's/^- \([0-9a-f-]\{36\}\)$/\1/p' | sort >"$WORK/removed"
printf '%s\n' "$LAST_STDOUT" | sed -n 's/^+ \([0-9a-f-]\{36\}\)$/\1/p' | sort >"$WORK/new"
cmp -s "$WORK/deleted" "$WORK/removed" ||
  fail "snapshot 2 removes other nodes than the deleted ones: $(diff "$WORK/deleted" "$WORK/removed" | head -5)"
cmp -s "$WORK/added" "$WORK/new" ||
  fail "snapshot 2 adds other nodes than the new and late ones: $(diff "$WORK/added" "$WORK/new" | head -5)"

assert_exit 0 "third backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 0 "$(json_get "$LAST_STDOUT" deleted_nodes)" "third backup: deleted_nodes"
assert_eq 0 "$(json_get "$LAST_STDOUT" new_nodes)" "third backup: new_nodes"
assert_eq 0 "$(json_get "$LAST_STDOUT" listed_ids)" "third backup: listed_ids"
assert_eq false "$(json_get "$LAST_STDOUT" reconciled)" "third backup: reconciled"

assert_exit 0 "full-scan backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" \
  --full-scan --json
assert_eq 0 "$(json_get "$LAST_STDOUT" deleted_nodes)" "full scan: deleted_nodes"
assert_eq 0 "$(json_get "$LAST_STDOUT" new_nodes)" "full scan: new_nodes"
assert_eq "$(sql 'SELECT count(*) FROM db_dbnode')" "$(json_get "$LAST_STDOUT" nodes)" "full scan: nodes"
assert_eq true "$(json_get "$LAST_STDOUT" reconciled)" "full scan: reconciled"
note "ok"
