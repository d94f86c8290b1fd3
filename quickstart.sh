#!/usr/bin/env bash
# quickstart.sh — strata end to end on a fresh Debian machine, in one command:
#   installs missing packages, builds strata (Release), starts a throwaway PostgreSQL cluster
#   (unless --dsn names a server), generates a small AiiDA-style repository (database + files),
#   backs it up (files and database), restores both in one command into a new directory and a
#   new database, proves both match the source (tree and rows), checks the
#   destination reading every object back, and prints a summary. The work directory is kept;
#   the throwaway cluster is stopped and removed.
# Run ./quickstart.sh --help for the options.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ROOT"
# shellcheck source=tests/deps.sh
source tests/deps.sh
# shellcheck source=tests/dsn.sh
source tests/dsn.sh

PG_PORT=55440
SRC_DB=strata_quickstart_src
RESTORED_DB=strata_quickstart_restored
NODES=2000
WORK_MARKER=.strata-quickstart
STRATA=$ROOT/build/cli/strata
GENREPO=$ROOT/build/bench/strata-genrepo

usage() {
  cat <<EOF
usage: ./quickstart.sh [--dsn DSN] [--work DIR]

Builds strata and runs init, backup, restore and check on a generated repository of
$NODES nodes.

  --dsn DSN    a PostgreSQL server to use (libpq keyword string or URI); the database
               '$SRC_DB' is created on it, replacing any earlier one of that name.
               Without it, a throwaway cluster is started on port $PG_PORT and removed after.
  --work DIR   where to put the source repository, the destination and the restored copy;
               must be new, empty, or an earlier quickstart's work directory (which is
               cleared). Without it, a new directory under /tmp. Kept at the end.
  -h, --help   this text
EOF
}

die() {
  echo "quickstart: $*" >&2
  exit 1
}

section() {
  printf '\n==== %s ====\n' "$*"
}

now_ms() {
  echo $(($(date +%s%N) / 1000000))
}

# seconds_since START_MS — elapsed time as "12.3s".
seconds_since() {
  local ms=$(($(now_ms) - $1))
  printf '%d.%01ds' $((ms / 1000)) $((ms % 1000 / 100))
}

# human_bytes N — e.g. 24.5MiB; anything but a number is shown as it is.
human_bytes() {
  if [[ $1 =~ ^[0-9]+$ ]]; then
    numfmt --to=iec-i --suffix=B --format='%.1f' "$1"
  else
    printf '%s\n' "$1"
  fi
}

