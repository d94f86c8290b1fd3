#!/usr/bin/env bash
# bench/nightly_db.sh — the nightly run at scale, database-only simulation (issue 11, point 5):
# a database of N nodes without folders (db_dbnode rows made with generate_series, 30 days old)
# and a repository holding one node folder, backed up with `strata backup --files-only`:
#   1. the first backup (every node new),
#   2. a run with nothing changed,
#   3. a run after deleting one node,
#   4. the nightly run: NEW new nodes and DELETED deleted ones, scattered over the id range,
# each timed with /usr/bin/time -v (wall time and peak memory), its JSON kept. Steps 3 and 4 check
# that the snapshot counts exactly the nodes deleted and added. --baseline BIN runs steps 2-4
# with another strata binary too (on its own copy of the destination after step 1), for a
# before/after comparison. Prints a markdown table on stdout (and writes WORK/results.md).
#
# usage: bench/nightly_db.sh --dsn DSN [--nodes N] [--new K] [--deleted D] [--work DIR]
#                            [--baseline BIN] [--smoke]
#   --dsn DSN       a PostgreSQL server (libpq keyword string or URI): a database
#                   strata_nightly_<pid> is created on it and dropped at the end (start a
#                   throwaway one with tests/pg.sh start DIR PORT)
#   --nodes N       nodes in the database (default 1000000)
#   --new K         new nodes of the nightly run (default 10000)
#   --deleted D     deleted nodes of the nightly run (default 100)
#   --work DIR      destination, repository and logs (default: a new directory under /tmp,
#                   removed at the end unless a step failed)
#   --baseline BIN  also time steps 2-4 with BIN
#   --smoke         20000 nodes, 200 new, 10 deleted unless given: for ctest (bench/smoke.cmake)
# Environment: STRATA names the binary (default build/cli/strata in the source tree).
# Exits non-zero if a step failed or a snapshot counts other nodes than the ones changed.
set -euo pipefail

BENCH_SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/dsn.sh
source "$BENCH_SOURCE_DIR/tests/dsn.sh"
# shellcheck source=bench/lib/standalone.sh
source "$BENCH_SOURCE_DIR/bench/lib/standalone.sh"
STRATA=${STRATA:-$BENCH_SOURCE_DIR/build/cli/strata}
# Rows inserted per statement while generating (progress is logged after each).
GENERATE_BATCH=1000000

usage() {
  sed -n '14,26s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

SERVER_DSN=
NODES=
NEW=
DELETED=
WORK=
BASELINE=
SMOKE=0
while (($# > 0)); do
  case $1 in
    --dsn | --nodes | --new | --deleted | --work | --baseline)
      (($# >= 2)) || { echo "nightly_db: $1 needs a value" >&2; exit 2; }
      case $1 in
        --dsn) SERVER_DSN=$2 ;;
        --nodes) NODES=$2 ;;
        --new) NEW=$2 ;;
        --deleted) DELETED=$2 ;;
        --work) WORK=$2 ;;
        --baseline) BASELINE=$2 ;;
      esac
      shift 2 ;;
    --smoke) SMOKE=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
if ((SMOKE == 1)); then
  NODES=${NODES:-20000} NEW=${NEW:-200} DELETED=${DELETED:-10}
fi
NODES=${NODES:-1000000} NEW=${NEW:-10000} DELETED=${DELETED:-100}
[[ -n $SERVER_DSN ]] || { echo "nightly_db: --dsn is required" >&2; usage >&2; exit 2; }
for n in "$NODES" "$NEW" "$DELETED"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "nightly_db: '$n' is not a positive number" >&2; exit 2; }
done
((DELETED < NODES - 2)) || { echo "nightly_db: --deleted must be below --nodes" >&2; exit 2; }
[[ -z $BASELINE || -x $BASELINE ]] || { echo "nightly_db: '$BASELINE' is not executable" >&2; exit 2; }

T0=$(date +%s)
log() {
  printf '[%5ds] %s\n' $(($(date +%s) - T0)) "$*" >&2
}

WORK_CREATED=0
if [[ -z $WORK ]]; then
  WORK=$(mktemp -d /tmp/strata-nightly.XXXXXX)
  WORK_CREATED=1
fi
mkdir -p "$WORK/logs"
DB=strata_nightly_$$
DSN=$(with_dbname "$SERVER_DSN" "$DB")
FAILED=0

trap 'standalone_cleanup nightly_db "$DB"' EXIT

# add_nodes COUNT AGE — COUNT nodes without folders, created AGE ago (spread over a day).
add_nodes() {
  psql_on "$DSN" -c "INSERT INTO db_dbnode(uuid, node_type, label, description, ctime, mtime, user_id)
    SELECT gen_random_uuid(), 'data.core.int.Int.', '', '',
           now() - interval '$2' - g * interval '1 day' / $1, now() - interval '$2',
           (SELECT min(id) FROM db_dbuser)
    FROM generate_series(1, $1) g"
}

