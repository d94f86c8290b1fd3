#!/usr/bin/env bash
# bench/container_bench.sh - AiiDA 2.x: strata against what `verdi storage backup` does
# (pg_dump --format=p, then rsync -azh --no-whole-file --link-dest of the container) and against
# restic and borg on the container directory, on one profile that strata-genrepo --format 2
# generates, in one run:
#   1. full backup: strata backup (database and container) | pg_dump + rsync of the container |
#      restic backup and borg create of the container (bench/lib/tools.sh, as bench/run.sh);
#   2. incremental after 1% new nodes (genrepo --mode add: loose objects): strata backup |
#      pg_dump + rsync --link-dest=<the previous copy> | restic and borg again;
#   3. restore of the files: strata restore --to-repository | rsync of the container copy back |
#      restic restore latest | borg extract.
# Wall time and peak RSS (GNU time) of each; caches are synced and dropped before every timed step
# when this process can (root), as bench/run.sh does. Restored trees are not compared here.
#
#   bench/container_bench.sh [--nodes N] [--work DIR] [--port P] [--tools LIST] [--reuse] [--smoke]
#     --tools LIST  comma-separated subset of: strata verdi restic borg (default: all)
#     --reuse       keep WORK's generated profile (an earlier run's, same --nodes): reset it to
#                   the state before the incremental (database from its template copy
#                   'bench_base', the added loose objects deleted) instead of generating it again
#     --smoke       300 nodes unless given, caches not dropped, WORK removed on success
# Starts the cluster WORK/pg with tests/pg.sh on port P (default 55470) and stops it at the end
# (the cluster and WORK/src are kept for --reuse). STRATA and GENREPO name the binaries (default:
# build/). Prints a markdown table; logs in WORK/logs.
set -euo pipefail

BENCH_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
ROOT=$BENCH_SOURCE_DIR
# shellcheck source=bench/lib/common.sh
source "$ROOT/bench/lib/common.sh"
BENCH_TREE=container
# shellcheck source=bench/lib/tools.sh
source "$ROOT/bench/lib/tools.sh"
STRATA=${STRATA:-$ROOT/build/cli/strata}
GENREPO=${GENREPO:-$ROOT/build/bench/strata-genrepo}
CONTAINER_TOOLS=(strata verdi restic borg)
NODES=
PORT=55470
WORK=
TOOLS_ARG=
REUSE=0
SMOKE=0
while (($#)); do
  case $1 in
    --nodes) NODES=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --tools) TOOLS_ARG=$2; shift 2 ;;
    --reuse) REUSE=1; shift ;;
    --smoke) SMOKE=1; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "container_bench: unknown option '$1'" >&2; exit 2 ;;
  esac
done
NODES=${NODES:-$( ((SMOKE == 1)) && echo 300 || echo 20000)}
TOOLS=("${CONTAINER_TOOLS[@]}")
[[ -z $TOOLS_ARG ]] || IFS=, read -r -a TOOLS <<<"$TOOLS_ARG"
for t in "${TOOLS[@]}"; do
  [[ " ${CONTAINER_TOOLS[*]} " == *" $t "* ]] ||
    { echo "container_bench: unknown tool '$t' (known: ${CONTAINER_TOOLS[*]})" >&2; exit 2; }
done
WORK_CREATED=0
if [[ -z $WORK ]]; then
  WORK=$(mktemp -d /tmp/strata-cbench.XXXXXX)
  WORK_CREATED=1
fi
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
LOGS=$WORK/logs
SRC_ROOT=$WORK/src
SRC=$SRC_ROOT
PG=$WORK/pg
mkdir -p "$LOGS" "$WORK/cache"
tools_environment

setup_caches

"$ROOT/tests/pg.sh" start "$PG" "$PORT" >"$LOGS/pg.log" 2>&1 ||
  { cat "$LOGS/pg.log" >&2; exit 1; }
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local status=$?
  "$ROOT/tests/pg.sh" stop "$PG" >/dev/null 2>&1 || true
  if ((status == 0 && SMOKE == 1 && WORK_CREATED == 1)); then
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
SERVER_DSN="host=$PG/sock port=$PORT user=postgres dbname=postgres"
DSN="host=$PG/sock port=$PORT user=postgres dbname=bench"
SRC_DSN=$DSN
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
psql_server() {
  psql -X -q -v ON_ERROR_STOP=1 -d "$SERVER_DSN" "$@"
}

# The profile: generated (its database also copied to the template 'bench_base' and the
# container's file list saved, so that --reuse can come back to this state), or reset.
if ((REUSE == 1)); then
  [[ -f $WORK/profile.txt && $(sed -n 1p "$WORK/profile.txt") == "nodes $NODES" ]] ||
    { echo "container_bench: --reuse: no profile of $NODES nodes in $WORK" >&2; exit 1; }
  psql_server -c 'DROP DATABASE IF EXISTS bench' -c 'CREATE DATABASE bench TEMPLATE bench_base'
  (cd "$SRC" && find container -depth -print0 | LC_ALL=C sort -z) |
    LC_ALL=C comm -z -23 - "$WORK/base.files" | LC_ALL=C sort -rz |
    (cd "$SRC" && xargs -0 -r rm -d --)
