#!/usr/bin/env bash
# progress_tty: on a terminal, a backup's progress line says what strata is doing and follows
# the bytes stored, not only the bytes read.
#
# A backup (files and database, one compressing thread, zstd level 19: reading runs far ahead
# of compressing) runs in a pseudo-terminal (script). The engine reports every change of phase
# at once, not only on its timer, so whatever the timing the captured progress frames:
#   - name every phase, in order: reading, then compressing (every file read) and sealing a
#     pack; then dumping the database, storing the database dump, committing, done;
#   - never show 100% before the last frame (done);
#   - are followed by the summary.
# Off a terminal the same backup prints no progress at all.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db progress_tty)
SRC=$(new_tmp)
WORK=$(new_tmp)
DEST=$WORK/dest

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 300 --size-scale 2 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"

printf -v cmd '%q ' "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --jobs 1 --level 19
status=0
script -qefc "$cmd" /dev/null >"$WORK/tty.out" 2>&1 </dev/null || status=$?
assert_eq 0 "$status" "exit status of the backup in a terminal"

# The progress frames: the pieces between carriage returns that hold a progress line.
frames=$(python3 - "$WORK/tty.out" <<'EOF'
import re, sys
text = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
for piece in re.split(r"\r", text.replace("\033[K", "")):
    piece = piece.strip("\n")
    if piece.startswith("backup: ["):
        print(piece)
EOF
)
[[ -n $frames ]] || fail "no progress frame in the terminal output: $(head -c 500 "$WORK/tty.out")"
note "$(grep -c . <<<"$frames") progress frame(s); the last: $(tail -n 1 <<<"$frames")"

# first_frame PHASE — the number of the first frame that names PHASE (fails when none does).
first_frame() {
  local n
  n=$(grep -n -F "] $1" <<<"$frames" | head -n 1 | cut -d: -f1)
  [[ -n $n ]] || fail "no progress frame says '$1'; frames: $(head -c 2000 <<<"$frames")"
  printf '%s\n' "$n"
}
reading=$(first_frame "reading: ")
compressing=$(first_frame "compressing: ")
sealing=$(first_frame "sealing a pack")
dumping=$(first_frame "dumping the database")
storing=$(first_frame "storing the database dump")
committing=$(first_frame "committing")
done_at=$(first_frame "done")
((reading < compressing && compressing < dumping && sealing < dumping && dumping < storing &&
  storing < committing && committing < done_at)) ||
  fail "phases out of order: reading $reading, compressing $compressing, sealing $sealing, dumping $dumping," \
    "storing $storing, committing $committing, done $done_at"

total=$(grep -c . <<<"$frames")
assert_eq "$total" "$done_at" "the 'done' frame is the last"
hundred=$(grep -n -F "[100%]" <<<"$frames" | cut -d: -f1 | tr '\n' ' ')
assert_eq "$total " "$hundred" "frames that show 100% (only the last one)"
# The summary follows on the terminal.
assert_contains "$(tr -d '\r' <"$WORK/tty.out")" "snapshot 1: 300 new nodes" "summary after the progress line"

# Off a terminal: no progress.
assert_exit 0 "second backup off a terminal" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC"
[[ $LAST_STDERR != *"backup: ["* ]] || fail "progress printed off a terminal: $LAST_STDERR"
note "ok"