DSN=
WORK=
while (($# > 0)); do
  case $1 in
    --dsn) (($# >= 2)) || die "--dsn needs a value"; DSN=$2; shift 2 ;;
    --dsn=*) DSN=${1#*=}; shift ;;
    --work) (($# >= 2)) || die "--work needs a value"; WORK=$2; shift 2 ;;
    --work=*) WORK=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

PG_DIR=
stop_cluster() {
  if [[ -n $PG_DIR ]]; then
    section "stopping the throwaway PostgreSQL cluster"
    tests/pg.sh stop "$PG_DIR" || true
    rm -rf "$PG_DIR"
    PG_DIR=
  fi
}

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local status=$?
  # Stop the cluster even if our output has gone away (e.g. piped into head).
  trap '' PIPE
  set +e
  stop_cluster
  if ((status != 0)); then
    echo "quickstart: failed (exit $status); work directory kept: ${WORK:-none yet}" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

T_TOTAL=$(now_ms)

# ---- 1. dependencies and build --------------------------------------------------------------
section "dependencies"
strata_install_deps

section "build (Release)"
t=$(now_ms)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"
[[ -x $STRATA ]] || die "build did not produce $STRATA"
[[ -x $GENREPO ]] || die "build did not produce $GENREPO"
TIME_BUILD=$(seconds_since "$t")

# ---- 2. work directory ------------------------------------------------------------------------
if [[ -z $WORK ]]; then
  WORK=$(mktemp -d /tmp/strata-quickstart.XXXXXX)
else
  mkdir -p "$WORK"
  WORK=$(cd "$WORK" && pwd)
  if [[ -e $WORK/$WORK_MARKER ]]; then
    rm -rf "${WORK:?}/src" "$WORK/dest" "$WORK/restored"
  elif [[ -n $(ls -A "$WORK") ]]; then
    die "work directory '$WORK' is not empty and not an earlier quickstart's"
  fi
fi
touch "$WORK/$WORK_MARKER"
echo "work directory: $WORK"

# ---- 3. PostgreSQL and the source database ------------------------------------------------------
section "PostgreSQL"
if [[ -z $DSN ]]; then
  PG_DIR=$(mktemp -d /tmp/strata-qs-pg.XXXXXX)
  chmod 0755 "$PG_DIR" # the server runs as 'postgres' when we are root
  tests/pg.sh start "$PG_DIR" "$PG_PORT"
  DSN="host=$PG_DIR/sock port=$PG_PORT user=postgres dbname=postgres"
fi
echo "server: $(mask_dsn "$DSN")"
psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" \
  -c "SET client_min_messages = warning" \
  -c "DROP DATABASE IF EXISTS $SRC_DB WITH (FORCE)" \
  -c "CREATE DATABASE $SRC_DB"
SRC_DSN=$(with_dbname "$DSN" "$SRC_DB")
echo "created database $SRC_DB"

# ---- 4. a generated repository ------------------------------------------------------------------
section "generate a repository of $NODES nodes"
t=$(now_ms)
"$GENREPO" --dsn "$SRC_DSN" --root "$WORK/src" --nodes "$NODES"
TIME_GEN=$(seconds_since "$t")
SRC_FILES=$(find "$WORK/src/repository" -type f | wc -l)
SRC_BYTES=$(du -sb "$WORK/src/repository" | cut -f 1)

# ---- 5. backup and restore of the files ----------------------------------------------------------
section "strata init"
"$STRATA" init --dest "$WORK/dest"

section "strata backup"
t=$(now_ms)
"$STRATA" backup --dest "$WORK/dest" --dsn "$SRC_DSN" --repository "$WORK/src"
TIME_BACKUP=$(seconds_since "$t")

section "strata snapshots"
"$STRATA" snapshots --dest "$WORK/dest"
SNAPSHOTS_JSON=$("$STRATA" snapshots --dest "$WORK/dest" --json)

# ---- 6. one-shot restore: files and database (a fresh database) at once ---------------------------
section "strata restore (files and database, in one command)"
psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" \
  -c "SET client_min_messages = warning" \
  -c "DROP DATABASE IF EXISTS $RESTORED_DB WITH (FORCE)"
RESTORED_DSN=$(with_dbname "$DSN" "$RESTORED_DB")
t=$(now_ms)
"$STRATA" restore --dest "$WORK/dest" --to-repository "$WORK/restored" --to-dsn "$RESTORED_DSN" --verbose
TIME_RESTORE=$(seconds_since "$t")

# ---- 7. verification ------------------------------------------------------------------------------
section "verify: diff -r source and restored repository"
diff -r "$WORK/src/repository" "$WORK/restored/repository"
echo "identical"

section "verify: every table of $SRC_DB and $RESTORED_DB, row by row"
# A checksum of each table's rows in a stable order, on both databases.
table_checksums() {
  psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$1" -c "
    SELECT string_agg(format('%s %s', t.table_name, t.sum), E'\n' ORDER BY t.table_name) FROM (
      SELECT c.relname AS table_name,
             (xpath('/row/s/text()', query_to_xml(format(
               'SELECT md5(coalesce(string_agg(r::text, E''\n'' ORDER BY r::text), '''')) AS s FROM %I.%I r',
               n.nspname, c.relname), false, true, '')))[1]::text AS sum
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname = 'public') t"
}
if [[ $(table_checksums "$SRC_DSN") != "$(table_checksums "$RESTORED_DSN")" ]]; then
  die "restored database $RESTORED_DB differs from $SRC_DB"
fi
TABLES=$(table_checksums "$SRC_DSN" | wc -l)
echo "identical ($TABLES tables)"

section "strata check --read-data"
t=$(now_ms)
"$STRATA" check --dest "$WORK/dest" --read-data
TIME_CHECK=$(seconds_since "$t")

# ---- 8. summary -------------------------------------------------------------------------------------
DEST_BYTES=$(du -sb "$WORK/dest" | cut -f 1)
# The newest snapshot, as "id nodes files bytes stored_bytes" ('?' for any field not reported).
read -r SNAP_ID SNAP_NODES SNAP_FILES SNAP_BYTES SNAP_STORED < <(python3 -c '
import json, sys
try:
    s = json.loads(sys.argv[1])["snapshots"][-1]
except (ValueError, KeyError, IndexError, TypeError):
    s = {}
print(" ".join(str(s.get(k, "?")) for k in ("id", "nodes", "files", "bytes", "stored_bytes")))
' "$SNAPSHOTS_JSON")

THROWAWAY=${PG_DIR:+yes}
stop_cluster

section "summary"
cat <<EOF
source       $SRC_DB at $(mask_dsn "$SRC_DSN")
             $WORK/src/repository: $SRC_FILES files, $(human_bytes "$SRC_BYTES") (generated in $TIME_GEN)
backup       snapshot $SNAP_ID: $SNAP_NODES nodes, $SNAP_FILES files, $(human_bytes "$SNAP_BYTES"), stored as $(human_bytes "$SNAP_STORED") (in $TIME_BACKUP)
destination  $WORK/dest: $(human_bytes "$DEST_BYTES") on disk
restore      $WORK/restored/repository: identical to the source; database $RESTORED_DB: $TABLES tables
             identical row by row (both in one command, in $TIME_RESTORE)
check        every object read back and verified (in $TIME_CHECK)
build        $TIME_BUILD; total $(seconds_since "$T_TOTAL")
work dir     $WORK (kept; remove it when done)
EOF
if [[ -n $THROWAWAY ]]; then
  echo "database     was on a throwaway cluster, now removed; use --dsn to keep it"
fi
