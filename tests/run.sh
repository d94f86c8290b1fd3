#!/usr/bin/env bash
# tests/run.sh — the one test command, for developers and CI (.ci/run) alike:
#   1. installs missing Debian packages (as root; otherwise says what to install),
#   2. builds into build/ with cmake (-Werror),
#   3. starts two throwaway PostgreSQL clusters (tests/pg.sh): the primary on port 55432 and a
#      restore target on port 55433 (STRATA_TEST_PORT=N: N and N+1), and exports their
#      coordinates for the tests,
#   3b. starts a throwaway single-node Ceph with its S3 gateway on loopback (tests/ceph.sh; the
#      monitor on STRATA_TEST_CEPH_PORT, default 59500, the gateway on that + 10) and exports its
#      endpoint and test credentials (STRATA_TEST_S3_*) for the s3_* tests,
#   4. runs the unit tests (label unit) in build/ with -j2,
#   5. coverage: builds build-cov (--coverage -O0), runs the unit tests with -j2 and then every
#      other ctest test (integration, bench smoke) one at a time in it, and prints line coverage
#      per module (tests/coverage.py) with the uncovered lines of the modules that have a
#      minimum (COVERAGE_MIN); a module below its minimum counts as one failed test.
#      The integration tests run here only, not in build/ too: one run of them is most of the
#      CI time, and run in build-cov they also count towards coverage. With
#      STRATA_SKIP_COVERAGE=1 they run in build/ instead,
#   6. fuzzing: builds build-fuzz with clang (libFuzzer, ASan+UBSan) and runs the fuzz targets
#      side by side (-j2) for a few seconds each (ctest label fuzz; a crash is a failed test),
#   7. if time allows, builds build-asan (ASan+UBSan) and runs the unit tests and a subset of
#      the integration tests (ASAN_INTEGRATION) again in it,
#   8. stops the clusters (and Ceph) on any exit, and exits non-zero if any test failed.
#
# Arguments, if any, are passed to one single ctest run in build/ instead of steps 4 to 7,
# e.g. `tests/run.sh -R backup_basic`.
# Environment: STRATA_SKIP_BUILD=1 skips the build and the tests (checks deps and clusters only);
# STRATA_SKIP_COVERAGE=1, STRATA_SKIP_FUZZ=1 and STRATA_SKIP_ASAN=1 skip steps 5, 6 and 7;
# STRATA_WERROR=OFF builds without -Werror.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=tests/deps.sh
source tests/deps.sh

# STRATA_TEST_PORT moves both clusters (primary on it, target on it + 1), so that two test runs
# in separate checkouts can share one machine.
PRIMARY_PORT=${STRATA_TEST_PORT:-55432}
TARGET_PORT=$((PRIMARY_PORT + 1))
# Step 7 starts only if steps 1-6 took less than this, to keep a CI run well under 20 minutes.
ASAN_START_BUDGET_S=720
# Line coverage (percent) each module must reach in step 5; a module absent here is reported only,
# one absent from the tree (store/ before it exists) is skipped.
COVERAGE_MIN=(common=85 catalog=85 store=85)
# Seconds each fuzz target runs in step 6.
FUZZ_SECONDS=10
# The integration tests that also run against the ASan+UBSan build in step 7: the ones that
# feed strata hostile or broken input and the round trips of both sides (all of them would
# take the run past 20 minutes), and the dump tests whose restores run the named-pipe writer and
# preparer threads. The valgrind test runs a small backup and restore under memcheck wherever
# the integration tests run.
ASAN_INTEGRATION='roundtrip|db_roundtrip|db_append|db_delta$|db_fifo_damage|restore_confinement|hostile_catalog|repository_shape|first_hour|corruption|bad_input|deleted_node|signals|full_disk'

JOBS=$(nproc)

section() {
  printf '\n==== %s ====\n' "$*"
}

