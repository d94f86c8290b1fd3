#!/usr/bin/env bash
# bench/run.sh — the benchmark harness: strata against rsync, tar+zstd, restic and borg on one
# generated AiiDA-style repository (strata-genrepo), and strata against pg_dump/pg_restore (and
# pgBackRest, when installed) on its database. One run:
#   1. generates the repository (--mode create, N nodes) in WORK/src and its database,
#   2. times the read floor (find | xargs -P2 cat) and each tool's full backup,
#   3. adds 1% new nodes (--mode add) and times each tool's incremental backup,
#   4. times each tool's full restore into an empty directory, and proves the restored tree equals
#      the source (types, modes, sizes, file mtimes, link targets, md5 of every file); then
#      `strata export - | tar -x` the same way, and one node folder restored by strata
#      restore --node, restic restore --include and borg extract PATH (each checked),
#   5. retention: K daily rounds more (0.5% of the nodes deleted, 1% added), then strata forget
#      --prune and restic forget --prune of the odd half of the snapshots, timed, with the
#      destinations' sizes before and after and the newest snapshot restored and checked,
#   6. database: pg_dump -Fd -j N vs strata backup --database-only, pg_restore -j N vs strata
#      restore --to-dsn, then a series of K days (1% of rows updated, 1% new nodes, nothing
#      changed, in turn) with what each day's strata backup, pg_dump -Fc file and pgBackRest
#      incremental backup stored,
#   7. prints a markdown report on stdout and writes it to WORK/results.md.
# Progress goes to stderr. Exits non-zero if any step failed or any restore differs from the
# source (the report is still written). --smoke is the small, quick run that ctest uses so that
# this harness cannot rot. See bench/README.md.
set -euo pipefail

BENCH_SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib/common.sh
source "$BENCH_SOURCE_DIR/bench/lib/common.sh"
# shellcheck source=tests/dsn.sh
source "$BENCH_SOURCE_DIR/tests/dsn.sh"
# shellcheck source=bench/lib/tools.sh
source "$BENCH_SOURCE_DIR/bench/lib/tools.sh"
# shellcheck source=bench/lib/days.sh
source "$BENCH_SOURCE_DIR/bench/lib/days.sh"
# shellcheck source=bench/lib/db.sh
source "$BENCH_SOURCE_DIR/bench/lib/db.sh"
# shellcheck source=bench/lib/retention.sh
source "$BENCH_SOURCE_DIR/bench/lib/retention.sh"
# shellcheck source=bench/lib/report.sh
source "$BENCH_SOURCE_DIR/bench/lib/report.sh"

STRATA=${STRATA:-$BENCH_SOURCE_DIR/build/cli/strata}
GENREPO=${GENREPO:-$BENCH_SOURCE_DIR/build/bench/strata-genrepo}
WORK_MARKER=.strata-bench
SMOKE_NODES=300
SMOKE_DB_ROUNDS=3
SMOKE_PRUNE_ROUNDS=2
# The throwaway cluster takes the first free TCP port from here (PG_PORT_FIRST and PG_PORT_LAST in
# the environment move the range).
PG_PORT_FIRST=${PG_PORT_FIRST:-55460}
PG_PORT_LAST=${PG_PORT_LAST:-55499}

usage() {
  cat <<EOF
usage: bench/run.sh --nodes N [--work DIR] [--dsn DSN] [--tools LIST] [--jobs N]
                    [--size-scale F] [--db-rounds K] [--prune-rounds K] [--no-restore]
                    [--database-only] [--smoke]

  --nodes N        nodes to generate (about 1.75 files per node); 1% more are added for the
                   incremental backup
  --work DIR       where the repository, the destinations and the logs go: new, empty, or an
                   earlier run's work directory (which is cleared). Default: a new directory
                   under /tmp. Kept at the end (except with --smoke, on success); restored
                   trees are removed once verified.
  --dsn DSN        a PostgreSQL server to use (libpq keyword string or URI); databases named
                   strata_bench_<pid>_* are created on it and dropped at the end. Without it a
                   throwaway cluster (tests/pg.sh) is started under /tmp and removed at the end.
  --tools LIST     comma-separated subset of: ${BENCH_TOOLS[*]} (default: all)
  --jobs N         strata --jobs and pg_dump/pg_restore -j (default: $(nproc), the cores)
  --size-scale F   strata-genrepo --size-scale: multiply every file size by F (default 1)
  --db-rounds K    days of the database part's series (1% of db_dbnode's and db_dblog's rows
                   updated, 1% new nodes, nothing changed, in turn); 0 skips the whole
                   database part (default 30)
  --prune-rounds K daily rounds after the incremental backup, before half of the snapshots
                   are forgotten and pruned (strata and restic); 0 skips the retention part
                   (default 8: ten snapshots in all)
  --no-restore     skip step 4 (the full, export and one-node restores), e.g. to measure the
                   retention part alone
  --database-only  only the generation and the database part (step 6): no file backups,
                   restores or retention, no other tool than pg_dump/pg_restore (and
                   pgBackRest); --size-scale defaults to 0 (empty files: only the
                   database matters)
  --smoke          a quick run ($SMOKE_NODES nodes, $SMOKE_DB_ROUNDS database and $SMOKE_PRUNE_ROUNDS retention rounds unless given, caches not
                   dropped) that fails on any failed step or differing restore; for ctest
  -h, --help       this text

