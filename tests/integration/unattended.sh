#!/usr/bin/env bash
# unattended: what a backup prints where. Off a terminal: nothing on success, a one-line error
# on failure; --verbose adds the summary; --log-file appends timestamped lines (a one-line
# summary per run, the error of a failed run with its exit code). On a terminal (a real
# pseudo-terminal, through script(1)) a progress bar with nodes, files, bytes, rate and ETA.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db unattended)
SRC=$(new_tmp)
WORK=$(new_tmp)
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 1500 --size-scale 4 --quiet >/dev/null
D=$WORK/dest
L=$WORK/logs/backup.log
mkdir -p "$WORK/logs"
assert_exit 0 "init" -- "$STRATA" init --dest "$D"

note "1: quiet off a terminal; a summary line in the log file"
assert_exit 0 "backup --log-file" -- "$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC" --log-file "$L"
[[ -z $LAST_STDOUT && -z $LAST_STDERR ]] || fail "a backup off a terminal was not quiet: $LAST_STDOUT$LAST_STDERR"
assert_eq 1 "$(grep -c '' "$L")" "lines in the log after one run"
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z strata\[[0-9]+\]: backup: snapshot 1: 1500 new nodes' "$L" ||
  fail "unexpected log line: $(cat "$L")"

note "2: a failed run: one error line, and in the log with its exit code"
assert_exit 5 "backup of a missing database" -- "$STRATA" backup --dest "$D" --dsn "${DSN% dbname=*} dbname=nope_$$" \
  --repository "$SRC" --log-file "$L"
assert_one_error "backup of a missing database"
assert_eq 2 "$(grep -c '' "$L")" "lines in the log after two runs"
assert_contains "$(tail -n 1 "$L")" "error: " "the error in the log"
assert_contains "$(tail -n 1 "$L")" "(exit 5)" "the exit code in the log"
assert_exit 2 "an unwritable log file" -- "$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC" \
  --log-file "$WORK/no/such/dir/log"
assert_one_error "an unwritable log file"

note "3: --verbose prints the summary off a terminal"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 3 --mode add --quiet >/dev/null
assert_exit 0 "backup -v" -- "$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC" -v
assert_contains "$LAST_STDOUT" "snapshot 2" "the summary of -v"
assert_eq 1 "$(printf '%s\n' "$LAST_STDOUT" | grep -vc '^phase ')" "-v off a terminal: a one-line summary (and one line per phase)"

note "4: a progress bar in a pseudo-terminal"
D2=$WORK/dest2
assert_exit 0 "init 2" -- "$STRATA" init --dest "$D2"
script -qec "'$STRATA' backup --dest '$D2' --dsn '$DSN' --repository '$SRC' --jobs 1 --level 12" /dev/null \
  </dev/null >"$WORK/tty.out" 2>&1 || fail "the backup in a terminal failed: $(cat "$WORK/tty.out")"
tty_out=$(tr '\r' '\n' <"$WORK/tty.out")
grep -Eq 'backup: \[ *[0-9]+%\] [a-z ]+: [0-9]+/[0-9]+ nodes, [0-9]+ files, .* stored at .*/s' <<<"$tty_out" ||
  fail "no progress bar in the terminal: $(head -c 2000 <<<"$tty_out")"
assert_contains "$tty_out" "holds 1503 nodes" "the summary on a terminal"
note "ok"
