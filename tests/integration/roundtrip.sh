#!/usr/bin/env bash
# roundtrip: back up a generated repository of ~300 nodes (plus a hand-made node folder full of
# edge cases), restore the latest snapshot into a new root and compare the trees: content,
# modes, mtimes (node folders and below), symlinks as links, empty files and folders, odd names.
# check --read-data passes, and the snapshot's counts match the database and `find`.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db roundtrip)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)

note "generating 300 nodes"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 300 --quiet >/dev/null

NODE_DIR=$SRC/repository/node
# The generator's repository must contain the kinds of entries the comparison is about.
(($(find "$NODE_DIR" -type l | wc -l) > 0)) || fail "generated repository has no symlink"
(($(find "$NODE_DIR" -type f -empty | wc -l) > 0)) || fail "generated repository has no empty file"
(($(find "$NODE_DIR" -name '* *' | wc -l) > 0)) || fail "generated repository has no name with a space"

# Edge cases of our own, in the folder of a node that has none yet (30% of nodes have none).
edge_uuid=
while IFS= read -r uuid; do
  if [[ ! -e $NODE_DIR/${uuid:0:2}/${uuid:2:2}/${uuid:4} ]]; then
    edge_uuid=$uuid
    break
  fi
done < <(psql -X -At -d "$DSN" -c 'SELECT uuid FROM db_dbnode ORDER BY id')
[[ -n $edge_uuid ]] || fail "every node has a folder; cannot place the edge cases"
EDGE=$NODE_DIR/${edge_uuid:0:2}/${edge_uuid:2:2}/${edge_uuid:4}
mkdir -p "$EDGE/path/empty dir" "$EDGE/path/private dir" "$EDGE/path/deep/a/b/c/d/e"
printf 'x' >"$EDGE/path/deep/a/b/c/d/e/leaf"
: >"$EDGE/path/empty"
printf 'line\n' >"$EDGE/path/new
line"
printf 'back\\slash' >"$EDGE/path/back\\slash"
printf 'latin1' >"$EDGE/path/$(printf 'caf\xe9')"
printf 'ro' >"$EDGE/path/read-only"
chmod 0400 "$EDGE/path/read-only"
printf '#!/bin/sh\n' >"$EDGE/path/run.sh"
chmod 0750 "$EDGE/path/run.sh"
printf 'setgid-less odd mode' >"$EDGE/path/odd-mode"
chmod 0604 "$EDGE/path/odd-mode"
head -c 3000000 /dev/urandom >"$EDGE/path/big.bin"
python3 -c 'import sys; sys.stdout.write("compressible line of text\n" * 80000)' >"$EDGE/path/big.txt"
ln -s ../path/empty "$EDGE/path/rel-link"
ln -s /nonexistent/absolute/target "$EDGE/path/dangling-abs-link"
ln -s 'empty dir' "$EDGE/path/dir-link"
touch -d '2001-02-03 04:05:06' "$EDGE/path/empty" "$EDGE/path/big.bin"
touch -h -d '2002-02-02 02:02:02' "$EDGE/path/rel-link"
touch -d '1999-12-31 23:59:59' "$EDGE/path/deep/a/b/c/d/e" "$EDGE/path/empty dir"
chmod 0700 "$EDGE/path/private dir"
touch -d '2003-03-03 03:03:03' "$EDGE/path/private dir" "$EDGE/path" "$EDGE"

db_nodes=$(psql -X -At -d "$DSN" -c 'SELECT count(*) FROM db_dbnode')
src_files=$(find "$NODE_DIR" -type f -printf . | wc -c)
src_bytes=$(find "$NODE_DIR" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
note "source: $db_nodes nodes, $src_files files, $src_bytes bytes"

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
backup_json=$LAST_STDOUT
assert_eq 1 "$(json_get "$backup_json" id)" "backup: snapshot id"
assert_eq "$db_nodes" "$(json_get "$backup_json" new_nodes)" "backup: new_nodes"
assert_eq "$db_nodes" "$(json_get "$backup_json" nodes)" "backup: nodes"
assert_eq "$src_files" "$(json_get "$backup_json" files)" "backup: files"
assert_eq "$src_bytes" "$(json_get "$backup_json" bytes)" "backup: bytes"
assert_eq "$src_files" "$(json_get "$backup_json" read_files)" "backup: read_files"
assert_eq false "$(json_get "$backup_json" resumed_after_interruption)" "backup: resumed"

assert_exit 0 "snapshots --json" -- "$STRATA" snapshots --dest "$DEST" --json
snaps=$LAST_STDOUT
assert_eq 1 "$(json_get "$snaps" snapshots | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
  "number of snapshots"
assert_eq 1 "$(json_get "$snaps" snapshots.0.id)" "snapshot id"
assert_eq "$db_nodes" "$(json_get "$snaps" snapshots.0.nodes)" "snapshot nodes"
assert_eq "$src_files" "$(json_get "$snaps" snapshots.0.files)" "snapshot files"
assert_eq "$src_bytes" "$(json_get "$snaps" snapshots.0.bytes)" "snapshot bytes"
stored=$(json_get "$snaps" snapshots.0.stored_bytes)
((stored > 0 && stored < src_bytes)) ||
  fail "stored_bytes $stored should be positive and below $src_bytes (half the data compresses)"

note "restore latest"
assert_exit 0 "restore latest" -- "$STRATA" restore --dest "$DEST" --snapshot latest \
  --to-repository "$OUT/r1" --json
# {"version", "snapshot": N, "files": {"nodes", "files", "bytes", ...}, ...}
assert_eq 1 "$(json_get "$LAST_STDOUT" snapshot)" "restore: snapshot"
assert_eq "$src_files" "$(json_get "$LAST_STDOUT" files.files)" "restore: files"
assert_eq "$src_bytes" "$(json_get "$LAST_STDOUT" files.bytes)" "restore: bytes"
assert_same_repo "$SRC" "$OUT/r1" "restore latest vs source"
# The edge-case folder, explicitly, including the mtimes of its directories.
assert_same_tree "$EDGE" "$OUT/r1/repository/node/${edge_uuid:0:2}/${edge_uuid:2:2}/${edge_uuid:4}" \
  "edge-case node folder"
[[ -L $OUT/r1/repository/node/${edge_uuid:0:2}/${edge_uuid:2:2}/${edge_uuid:4}/path/dangling-abs-link ]] ||
  fail "dangling symlink not restored as a link"

# Restoring by explicit id, without --snapshot (default latest) and into an absent directory
# below an existing one gives the same tree.
assert_exit 0 "restore --snapshot 1" -- "$STRATA" restore --dest "$DEST" --snapshot 1 \
  --to-repository "$OUT/r2"
assert_same_repo "$SRC" "$OUT/r2" "restore --snapshot 1 vs source"
mkdir "$OUT/r3"
assert_exit 0 "restore (default snapshot) into an empty dir" -- "$STRATA" restore --dest "$DEST" \
  --to-repository "$OUT/r3"
assert_same_repo "$SRC" "$OUT/r3" "restore default snapshot vs source"

assert_exit 0 "check --read-data" -- "$STRATA" check --dest "$DEST" --read-data
assert_exit 0 "check" -- "$STRATA" check --dest "$DEST"
note "ok"
