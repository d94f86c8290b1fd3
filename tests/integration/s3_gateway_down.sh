#!/usr/bin/env bash
# s3_gateway_down: the gateway stops in the middle of a backup (after the backup's first pack is
# uploaded). The backup fails, after its retries, with one 'strata: error:' line naming the
# endpoint and exit code 12; nothing is published (once the gateway is back, snapshots --json
# is what it was, also from an empty cache); the next backup completes and restores to the
# source, and leaves no unfinished multipart upload behind. A destination whose gateway is not
# running is the same one-line error, exit 12.
source "$(dirname "$0")/lib.sh"

s3_setup down
[[ -n ${STRATA_TEST_CEPH_DIR:-} ]] || fail "no STRATA_TEST_CEPH_DIR: the gateway cannot be stopped"
DSN=$(new_db s3_gateway_down)
SRC=$(new_tmp)
WORK=$(new_tmp)
CEPH=$STRATA_SOURCE_DIR/tests/ceph.sh
on_exit "$CEPH start-rgw '$STRATA_TEST_CEPH_DIR' >/dev/null 2>&1 || true"

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 100 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$S3_DEST"
assert_exit 0 "first backup" -- "$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC"
assert_exit 0 "snapshots" -- "$STRATA" snapshots --dest "$S3_DEST" --json
snaps1=$LAST_STDOUT
packs1=$(s3_pack_count)
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 1200 --mode add --size-scale 5 --quiet >/dev/null

"$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC" --jobs 1 --level 19 \
  >"$WORK/b.out" 2>"$WORK/b.err" &
pid=$!
on_exit "kill -9 $pid 2>/dev/null || true"
for ((i = 0; i < 600; i++)); do
  (($(s3_pack_count) > packs1)) && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$pid" 2>/dev/null || fail "the backup ended before the gateway stopped: $(cat "$WORK/b.err")"
note "stopping the gateway"
"$CEPH" stop-rgw "$STRATA_TEST_CEPH_DIR"
SECONDS=0
status=0
wait "$pid" || status=$?
note "backup ended $SECONDS s after the gateway stopped, exit $status"
err=$(cat "$WORK/b.err")
assert_eq 12 "$status" "backup with the gateway gone: exit code ($err)"
[[ $(printf '%s' "$err" | grep -c '') == 1 && $err == "strata: error: "* ]] ||
  fail "expected one 'strata: error:' line, got: $err"
assert_contains "$err" "$S3_ENDPOINT" "the error names the endpoint"

assert_exit 12 "snapshots with the gateway down" -- "$STRATA" snapshots --dest "$S3_DEST"
assert_one_error "snapshots with the gateway down"

note "starting the gateway again"
"$CEPH" start-rgw "$STRATA_TEST_CEPH_DIR"
assert_exit 0 "snapshots after" -- "$STRATA" snapshots --dest "$S3_DEST" --json
assert_eq "$snaps1" "$LAST_STDOUT" "nothing was published"
assert_exit 0 "next backup" -- "$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 2 "$(json_get "$LAST_STDOUT" id)" "next backup: snapshot id"
# A multipart upload cut off by the outage could not be aborted then: the next run did it.
assert_eq "" "$(s3_uploads)" "unfinished multipart uploads after the next backup"
STRATA_CACHE_DIR=$(new_tmp)/other
export STRATA_CACHE_DIR
assert_exit 0 "restore, empty cache" -- "$STRATA" restore --dest "$S3_DEST" --to-repository "$WORK/r"
assert_same_repo "$SRC" "$WORK/r" "restore after the outage vs source"
note "ok"
