#!/usr/bin/env bash
# bench/big_table.sh — peak memory with a table file of several GiB (issue 11, point 2): a
# database (the AiiDA schema, bench/aiida_schema.sql) with one log-like table, bench_big_log,
# whose plain pg_dump data file is about --size-gib GiB (generate_series rows with random text),
#   1. strata backup --database-only (the table file stored in full),
#   2. 1% of the table's rows updated (id % 100 = 1), strata backup --database-only again (the
#      table file stored as a zstd delta against step 1's),
#   3. strata restore --to-dsn a new database, checked: the table's row count and a sum of its
#      messages' hashes equal the source's,
# each under /usr/bin/time -v (wall time and peak RSS). Prints a markdown table on stdout (and
# writes WORK/results.md).
#
# usage: bench/big_table.sh --dsn DSN [--size-gib G] [--jobs N] [--work DIR]
#   --dsn DSN       a PostgreSQL server (libpq keyword string or URI): databases
#                   strata_big_<pid> and strata_big_<pid>_restore are created on it and dropped
#                   at the end (start a throwaway one with tests/pg.sh start DIR PORT)
#   --size-gib G    approximate size of the table's dump file in GiB (default 3; may be a
#                   fraction, e.g. 0.05 for a quick try)
#   --jobs N        strata --jobs (default: the cores)
#   --work DIR      destination and logs (default: a new directory under /tmp, removed at the
#                   end unless a step failed)
# Environment: STRATA names the binary (default build/cli/strata in the source tree).
# Exits non-zero if a step failed or the restored table differs from the source.
set -euo pipefail

BENCH_SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib/common.sh
source "$BENCH_SOURCE_DIR/bench/lib/common.sh"
# shellcheck source=tests/dsn.sh
source "$BENCH_SOURCE_DIR/tests/dsn.sh"
# shellcheck source=bench/lib/standalone.sh
source "$BENCH_SOURCE_DIR/bench/lib/standalone.sh"
STRATA=${STRATA:-$BENCH_SOURCE_DIR/build/cli/strata}
# Bytes of one row in the dump's COPY data (id, time, level, 192 characters of message).
ROW_BYTES=240
# Rows inserted per statement while generating (progress is logged after each).
GENERATE_BATCH=2000000

usage() {
  sed -n '13,23s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

SERVER_DSN=
SIZE_GIB=3
JOBS=$(nproc)
WORK=
while (($# > 0)); do
  case $1 in
    --dsn | --size-gib | --jobs | --work)
      (($# >= 2)) || { echo "big_table: $1 needs a value" >&2; exit 2; }
      case $1 in
        --dsn) SERVER_DSN=$2 ;;
        --size-gib) SIZE_GIB=$2 ;;
        --jobs) JOBS=$2 ;;
        --work) WORK=$2 ;;
      esac
      shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[[ -n $SERVER_DSN ]] || { echo "big_table: --dsn is required" >&2; usage >&2; exit 2; }
[[ $SIZE_GIB =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "big_table: --size-gib must be a number: '$SIZE_GIB'" >&2; exit 2; }
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || { echo "big_table: --jobs must be a positive number: '$JOBS'" >&2; exit 2; }
ROWS_WANTED=$(awk -v g="$SIZE_GIB" -v r="$ROW_BYTES" 'BEGIN { printf "%d\n", g * 1073741824 / r }')
((ROWS_WANTED > 0)) || { echo "big_table: --size-gib $SIZE_GIB is too small" >&2; exit 2; }

WORK_CREATED=0
if [[ -z $WORK ]]; then
  WORK=$(mktemp -d /tmp/strata-big.XXXXXX)
  WORK_CREATED=1
fi
LOGS=$WORK/logs
mkdir -p "$LOGS"
DB=strata_big_$$
DSN=$(with_dbname "$SERVER_DSN" "$DB")
RESTORE_DSN=$(with_dbname "$SERVER_DSN" "${DB}_restore")
DEST=$WORK/dest
FAILED=0

trap 'standalone_cleanup big_table "$DB" "${DB}_restore"' EXIT

generate() {
  log "generating $ROWS_WANTED rows (~$SIZE_GIB GiB of dump data) in database $DB"
  psql_on "$SERVER_DSN" -c "CREATE DATABASE $DB"
  psql_on "$DSN" -f "$BENCH_SOURCE_DIR/bench/aiida_schema.sql"
  psql_on "$DSN" -c "CREATE TABLE bench_big_log(id bigint PRIMARY KEY, time timestamptz NOT NULL,
                     level text NOT NULL, message text NOT NULL)"
  local done_rows=0 batch
  while ((done_rows < ROWS_WANTED)); do
    batch=$((ROWS_WANTED - done_rows < GENERATE_BATCH ? ROWS_WANTED - done_rows : GENERATE_BATCH))
    psql_on "$DSN" -c "INSERT INTO bench_big_log
      SELECT g, now() - g * interval '1 second', (ARRAY['INFO', 'WARN', 'DEBG'])[1 + g % 3],
             md5(random()::text) || md5(random()::text) || md5(random()::text) ||
             md5(random()::text) || md5(random()::text) || md5(random()::text)
      FROM generate_series($((done_rows + 1)), $((done_rows + batch))) g"
    done_rows=$((done_rows + batch))
    log "  $done_rows rows"
  done
  psql_on "$DSN" -c "VACUUM ANALYZE bench_big_log"
}

