#!/usr/bin/env bash
# s3_corruption: bytes read from the bucket are untrusted. A pack object with one byte flipped
# in its middle is found by check --read-data (exit 8, a 'strata: check:' line); a pack object
# cut in half is found by check and by restore (exit 8); a catalog object that is not SQLite is
# refused with one error line (exit 8) by a reader with an empty cache.
source "$(dirname "$0")/lib.sh"

s3_setup corrupt
DSN=$(new_db s3_corruption)
SRC=$(new_tmp)
WORK=$(new_tmp)
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 150 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$S3_DEST"
# files only: every pack then holds file content, which the restore below must read
assert_exit 0 "backup" -- "$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC" --files-only
assert_exit 0 "check --read-data of the healthy destination" -- "$STRATA" check --dest "$S3_DEST" --read-data

pack_key=$(s3_keys | grep '^dest/packs/' | head -n 1)
[[ -n $pack_key ]] || fail "no pack in the bucket"
s3_curl -o "$WORK/pack" "$S3_ENDPOINT/$S3_BUCKET/$pack_key"
cp "$WORK/pack" "$WORK/pack.good"
size=$(stat -c %s "$WORK/pack")
note "flipping one byte in the middle of $pack_key ($size bytes)"
python3 - "$WORK/pack" "$((size / 2))" <<'PY'
import sys
path, at = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(at)
    b = f.read(1)
    f.seek(at)
    f.write(bytes([b[0] ^ 0x55]))
PY
s3_curl -o /dev/null -T "$WORK/pack" "$S3_ENDPOINT/$S3_BUCKET/$pack_key"
assert_exit 8 "check --read-data of a flipped byte" -- "$STRATA" check --dest "$S3_DEST" --read-data
assert_contains "$LAST_STDERR" "strata: check: " "check --read-data problem line"

note "a pack cut in half"
head -c $((size / 2)) "$WORK/pack.good" >"$WORK/pack.half"
s3_curl -o /dev/null -T "$WORK/pack.half" "$S3_ENDPOINT/$S3_BUCKET/$pack_key"
assert_exit 8 "check of a truncated pack" -- "$STRATA" check --dest "$S3_DEST"
assert_exit 8 "restore from a truncated pack" -- "$STRATA" restore --dest "$S3_DEST" --to-repository "$WORK/r"
s3_curl -o /dev/null -T "$WORK/pack.good" "$S3_ENDPOINT/$S3_BUCKET/$pack_key"
assert_exit 0 "check --read-data once the pack is back" -- "$STRATA" check --dest "$S3_DEST" --read-data

note "a catalog object that is not a catalog"
head -c 70000 /dev/urandom >"$WORK/junk"
s3_curl -o /dev/null -T "$WORK/junk" "$S3_ENDPOINT/$S3_BUCKET/dest/catalog.db"
STRATA_CACHE_DIR=$(new_tmp)/other
export STRATA_CACHE_DIR
assert_exit 8 "snapshots of a junk catalog" -- "$STRATA" snapshots --dest "$S3_DEST"
assert_one_error "snapshots of a junk catalog"
note "ok"