else
  rm -rf "$SRC" "$WORK/profile.txt"
  psql_server -c 'DROP DATABASE IF EXISTS bench' -c 'DROP DATABASE IF EXISTS bench_base' \
    -c 'CREATE DATABASE bench'
  /usr/bin/time -f '%e %M' -o "$LOGS/genrepo.time" \
    "$GENREPO" --dsn "$DSN" --root "$SRC" --nodes "$NODES" --format 2 --quiet >"$LOGS/genrepo.out"
  psql_server -c 'CREATE DATABASE bench_base TEMPLATE bench'
  (cd "$SRC" && find container -depth -print0 | LC_ALL=C sort -z) >"$WORK/base.files"
  {
    echo "nodes $NODES"
    echo "generated: $(cat "$LOGS/genrepo.out") in $(cut -d' ' -f1 "$LOGS/genrepo.time") s"
    python3 - "$SRC/container" <<'PY'
import os, sqlite3, sys
c = sys.argv[1]
loose = sum(len(f) for _, _, f in os.walk(os.path.join(c, "loose")))
db = sqlite3.connect("file:%s?mode=ro" % os.path.join(c, "packs.idx"), uri=True)
packed, compressed = db.execute("SELECT count(*), sum(compressed) FROM db_object").fetchone()
packs = len(os.listdir(os.path.join(c, "packs")))
print("container: %d objects (%d loose, %d packed in %d packs, %d of them zlib)"
      % (loose + packed, loose, packed, packs, compressed or 0))
PY
    echo "container: $(du -sb "$SRC/container" | cut -f1) bytes, $(find "$SRC/container" -type f | wc -l) files"
  } >"$WORK/profile.txt"
fi

# What `verdi storage backup` does, as a script GNU time can run: DEST [LINK_DEST].
cat >"$WORK/verdi_backup.sh" <<SH
#!/usr/bin/env bash
set -euo pipefail
pg_dump --format=p -d '$DSN' -f "\$1.db.psql"
rsync -azh --no-whole-file \${2:+--link-dest="\$2"} '$SRC/container/' "\$1/"
SH
chmod +x "$WORK/verdi_backup.sh"

# One tool's step: STEP (full, incr or restore) of TOOL, timed as STEP.TOOL.
step() {
  local step=$1 t=$2 dest=$WORK/dest/$2 target=$WORK/restore/$2
  case $t:$step in
    strata:full | strata:incr)
      timed "$step.strata" "$STRATA" backup --dest "$dest" --dsn "$DSN" --repository "$SRC" ;;
    strata:restore) timed restore.strata "$STRATA" restore --dest "$dest" --to-repository "$target" ;;
    verdi:full) timed full.verdi "$WORK/verdi_backup.sh" "$dest/b1" ;;
    verdi:incr) timed incr.verdi "$WORK/verdi_backup.sh" "$dest/b2" "$dest/b1" ;;
    verdi:restore) timed restore.verdi rsync -azh --no-whole-file "$dest/b2/" "$target/container/" ;;
    *:restore) "${t}_restore" "$dest" "$target" ;;
    *) "${t}_backup" "$step" "$dest" ;;
  esac || { echo "container_bench: $t: $step failed (see $LOGS/$step.$t.err)" >&2; exit 1; }
  printf '%s %s %s %s\n' "$step" "$t" "${SEC[$step.$t]}" "${KIB[$step.$t]}" >>"$WORK/steps"
}

: >"$WORK/steps"
for t in "${TOOLS[@]}"; do
  rm -rf "${WORK:?}/dest/$t" "${WORK:?}/restore/$t"
  mkdir -p "$WORK/dest" "$WORK/restore"
  case $t in
    strata) "$STRATA" init --dest "$WORK/dest/strata" ;;
    verdi) mkdir -p "$WORK/dest/verdi" "$WORK/restore/verdi" ;;
    *) "${t}_init" "$WORK/dest/$t" ;;
  esac >"$LOGS/init.$t.log" 2>&1
done
for t in "${TOOLS[@]}"; do step full "$t"; done
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes $(((NODES + 99) / 100)) --format 2 --mode add \
  --quiet >"$LOGS/genrepo.add.out"
for t in "${TOOLS[@]}"; do step incr "$t"; done
for t in "${TOOLS[@]}"; do step restore "$t"; done
for t in "${TOOLS[@]}"; do rm -rf "${WORK:?}/restore/$t"; done

cat "$WORK/profile.txt"
echo "added: $(cat "$LOGS/genrepo.add.out")"
echo "cache: $CACHE_NOTE; load average at the start: $LOAD_BEFORE, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'versions:'
for t in "${TOOLS[@]}"; do
  case $t in
    strata) printf ' strata %s (%s);' "$("$STRATA" --version 2>/dev/null | head -n 1)" "$STRATA" ;;
    verdi) printf ' rsync %s;' "$(tool_version rsync)" ;;
    *) printf ' %s %s;' "$t" "$(tool_version "$t")" ;;
  esac
done
echo
echo
python3 - "$WORK/steps" "${TOOLS[@]}" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    step, tool, sec, kib = line.split()
    rows[step, tool] = (float(sec), int(kib) / 1024)
tools = sys.argv[2:]
names = {"strata": "strata", "verdi": "verdi procedure", "restic": "restic", "borg": "borg"}
print("| step | " + " | ".join("%s s | peak MiB" % names[t] + ("" if t == "strata" else " | x strata")
                                for t in tools) + " |")
print("|---" * (1 + sum(2 if t == "strata" else 3 for t in tools)) + "|")
for step, label in (("full", "full backup"), ("incr", "incremental (1% new nodes)"),
                    ("restore", "restore of the container")):
    cells = []
    for t in tools:
        sec, mib = rows[step, t]
        cells += ["%.2f" % sec, "%.0f" % mib]
        if t != "strata":
            cells.append("%.1fx" % (sec / max(rows[step, "strata"][0], 0.01)) if "strata" in tools else "-")
    print("| %s | %s |" % (label, " | ".join(cells)))
PY
