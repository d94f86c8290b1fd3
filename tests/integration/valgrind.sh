#!/usr/bin/env bash
# valgrind: a small backup (files and database), its restore and its export run clean under
# valgrind memcheck: no invalid read or write, no use of uninitialised memory, no definite leak
# (--error-exitcode makes any of them a non-zero exit). Skipped (exit 77) without valgrind.
# (valgrind 3.19 does not know openat2: the restore then takes its component-by-component
# path, which this test thereby covers too; the warning it prints is not an error.)
source "$(dirname "$0")/lib.sh"

if ! command -v valgrind >/dev/null 2>&1; then
  note "skipped: valgrind is not installed"
  exit 77
fi

DSN=$(new_db valgrind)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 25 --quiet >/dev/null

# vg WHAT CMD... — runs CMD under memcheck; its log goes to the test's output on failure.
vg() {
  local what=$1 log
  shift
  log=$(new_tmp)/valgrind.log
  local status=0
  valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --track-origins=yes --log-file="$log" "$@" >/dev/null 2>&1 || status=$?
  if ((status != 0)); then
    grep -v 'syscall: 437\|write your own handler\|README_MISSING\|consider this a bug\|bug_reports' "$log" |
      head -n 40 >&2
    fail "$what: exit $status under valgrind (99: memcheck found errors)"
  fi
}

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
vg "backup" "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --jobs 1 --io-threads 4
vg "restore (files and database)" "$STRATA" restore --dest "$DEST" --to-repository "$OUT/repo" \
  --to-dsn "${STRATA_TEST_DSN2%dbname=*}dbname=valgrind_restored" --jobs 1
on_exit "psql -X -q -d '$STRATA_TEST_DSN2' -c 'DROP DATABASE IF EXISTS valgrind_restored' >/dev/null 2>&1"
assert_same_repo "$SRC" "$OUT/repo" "restore under valgrind"
vg "check --read-data" "$STRATA" check --dest "$DEST" --read-data --jobs 1
vg "export" "$STRATA" export --dest "$DEST" --output "$OUT/s.tar.zst" --jobs 1
mkdir "$OUT/x"
tar -xf "$OUT/s.tar.zst" -C "$OUT/x" repository || fail "stock tar -xf of the export made under valgrind"
assert_same_repo "$SRC" "$OUT/x" "export under valgrind"
note "ok"
