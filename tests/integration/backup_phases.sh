#!/usr/bin/env bash
# backup_phases: where a backup's time goes. `backup --json` has a "phases" object with one
# number of seconds per step of the run (open, reconcile, start, files, folders, dump_wait,
# dump_store, commit) and total: each is a non-negative number, total equals the document's
# seconds, and the steps, which follow one another, add up to no more than total. The steps
# of a side a backup does not have (--files-only, --database-only) are there too. `-v` prints
# the same, one line per phase. Nothing here asserts how long anything takes (only that a
# dump step of a backup without a dump is 0).
source "$(dirname "$0")/lib.sh"

DSN=$(new_db backup_phases)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 60 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"

PHASES='open reconcile start files folders dump_wait dump_store commit'

# check_phases WHAT JSON [ZERO...] — the phases object of a backup's document is well-formed,
# and the phases ZERO (steps the backup did not take) are 0.
check_phases() {
  python3 - "$1" "$2" "$PHASES" "${@:3}" <<'EOF' || fail "$1: phases"
import json, sys
what, doc, names, zero = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3].split(), sys.argv[4:]
phases = doc.get("phases")
if not isinstance(phases, dict):
    sys.exit("%s: no phases object" % what)
expected = names + ["total"]
if sorted(phases) != sorted(expected):
    sys.exit("%s: phases %s, expected %s" % (what, sorted(phases), sorted(expected)))
for name, value in phases.items():
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        sys.exit("%s: phase %s is %r" % (what, name, value))
for name in zero:
    if phases[name] != 0:
        sys.exit("%s: phase %s is %r, not 0" % (what, name, phases[name]))
if phases["total"] != doc["seconds"]:
    sys.exit("%s: total %r, seconds %r" % (what, phases["total"], doc["seconds"]))
# Each value is rounded to the millisecond.
steps = sum(phases[n] for n in names)
if steps > phases["total"] + 0.001 * len(names):
    sys.exit("%s: the steps add up to %r, more than the total %r" % (what, steps, phases["total"]))
EOF
}

assert_exit 0 "first backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
check_phases "first backup" "$LAST_STDOUT"

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 5 --mode add --quiet >/dev/null
assert_exit 0 "incremental backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
check_phases "incremental backup" "$LAST_STDOUT"

assert_exit 0 "files-only backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" \
  --files-only --json
check_phases "files-only backup" "$LAST_STDOUT" dump_wait dump_store

assert_exit 0 "database-only backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --database-only --json
check_phases "database-only backup" "$LAST_STDOUT"

assert_exit 0 "backup -v" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" -v
for name in $PHASES total; do
  [[ $(grep -c "^phase $name  *[0-9][0-9.]* s$" <<<"$LAST_STDOUT") == 1 ]] ||
    fail "backup -v: no line for phase $name in: $LAST_STDOUT"
done
note "ok"