CEPH_PORT=${STRATA_TEST_CEPH_PORT:-59500}
CEPH_ROOT=
stop_ceph() {
  if [[ -n $CEPH_ROOT ]]; then
    section "stopping Ceph"
    tests/ceph.sh stop "$CEPH_ROOT/c" || true
    rm -rf "$CEPH_ROOT"
    CEPH_ROOT=
  fi
}

start_ceph() {
  CEPH_ROOT=$(mktemp -d /tmp/strata-ceph.XXXXXX)
  local started=$SECONDS
  tests/ceph.sh start "$CEPH_ROOT/c" "$CEPH_PORT"
  set -a
  # shellcheck disable=SC1091  # written by tests/ceph.sh
  source "$CEPH_ROOT/c/env"
  set +a
  echo "STRATA_TEST_S3_ENDPOINT=$STRATA_TEST_S3_ENDPOINT (Ceph up in $((SECONDS - started)) s)"
}

PG_ROOT=
stop_clusters() {
  stop_ceph
  if [[ -n $PG_ROOT ]]; then
    section "stopping PostgreSQL clusters"
    tests/pg.sh stop "$PG_ROOT/primary" || true
    tests/pg.sh stop "$PG_ROOT/target" || true
    rm -rf "$PG_ROOT"
    PG_ROOT=
  fi
}

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local status=$?
  # Stop the clusters even if our output has gone away (e.g. piped into head).
  trap '' PIPE
  set +e
  stop_clusters
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

build_tree() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DSTRATA_WERROR="${STRATA_WERROR:-ON}" "$@"
  cmake --build "$dir" -j "$JOBS"
}

# count_check NAME STATUS — a check that is not a ctest test (coverage) counts as one test.
count_check() {
  if (($2 == 0)); then
    PASSED=$((PASSED + 1))
  else
    echo "FAILED: $1"
    FAILED=$((FAILED + 1))
    STATUS=1
  fi
}

run_coverage() {
  section "build (build-cov, --coverage -O0)"
  build_tree build-cov -DCMAKE_BUILD_TYPE=Debug -DSTRATA_COVERAGE=ON
  # Counters accumulate across runs: start from zero so the report is this run's.
  find build-cov -name '*.gcda' -delete
  section "unit tests (build-cov)"
  run_ctest --test-dir build-cov -L unit -j 2 --no-tests=error
  section "integration tests (build-cov)"
  run_ctest --test-dir build-cov -LE unit
  section "line coverage per module (build-cov: unit and integration tests)"
  local args=() min status=0
  for min in "${COVERAGE_MIN[@]}"; do
    args+=(--min "$min" --files "${min%%=*}")
  done
  tests/coverage.py build-cov "${args[@]}" || status=$?
  count_check "line coverage below the minimum" "$status"
}

run_fuzz() {
  section "build (build-fuzz, clang libFuzzer + ASan+UBSan)"
  cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DSTRATA_FUZZ=ON \
        -DSTRATA_FUZZ_SECONDS="$FUZZ_SECONDS" -DSTRATA_WERROR="${STRATA_WERROR:-ON}"
  cmake --build build-fuzz -j "$JOBS" --target strata_fuzz
  section "fuzz tests (${FUZZ_SECONDS}s each)"
  run_ctest --test-dir build-fuzz -L fuzz -j 2 --no-tests=error
}

start_clusters() {
  PG_ROOT=$(mktemp -d /tmp/strata-test.XXXXXX)
  chmod 0755 "$PG_ROOT" # the server runs as 'postgres' when we are root
  tests/pg.sh start "$PG_ROOT/primary" "$PRIMARY_PORT"
  tests/pg.sh start "$PG_ROOT/target" "$TARGET_PORT"

  export PGHOST=$PG_ROOT/primary/sock
  export PGPORT=$PRIMARY_PORT
  export PGUSER=postgres
  export STRATA_TEST_DSN="host=$PG_ROOT/primary/sock port=$PRIMARY_PORT user=postgres dbname=postgres"
  export STRATA_TEST_DSN2="host=$PG_ROOT/target/sock port=$TARGET_PORT user=postgres dbname=postgres"
  export STRATA_TEST_PG_TCP_PORT=$PRIMARY_PORT
  echo "STRATA_TEST_DSN=$STRATA_TEST_DSN"
  echo "STRATA_TEST_DSN2=$STRATA_TEST_DSN2"
}

