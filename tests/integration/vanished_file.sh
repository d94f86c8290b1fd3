#!/usr/bin/env bash
# vanished_file: a file that vanishes (or changes) while a backup reads it is a warning, not a
# failure. A test hook (STRATA_FAULT_VANISH=<uuid>/<path>) deletes one file of one node just
# before the backup opens it, as a user deleting it during the run would:
#   - the backup completes with exit code 11 ("completed with warnings"), one warning line on
#     stderr that names the node, and left_nodes 1 in --json; the snapshot holds every other
#     node and checks clean;
#   - the next backup (no hook) reads that node again and no other: new_nodes 1, exit 0; its
#     restore equals the source (which lacks the deleted file).
source "$(dirname "$0")/lib.sh"

DSN=$(new_db vanished_file)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 40 --quiet >/dev/null
# A node with at least two files directly in path/: one of them vanishes.
pick=
while IFS= read -r f; do
  pick=$f
  break
done < <(cd "$SRC" && find repository/node -mindepth 5 -maxdepth 5 -path '*/path/*' -type f | sort)
[[ -n $pick ]] || fail "no file to delete"
node_rel=${pick%/path/*}
rel=${pick#"$node_rel"/}
uuid=$(basename "$(dirname "$(dirname "$node_rel")")")$(basename "$(dirname "$node_rel")")$(basename "$node_rel")
note "deleting $rel of node $uuid during the backup"

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
export STRATA_FAULT_VANISH="$uuid/$rel"
assert_exit 11 "backup while a file vanishes" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
unset STRATA_FAULT_VANISH
[[ ! -e $SRC/$pick ]] || fail "the hook did not delete $pick"
assert_eq 1 "$(json_get "$LAST_STDOUT" left_nodes)" "left_nodes"
assert_eq 39 "$(json_get "$LAST_STDOUT" nodes)" "nodes in the snapshot"
assert_eq 1 "$(printf '%s\n' "$LAST_STDERR" | grep -c .)" "one line on stderr"
assert_contains "$LAST_STDERR" "strata: warning: node $uuid left for the next backup: file '" "the warning"
assert_contains "$LAST_STDERR" "vanished while being read" "the warning's reason"
assert_exit 0 "check after the warning" -- "$STRATA" check --dest "$DEST" --read-data

assert_exit 0 "the next backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 1 "$(json_get "$LAST_STDOUT" new_nodes)" "the next backup: new_nodes (the node left behind)"
assert_eq 40 "$(json_get "$LAST_STDOUT" nodes)" "the next backup: nodes"
assert_exit 0 "restore" -- "$STRATA" restore --dest "$DEST" --to-repository "$OUT/repo"
assert_same_repo "$SRC" "$OUT/repo" "restore after the node was read again"
note "ok"
