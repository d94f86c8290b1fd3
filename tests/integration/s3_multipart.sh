#!/usr/bin/env bash
# s3_multipart: packs above the multipart threshold (32 MiB) go to the bucket as multipart
# uploads (their ETag ends in -PARTS), smaller ones as one PUT; a backup with a 100 MiB random
# file restores byte-identical from an empty cache, check --read-data passes, and no unfinished
# upload stays in the bucket. Then a backup killed with SIGKILL in the middle of a multipart
# upload: the published snapshots are unchanged and snapshot 1 restores; the next backup aborts
# the dead run's unfinished uploads, completes, and restores to the source from an empty cache.
source "$(dirname "$0")/lib.sh"

s3_setup mp
DSN=$(new_db s3_multipart)
SRC=$(new_tmp)
WORK=$(new_tmp)
MIB=$((1024 * 1024))

# node_folder ID — the folder of node ID in SRC (empty when it has none).
node_folder() {
  local uuid
  uuid=$(psql -X -At -d "$DSN" -c "SELECT uuid FROM db_dbnode WHERE id = $1")
  local d=$SRC/repository/node/${uuid:0:2}/${uuid:2:2}/${uuid:4}
  [[ -d $d ]] && echo "$d" || true
}

# big_file_in_new_node MIB — a random file of MIB MiB in the newest node that has a folder.
big_file_in_new_node() {
  local id folder
  for id in $(psql -X -At -d "$DSN" -c 'SELECT id FROM db_dbnode ORDER BY id DESC'); do
    folder=$(node_folder "$id")
    [[ -n $folder ]] || continue
    head -c "$(($1 * MIB))" /dev/urandom >"$folder/big-$1.bin"
    return 0
  done
  fail "no node with a folder"
}

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 20 --quiet >/dev/null
big_file_in_new_node 100

assert_exit 0 "init" -- "$STRATA" init --dest "$S3_DEST"
TIME=()
[[ -x /usr/bin/time ]] && TIME=(/usr/bin/time -f %M -o "$WORK/rss")
assert_exit 0 "backup" -- "${TIME[@]}" "$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 1 "$(json_get "$LAST_STDOUT" id)" "backup: snapshot id"
if [[ -s $WORK/rss ]]; then
  rss=$(tail -1 "$WORK/rss")
  note "backup peak RSS $((rss / 1024)) MiB"
  ((rss < 200 * 1024)) || fail "backup of 100 MiB through multipart took $((rss / 1024)) MiB of memory"
fi

etags=$(s3_pack_etags)
note "packs:"$'\n'"$etags"
multipart=0 single=0
while read -r key size etag; do
  if ((size > 32 * MIB)); then
    [[ $etag =~ -([0-9]+)$ ]] || fail "pack '$key' of $size bytes was not a multipart upload (ETag $etag)"
    parts=${BASH_REMATCH[1]}
    # 16 MiB parts: a pack of size bytes takes ceil(size / 16 MiB) of them.
    assert_eq $(((size + 16 * MIB - 1) / (16 * MIB))) "$parts" "parts of '$key'"
    multipart=$((multipart + 1))
  else
    [[ $etag != *-* ]] || fail "pack '$key' of $size bytes was a multipart upload (ETag $etag)"
    single=$((single + 1))
  fi
done <<<"$etags"
((multipart >= 1)) || fail "no pack went multipart"
((single >= 1)) || fail "no pack went as a single PUT"
assert_eq "" "$(s3_uploads)" "unfinished multipart uploads after the backup"

listing1=$(tree_listing "$SRC")
assert_exit 0 "snapshots" -- "$STRATA" snapshots --dest "$S3_DEST" --json
snaps1=$LAST_STDOUT
writer_cache=$STRATA_CACHE_DIR
STRATA_CACHE_DIR=$(new_tmp)/empty
assert_exit 0 "restore, empty cache" -- "$STRATA" restore --dest "$S3_DEST" --to-repository "$WORK/r1"
assert_same_repo "$SRC" "$WORK/r1" "restore of multipart packs vs source"
assert_exit 0 "check --read-data, empty cache" -- "$STRATA" check --dest "$S3_DEST" --read-data
STRATA_CACHE_DIR=$writer_cache
rm -rf "$WORK/r1"

note "a backup killed during a multipart upload"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 10 --mode add --quiet >/dev/null
big_file_in_new_node 200
# Uploads capped at 8 MiB/s each (a 16 MiB part takes 2 s), so that one is surely seen in flight.
STRATA_FAULT_S3_SEND_LIMIT=$((8 * MIB)) "$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC" --jobs 1 \
  >"$WORK/killed.out" 2>"$WORK/killed.err" &
pid=$!
on_exit "kill -9 $pid 2>/dev/null || true"
caught=false
for ((i = 0; i < 2400; i++)); do # up to 120 s
  kill -0 "$pid" 2>/dev/null || break
  if [[ -n $(s3_uploads) ]]; then
    # Frozen first, so that what the listing shows now is what the kill leaves.
    kill -STOP "$pid"
    if [[ -n $(s3_uploads) ]]; then
      caught=true
      break
    fi
    kill -CONT "$pid"
  fi
  sleep 0.05
done
$caught || fail "no multipart upload seen in flight before the backup ended: $(cat "$WORK/killed.err")"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
left=$(s3_uploads)
note "killed with unfinished upload(s): $(echo "$left" | tr '\n' ' ')"

assert_exit 0 "snapshots after the kill" -- "$STRATA" snapshots --dest "$S3_DEST" --json
assert_eq "$snaps1" "$LAST_STDOUT" "snapshots --json after the kill"
assert_exit 0 "restore 1 after the kill" -- "$STRATA" restore --dest "$S3_DEST" --snapshot 1 --to-repository "$WORK/r2"
assert_same_listing "$listing1" "$WORK/r2" "snapshot 1 after the kill"
rm -rf "$WORK/r2"

assert_exit 0 "backup after the kill" -- "$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 2 "$(json_get "$LAST_STDOUT" id)" "the next backup's snapshot id"
assert_eq "" "$(s3_uploads)" "unfinished multipart uploads after the next backup"
STRATA_CACHE_DIR=$(new_tmp)/other
export STRATA_CACHE_DIR
assert_exit 0 "restore latest, empty cache" -- "$STRATA" restore --dest "$S3_DEST" --to-repository "$WORK/r3"
assert_same_repo "$SRC" "$WORK/r3" "latest snapshot vs source, empty cache"
note "ok"