# Totals over every ctest run, for the closing line.
PASSED=0
FAILED=0
STATUS=0

# run_ctest ARGS... — one ctest run; adds its counts to the totals.
run_ctest() {
  local log status=0
  log=$(mktemp)
  ctest --output-on-failure --timeout 600 "$@" 2>&1 | tee "$log" || status=$?
  # ctest's summary: "95% tests passed, 1 tests failed out of 20"
  local summary failed total
  summary=$(sed -nE 's/^[0-9]+% tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1 \2/p' "$log" |
            tail -n 1)
  rm -f "$log"
  if [[ -n $summary ]]; then
    read -r failed total <<<"$summary"
    PASSED=$((PASSED + total - failed))
    FAILED=$((FAILED + failed))
  fi
  if ((status != 0)); then
    STATUS=1
  fi
}

section "dependencies"
strata_install_deps

if [[ ${STRATA_SKIP_BUILD:-} != 1 ]]; then
  section "build (build/, $JOBS jobs)"
  build_tree build -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi

section "PostgreSQL clusters"
start_clusters
section "Ceph (S3 gateway for the s3_* tests)"
start_ceph

if [[ ${STRATA_SKIP_BUILD:-} == 1 ]]; then
  section "STRATA_SKIP_BUILD=1: checking the clusters only"
  psql -X -At -d "$STRATA_TEST_DSN" -c 'select version()'
  psql -X -At -d "$STRATA_TEST_DSN2" -c "select 'target cluster up on port ' || current_setting('port')"
  exit 0
fi

if (($# > 0)); then
  section "ctest $*"
  run_ctest --test-dir build "$@"
else
  section "unit tests"
  run_ctest --test-dir build -L unit -j 2 --no-tests=error

  if [[ ${STRATA_SKIP_COVERAGE:-} == 1 ]]; then
    section "integration tests (coverage build skipped: STRATA_SKIP_COVERAGE=1)"
    run_ctest --test-dir build -LE unit
  else
    run_coverage
  fi
  if [[ ${STRATA_SKIP_FUZZ:-} == 1 ]]; then
    section "fuzz build skipped (STRATA_SKIP_FUZZ=1)"
  else
    run_fuzz
  fi

  if [[ ${STRATA_SKIP_ASAN:-} == 1 ]]; then
    section "sanitizer build skipped (STRATA_SKIP_ASAN=1)"
  elif ((SECONDS > ASAN_START_BUDGET_S)); then
    section "sanitizer build skipped: ${SECONDS}s spent already (budget ${ASAN_START_BUDGET_S}s)"
  else
    section "build (build-asan, ASan+UBSan)"
    build_tree build-asan -DCMAKE_BUILD_TYPE=Debug -DSTRATA_SANITIZE=ON
    section "unit tests under ASan+UBSan"
    export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    run_ctest --test-dir build-asan -L unit -j 2 --no-tests=error
    section "integration tests under ASan+UBSan ($ASAN_INTEGRATION)"
    run_ctest --test-dir build-asan -L integration -R "$ASAN_INTEGRATION" --no-tests=error
  fi
fi

# Stopped here rather than by the trap, so that the summary is the last thing printed.
stop_clusters
section "summary (${SECONDS}s)"
echo "tests: $PASSED passed, $FAILED failed"
if ((STATUS != 0 && FAILED == 0)); then
  echo "a ctest run failed without a test failure (build of a test, no tests found, or a crash)"
fi
exit "$STATUS"
