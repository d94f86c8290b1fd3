#!/usr/bin/env bash
# hostile_catalog: a catalog altered by hand is untrusted input. Entries with '..', an absolute
# path, an empty or '.' component (a '/' inside a name), a NUL inside a name, a duplicate path,
# a file below a symlink entry (the symlink pointing outside), a size that lies and an object
# whose recorded location holds other content (a hash that lies): each is refused by restore
# (exit 8, the error names the node, nothing appears outside the target) and reported by check
# (exit 8; --read-data for the hash, whose lie only the data shows). The untouched destination
# restores and checks clean.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db hostile_catalog)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
WORK=$(new_tmp)
OUTSIDE=$WORK/outside
mkdir -p "$OUTSIDE"
printf 'precious\n' >"$OUTSIDE/victim"

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 40 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --files-only
outside_digest=$(tree_digest "$OUTSIDE")

q() {
  sqlite3 -bail "$1/catalog.db" "$2"
}

# A version holding a directory 'path' with a regular file directly below it.
read -r VERSION FILE < <(q "$DEST" "SELECT version_id, path FROM entries WHERE type = 1 AND path GLOB 'path/*'
  AND path NOT GLOB 'path/*/*' AND chunks IS NULL ORDER BY version_id, path LIMIT 1" | tr '|' ' ')
[[ -n $VERSION && -n $FILE ]] || fail "no file directly below path/ in the catalog"
UUID=$(q "$DEST" "SELECT uuid FROM node_versions WHERE id = $VERSION")
# A file of another version, with its own object.
OTHER_HASH=$(q "$DEST" "SELECT hex(hash) FROM entries WHERE type = 1 AND chunks IS NULL AND version_id <> $VERSION
  AND hash <> (SELECT hash FROM entries WHERE version_id = $VERSION AND path = '$FILE') LIMIT 1")
[[ -n $OTHER_HASH ]] || fail "no second object in the catalog"
note "altering node $UUID (version $VERSION), file '$FILE'"

set_file() {
  echo "UPDATE entries SET $1 WHERE version_id = $VERSION AND path = '$FILE';"
}

declare -A cases=(
  [dotdot]="$(set_file "path = '../../../..$OUTSIDE/evil'")"
  [absolute]="$(set_file "path = '$OUTSIDE/evil'")"
  [empty_component]="$(set_file "path = 'path//evil'")"
  [dot_component]="$(set_file "path = 'path/./evil'")"
  [nul_in_name]="$(set_file "path = CAST(X'706174682F78006576696C' AS TEXT)")"
  [below_symlink]="UPDATE entries SET type = 3, target = '$OUTSIDE', hash = NULL WHERE version_id = $VERSION AND path = 'path';"
  [size_lies]="$(set_file "size = size + 1")"
  [duplicate]="ALTER TABLE entries RENAME TO entries_old;
    CREATE TABLE entries(version_id INTEGER NOT NULL, path TEXT NOT NULL, type INTEGER NOT NULL,
      mode INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, hash BLOB, chunks BLOB, target TEXT);
    INSERT INTO entries SELECT * FROM entries_old;
    INSERT INTO entries SELECT * FROM entries_old WHERE version_id = $VERSION AND path = '$FILE';
    DROP TABLE entries_old;"
  [hash_lies]="UPDATE objects SET (pack_id, offset, raw_size, stored_size, codec) =
    (SELECT pack_id, offset, raw_size, stored_size, codec FROM objects WHERE hash = X'$OTHER_HASH')
    WHERE hash = (SELECT hash FROM entries WHERE version_id = $VERSION AND path = '$FILE');
    $(set_file "size = (SELECT raw_size FROM objects WHERE hash = X'$OTHER_HASH')")"
)

for name in "${!cases[@]}"; do
  note "case $name"
  copy=$WORK/$name/dest
  mkdir -p "$WORK/$name"
  cp -a "$DEST" "$copy"
  q "$copy" "${cases[$name]}"
  assert_exit 8 "$name: restore" -- "$STRATA" restore --dest "$copy" --to-repository "$WORK/$name/target"
  assert_one_error "$name: restore"
  note "$name: $LAST_STDERR"
  if [[ $name != hash_lies ]]; then
    assert_contains "$LAST_STDERR" "$UUID" "$name: restore names the node"
  fi
  assert_eq "$outside_digest" "$(tree_digest "$OUTSIDE")" "$name: nothing changed outside"
  [[ ! -e $WORK/$name/target/evil && ! -e $WORK/evil ]] || fail "$name: an 'evil' file was written"
  check_args=()
  [[ $name != hash_lies ]] || check_args=(--read-data)
  assert_exit 8 "$name: check" -- "$STRATA" check --dest "$copy" "${check_args[@]}"
done

assert_exit 0 "untouched: restore" -- "$STRATA" restore --dest "$DEST" --to-repository "$WORK/clean"
assert_same_repo "$SRC" "$WORK/clean" "untouched destination restores identically"
assert_exit 0 "untouched: check --read-data" -- "$STRATA" check --dest "$DEST" --read-data
note "ok"
