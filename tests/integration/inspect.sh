#!/usr/bin/env bash
# inspect: strata ls, diff and stats show what a destination holds. ls lists a snapshot's
# nodes, a node's entries and what lies below a path (unknown node: exit 7); diff counts and
# lists the nodes and files added and removed between two snapshots (both directions); stats
# puts stored bytes against original ones, with the pack bytes equal to the pack files' sizes.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db inspect)
SRC=$(new_tmp)
WORK=$(new_tmp)
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 30 --quiet >/dev/null
D=$WORK/dest
assert_exit 0 "init" -- "$STRATA" init --dest "$D"
assert_exit 0 "backup 1" -- "$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC"
sql() { psql -X -At -v ON_ERROR_STOP=1 -d "$DSN" -c "$1"; }

# The node that goes: one with files.
GONE_ID=$(sql "SELECT min(id) FROM db_dbnode")
GONE=$(sql "SELECT uuid FROM db_dbnode WHERE id = $GONE_ID")
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 5 --mode add --quiet >/dev/null
sql "DELETE FROM db_dblink WHERE input_id = $GONE_ID OR output_id = $GONE_ID;
     DELETE FROM db_dbgroup_dbnodes WHERE dbnode_id = $GONE_ID; DELETE FROM db_dblog WHERE dbnode_id = $GONE_ID;
     DELETE FROM db_dbcomment WHERE dbnode_id = $GONE_ID; DELETE FROM db_dbnode WHERE id = $GONE_ID" >/dev/null
assert_exit 0 "backup 2" -- "$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC"

note "ls"
assert_exit 0 "ls --json" -- "$STRATA" ls --dest "$D" --json
assert_eq 2 "$(json_get "$LAST_STDOUT" snapshot)" "ls lists the latest snapshot"
assert_eq 34 "$(printf '%s' "$LAST_STDOUT" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["nodes"]))')" \
  "nodes of snapshot 2"
assert_exit 0 "ls --snapshot 1" -- "$STRATA" ls --dest "$D" --snapshot 1 --json
LS1=$LAST_STDOUT
assert_eq 30 "$(printf '%s' "$LS1" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["nodes"]))')" \
  "nodes of snapshot 1"
# A node with a folder and files: its entries are those of its folder on disk.
NODE=$(printf '%s' "$LS1" | python3 -c 'import json, sys; print([n["uuid"] for n in json.load(sys.stdin)["nodes"] if n["files"] > 1][0])')
FOLDER=$SRC/repository/node/${NODE:0:2}/${NODE:2:2}/${NODE:4}
assert_exit 0 "ls NODE" -- "$STRATA" ls --dest "$D" --snapshot 1 "$NODE" --json
listed=$(printf '%s' "$LAST_STDOUT" | python3 -c 'import json, sys; print("\n".join(sorted(e["path"] for e in json.load(sys.stdin)["entries"])))')
on_disk=$(cd "$FOLDER" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort)
assert_eq "$(LC_ALL=C sort <<<"$on_disk")" "$(LC_ALL=C sort <<<"$listed")" "entries of the node"
assert_exit 0 "ls NODE/path" -- "$STRATA" ls --dest "$D" --snapshot 1 "$NODE/path" --json
under=$(printf '%s' "$LAST_STDOUT" | python3 -c 'import json, sys; e = json.load(sys.stdin)["entries"]; print(all(x["path"] == "path" or x["path"].startswith("path/") for x in e) and len(e) > 0)')
assert_eq True "$under" "ls NODE/path lists what is below path"
assert_exit 0 "ls NODE (text)" -- "$STRATA" ls --dest "$D" --snapshot 1 "$NODE"
assert_contains "$LAST_STDOUT" "path" "ls NODE (text)"
assert_exit 7 "ls of a node not in the snapshot" -- "$STRATA" ls --dest "$D" "$GONE"
assert_one_error "ls of a node not in the snapshot"
assert_exit 7 "ls of a missing path" -- "$STRATA" ls --dest "$D" --snapshot 1 "$NODE/no/such"
assert_one_error "ls of a missing path"
assert_exit 2 "ls of something that is not a uuid" -- "$STRATA" ls --dest "$D" "not-a-uuid"
assert_one_error "ls of something that is not a uuid"
assert_exit 7 "ls of a missing snapshot" -- "$STRATA" ls --dest "$D" --snapshot 9

note "diff"
assert_exit 0 "diff 1 2" -- "$STRATA" diff --dest "$D" 1 latest --json
DIFF=$LAST_STDOUT
assert_eq 5 "$(json_get "$DIFF" added_nodes)" "nodes added"
assert_eq 1 "$(json_get "$DIFF" removed_nodes)" "nodes removed"
assert_eq 0 "$(json_get "$DIFF" changed_nodes)" "nodes changed"
assert_eq "$GONE" "$(printf '%s' "$DIFF" | python3 -c 'import json, sys; print([n["uuid"] for n in json.load(sys.stdin)["nodes"] if n["change"] == "removed"][0])')" \
  "the removed node"
gone_files=$(printf '%s' "$LS1" | python3 -c 'import json, sys; print([n["files"] for n in json.load(sys.stdin)["nodes"] if n["uuid"] == sys.argv[1]][0])' "$GONE")
assert_eq "$gone_files" "$(json_get "$DIFF" removed_files)" "files removed"
assert_exit 0 "diff 2 1" -- "$STRATA" diff --dest "$D" 2 1 --json
assert_eq 5 "$(json_get "$LAST_STDOUT" removed_nodes)" "reverse diff: removed"
assert_eq "$(json_get "$DIFF" added_files)" "$(json_get "$LAST_STDOUT" removed_files)" "reverse diff: files"
assert_exit 0 "diff 2 2" -- "$STRATA" diff --dest "$D" 2 2 --json
assert_eq 0 "$(json_get "$LAST_STDOUT" added_nodes)" "a snapshot against itself"
assert_exit 2 "diff with one snapshot" -- "$STRATA" diff --dest "$D" 1
assert_one_error "diff with one snapshot"

note "stats"
assert_exit 0 "stats --json" -- "$STRATA" stats --dest "$D" --json
STATS=$LAST_STDOUT
assert_eq 2 "$(json_get "$STATS" snapshots)" "stats: snapshots"
assert_eq "$(find "$D/packs" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')" \
  "$(json_get "$STATS" pack_bytes)" "stats: pack bytes are the pack files' sizes"
python3 - "$STATS" <<'PY' || fail "stats are not consistent: $STATS"
import json, sys
s = json.loads(sys.argv[1])
assert s["original_bytes"] > s["unique_bytes"] > 0, s
assert s["dedup_ratio"] > 1 and s["compression_ratio"] > 0, s
assert len(s["growth"]) == 2 and s["growth"][0]["id"] == 1, s
assert sum(g["stored_bytes"] for g in s["growth"]) > 0, s
PY
assert_exit 0 "stats (text)" -- "$STRATA" stats --dest "$D"
assert_contains "$LAST_STDOUT" "deduplication" "stats (text)"
note "ok"
