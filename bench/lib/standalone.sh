# bench/lib/standalone.sh — helpers shared by the benches that run on a server of their own
# (bench/nightly_db.sh, bench/big_table.sh):
#
#   psql_on DSN ARGS...   psql on DSN: quiet, unaligned tuples only, stop at the first error
#   timev_seconds FILE    the wall time in seconds, 2 decimals, of a `/usr/bin/time -v -o FILE`
#                         report (its "Elapsed (wall clock)" line)
#   timev_peak_mib FILE   the peak RSS in MiB, 1 decimal, of such a report
#   standalone_cleanup NAME DB...
#                         the EXIT trap: drops the databases DB... on SERVER_DSN; removes WORK
#                         when the run succeeded (FAILED 0) and made WORK itself (WORK_CREATED
#                         1), else says it was kept; exits with the run's status
#
# shellcheck shell=bash

psql_on() {
  local dsn=$1
  shift
  psql -X -q -At -v ON_ERROR_STOP=1 -d "$dsn" "$@"
}

timev_seconds() {
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
    for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f\n", s }' "$1"
}

timev_peak_mib() {
  awk -F': ' '/Maximum resident set size/ { printf "%.1f\n", $2 / 1024 }' "$1"
}

standalone_cleanup() {
  local status=$? name=$1 db
  shift
  set +e
  for db in "$@"; do
    psql_on "$SERVER_DSN" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null
  done
  if ((status == 0 && FAILED == 0 && WORK_CREATED == 1)); then
    rm -rf "$WORK"
  else
    echo "$name: work directory kept: $WORK" >&2
  fi
  exit "$status"
}