generate() {
  log "generating $NODES nodes in database $DB"
  psql_on "$SERVER_DSN" -c "CREATE DATABASE $DB"
  psql_on "$DSN" -f "$BENCH_SOURCE_DIR/bench/aiida_schema.sql"
  psql_on "$DSN" -c "INSERT INTO db_dbuser(email, first_name, last_name, institution)
                     VALUES ('aiida@localhost', '', '', '')"
  local left=$NODES batch
  while ((left > 0)); do
    batch=$((left < GENERATE_BATCH ? left : GENERATE_BATCH))
    add_nodes "$batch" '30 days'
    left=$((left - batch))
    log "  $((NODES - left)) nodes"
  done
  psql_on "$DSN" -c "VACUUM ANALYZE db_dbnode"
  # The repository must hold some node folder (strata refuses an empty one as of the wrong shape).
  local uuid
  uuid=$(psql_on "$DSN" -c "SELECT uuid FROM db_dbnode ORDER BY id LIMIT 1")
  mkdir -p "$WORK/repo/repository/node/${uuid:0:2}/${uuid:2:2}/${uuid:4}"
  echo node >"$WORK/repo/repository/node/${uuid:0:2}/${uuid:2:2}/${uuid:4}/file"
}

# run KEY BIN DEST — one files-only backup, timed; JSON in logs/KEY.json.
run() {
  local key=$1 bin=$2 dest=$3 status=0
  /usr/bin/time -v -o "$WORK/logs/$key.time" "$bin" backup --dest "$dest" --dsn "$DSN" \
    --repository "$WORK/repo" --files-only --json >"$WORK/logs/$key.json" 2>"$WORK/logs/$key.err" ||
    status=$?
  if ((status != 0)); then
    log "FAILED (exit $status): $key: $(tail -n 3 "$WORK/logs/$key.err")"
    FAILED=1
    return 0
  fi
  log "  $key: $(seconds "$key") s, $(peak_mib "$key") MiB"
}

seconds() {
  timev_seconds "$WORK/logs/$1.time"
}

peak_mib() {
  timev_peak_mib "$WORK/logs/$1.time"
}

field() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/logs/$1.json" "$2"
}

# expect KEY FIELD VALUE — the snapshot counts what was changed.
expect() {
  [[ -s $WORK/logs/$1.json ]] || return 0
  local got
  got=$(field "$1" "$2")
  if [[ $got != "$3" ]]; then
    log "WRONG: $1: $2 is $got, expected $3"
    FAILED=1
  fi
}

# both STEP — runs a step with strata, and with the baseline if given.
both() {
  run "$1" "$STRATA" "$WORK/dest"
  [[ -z $BASELINE ]] || run "$1.baseline" "$BASELINE" "$WORK/dest.baseline"
}

delete_scattered() {
  psql_on "$DSN" -c "DELETE FROM db_dbnode WHERE id IN (SELECT id FROM db_dbnode
    WHERE id > (SELECT min(id) FROM db_dbnode) ORDER BY hashint8(id::int8 + $2) LIMIT $1)"
}

row() {
  local key=$1 what=$2 base=
  [[ -s $WORK/logs/$key.json ]] || { printf '| %s | failed | | | | |\n' "$what"; return; }
  if [[ -n $BASELINE && -s $WORK/logs/$key.baseline.json ]]; then
    base=" | $(seconds "$key.baseline") | $(peak_mib "$key.baseline")"
  elif [[ -n $BASELINE ]]; then
    base=" | - | -"
  fi
  printf '| %s | %s | %s | %s | %s%s |\n' "$what" "$(seconds "$key")" "$(peak_mib "$key")" \
    "$(field "$key" listed_ids 2>/dev/null || echo -)" "$(field "$key" nodes)" "$base"
}

report() {
  local head='| run | seconds | peak MiB | listed ids | nodes in snapshot |'
  local rule='|---|---:|---:|---:|---:|'
  if [[ -n $BASELINE ]]; then
    head+=' baseline seconds | baseline peak MiB |'
    rule+='---:|---:|'
  fi
  {
    echo "strata backup --files-only on $NODES nodes without folders ($(date -u +%F), $(nproc) cores)"
    echo
    echo "$head"
    echo "$rule"
    row first "first backup ($NODES new)"
    row nochange "nothing changed"
    row one_deleted "1 node deleted"
    row nightly "$NEW new, $DELETED deleted"
  } | tee "$WORK/results.md"
}

generate
"$STRATA" init --dest "$WORK/dest" >/dev/null
log "first backup"
run first "$STRATA" "$WORK/dest"
[[ -z $BASELINE ]] || cp -a "$WORK/dest" "$WORK/dest.baseline"
expect first new_nodes "$NODES"

log "nothing changed"
both nochange
expect nochange deleted_nodes 0

log "one node deleted"
delete_scattered 1 1
both one_deleted
expect one_deleted deleted_nodes 1
expect one_deleted nodes $((NODES - 1))

log "nightly run: $NEW new, $DELETED deleted"
delete_scattered "$DELETED" 2
add_nodes "$NEW" '0 days'
both nightly
expect nightly deleted_nodes "$DELETED"
expect nightly new_nodes "$NEW"
expect nightly nodes $((NODES - 1 - DELETED + NEW))
[[ -z $BASELINE ]] || expect nightly.baseline deleted_nodes "$DELETED"

report
((FAILED == 0))
