#!/usr/bin/env bash
# bench/container_bench.sh - AiiDA 2.x: strata against what `verdi storage backup` does
# (pg_dump --format=p, then rsync -azh --no-whole-file --link-dest of the container), on one
# profile that strata-genrepo --format 2 generates, in one run:
#   1. full backup: strata backup | pg_dump + rsync of the container;
#   2. incremental after 1% new nodes (genrepo --mode add: loose objects): strata backup |
#      pg_dump + rsync --link-dest=<the previous copy>;
#   3. restore of the files: strata restore --to-repository | rsync of the container back.
# Wall time and peak RSS (GNU time) of each; caches are not dropped (the numbers are warm-cache).
#
#   bench/container_bench.sh [--nodes N] [--work DIR] [--port P]
# Starts a throwaway cluster with tests/pg.sh on port P (default 55470) and stops it at the end.
# STRATA and GENREPO name the binaries (default: build/). Prints a markdown table.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
STRATA=${STRATA:-$ROOT/build/cli/strata}
GENREPO=${GENREPO:-$ROOT/build/bench/strata-genrepo}
NODES=20000
PORT=55470
WORK=
while (($#)); do
  case $1 in
    --nodes) NODES=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "container_bench: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[[ -n $WORK ]] || WORK=$(mktemp -d /tmp/strata-cbench.XXXXXX)
mkdir -p "$WORK"
PG=$WORK/pg
"$ROOT/tests/pg.sh" start "$PG" "$PORT" >/dev/null
trap '"$ROOT/tests/pg.sh" stop "$PG" >/dev/null 2>&1 || true' EXIT
DSN="host=$PG/sock port=$PORT user=postgres dbname=bench"
psql -X -q -d "host=$PG/sock port=$PORT user=postgres dbname=postgres" -c 'CREATE DATABASE bench'
SRC=$WORK/src
rm -rf "$SRC" "$WORK/dest" "$WORK/rsync" "$WORK/restore"
mkdir -p "$WORK/rsync" "$WORK/restore"

# run NAME CMD...: runs CMD under GNU time; prints "NAME seconds peak_kib".
run() {
  local name=$1
  shift
  /usr/bin/time -f '%e %M' -o "$WORK/time.$name" "$@" >"$WORK/log.$name" 2>&1 ||
    { echo "container_bench: step '$name' failed (see $WORK/log.$name)" >&2; exit 1; }
  printf '%s %s\n' "$name" "$(cat "$WORK/time.$name")"
}
# What `verdi storage backup` does, as a script GNU time can run: DEST [LINK_DEST].
cat >"$WORK/verdi_backup.sh" <<SH
#!/usr/bin/env bash
set -euo pipefail
pg_dump --format=p -d '$DSN' -f "\$1.db.psql"
rsync -azh --no-whole-file \${2:+--link-dest="\$2"} '$SRC/container/' "\$1/"
SH
chmod +x "$WORK/verdi_backup.sh"

start=$(date +%s)
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes "$NODES" --format 2 --quiet >"$WORK/genrepo.out"
gen_seconds=$(($(date +%s) - start))
"$STRATA" init --dest "$WORK/dest" >/dev/null
{
  run strata_full "$STRATA" backup --dest "$WORK/dest" --dsn "$DSN" --repository "$SRC"
  run verdi_full "$WORK/verdi_backup.sh" "$WORK/rsync/b1"
  "$GENREPO" --dsn "$DSN" --root "$SRC" --nodes $(((NODES + 99) / 100)) --format 2 --mode add --quiet >/dev/null
  run strata_incr "$STRATA" backup --dest "$WORK/dest" --dsn "$DSN" --repository "$SRC"
  run verdi_incr "$WORK/verdi_backup.sh" "$WORK/rsync/b2" "$WORK/rsync/b1"
  run strata_restore "$STRATA" restore --dest "$WORK/dest" --to-repository "$WORK/restore/strata"
  run rsync_restore rsync -azh --no-whole-file "$WORK/rsync/b2/" "$WORK/restore/rsync/"
} >"$WORK/steps"
python3 - "$WORK/steps" "$WORK/genrepo.out" "$gen_seconds" "$(du -sb "$SRC/container" | cut -f1)" <<'PY'
import sys
rows = dict((l.split()[0], l.split()[1:]) for l in open(sys.argv[1]))
print("generated: %s in %s s; container %.1f MiB" % (open(sys.argv[2]).read().strip(), sys.argv[3], int(sys.argv[4]) / 2**20))
print()
print("| step | strata s | strata peak MiB | verdi procedure s | peak MiB | speed-up |")
print("|---|---|---|---|---|---|")
for step, a, b in (("full backup", "strata_full", "verdi_full"), ("incremental (1% new)", "strata_incr", "verdi_incr"),
                   ("restore files", "strata_restore", "rsync_restore")):
    (sa, ma), (sb, mb) = rows[a], rows[b]
    print("| %s | %.2f | %.0f | %.2f | %.0f | %.1fx |" % (step, float(sa), int(ma) / 1024, float(sb), int(mb) / 1024,
                                                       float(sb) / max(float(sa), 0.01)))
PY
