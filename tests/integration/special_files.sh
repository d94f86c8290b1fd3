#!/usr/bin/env bash
# special_files: a fifo and a socket in a node folder are skipped at backup, each with a warning
# naming it; the backup completes with exit code 11 ("completed with warnings") and counts them
# in its JSON (skipped_special_files). The restore equals the source minus those two, including
# the mtimes of the node folders and of every directory inside them (restored after their
# contents), and a later backup that reads nothing new exits 0 again.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db special_files)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)

note "generating 40 nodes"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 40 --quiet >/dev/null
NODE_DIR=$SRC/repository/node

# The folder of the first node that has one.
folder=
while IFS= read -r uuid; do
  if [[ -d $NODE_DIR/${uuid:0:2}/${uuid:2:2}/${uuid:4} ]]; then
    folder=$NODE_DIR/${uuid:0:2}/${uuid:2:2}/${uuid:4}
    break
  fi
done < <(psql -X -At -d "$DSN" -c 'SELECT uuid FROM db_dbnode ORDER BY id')
[[ -n $folder ]] || fail "no node has a folder"

mkdir -p "$folder/special/inner"
printf 'kept' >"$folder/special/inner/regular"
mkfifo "$folder/special/a-fifo"
# A socket bound by name inside the folder (relative, so the path length limit does not matter).
python3 -c 'import os, socket, sys
os.chdir(sys.argv[1])
socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).bind("a-socket")' "$folder/special"
[[ -p $folder/special/a-fifo && -S $folder/special/a-socket ]] || fail "could not make the fifo and the socket"
# Directory mtimes set after their contents, as a user's tree would have them.
touch -d '2004-04-04 04:04:04' "$folder/special/inner"
touch -d '2005-05-05 05:05:05' "$folder/special"
touch -d '2006-06-06 06:06:06' "$folder"

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 11 "backup of a repository with a fifo and a socket" -- \
  "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 2 "$(json_get "$LAST_STDOUT" skipped_special_files)" "backup: skipped_special_files"
assert_eq 40 "$(json_get "$LAST_STDOUT" nodes)" "backup: nodes"
assert_contains "$LAST_STDERR" "strata: warning: skipping '$folder/special/a-fifo'" "warning for the fifo"
assert_contains "$LAST_STDERR" "strata: warning: skipping '$folder/special/a-socket'" "warning for the socket"
[[ $LAST_STDERR != *"strata: error"* ]] || fail "a backup that completed printed an error: $LAST_STDERR"

# The snapshot is complete: it is listed, and check finds nothing wrong.
assert_exit 0 "snapshots" -- "$STRATA" snapshots --dest "$DEST" --json
assert_eq 1 "$(json_get "$LAST_STDOUT" snapshots.0.id)" "the snapshot is complete"
assert_exit 0 "check --read-data" -- "$STRATA" check --dest "$DEST" --read-data

# The next backup reads no folder again (the node is held): nothing skipped, exit code 0.
assert_exit 0 "a backup that reads nothing new" -- \
  "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 0 "$(json_get "$LAST_STDOUT" skipped_special_files)" "second backup: skipped_special_files"

note "restore"
assert_exit 0 "restore" -- "$STRATA" restore --dest "$DEST" --to-repository "$OUT/r" --json
expected=$(tree_listing "$SRC" | grep -v '^[ps] ')
actual=$(tree_listing "$OUT/r")
if [[ $expected != "$actual" ]]; then
  diff <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") | head -n 20 >&2
  fail "the restore differs from the source minus its fifo and socket"
fi
[[ ! -e $OUT/r/${folder#"$SRC"/}/special/a-fifo && ! -e $OUT/r/${folder#"$SRC"/}/special/a-socket ]] ||
  fail "the restore holds a special file"
assert_eq "$(stat -c %Y "$folder/special")" "$(stat -c %Y "$OUT/r/${folder#"$SRC"/}/special")" \
  "mtime of a directory that held the special files"
assert_eq "$(stat -c %Y "$folder")" "$(stat -c %Y "$OUT/r/${folder#"$SRC"/}")" "mtime of the node folder"