Environment: STRATA and GENREPO name the binaries (default: build/cli/strata and
build/bench/strata-genrepo in the source tree); PG_PORT_FIRST and PG_PORT_LAST the throwaway
cluster's port range (default 55460-55499).
EOF
}

# ---- arguments ---------------------------------------------------------------------------------
NODES=
WORK=
DSN=
TOOLS_ARG=
JOBS=$(nproc)
SIZE_SCALE=
DB_ROUNDS=
PRUNE_ROUNDS=
RESTORES=1
DB_ONLY=0
SMOKE=0
CMDLINE="bench/run.sh$(printf ' %q' "$@")"

# A bad command line: one line on stderr, exit 2.
usage_error() {
  echo "bench: $* (see bench/run.sh --help)" >&2
  exit 2
}

need_value() {
  (($2 >= 2)) || usage_error "$1 needs a value"
}

parse_args() {
  while (($# > 0)); do
    case $1 in
      --nodes) need_value "$1" $#; NODES=$2; shift 2 ;;
      --work) need_value "$1" $#; WORK=$2; shift 2 ;;
      --dsn) need_value "$1" $#; DSN=$2; shift 2 ;;
      --tools) need_value "$1" $#; TOOLS_ARG=$2; shift 2 ;;
      --jobs) need_value "$1" $#; JOBS=$2; shift 2 ;;
      --size-scale) need_value "$1" $#; SIZE_SCALE=$2; shift 2 ;;
      --db-rounds) need_value "$1" $#; DB_ROUNDS=$2; shift 2 ;;
      --prune-rounds) need_value "$1" $#; PRUNE_ROUNDS=$2; shift 2 ;;
      --no-restore) RESTORES=0; shift ;;
      --database-only) DB_ONLY=1; shift ;;
      --smoke) SMOKE=1; shift ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; exit 2 ;;
    esac
  done
  if ((SMOKE == 1)); then
    NODES=${NODES:-$SMOKE_NODES}
    DB_ROUNDS=${DB_ROUNDS:-$SMOKE_DB_ROUNDS}
    PRUNE_ROUNDS=${PRUNE_ROUNDS:-$SMOKE_PRUNE_ROUNDS}
  fi
  DB_ROUNDS=${DB_ROUNDS:-30}
  if ((DB_ONLY == 1)); then
    SIZE_SCALE=${SIZE_SCALE:-0}
    ((DB_ROUNDS > 0)) || usage_error "--database-only needs --db-rounds above 0"
    [[ -z $TOOLS_ARG ]] || usage_error "--database-only runs no file tools: drop --tools"
  fi
  SIZE_SCALE=${SIZE_SCALE:-1}
  PRUNE_ROUNDS=${PRUNE_ROUNDS:-8}
  [[ -n $NODES ]] || { usage >&2; exit 2; }
  [[ $NODES =~ ^[1-9][0-9]*$ ]] || usage_error "--nodes must be a positive number: '$NODES'"
  [[ $JOBS =~ ^[1-9][0-9]*$ ]] || usage_error "--jobs must be a positive number: '$JOBS'"
  [[ $DB_ROUNDS =~ ^[0-9]+$ ]] || usage_error "--db-rounds must be a number: '$DB_ROUNDS'"
  [[ $PRUNE_ROUNDS =~ ^[0-9]+$ ]] || usage_error "--prune-rounds must be a number: '$PRUNE_ROUNDS'"
  [[ $SIZE_SCALE =~ ^[0-9]*\.?[0-9]+$ ]] || usage_error "--size-scale must be a number: '$SIZE_SCALE'"

  TOOLS=("${BENCH_TOOLS[@]}")
  ((DB_ONLY == 0)) || TOOLS=()
  if [[ -n $TOOLS_ARG ]]; then
    local t known
    IFS=, read -r -a TOOLS <<<"$TOOLS_ARG"
    for t in "${TOOLS[@]}"; do
      known=0
      [[ " ${BENCH_TOOLS[*]} " == *" $t "* ]] && known=1
      ((known == 1)) || usage_error "unknown tool '$t' (known: ${BENCH_TOOLS[*]})"
    done
  fi
}

