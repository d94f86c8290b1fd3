#!/usr/bin/env bash
# s3_roundtrip: a destination in a bucket of a real S3 gateway (Ceph RGW, tests/ceph.sh): init,
# backup, restore compared with the source, check --read-data; an incremental backup stores only
# what is new; then, on "another machine" (an empty cache), snapshots, restore of both snapshots,
# a selective restore and check --read-data work from the bucket alone. The bucket holds the
# layout of backend_s3.c and nothing else.
source "$(dirname "$0")/lib.sh"

s3_setup rt
DSN=$(new_db s3_roundtrip)
SRC=$(new_tmp)
OUT=$(new_tmp)

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 120 --quiet >/dev/null
first_uuid=$(psql -X -At -d "$DSN" -c 'SELECT uuid FROM db_dbnode ORDER BY id LIMIT 1')

assert_exit 0 "init" -- "$STRATA" init --dest "$S3_DEST"
assert_exit 3 "init again" -- "$STRATA" init --dest "$S3_DEST"
assert_one_error "init again"
assert_contains "$LAST_STDERR" "already initialised" "init again"

assert_exit 0 "backup" -- "$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC" --json
first=$LAST_STDOUT
assert_eq 1 "$(json_get "$first" id)" "backup: snapshot id"
assert_eq 120 "$(json_get "$first" new_nodes)" "backup: new_nodes"
src_files=$(find "$SRC/repository/node" -type f -printf . | wc -c)
assert_eq "$src_files" "$(json_get "$first" files)" "backup: files"

assert_exit 0 "restore" -- "$STRATA" restore --dest "$S3_DEST" --to-repository "$OUT/r1"
assert_same_repo "$SRC" "$OUT/r1" "restore from s3 vs source"
listing1=$(tree_listing "$SRC")
assert_exit 0 "check --read-data" -- "$STRATA" check --dest "$S3_DEST" --read-data

note "incremental"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 30 --mode add --quiet >/dev/null
total=$(psql -X -At -d "$DSN" -c 'SELECT count(*) FROM db_dbnode')
assert_exit 0 "incremental backup" -- "$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 2 "$(json_get "$LAST_STDOUT" id)" "incremental: snapshot id"
assert_eq $((total - 120)) "$(json_get "$LAST_STDOUT" new_nodes)" "incremental: new_nodes"
assert_eq "$total" "$(json_get "$LAST_STDOUT" nodes)" "incremental: nodes"

note "empty cache (another machine)"
STRATA_CACHE_DIR=$(new_tmp)/other-cache
export STRATA_CACHE_DIR
assert_exit 0 "snapshots, empty cache" -- "$STRATA" snapshots --dest "$S3_DEST" --json
assert_eq 2 "$(json_get "$LAST_STDOUT" snapshots.1.id)" "snapshots: second id"
assert_exit 0 "restore latest, empty cache" -- "$STRATA" restore --dest "$S3_DEST" --to-repository "$OUT/r2"
assert_same_repo "$SRC" "$OUT/r2" "restore latest from s3 with an empty cache vs source"
assert_exit 0 "restore 1, empty cache" -- "$STRATA" restore --dest "$S3_DEST" --snapshot 1 --to-repository "$OUT/r3"
assert_same_listing "$listing1" "$OUT/r3" "restore of snapshot 1 vs the source then"
assert_exit 0 "restore --node, empty cache" -- "$STRATA" restore --dest "$S3_DEST" --node "$first_uuid" \
  --to-repository "$OUT/r4"
assert_eq 1 "$(find "$OUT/r4/repository/node" -mindepth 3 -maxdepth 3 | wc -l)" "selective restore: one node"
assert_exit 0 "check --read-data, empty cache" -- "$STRATA" check --dest "$S3_DEST" --read-data
# Readers leave no copy of the catalog behind.
assert_eq "" "$(find "$STRATA_CACHE_DIR" -name 'read-*' 2>/dev/null)" "reader catalog copies removed"

note "bucket layout"
keys=$(s3_keys)
while IFS= read -r key; do
  [[ $key =~ ^dest/(strata\.dest|catalog\.db|packs/[0-9a-f]{16}\.pack)$ ]] || fail "unexpected object '$key' in the bucket"
done <<<"$keys"
assert_contains "$keys" "dest/catalog.db" "bucket holds the catalog"
assert_contains "$keys" "dest/strata.dest" "bucket holds the marker"

note "forget --prune on the bucket, then a restore from yet another empty cache"
assert_exit 0 "forget 1 --prune --max-unused 0%" -- "$STRATA" forget --dest "$S3_DEST" 1 --prune --max-unused 0% --json
assert_eq 1 "$(json_get "$LAST_STDOUT" forgotten_snapshots)" "forget --prune on s3: forgotten"
STRATA_CACHE_DIR=$(new_tmp)/third-cache
export STRATA_CACHE_DIR
assert_exit 0 "snapshots after prune, empty cache" -- "$STRATA" snapshots --dest "$S3_DEST" --json
assert_eq "2" "$(python3 -c 'import json, sys
print(" ".join(str(s["id"]) for s in json.loads(sys.argv[1])["snapshots"]))' "$LAST_STDOUT")" "only snapshot 2 is left"
assert_exit 0 "check --read-data after prune, empty cache" -- "$STRATA" check --dest "$S3_DEST" --read-data
assert_exit 0 "restore latest after prune, empty cache" -- "$STRATA" restore --dest "$S3_DEST" --to-repository "$OUT/r5"
assert_same_repo "$SRC" "$OUT/r5" "restore from s3 after prune vs source"
note "ok"
