#!/usr/bin/env bash
# repository_shape: a --repository that holds no AiiDA repository is an error (exit 6, one line),
# never an empty backup; and `backup --full-scan` repairs a destination whose nodes were recorded
# without folders that exist now.
#   1. a root without 'repository/node' nor 'container', a root holding only 'container/', and a
#      root whose 'repository/node' is empty while the database lists nodes: each exit 6, one
#      line naming the root, and no snapshot is written;
#   2. a backup taken while half of the node folders were missing (moved away) records those
#      nodes without folders; after the folders are back, a plain backup reads nothing, and
#      `backup --full-scan` reads exactly those nodes again, without counting them as new;
#      the restored tree then equals the source, and snapshot 1 still restores as it was.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db repository_shape)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)
ASIDE=$(new_tmp)

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 120 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"

snapshot_count() {
  "$STRATA" snapshots --dest "$DEST" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["snapshots"]))'
}

note "1. roots of the wrong shape"
NOREPO=$(new_tmp)
mkdir -p "$NOREPO/repository"
assert_exit 6 "root without repository/node" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$NOREPO"
assert_one_error "root without repository/node"
assert_contains "$LAST_STDERR" "neither 'repository/node' nor 'container'" "root without repository/node: reason"
assert_contains "$LAST_STDERR" "$NOREPO" "root without repository/node: names the root"

CONTAINER=$(new_tmp)
mkdir -p "$CONTAINER/container"
assert_exit 6 "root with a 2.x container" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$CONTAINER"
assert_one_error "root with a 2.x container"
assert_contains "$LAST_STDERR" "container" "root with a 2.x container: reason"

EMPTY=$(new_tmp)
mkdir -p "$EMPTY/repository/node"
assert_exit 6 "empty repository/node" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$EMPTY"
assert_one_error "empty repository/node"
assert_contains "$LAST_STDERR" "has no node folders but the database lists 120 nodes" "empty repository/node: reason"
assert_eq 0 "$(snapshot_count)" "snapshots after the refused backups"

note "2. a destination damaged by missing folders, repaired by --full-scan"
# Move every second node folder away (shard levels stay, as a partial copy would leave them).
mapfile -t folders < <(cd "$SRC" && find repository/node -mindepth 3 -maxdepth 3 -type d | sort)
((${#folders[@]} > 20)) || fail "expected more than 20 node folders, found ${#folders[@]}"
moved=0
for i in "${!folders[@]}"; do
  if ((i % 2 == 0)); then
    mkdir -p "$ASIDE/$(dirname "${folders[$i]}")"
    mv "$SRC/${folders[$i]}" "$ASIDE/${folders[$i]}"
    moved=$((moved + 1))
  fi
done
PARTIAL=$(new_tmp)
cp -a "$SRC/." "$PARTIAL/"
# Restore creates shard folders only for the node folders it writes.
find "$PARTIAL/repository/node" -mindepth 1 -maxdepth 2 -type d -empty -delete
assert_exit 0 "backup of the partial repository" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 120 "$(json_get "$LAST_STDOUT" nodes)" "partial backup: nodes"

for i in "${!folders[@]}"; do
  if ((i % 2 == 0)); then
    mv "$ASIDE/${folders[$i]}" "$SRC/${folders[$i]}"
  fi
done
assert_exit 0 "plain backup after the folders are back" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 0 "$(json_get "$LAST_STDOUT" read_files)" "plain backup: read_files (held nodes are not read again)"
assert_exit 0 "backup --full-scan" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --full-scan --json
repair=$LAST_STDOUT
assert_eq "$moved" "$(json_get "$repair" reread_nodes)" "full scan: nodes read again"
assert_eq 0 "$(json_get "$repair" new_nodes)" "full scan: no new nodes"
assert_eq 0 "$(json_get "$repair" deleted_nodes)" "full scan: no deleted nodes"
assert_eq 120 "$(json_get "$repair" nodes)" "full scan: nodes"
assert_eq "$(find "$SRC/repository/node" -type f -printf . | wc -c)" "$(json_get "$repair" files)" "full scan: files"

assert_exit 0 "restore latest" -- "$STRATA" restore --dest "$DEST" --to-repository "$OUT/latest"
assert_same_repo "$SRC" "$OUT/latest" "restore after the repair vs source"
assert_exit 0 "restore snapshot 1" -- "$STRATA" restore --dest "$DEST" --snapshot 1 --to-repository "$OUT/first"
# PARTIAL lost its empty shards after the backup, which changed the mtimes of the folders above
# them: those are left out of this comparison.
assert_same_repo --no-shard-mtimes "$PARTIAL" "$OUT/first" "snapshot 1 still restores the partial repository"

# A second full scan has nothing left to repair.
assert_exit 0 "second backup --full-scan" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --full-scan --json
assert_eq 0 "$(json_get "$LAST_STDOUT" reread_nodes)" "second full scan: nodes read again"
assert_exit 0 "check --read-data" -- "$STRATA" check --dest "$DEST" --read-data
note "ok"
