# bench/lib/common.sh — helpers of the benchmark harness (bench/run.sh): logging, timing of one
# step under GNU time, cache dropping, sizes and number formatting, JSON fields, DSN handling and
# the tree manifests that prove a restore equals its source.
#
#   log MSG...                 progress on stderr, prefixed with the seconds since the start
#   die MSG...                 'bench: MSG' on stderr, exit 1
#   drop_caches                sync (when SYNC_BEFORE_STEP=1), then drop the page/dentry/inode
#                              caches (when DROP_CACHES=1)
#   timed KEY CMD...           drop caches, run CMD under /usr/bin/time -f '%e %M'; stdout, stderr,
#                              the command line and the timing go to $LOGS/KEY.{out,err,cmd,time};
#                              sets SEC[KEY] (wall seconds) and KIB[KEY] (peak RSS, KiB);
#                              returns CMD's exit status
#   du_bytes PATH              apparent size in bytes (du -sb) of PATH
#   mib BYTES                  BYTES in MiB, 2 decimals ('-' for anything that is not a number)
#   human BYTES                e.g. 12.3MiB
#   ratio A B                  A / B with 2 decimals and a trailing 'x' ('-' when unknown or B=0)
#   json_field FILE PATH       a field of the JSON document in FILE (PATH dotted: a.b.0.c)
#   (with_dbname and mask_dsn come from tests/dsn.sh, which bench/run.sh sources too)
#   tree_manifest DIR OUT      OUT.list: one NUL-terminated record per entry below DIR (type, mode,
#                              size and whole-second mtime of files, link targets; directories'
#                              mtimes and sizes are left out), OUT.sums: md5 of every file; sorted
#   same_manifest A B          compare two manifests; on a difference print the first entries that
#                              differ (on stderr) and return 1
#
# The results, keyed by step (full.TOOL, incr.TOOL, restore.TOOL, floor, db.dump.TOOL,
# db.restore.TOOL, round.K.TOOL), filled in by the steps and read by the report:
#   SEC, KIB   wall seconds and peak RSS (KiB) of the step (set by timed)
#   SIZE       bytes: the destination after a backup step, what a database backup stored
#   STATE      ok, FAILED, MISMATCH or skipped
#   VERIFY     per tool: whether its restored tree equals the source (yes or MISMATCH)
#   ROWS       per database round: the db_dbnode rows it changed
#   DELTAS     per database round: the dump files strata stored as deltas (database.delta_files)
#
# shellcheck shell=bash
# shellcheck disable=SC2034  # the results are read by report.sh
declare -gA SEC=() KIB=() SIZE=() STATE=() VERIFY=() ROWS=() DELTAS=() KIND=()

BENCH_T0=${BENCH_T0:-$(date +%s)}
DROP_CACHES=${DROP_CACHES:-0}
SYNC_BEFORE_STEP=${SYNC_BEFORE_STEP:-1}
# Concurrent readers for the (untimed) verification hashing: I/O-bound, so more than the cores.
VERIFY_READERS=${VERIFY_READERS:-8}

log() {
  printf '[%5ds] %s\n' $(($(date +%s) - BENCH_T0)) "$*" >&2
}

die() {
  echo "bench: $*" >&2
  exit 1
}

# Drop the caches so that every timed step starts cold, as a nightly run on a million files does
# (this machine reclaims idle cache within seconds anyway). The sync also keeps the dirty pages
# of one step from being written back during the next one.
drop_caches() {
  if ((SYNC_BEFORE_STEP == 1)); then
    sync
  fi
  if ((DROP_CACHES == 1)); then
    echo 3 >/proc/sys/vm/drop_caches
  fi
}

