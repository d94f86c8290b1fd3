#!/usr/bin/env bash
# restore_confinement: a restore never writes outside its target, whatever is already there.
# Symbolic links are planted in the target at every level - the repository folder, both shard
# levels, a node folder, a node's path/ folder, a file's own name - and a hard link to a file
# outside is planted at a file's name. For each:
#   - without --force the non-empty target is refused (exit 9, one line);
#   - with --force the restore exits 0, the planted link is replaced (the link itself, not its
#     target), the restored tree equals the source, and the place outside (a folder holding a
#     victim file) is byte-for-byte, mode and mtime unchanged: nothing created, written or
#     truncated there.
# The dump directory: a --dump-dir that already holds a link is refused (exit 9), and the
# place it points to is unchanged; a --dump-dir that is a file is exit 9 too.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db confinement)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
WORK=$(new_tmp)

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 60 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC"

# A node whose path/ folder holds a regular file directly.
node_rel=
file_rel=
while IFS= read -r f; do
  node_rel=${f%/path/*}
  file_rel=$f
  break
done < <(cd "$SRC" && find repository/node -mindepth 5 -maxdepth 5 -path '*/path/*' -type f | sort)
[[ -n $file_rel ]] || fail "no node with a file directly in path/"
shard2_rel=${node_rel%/*}
shard1_rel=${shard2_rel%/*}
note "planting links around $file_rel"

# plant CASE REL KIND: a target holding only a link (KIND symlink|hardlink) at REL.
plant() {
  local name=$1 rel=$2 kind=$3
  local target=$WORK/$name/target outside=$WORK/$name/outside
  mkdir -p "$outside/inside" "$(dirname "$target/$rel")"
  printf 'precious\n' >"$outside/victim"
  printf 'deep\n' >"$outside/inside/victim"
  touch -d '2001-02-03 04:05:06' "$outside/victim" "$outside/inside/victim" "$outside/inside" "$outside"
  if [[ $kind == symlink-file ]]; then
    ln -s "$outside/victim" "$target/$rel"
  elif [[ $kind == hardlink ]]; then
    ln "$outside/victim" "$target/$rel"
  else
    ln -s "$outside" "$target/$rel"
  fi
  tree_digest "$outside" >"$WORK/$name/outside.digest"
}

check_case() {
  local name=$1 rel=$2
  local target=$WORK/$name/target outside=$WORK/$name/outside
  assert_exit 9 "$name: restore without --force" -- "$STRATA" restore --dest "$DEST" --to-repository "$target"
  assert_one_error "$name: restore without --force"
  assert_exit 0 "$name: restore --force" -- "$STRATA" restore --dest "$DEST" --to-repository "$target" --force
  [[ ! -L $target/$rel ]] || fail "$name: the planted link at $rel is still there"
  assert_eq "$(cat "$WORK/$name/outside.digest")" "$(tree_digest "$outside")" "$name: the place outside is unchanged"
  assert_eq "precious" "$(cat "$outside/victim")" "$name: the victim file outside"
  assert_same_repo "$SRC" "$target" "$name: restored tree vs source"
}

cases=(
  "repository|repository|symlink"
  "shard1|$shard1_rel|symlink"
  "shard2|$shard2_rel|symlink"
  "node|$node_rel|symlink"
  "path|$node_rel/path|symlink"
  "file|$file_rel|symlink-file"
  "hardlink|$file_rel|hardlink"
)
for c in "${cases[@]}"; do
  IFS='|' read -r name rel kind <<<"$c"
  note "case $name: $kind at $rel"
  plant "$name" "$rel" "$kind"
  check_case "$name" "$rel"
done

note "the dump directory"
DUMPDIR=$WORK/dump
OUTSIDE=$WORK/dump-outside
mkdir -p "$DUMPDIR" "$OUTSIDE"
printf 'precious\n' >"$OUTSIDE/toc.dat"
ln -s "$OUTSIDE/toc.dat" "$DUMPDIR/toc.dat"
before=$(tree_digest "$OUTSIDE")
assert_exit 9 "--dump-dir holding a link" -- "$STRATA" restore --dest "$DEST" --dump-dir "$DUMPDIR"
assert_contains "$LAST_STDERR" "strata: error: dump directory '$DUMPDIR' is not empty" "--dump-dir holding a link: error"
assert_eq "$before" "$(tree_digest "$OUTSIDE")" "--dump-dir: the place outside is unchanged"
printf 'x' >"$WORK/a-file"
assert_exit 9 "--dump-dir on a file" -- "$STRATA" restore --dest "$DEST" --dump-dir "$WORK/a-file"
assert_contains "$LAST_STDERR" "strata: error: unable to open directory '$WORK/a-file': Not a directory" "--dump-dir on a file: error"
assert_exit 0 "--dump-dir, new" -- "$STRATA" restore --dest "$DEST" --dump-dir "$WORK/dump-new"
[[ -f $WORK/dump-new/toc.dat ]] || fail "--dump-dir wrote no toc.dat"
note "ok"
