#!/usr/bin/env bash
# folder_mtimes: the folders above the node folders (repository, repository/node and the shard
# levels node/xx, node/xx/yy) are restored with the mode and mtime they had at the snapshot,
# as tar and rsync -a do. Backup 1 of 200 nodes, then 20 nodes added (backup 2), then a node
# deleted with its emptied shard (backup 3): each snapshot restores to exactly the source as it
# was right after its backup, every directory's mtime included, and each backup recorded only
# the folders it touched (an incremental one stats the shards of the nodes it read or lost, not
# every shard). A catalog whose folder path is not one of those shapes, or whose mode is more
# than permission bits, is refused by restore and reported by check (exit 8).
source "$(dirname "$0")/lib.sh"

DSN=$(new_db folder_mtimes)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)

sql() {
  psql -X -At -v ON_ERROR_STOP=1 -d "$DSN" -c "$1"
}

q() {
  sqlite3 -bail "$1/catalog.db" "$2"
}

# Gives the folders above the node folders that changed since STAMP (all with --all) the time
# T, so that every step's changes have a time of their own, none of them the restore's.
age_folders() {
  local when=$1 stamp=${2:-}
  if [[ -n $stamp ]]; then
    find "$SRC/repository" -maxdepth 3 -type d -newer "$stamp" -exec touch -d "@$when" {} +
  else
    find "$SRC/repository" -maxdepth 3 -type d -exec touch -d "@$when" {} +
  fi
}

note "generating 200 nodes"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 200 --quiet >/dev/null
first_xx=$(find "$SRC/repository/node" -mindepth 1 -maxdepth 1 -type d | sort | sed -n 1p)
first_yy=$(find "$first_xx" -mindepth 1 -maxdepth 1 -type d | sort | sed -n 1p)
chmod 0750 "$first_xx" "$first_yy" "$SRC/repository"
age_folders 978307200

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "backup 1" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --files-only --json
listing1=$(tree_listing "$SRC")
shards_xx=$(find "$SRC/repository/node" -mindepth 1 -maxdepth 1 -type d | wc -l)
shards_yy=$(find "$SRC/repository/node" -mindepth 2 -maxdepth 2 -type d | wc -l)
assert_eq $((2 + shards_xx + shards_yy)) "$(q "$DEST" "SELECT count(*) FROM folder_meta WHERE snapshot_id = 1")" \
  "backup 1 records every folder above the node folders"

note "adding 20 nodes"
max_id=$(sql 'SELECT max(id) FROM db_dbnode')
stamp=$(new_tmp)/stamp
touch "$stamp"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 20 --mode add --seed 2 --quiet >/dev/null
age_folders 1000000000 "$stamp"
assert_exit 0 "backup 2" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --files-only --json
assert_eq 20 "$(json_get "$LAST_STDOUT" new_nodes)" "backup 2: new_nodes"
listing2=$(tree_listing "$SRC")
# The shards of the new nodes that exist (a node without files may have no folder, nor shards).
declare -A xx_seen=() yy_seen=()
while IFS= read -r uuid; do
  if [[ -d $SRC/repository/node/${uuid:0:2} ]]; then
    xx_seen[${uuid:0:2}]=1
  fi
  if [[ -d $SRC/repository/node/${uuid:0:2}/${uuid:2:2} ]]; then
    yy_seen[${uuid:0:4}]=1
  fi
done < <(sql "SELECT uuid FROM db_dbnode WHERE id > $max_id")
touched_yy=${#yy_seen[@]}
((touched_yy > 0)) || fail "the 20 new nodes have no shard folder; the test would prove nothing"
assert_eq $((2 + ${#xx_seen[@]} + touched_yy)) \
  "$(q "$DEST" "SELECT count(*) FROM folder_meta WHERE snapshot_id = 2")" \
  "backup 2 records only the folders of the shards it touched"

# A node with a folder whose xx shard holds another yy shard too: deleting it (and its emptied
# yy shard, as AiiDA would) changes the xx shard, which only the deleted node leads to.
victim=
while IFS='|' read -r id uuid; do
  dir=$SRC/repository/node/${uuid:0:2}/${uuid:2:2}/${uuid:4}
  [[ -d $dir ]] || continue
  (($(find "$SRC/repository/node/${uuid:0:2}" -mindepth 1 -maxdepth 1 | wc -l) >= 2)) || continue
  (($(find "$SRC/repository/node/${uuid:0:2}/${uuid:2:2}" -mindepth 1 -maxdepth 1 | wc -l) == 1)) || continue
  victim=$id
  victim_uuid=$uuid
  break
done < <(sql "SELECT id, uuid FROM db_dbnode WHERE id <= $max_id ORDER BY id")
[[ -n $victim ]] || fail "no node alone in its yy shard beside another yy shard"
note "deleting node $victim ($victim_uuid)"
touch "$stamp"
delete_nodes "$DSN" "$victim"
rm -rf "${SRC:?}/repository/node/${victim_uuid:0:2}/${victim_uuid:2:2}"
age_folders 1100000000 "$stamp"
assert_exit 0 "backup 3" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --files-only --json
assert_eq 1 "$(json_get "$LAST_STDOUT" deleted_nodes)" "backup 3: deleted_nodes"
listing3=$(tree_listing "$SRC")
assert_eq "3|repository/node/${victim_uuid:0:2}|1100000000" \
  "$(q "$DEST" "SELECT snapshot_id || '|' || path || '|' || (mtime_ns / 1000000000) FROM folder_meta
     WHERE snapshot_id = 3 AND length(path) > 15")" \
  "backup 3 records the xx shard of the deleted node, and no other shard"

for n in 1 2 3; do
  assert_exit 0 "restore snapshot $n" -- "$STRATA" restore --dest "$DEST" --snapshot "$n" \
    --to-repository "$OUT/r$n"
  expected=listing$n
  assert_eq "${!expected}" "$(tree_listing "$OUT/r$n")" "snapshot $n restores the source as it was, every mtime"
done
# Restoring over an existing tree sets the folders again.
touch -d @1200000000 "$OUT/r3/repository" "$OUT/r3/repository/node"
assert_exit 0 "restore --force" -- "$STRATA" restore --dest "$DEST" --force --to-repository "$OUT/r3"
assert_eq "$listing3" "$(tree_listing "$OUT/r3")" "restore --force sets the folders again"

# Untrusted paths and modes in folder_meta.
bad=0
for change in "path = 'repository/node/../../x'" "path = 'repository/node/AB'" "path = 'repository/x'" \
  "path = 'repository/node/ab/cd/ef'" "path = '/tmp'" "path = 'repository/node/a'" "mode = 32768 + 493"; do
  bad=$((bad + 1))
  copy=$(new_tmp)/dest
  cp -a "$DEST" "$copy"
  q "$copy" "UPDATE folder_meta SET $change WHERE snapshot_id = 1 AND path = 'repository/node'"
  assert_exit 8 "hostile folder $bad ($change)" -- "$STRATA" restore --dest "$copy" --snapshot 1 \
    --to-repository "$OUT/bad$bad"
  assert_one_error "hostile folder $bad"
  assert_exit 8 "check of hostile folder $bad" -- "$STRATA" check --dest "$copy"
  assert_contains "$LAST_STDOUT$LAST_STDERR" "catalog holds folder" "check of hostile folder $bad: problem"
done
assert_exit 0 "check of the untouched destination" -- "$STRATA" check --dest "$DEST"