# ---- results (besides SEC, KIB, SIZE, STATE, VERIFY, ROWS of bench/lib/common.sh) -----------------
NOTES=()
FAILURES=0
GEN_CREATE=
GEN_ADD=
CACHE_NOTE=

# fail_step KEY STATE — record a failed step.
fail_step() {
  STATE[$1]=$2
  FAILURES=$((FAILURES + 1))
}

# ---- set-up and clean-up ---------------------------------------------------------------------------
WORK_CREATED=0
PG_DIR=
PG_PORT=
DB_PREFIX=strata_bench_$$
SERVER_DSN=
SRC_DSN=
SRC_DB=

check_programs() {
  local t p missing=()
  for p in /usr/bin/time python3 psql pg_dump pg_restore "$GENREPO" "$STRATA"; do
    command -v "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  for t in "${TOOLS[@]}"; do
    for p in $(tool_programs "$t"); do
      command -v "$p" >/dev/null 2>&1 || missing+=("$p")
    done
  done
  ((${#missing[@]} == 0)) ||
    die "missing: ${missing[*]} (tests/deps.sh lists the Debian packages; build with cmake first)"
}

setup_work() {
  if [[ -z $WORK ]]; then
    WORK=$(mktemp -d /tmp/strata-bench.XXXXXX)
    WORK_CREATED=1
  else
    mkdir -p "$WORK"
    WORK=$(cd "$WORK" && pwd)
    if [[ -e $WORK/$WORK_MARKER ]]; then
      log "clearing the earlier run's work directory $WORK"
      find "$WORK" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
    elif [[ -n $(ls -A "$WORK") ]]; then
      die "work directory '$WORK' is not empty and not an earlier bench run's"
    fi
  fi
  touch "$WORK/$WORK_MARKER"
  LOGS=$WORK/logs
  mkdir -p "$LOGS" "$WORK/dest" "$WORK/restore" "$WORK/manifests" "$WORK/cache"
}

port_is_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

setup_database() {
  if [[ -n $DSN ]]; then
    SERVER_DSN=$DSN
  else
    local port
    for ((port = PG_PORT_FIRST; port <= PG_PORT_LAST; port++)); do
      if port_is_free "$port"; then
        PG_PORT=$port
        break
      fi
    done
    [[ -n $PG_PORT ]] || die "no free TCP port in $PG_PORT_FIRST-$PG_PORT_LAST for a throwaway cluster"
    # Under /tmp: the socket path must be short, and the 'postgres' user must reach it.
    PG_DIR=$(mktemp -d /tmp/strata-bench-pg.XXXXXX)
    chmod 0755 "$PG_DIR"
    log "starting a throwaway PostgreSQL cluster in $PG_DIR on port $PG_PORT"
    "$BENCH_SOURCE_DIR/tests/pg.sh" start "$PG_DIR" "$PG_PORT" >"$LOGS/pg.log" 2>&1 ||
      { cat "$LOGS/pg.log" >&2; die "could not start the throwaway cluster"; }
    SERVER_DSN="host=$PG_DIR/sock port=$PG_PORT user=postgres dbname=postgres"
  fi
  SRC_DB=${DB_PREFIX}_src
  SRC_DSN=$(db_create "$SRC_DB") || die "could not create database $SRC_DB on $(mask_dsn "$SERVER_DSN")"
  log "source database: $(mask_dsn "$SRC_DSN")"
}

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local status=$?
  trap '' PIPE
  set +e
  if [[ -n $DSN && -n $SRC_DB ]]; then
    db_drop "$SRC_DB"
    db_drop "${DB_PREFIX}_pg_restore"
    db_drop "${DB_PREFIX}_strata_restore"
  fi
  if [[ -n $PG_DIR ]]; then
    "$BENCH_SOURCE_DIR/tests/pg.sh" stop "$PG_DIR" >/dev/null 2>&1
    rm -rf "$PG_DIR"
  fi
  if ((status == 0 && SMOKE == 1 && WORK_CREATED == 1)); then
    rm -rf "$WORK"
  elif [[ -n $WORK ]]; then
    echo "bench: work directory kept: $WORK" >&2
  fi
  exit "$status"
}

# ---- the steps -----------------------------------------------------------------------------------------
SRC_ROOT=

generate() {
  local mode=$1 nodes=$2 out
  log "strata-genrepo --mode $mode --nodes $nodes"
  out=$("$GENREPO" --dsn "$SRC_DSN" --root "$SRC_ROOT" --nodes "$nodes" --mode "$mode" \
          --size-scale "$SIZE_SCALE" --quiet 2>"$LOGS/genrepo.$mode.err") ||
    { cat "$LOGS/genrepo.$mode.err" >&2; die "strata-genrepo --mode $mode failed"; }
  log "  $out"
  printf '%s\n' "$out"
}

read_floor() {
  log "read floor: find | xargs -0 -P2 cat"
  # shellcheck disable=SC2016  # expanded by the inner bash
  if timed floor bash -c 'set -o pipefail
      find "$1" -type f -print0 | xargs -0 -P2 cat >/dev/null' _ "$SRC_ROOT/repository"; then
    STATE[floor]=ok
  else
    fail_step floor FAILED
  fi
}

# backup_step STEP — every tool's full (STEP=full) or incremental (STEP=incr) backup.
backup_step() {
  local step=$1 t dest
  for t in "${TOOLS[@]}"; do
    dest=$WORK/dest/$t
    if [[ $step == full ]] && ! "${t}_init" "$dest" >"$LOGS/init.$t.log" 2>&1; then
      log "FAILED: $t: init of $dest (see $LOGS/init.$t.log)"
      fail_step "full.$t" FAILED
      continue
    fi
    if [[ $step == incr && ${STATE[full.$t]:-} != ok ]]; then
      STATE[incr.$t]=skipped
      continue
    fi
    log "$step backup: $t"
    if "${t}_backup" "$step" "$dest"; then
      STATE[$step.$t]=ok
      SIZE[$step.$t]=$(du_bytes "$dest")
      log "  ${SEC[$step.$t]} s, peak $(cell_peak "$step.$t") MiB, destination $(human "${SIZE[$step.$t]}")"
    else
      fail_step "$step.$t" FAILED
    fi
  done
}

restore_step() {
  log "manifest of the source (after the incremental)"
  tree_manifest "$SRC_ROOT/repository" "$WORK/manifests/source" ||
    die "could not list the source repository"
  local t target
  for t in "${TOOLS[@]}"; do
    if [[ ${STATE[incr.$t]:-} != ok ]]; then
      STATE[restore.$t]=skipped
      continue
    fi
    target=$WORK/restore/$t
    log "restore: $t"
    if ! "${t}_restore" "$WORK/dest/$t" "$target"; then
      fail_step "restore.$t" FAILED
      continue
    fi
    STATE[restore.$t]=ok
    log "  ${SEC[restore.$t]} s, peak $(cell_peak "restore.$t") MiB; verifying"
    if tree_manifest "$target/repository" "$WORK/manifests/$t" &&
      same_manifest "$WORK/manifests/source" "$WORK/manifests/$t"; then
      VERIFY[$t]=yes
      rm -rf "$target"
    else
      log "MISMATCH: $t: the restored tree $target/repository differs from the source (kept)"
      VERIFY[$t]=MISMATCH
      STATE[restore.$t]=MISMATCH
      FAILURES=$((FAILURES + 1))
    fi
  done
}

# strata export | tar -x (stock tar restores an export), and the restore of one node folder by
# strata restore --node, restic restore --include and borg extract PATH, each checked against
# the source's folder (untimed diff -r).
archive_step() {
  if [[ ${STATE[incr.strata]:-} != ok ]]; then
    STATE[restore.export_tar]=skipped
    return 0
  fi
  local target=$WORK/restore/export_tar
  mkdir -p "$target"
  log "restore: strata export | tar -x"
  # shellcheck disable=SC2016  # expanded by the inner bash
  if timed restore.export_tar bash -c 'set -o pipefail
      "$1" export --dest "$2" --output - --format tar | tar -C "$3" -xf -' _ "$STRATA" "$WORK/dest/strata" "$target"; then
    rm -f "$target/manifest.json"
    if tree_manifest "$target/repository" "$WORK/manifests/export_tar" &&
      same_manifest "$WORK/manifests/source" "$WORK/manifests/export_tar"; then
      VERIFY[export_tar]=yes
      STATE[restore.export_tar]=ok
    else
      VERIFY[export_tar]=MISMATCH
      fail_step restore.export_tar MISMATCH
    fi
  else
    fail_step restore.export_tar FAILED
  fi
  rm -rf "$target"
  local folder rel uuid
  folder=$(find "$SRC_ROOT/repository/node" -mindepth 3 -maxdepth 3 -type d -print -quit)
  rel=${folder#"$SRC_ROOT"/}
  uuid=$(printf '%s' "${rel#repository/node/}" | tr -d /)
  ONE_NODE=$rel
  one_node_run strata "$STRATA" restore --dest "$WORK/dest/strata" --to-repository "$WORK/restore/one.strata" --node "$uuid"
  if [[ ${STATE[incr.restic]:-} == ok ]]; then
    one_node_run restic restic restore latest --repo "$WORK/dest/restic" --target "$WORK/restore/one.restic" \
      --include "/$rel"
  fi
  if [[ ${STATE[incr.borg]:-} == ok ]]; then
    mkdir -p "$WORK/restore/one.borg"
    one_node_run borg env -C "$WORK/restore/one.borg" borg extract "$WORK/dest/borg::incr" "$rel"
  fi
  return 0
}

# one_node_run TOOL CMD...: times CMD as one_node.TOOL, then finds the restored folder below
# $WORK/restore/one.TOOL (restic may nest it under the source's absolute path) and compares it.
one_node_run() {
  local t=$1 got
  shift
  log "restore one node: $t"
  if ! timed "one_node.$t" "$@"; then
    fail_step "one_node.$t" FAILED
    return 0
  fi
  got=$(find "$WORK/restore/one.$t" -path "*/$ONE_NODE" -type d -print -quit)
  if [[ -n $got ]] && diff -r --no-dereference "$SRC_ROOT/$ONE_NODE" "$got" >/dev/null; then
    STATE[one_node.$t]=ok
    VERIFY[one_node.$t]=yes
  else
    VERIFY[one_node.$t]=MISMATCH
    fail_step "one_node.$t" MISMATCH
  fi
  rm -rf "$WORK/restore/one.$t"
}

database_part() {
  if ((DB_ROUNDS == 0)); then
    NOTES+=("database part skipped (--db-rounds 0)")
    return 0
  fi
  db_dump_and_restore
  pgbackrest_setup
  db_rounds "$DB_ROUNDS"
  local key
  for key in "${!STATE[@]}"; do
    if [[ $key == db.* || $key == round.* ]] && [[ ${STATE[$key]} != ok && ${STATE[$key]} != skipped ]]; then
      FAILURES=$((FAILURES + 1))
    fi
  done
}

# Steps 2-5: the file tools' backups, restores and retention.
files_part() {
  read_floor
  backup_step full
  GEN_ADD=$(generate add $(((NODES + 99) / 100)))
  backup_step incr
  if ((RESTORES == 1)); then
    restore_step
    archive_step
  else
    NOTES+=("restore part skipped (--no-restore)")
  fi
  retention_part "$PRUNE_ROUNDS"
}

main() {
  parse_args "$@"
  check_programs
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  setup_work
  tools_environment
  log "work directory: $WORK"
  setup_caches
  setup_database
  SRC_ROOT=$WORK/src

  GEN_CREATE=$(generate create "$NODES")
  if ((DB_ONLY == 1)); then
    GEN_ADD=$(generate add $(((NODES + 99) / 100)))
    NOTES+=("files part skipped (--database-only)")
  else
    files_part
  fi
  database_part

  report | tee "$WORK/results.md"
  if ((FAILURES > 0)); then
    log "$FAILURES step(s) failed or differed; see the report and $LOGS"
    exit 1
  fi
  log "done; report in $WORK/results.md"
}

main "$@"
