#!/usr/bin/env bash
# bench/delta_series.sh — dump deltas by measurement (issue 11, point 6): one series of
# `pg_dump --format=directory --compress=0` dumps (as strata runs it) of a generated AiiDA
# database, and for each day the bytes each method would store for the dump files that changed,
# from strata-deltabench (librsync at several block lengths, delta plus the new signature, vs
# zstd with the previous version as prefix and long-distance matching):
#   day 1: 1% of db_dbnode rows updated (mtime, extras, as AiiDA's changes do) and 1% of db_dblog
#   day 2: 1% new nodes (strata-genrepo --mode add: links, logs, comments with them)
#   day 3: nothing changed
# Prints a markdown table on stdout.
#
# usage: bench/delta_series.sh --dsn DSN [--nodes N] [--work DIR]
#   --dsn DSN   a PostgreSQL server: a database strata_deltas_<pid> is created on it and dropped
#   --nodes N   nodes generated (default 60000)
#   --work DIR  where dumps go (default: a new directory under /tmp, removed at the end)
# Environment: GENREPO and DELTABENCH name the tools (default: build/bench/ of the source tree).
set -euo pipefail

BENCH_SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/dsn.sh
source "$BENCH_SOURCE_DIR/tests/dsn.sh"
# shellcheck source=bench/lib/days.sh
source "$BENCH_SOURCE_DIR/bench/lib/days.sh"
GENREPO=${GENREPO:-$BENCH_SOURCE_DIR/build/bench/strata-genrepo}
DELTABENCH=${DELTABENCH:-$BENCH_SOURCE_DIR/build/bench/strata-deltabench}

SERVER_DSN=
NODES=60000
WORK=
while (($# > 0)); do
  case $1 in
    --dsn) SERVER_DSN=${2:?}; shift 2 ;;
    --nodes) NODES=${2:?}; shift 2 ;;
    --work) WORK=${2:?}; shift 2 ;;
    -h | --help) sed -n '14,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "delta_series: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -n $SERVER_DSN ]] || { echo "delta_series: --dsn is required" >&2; exit 2; }
[[ $NODES =~ ^[1-9][0-9]*$ ]] || { echo "delta_series: --nodes must be a positive number" >&2; exit 2; }
WORK_CREATED=0
if [[ -z $WORK ]]; then
  WORK=$(mktemp -d /tmp/strata-deltas.XXXXXX)
  WORK_CREATED=1
fi
DB=strata_deltas_$$
DSN=$(with_dbname "$SERVER_DSN" "$DB")

log() {
  echo "delta_series: $*" >&2
}

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local status=$?
  set +e
  psql -X -q -d "$SERVER_DSN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null
  ((WORK_CREATED == 0)) || rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT

dump() {
  pg_dump --format=directory --compress=0 --no-password --file="$WORK/day$1" --dbname="$DSN"
}

psql -X -q -d "$SERVER_DSN" -c "CREATE DATABASE $DB"
log "generating $NODES nodes"
"$GENREPO" --dsn "$DSN" --root "$WORK/repo" --nodes "$NODES" --quiet >/dev/null
rm -rf "$WORK/repo"
dump 0
log "day 1: 1% of db_dbnode and db_dblog updated"
day_update "$DSN" 7
dump 1
log "day 2: 1% new nodes"
day_append "$DSN" "$WORK/repo" $((NODES / 100))
rm -rf "$WORK/repo"
dump 2
log "day 3: nothing changed"
dump 3

full_bytes=$(du -sb "$WORK/day0" | cut -f 1)
# Sum, per day and method, what the changed files cost (files that did not change cost nothing
# with any method: strata keeps them by hash).
for day in 1 2 3; do
  prev=$((day - 1))
  for new in "$WORK/day$day"/*.dat; do
    old=$WORK/day$prev/$(basename "$new")
    [[ -f $old ]] || continue
    cmp -s "$old" "$new" && continue
    "$DELTABENCH" "$old" "$new" | tail -n +2 | sed "s/^/$day\t/"
  done
done >"$WORK/rows.tsv"

{
  echo "$NODES nodes; full dump directory $full_bytes bytes (uncompressed, pg_dump -Fd -Z0)"
  echo
  echo "| method | day 1: 1% updated | day 2: 1% new | day 3: nothing | make s (all days) | apply s (all days) |"
  echo "|---|---:|---:|---:|---:|---:|"
  awk -F'\t' '{ key = $2; if (!(key in order)) { order[key] = ++n; name[n] = key }
                bytes[key, $1] += $3; make[key] += $6; apply[key] += $7 }
    END { for (i = 1; i <= n; i++) { k = name[i];
            printf "| %s | %d | %d | %d | %.2f | %.2f |\n", k, bytes[k, 1], bytes[k, 2], bytes[k, 3], make[k], apply[k] } }' \
    "$WORK/rows.tsv"
}