# Can this process drop caches? (root, and /proc/sys writable, i.e. not in most containers)
can_drop_caches() {
  ((EUID == 0)) && [[ -w /proc/sys/vm/drop_caches ]] &&
    { sync; echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null
}

# Sets DROP_CACHES / SYNC_BEFORE_STEP and CACHE_NOTE for the run (SMOKE=1: warm, no sync) and
# logs the choice.
setup_caches() {
  if ((SMOKE == 1)); then
    SYNC_BEFORE_STEP=0
    CACHE_NOTE="warm cache, no sync between steps (--smoke: its times mean nothing)"
  elif can_drop_caches; then
    DROP_CACHES=1
    CACHE_NOTE="cold: sync and drop_caches before every timed step"
  else
    CACHE_NOTE="warm cache: could not drop caches (needs root and a writable /proc/sys/vm/drop_caches); sync before every timed step"
  fi
  log "cache: $CACHE_NOTE"
}

timed() {
  local key=$1
  shift
  printf '%q ' "$@" >"$LOGS/$key.cmd"
  echo >>"$LOGS/$key.cmd"
  drop_caches
  local status=0
  /usr/bin/time -o "$LOGS/$key.time" -f '%e %M' "$@" >"$LOGS/$key.out" 2>"$LOGS/$key.err" ||
    status=$?
  # On failure GNU time writes "Command exited with non-zero status N" before the format line.
  local sec kib
  read -r sec kib < <(tail -n 1 "$LOGS/$key.time")
  SEC[$key]=$sec
  KIB[$key]=$kib
  if ((status != 0)); then
    log "FAILED (exit $status): $key: $(cat "$LOGS/$key.cmd")"
    tail -n 5 "$LOGS/$key.err" | sed 's/^/    /' >&2
  fi
  return "$status"
}

du_bytes() {
  du -sb "$1" | cut -f 1
}

mib() {
  if [[ ${1:-} =~ ^[0-9]+$ ]]; then
    awk -v b="$1" 'BEGIN { printf "%.2f\n", b / 1048576 }'
  else
    echo -
  fi
}

human() {
  if [[ ${1:-} =~ ^[0-9]+$ ]]; then
    numfmt --to=iec-i --suffix=B --format='%.1f' "$1"
  else
    echo -
  fi
}

ratio() {
  local num=${1:-} den=${2:-}
  if [[ $num =~ ^[0-9.]+$ && $den =~ ^[0-9.]+$ ]] && awk -v d="$den" 'BEGIN { exit !(d > 0) }'; then
    awk -v n="$num" -v d="$den" 'BEGIN { printf "%.2fx\n", n / d }'
  else
    echo -
  fi
}

json_field() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
try:
    with open(sys.argv[1]) as f:
        value = json.load(f)
    for part in sys.argv[2].split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
    sys.exit("bench: no field %r in %s (%s)" % (sys.argv[2], sys.argv[1], e))
print(value if isinstance(value, str) else json.dumps(value))
EOF
}

tree_manifest() {
  local dir=$1 out=$2
  [[ -d $dir ]] || { echo "bench: '$dir' is not a directory" >&2; return 1; }
  (
    cd "$dir" &&
      find . -mindepth 1 \
        \( -type d -printf 'd %m %P\0' \) -o \
        \( -type l -printf 'l %P -> %l\0' \) -o \
        \( -type f -printf 'f %m %s %Ts %P\0' \) -o \
        -printf '%y %m %P\0'
  ) | LC_ALL=C sort -z >"$out.list" || return 1
  # Parallel md5sums must not share one pipe (their buffered output would interleave): each
  # writes to a file of its own, named after its pid (appended to, should a pid come back).
  rm -rf "$out.parts"
  mkdir "$out.parts"
  # shellcheck disable=SC2016  # expanded by the inner sh
  (
    cd "$dir" && find . -type f -print0 |
      xargs -0 -r -P "$VERIFY_READERS" -n 256 sh -c 'md5sum -z -- "$@" >>"$0/$$"' "$out.parts"
  ) || return 1
  find "$out.parts" -type f -exec cat {} + | LC_ALL=C sort -z >"$out.sums" || return 1
  rm -rf "$out.parts"
}

same_manifest() {
  local a=$1 b=$2 part
  for part in list sums; do
    if ! cmp -s "$a.$part" "$b.$part"; then
      echo "bench: trees differ ($part; < source, > restored), first differences:" >&2
      diff <(tr '\0' '\n' <"$a.$part") <(tr '\0' '\n' <"$b.$part") | grep '^[<>]' |
        head -n 20 | sed 's/^/    /' >&2
      return 1
    fi
  done
}