# table_sum DSN — the row count and a sum of the message hashes of bench_big_log.
table_sum() {
  psql_on "$1" -c "SELECT count(*) || ' ' || sum(hashtext(message)::bigint) FROM bench_big_log"
}

# step KEY CMD... — CMD under /usr/bin/time -v; its stdout in logs/KEY.out.
step() {
  local key=$1 status=0
  shift
  log "$key: $*"
  printf '%q ' "$@" >"$LOGS/$key.cmd"
  /usr/bin/time -v -o "$LOGS/$key.time" "$@" >"$LOGS/$key.out" 2>"$LOGS/$key.err" || status=$?
  if ((status != 0)); then
    log "FAILED (exit $status): $key: $(tail -n 3 "$LOGS/$key.err")"
    FAILED=1
    return 0
  fi
  log "  $(seconds "$key") s, $(peak_mib "$key") MiB"
}

seconds() {
  timev_seconds "$LOGS/$1.time"
}

peak_mib() {
  timev_peak_mib "$LOGS/$1.time"
}

backup() {
  step "$1" "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$WORK/repo" \
    --database-only --json --jobs "$JOBS"
}

# row KEY WHAT — one line of the report; the backups' dump and stored bytes from their JSON.
row() {
  local key=$1 what=$2 dumped=- stored=- deltas=-
  if [[ ! -s $LOGS/$key.time ]] || ! grep -q 'Exit status: 0' "$LOGS/$key.time"; then
    printf '| %s | failed | | | | |\n' "$what"
    return
  fi
  if [[ $key == backup* ]]; then
    dumped=$(human "$(json_field "$LOGS/$key.out" database.dump_bytes)")
    stored=$(human "$(json_field "$LOGS/$key.out" database.stored_bytes)")
    deltas=$(json_field "$LOGS/$key.out" database.delta_files)
  fi
  printf '| %s | %s | %s | %s | %s | %s |\n' "$what" "$(seconds "$key")" "$(peak_mib "$key")" \
    "$dumped" "$stored" "$deltas"
}

report() {
  cat <<EOF
# strata with a table file of ~$SIZE_GIB GiB

\`\`\`
bench/big_table.sh --size-gib $SIZE_GIB --jobs $JOBS
\`\`\`

- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; bench_big_log: $ROWS_WANTED rows, $(human "$TABLE_BYTES") on disk (pg_table_size)
- restored table equals the source (row count, sum of message hashes): $RESTORED_SAME

| step | wall s | peak RSS MiB | dump bytes | stored | delta files |
|---|---:|---:|---:|---:|---:|
EOF
  row backup1 "strata backup --database-only (first)"
  row backup2 "strata backup --database-only (after 1% of the rows updated)"
  row restore "strata restore --to-dsn a new database"
}

generate
TABLE_BYTES=$(psql_on "$DSN" -c "SELECT pg_table_size('bench_big_log')")
mkdir -p "$WORK/repo/repository/node"
"$STRATA" init --dest "$DEST" >"$LOGS/init.log" 2>&1 || { log "strata init failed"; exit 1; }
backup backup1
log "updating 1% of the rows"
psql_on "$DSN" -c "UPDATE bench_big_log SET message = message || ' (seen)' WHERE id % 100 = 1"
backup backup2
step restore "$STRATA" restore --dest "$DEST" --to-dsn "$RESTORE_DSN" --jobs "$JOBS"
RESTORED_SAME=no
if [[ $FAILED == 0 ]] && [[ $(table_sum "$DSN") == "$(table_sum "$RESTORE_DSN")" ]]; then
  RESTORED_SAME=yes
else
  FAILED=1
fi
report | tee "$WORK/results.md"
((FAILED == 0))
