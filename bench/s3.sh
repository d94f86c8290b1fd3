#!/usr/bin/env bash
# bench/s3.sh — strata to an S3 gateway against restic to the same gateway and strata to a local
# directory, on one generated repository: full backup, 1% incremental, full restore (each
# restored tree compared with the source by diff -r), wall time and peak RSS (/usr/bin/time).
# Starts its own single-node Ceph (tests/ceph.sh) on --ceph-port (default 59560) and stops it;
# the database goes on the server of --dsn (a database strata_s3bench_<pid> is created and
# dropped). Prints a markdown table on stdout; progress on stderr.
#
#   bench/s3.sh --dsn DSN [--nodes N] [--size-scale F] [--ceph-port P] [--work DIR]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STRATA=${STRATA:-$ROOT/build/cli/strata}
GENREPO=${GENREPO:-$ROOT/build/bench/strata-genrepo}
NODES=2000
SCALE=1
CEPH_PORT=59560
DSN=
WORK=

while (($# > 0)); do
  case $1 in
    --dsn) DSN=$2; shift 2 ;;
    --nodes) NODES=$2; shift 2 ;;
    --size-scale) SCALE=$2; shift 2 ;;
    --ceph-port) CEPH_PORT=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    *) echo "usage: bench/s3.sh --dsn DSN [--nodes N] [--size-scale F] [--ceph-port P] [--work DIR]" >&2; exit 2 ;;
  esac
done
[[ -n $DSN ]] || { echo "bench/s3.sh: --dsn is required" >&2; exit 2; }
WORK=${WORK:-$(mktemp -d /tmp/strata-s3bench.XXXXXX)}
mkdir -p "$WORK"
DB=strata_s3bench_$$
DB_DSN="$DSN dbname=$DB"

cleanup() {
  set +e
  "$ROOT/tests/ceph.sh" stop "$WORK/ceph" >/dev/null 2>&1
  psql -X -q -d "$DSN" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

note() { echo "# $*" >&2; }

# timed NAME CMD... — runs CMD under /usr/bin/time; appends "NAME seconds maxrss_kib" to $WORK/times.
timed() {
  local name=$1
  shift
  /usr/bin/time -f "%e %M" -o "$WORK/time.$name" "$@" >"$WORK/log.$name" 2>&1 ||
    { echo "bench/s3.sh: '$name' failed:" >&2; tail -5 "$WORK/log.$name" >&2; exit 1; }
  printf '%s %s\n' "$name" "$(cat "$WORK/time.$name")" >>"$WORK/times"
  note "$name: $(cat "$WORK/time.$name") (s, max RSS KiB)"
}

note "starting Ceph on port $CEPH_PORT"
started=$SECONDS
"$ROOT/tests/ceph.sh" start "$WORK/ceph" "$CEPH_PORT" >&2
note "Ceph up in $((SECONDS - started)) s"
# shellcheck disable=SC1091  # written by tests/ceph.sh
source "$WORK/ceph/env"
export AWS_ACCESS_KEY_ID=$STRATA_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$STRATA_TEST_S3_SECRET_KEY
export STRATA_CACHE_DIR=$WORK/cache RESTIC_PASSWORD=bench-password
curl -sS -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
  -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -X PUT "$STRATA_TEST_S3_ENDPOINT/strata-bench"

psql -X -q -d "$DSN" -c "CREATE DATABASE $DB" >/dev/null
note "generating $NODES nodes (size scale $SCALE)"
"$GENREPO" --dsn "$DB_DSN" --root "$WORK/src" --nodes "$NODES" --size-scale "$SCALE" --quiet >/dev/null
files=$(find "$WORK/src/repository" -type f | wc -l)
bytes=$(du -sb "$WORK/src/repository" | cut -f1)

S3_DEST=s3:$STRATA_TEST_S3_ENDPOINT/strata-bench/strata
RESTIC_REPO=s3:$STRATA_TEST_S3_ENDPOINT/restic-bench
"$STRATA" init --dest "$S3_DEST" >/dev/null
"$STRATA" init --dest "$WORK/local" >/dev/null
restic -r "$RESTIC_REPO" init -q >/dev/null

timed strata-s3.full "$STRATA" backup --dest "$S3_DEST" --dsn "$DB_DSN" --repository "$WORK/src" --files-only
timed strata-local.full "$STRATA" backup --dest "$WORK/local" --dsn "$DB_DSN" --repository "$WORK/src" --files-only
timed restic-s3.full restic -r "$RESTIC_REPO" backup -q "$WORK/src/repository"

"$GENREPO" --dsn "$DB_DSN" --root "$WORK/src" --nodes $((NODES / 100 + 1)) --mode add --size-scale "$SCALE" --quiet >/dev/null
timed strata-s3.incr "$STRATA" backup --dest "$S3_DEST" --dsn "$DB_DSN" --repository "$WORK/src" --files-only
timed strata-local.incr "$STRATA" backup --dest "$WORK/local" --dsn "$DB_DSN" --repository "$WORK/src" --files-only
timed restic-s3.incr restic -r "$RESTIC_REPO" backup -q "$WORK/src/repository"

rm -rf "$STRATA_CACHE_DIR" # restore as another machine would: from the bucket alone
timed strata-s3.restore "$STRATA" restore --dest "$S3_DEST" --to-repository "$WORK/r.strata-s3"
timed strata-local.restore "$STRATA" restore --dest "$WORK/local" --to-repository "$WORK/r.strata-local"
timed restic-s3.restore restic -r "$RESTIC_REPO" restore latest -q --target "$WORK/r.restic"
diff -r "$WORK/src/repository" "$WORK/r.strata-s3/repository" >/dev/null || { echo "strata s3 restore differs" >&2; exit 1; }
diff -r "$WORK/src/repository" "$WORK/r.strata-local/repository" >/dev/null || { echo "strata local restore differs" >&2; exit 1; }
diff -r "$WORK/src/repository" "$WORK/r.restic$WORK/src/repository" >/dev/null || { echo "restic restore differs" >&2; exit 1; }

echo "## strata vs restic on a single-node Ceph RGW (loopback), $NODES nodes, $files files, $bytes bytes"
echo
echo "| step | strata s3 (s / MiB RSS) | restic s3 | strata local |"
echo "|---|---|---|---|"
for step in full incr restore; do
  row="| $step"
  for tool in strata-s3 restic-s3 strata-local; do
    read -r _ secs rss < <(grep "^$tool.$step " "$WORK/times")
    row+=" | $secs / $((rss / 1024))"
  done
  echo "$row |"
done
