#!/usr/bin/env bash
# bench/nightly_files.sh — the nightly run as a whole, files and database (issue 11, point 4):
# a strata-genrepo 1.x repository of N nodes and its database, a first full `strata backup`, then
# REPEATS runs with nothing new and REPEATS runs each after `strata-genrepo --mode add` of 1% new
# nodes, caches dropped before each run when run as root. Every run keeps its --json; prints a
# markdown table of the per-phase timings (the JSON's "phases") and /usr/bin/time's wall time and
# peak memory, plus `pg_dump -Fd -j2` of the same database alone, for scale.
#
# usage: bench/nightly_files.sh --dsn DSN --work DIR [--nodes N] [--repeats R]
#   --dsn DSN      a PostgreSQL server (libpq keyword string): a database strata_nightly_files
#                  is created on it (start a throwaway one with tests/pg.sh start DIR PORT)
#   --work DIR     repository, destination and logs (created; must not exist)
#   --nodes N      nodes of the first generation (default 600000, about a million files)
#   --repeats R    runs of each kind (default 3)
# Environment: STRATA, GENREPO name the binaries (default build/cli/strata, build/bench/...).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/dsn.sh
source "$SRC/tests/dsn.sh"
STRATA=${STRATA:-$SRC/build/cli/strata}
GENREPO=${GENREPO:-$SRC/build/bench/strata-genrepo}
PHASES="open reconcile start files folders dump_wait dump_store commit total"

SERVER_DSN='' WORK='' NODES=600000 REPEATS=3
while (($# > 0)); do
  case $1 in
    --dsn) SERVER_DSN=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --nodes) NODES=$2; shift 2 ;;
    --repeats) REPEATS=$2; shift 2 ;;
    *) sed -n '9,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
  esac
done
[[ -n $SERVER_DSN && -n $WORK && ! -e $WORK ]] || { echo "nightly_files: --dsn and a new --work are required" >&2; exit 2; }
mkdir -p "$WORK/logs"
DSN=$(with_dbname "$SERVER_DSN" strata_nightly_files)

drop_caches() {
  sync
  if [[ -w /proc/sys/vm/drop_caches ]]; then echo 3 >/proc/sys/vm/drop_caches; fi
}

# backup KEY — one timed backup; JSON in logs/KEY.json, time -v in logs/KEY.time.
backup() {
  drop_caches
  /usr/bin/time -v -o "$WORK/logs/$1.time" "$STRATA" backup --dest "$WORK/dest" --dsn "$DSN" \
    --repository "$WORK/repo" --json >"$WORK/logs/$1.json" 2>"$WORK/logs/$1.err"
}

# row KEY WHAT — one markdown row: phases, wall time, peak memory.
row() {
  python3 - "$WORK/logs/$1.json" "$WORK/logs/$1.time" "$2" "$PHASES" <<'EOF'
import json, re, sys
doc = json.load(open(sys.argv[1])); tv = open(sys.argv[2]).read()
wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", tv).groups()
secs = int(wall[0] or 0) * 3600 + int(wall[1]) * 60 + float(wall[2])
peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv).group(1)) // 1024
cells = ["%.3f" % doc["phases"][p] for p in sys.argv[4].split()]
print("| %s | %d | %s | %.2f | %d |" % (sys.argv[3], doc["read_files"], " | ".join(cells), secs, peak))
EOF
}

psql -X -q -d "$SERVER_DSN" -c "DROP DATABASE IF EXISTS strata_nightly_files WITH (FORCE)" -c "CREATE DATABASE strata_nightly_files"
"$GENREPO" --dsn "$DSN" --root "$WORK/repo" --nodes "$NODES" --jobs 2 --quiet
"$STRATA" init --dest "$WORK/dest" >/dev/null
ADD=$((NODES / 100))
backup full
echo "| run | read files | ${PHASES// / | } | wall s | peak MiB |"
# shellcheck disable=SC2086 # PHASES is split on purpose
echo "|---|---:|$(printf -- '---:|%.0s' $PHASES)---:|---:|"
row full "first backup ($NODES nodes)"
for i in $(seq "$REPEATS"); do backup "same.$i"; row "same.$i" "nothing new #$i"; done
for i in $(seq "$REPEATS"); do
  "$GENREPO" --dsn "$DSN" --root "$WORK/repo" --nodes "$ADD" --mode add --seed $((100 + i)) --jobs 2 --quiet >/dev/null
  backup "add.$i"
  row "add.$i" "+$ADD nodes #$i"
done
for i in $(seq "$REPEATS"); do
  rm -rf "$WORK/pg_dump"
  drop_caches
  /usr/bin/time -f "pg_dump -Fd -j2 alone #$i: %e s, %M KB" pg_dump -d "$DSN" -Fd -j2 -f "$WORK/pg_dump"
done
