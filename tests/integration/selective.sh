#!/usr/bin/env bash
# selective: restore --node (one, two), --path (a shard pattern, one file's path) and
# --nodes-from restore exactly what they name: each restored node folder equals the source's,
# and no other node folder is written; a uuid the snapshot does not hold is exit 7, a malformed
# line of --nodes-from a usage error naming it. cat writes one file's bytes (cmp), and a
# missing path is exit 7.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db selective)
SRC=$(new_tmp)
WORK=$(new_tmp)
D=$WORK/dest
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 60 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$D"
assert_exit 0 "backup" -- "$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC"

NODES=$SRC/repository/node
folder() { printf '%s/%s/%s/%s' "$1" "${2:0:2}" "${2:2:2}" "${2:4}"; }
uuid_of() { local rel=${1#"$NODES"/}; printf '%s%s%s' "${rel:0:2}" "${rel:3:2}" "${rel:6}"; }
# Node folders holding at least one file below a subdirectory, most files first.
mapfile -t CANDIDATES < <(find "$NODES" -mindepth 3 -maxdepth 3 -type d | while IFS= read -r f; do
  printf '%s %s\n' "$(find "$f" -mindepth 2 -type f | wc -l)" "$f"
done | sort -rn | awk '$1 > 0 {print $2}')
((${#CANDIDATES[@]} >= 2)) || fail "the generated repository has fewer than two nodes with nested files"
N1=$(uuid_of "${CANDIDATES[0]}")
N2=$(uuid_of "${CANDIDATES[1]}")

# The node folders below ROOT/repository/node, as uuids, sorted.
restored_nodes() {
  find "$1/repository/node" -mindepth 3 -maxdepth 3 -type d | while IFS= read -r f; do
    rel=${f#"$1/repository/node/"}
    printf '%s%s%s\n' "${rel:0:2}" "${rel:3:2}" "${rel:6}"
  done | LC_ALL=C sort
}

note "one --node"
R=$WORK/one
assert_exit 0 "restore --node" -- "$STRATA" restore --dest "$D" --to-repository "$R" --node "$N1" --json
assert_eq 1 "$(json_get "$LAST_STDOUT" files.nodes)" "nodes restored"
assert_eq "$(find "$(folder "$NODES" "$N1")" -type f | wc -l)" "$(json_get "$LAST_STDOUT" files.files)" "files restored"
assert_eq "$N1" "$(restored_nodes "$R")" "only the named node is restored"
assert_same_tree "$(folder "$NODES" "$N1")" "$(folder "$R/repository/node" "$N1")" "restored node"

note "two --node"
R=$WORK/two
assert_exit 0 "restore --node --node" -- "$STRATA" restore --dest "$D" --to-repository "$R" --node "$N1" \
  --node "${N2^^}" --node "$N1"
assert_eq "$(printf '%s\n' "$N1" "$N2" | LC_ALL=C sort)" "$(restored_nodes "$R")" "the two named nodes"
assert_same_tree "$(folder "$NODES" "$N1")" "$(folder "$R/repository/node" "$N1")" "first node"
assert_same_tree "$(folder "$NODES" "$N2")" "$(folder "$R/repository/node" "$N2")" "second node"

note "--path, a shard"
SHARD=${N1:0:2}
R=$WORK/shard
assert_exit 0 "restore --path node/$SHARD/*" -- "$STRATA" restore --dest "$D" --to-repository "$R" \
  --path "node/$SHARD/*"
assert_eq "$(find "$NODES/$SHARD" -mindepth 2 -maxdepth 2 -type d | while IFS= read -r f; do
  uuid_of "$f"
  echo
done | LC_ALL=C sort)" \
  "$(restored_nodes "$R")" "the nodes of shard $SHARD"
assert_same_tree --dir-mtimes-from-depth 2 "$NODES/$SHARD" "$R/repository/node/$SHARD" "shard $SHARD"

note "--path, one file"
FILE=$(cd "$(folder "$NODES" "$N1")" && find . -mindepth 2 -type f | sed 's|^\./||' | LC_ALL=C sort | head -n 1)
R=$WORK/file
assert_exit 0 "restore --path of one file" -- "$STRATA" restore --dest "$D" --to-repository "$R" \
  --path "node/${N1:0:2}/${N1:2:2}/${N1:4}/$FILE" --json
assert_eq 1 "$(json_get "$LAST_STDOUT" files.files)" "one file restored"
assert_eq "$N1" "$(restored_nodes "$R")" "only its node folder"
cmp "$(folder "$NODES" "$N1")/$FILE" "$(folder "$R/repository/node" "$N1")/$FILE" || fail "the restored file differs"
assert_eq "$FILE" "$(cd "$(folder "$R/repository/node" "$N1")" && find . -type f | sed 's|^\./||')" \
  "nothing but the file and the directories above it"

note "--nodes-from"
LIST=$WORK/list
printf '# two nodes\n\n  %s  \n%s # the second\n%s\n' "$N2" "$N1" "$N2" >"$LIST"
R=$WORK/list-restore
assert_exit 0 "restore --nodes-from" -- "$STRATA" restore --dest "$D" --to-repository "$R" --nodes-from "$LIST" --json
assert_eq 2 "$(json_get "$LAST_STDOUT" files.nodes)" "nodes restored from the list"
assert_eq "$(printf '%s\n' "$N1" "$N2" | LC_ALL=C sort)" "$(restored_nodes "$R")" "the listed nodes"
assert_same_tree "$(folder "$NODES" "$N2")" "$(folder "$R/repository/node" "$N2")" "listed node"
printf '%s\nnot-a-uuid\n' "$N1" >"$LIST"
assert_exit 2 "a malformed line" -- "$STRATA" restore --dest "$D" --to-repository "$WORK/bad" --nodes-from "$LIST"
assert_one_error "a malformed line"
assert_contains "$LAST_STDERR" "line 2" "the error names the line"

note "errors"
MISSING=00000000-0000-4000-8000-000000000000
assert_exit 7 "unknown --node" -- "$STRATA" restore --dest "$D" --to-repository "$WORK/unknown" --node "$N1" \
  --node "$MISSING"
assert_one_error "unknown --node"
assert_contains "$LAST_STDERR" "$MISSING" "the error names the node"
[[ ! -e $WORK/unknown ]] || fail "an unknown --node wrote the target"
assert_exit 2 "a selection with a database restore" -- "$STRATA" restore --dest "$D" --to-repository "$WORK/db" \
  --to-dsn "$DSN" --node "$N1"
assert_one_error "a selection with a database restore"

note "cat"
OUT=$WORK/cat.out
"$STRATA" cat --dest "$D" "$N1/$FILE" >"$OUT" || fail "cat exited $?"
cmp "$(folder "$NODES" "$N1")/$FILE" "$OUT" || fail "cat wrote other bytes than the source's"
assert_exit 0 "cat --snapshot 1" -- "$STRATA" cat --dest "$D" --snapshot 1 "$N1/$FILE"
assert_exit 7 "cat of a missing path" -- "$STRATA" cat --dest "$D" "$N1/no/such/file"
assert_one_error "cat of a missing path"
assert_exit 7 "cat of a node not in the snapshot" -- "$STRATA" cat --dest "$D" "$MISSING/x"
assert_one_error "cat of a node not in the snapshot"
assert_exit 2 "cat of a directory" -- "$STRATA" cat --dest "$D" "$N1/${FILE%%/*}"
assert_one_error "cat of a directory"
note "ok"
