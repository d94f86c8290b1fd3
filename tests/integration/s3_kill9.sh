#!/usr/bin/env bash
# s3_kill9: a backup to S3 killed with SIGKILL while it uploads packs leaves the published
# catalog as it was (snapshots --json unchanged, and snapshot 1 restores); the next backup takes over the dead run's lock, completes, and the latest
# snapshot restores to the source, also with an empty cache; check --read-data passes.
source "$(dirname "$0")/lib.sh"

s3_setup kill
DSN=$(new_db s3_kill9)
SRC=$(new_tmp)
WORK=$(new_tmp)

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 100 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$S3_DEST"
assert_exit 0 "first backup" -- "$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC"
assert_exit 0 "snapshots" -- "$STRATA" snapshots --dest "$S3_DEST" --json
snaps1=$LAST_STDOUT
listing1=$(tree_listing "$SRC")
packs1=$(s3_pack_count)

note "adding 1200 nodes (size scale 5)"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 1200 --mode add --size-scale 5 --quiet >/dev/null

"$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC" --jobs 1 --level 19 \
  >"$WORK/killed.out" 2>"$WORK/killed.err" &
pid=$!
on_exit "kill -9 $pid 2>/dev/null || true"
for ((i = 0; i < 600; i++)); do # up to 60 s
  (($(s3_pack_count) > packs1)) && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$pid" 2>/dev/null || fail "the backup ended before it was killed: $(cat "$WORK/killed.err")"
(($(s3_pack_count) > packs1)) || fail "the backup uploaded no pack within 60 s"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
note "killed after $(($(s3_pack_count) - packs1)) uploaded pack(s)"

assert_exit 0 "snapshots after the kill" -- "$STRATA" snapshots --dest "$S3_DEST" --json
assert_eq "$snaps1" "$LAST_STDOUT" "snapshots --json after the kill"
assert_exit 0 "restore 1 after the kill" -- "$STRATA" restore --dest "$S3_DEST" --snapshot 1 --to-repository "$WORK/r1"
assert_same_listing "$listing1" "$WORK/r1" "snapshot 1 after the kill"

assert_exit 0 "backup after the kill" -- "$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq true "$(json_get "$LAST_STDOUT" resumed_after_interruption)" "the next backup resumes"
assert_eq 2 "$(json_get "$LAST_STDOUT" id)" "the next backup's snapshot id"
kept=$(json_get "$LAST_STDOUT" kept_packs)
note "resumed: kept_packs $kept"
assert_exit 0 "restore latest" -- "$STRATA" restore --dest "$S3_DEST" --to-repository "$WORK/r2"
assert_same_repo "$SRC" "$WORK/r2" "latest snapshot vs source"
STRATA_CACHE_DIR=$(new_tmp)/other
export STRATA_CACHE_DIR
assert_exit 0 "check --read-data, empty cache" -- "$STRATA" check --dest "$S3_DEST" --read-data
assert_exit 0 "restore latest, empty cache" -- "$STRATA" restore --dest "$S3_DEST" --to-repository "$WORK/r3"
assert_same_repo "$SRC" "$WORK/r3" "latest snapshot vs source, empty cache"
note "ok"
