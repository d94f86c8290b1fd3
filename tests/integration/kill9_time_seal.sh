#!/usr/bin/env bash
# kill9_time_seal: packs are sealed by time as well as by size, so a backup killed long before
# its first pack is full keeps what it had stored up to the seal interval before the kill, and
# the resumed run says how much it kept - on a terminal too.
#
# Snapshot 1 holds a small repository; ~70 MB in 1500 nodes are added. The second backup (one
# compressing thread, zstd level 19: slow) is killed with SIGKILL once its first pack has been
# open for more than the seal interval (STORE_SEAL_SECONDS, 5 s) - while every pack file it
# wrote is still far below the 64 MiB of a size-based seal. Then:
#   - the next backup, run in a pseudo-terminal with --json on stdout, prints on the terminal
#     that it resumes an interrupted backup, and its JSON says resumed_after_interruption, how
#     many packs (at least one: sealed by time), objects and bytes it kept, and that it stored only the rest (bytes_new plus
#     the kept bytes at most bytes_read; objects_new below the files read);
#   - the latest snapshot restores to the source, and check --read-data is clean.
source "$(dirname "$0")/lib.sh"

SEAL_SECONDS=5 # STORE_SEAL_SECONDS in store/store.h
PACK_TARGET=$((64 << 20))

DSN=$(new_db kill9_time_seal)
SRC=$(new_tmp)
WORK=$(new_tmp)
DEST=$WORK/dest

pack_names() {
  local p
  for p in "$DEST"/packs/*.pack; do
    [[ -e $p ]] && printf '%s\n' "${p##*/}"
  done
  return 0
}

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 200 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "first backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC"
packs1=$(pack_names | sort)
note "adding 1500 nodes (size scale 5)"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 1500 --mode add --size-scale 5 --quiet >/dev/null

new_packs() { comm -13 <(printf '%s\n' "$packs1") <(pack_names | sort) | grep . || true; }

"$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --jobs 1 --level 19 \
  >"$WORK/killed.out" 2>"$WORK/killed.err" &
pid=$!
on_exit "kill -9 $pid 2>/dev/null || true"
# Wait for the killed run's first pack, then for more than one seal interval.
for ((i = 0; i < 6000; i++)); do # up to 60 s
  [[ -n $(new_packs) ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.01
done
[[ -n $(new_packs) ]] || fail "the backup wrote no pack within 60 s"
sleep $((SEAL_SECONDS + 3))
kill -9 "$pid" 2>/dev/null || fail "the backup ended before it was killed (too fast?)"
status=0
{ wait "$pid"; } 2>/dev/null || status=$?
assert_eq 137 "$status" "exit status of the killed backup"

mapfile -t killed_packs < <(new_packs)
note "killed with ${#killed_packs[@]} new pack file(s) on disk"
for p in "${killed_packs[@]}"; do
  size=$(stat -c %s "$DEST/packs/$p")
  ((size < PACK_TARGET)) || fail "pack $p holds $size bytes: a size-based seal came before the kill (too fast?)"
done

# The resumed run, in a pseudo-terminal: the notice goes to the terminal, the JSON to a file.
printf -v cmd '%q ' "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
status=0
script -qefc "$cmd >$(printf '%q' "$WORK/resumed.json")" /dev/null >"$WORK/tty.out" 2>&1 </dev/null || status=$?
assert_eq 0 "$status" "exit status of the resumed backup (terminal output: $(tr -d '\r' <"$WORK/tty.out" | head -c 500))"
tty=$(tr -d '\r' <"$WORK/tty.out")
assert_contains "$tty" "strata: resuming after an interrupted backup:" "notice on the terminal"
resumed=$(cat "$WORK/resumed.json")
assert_eq true "$(json_get "$resumed" resumed_after_interruption)" "resumed_after_interruption"
assert_eq 1700 "$(json_get "$resumed" nodes)" "resumed backup: nodes"
kept_packs=$(json_get "$resumed" kept_packs)
kept_objects=$(json_get "$resumed" kept_objects)
kept_bytes=$(json_get "$resumed" kept_bytes)
removed=$(json_get "$resumed" removed_packs)
bytes_new=$(json_get "$resumed" new_bytes)
bytes_read=$(json_get "$resumed" read_bytes)
objects_new=$(json_get "$resumed" new_objects)
files_read=$(json_get "$resumed" read_files)
note "resumed: kept $kept_packs pack(s), $kept_objects objects, $kept_bytes bytes; removed $removed;" \
  "stored $bytes_new new bytes of $bytes_read read"
((kept_packs >= 1)) ||
  fail "no pack kept of a run killed $((SEAL_SECONDS + 3)) s after its first pack appeared: not sealed by time"
# Every pack file of the killed run was either sealed (kept) or the open one (removed).
((removed <= 1)) || fail "removed_packs is $removed: more than the one open pack"
assert_eq "${#killed_packs[@]}" $((kept_packs + removed)) "packs of the killed run kept and removed"
assert_contains "$tty" "$kept_packs sealed pack(s) kept ($kept_objects objects" "notice: what was kept"
((kept_objects > 0 && kept_bytes > 0)) || fail "the resumed run kept nothing of the killed run"
# What was kept is not stored again: the new bytes and the kept ones add up to at most the
# bytes read (less where files share content).
((bytes_new + kept_bytes <= bytes_read)) ||
  fail "bytes_new $bytes_new + kept $kept_bytes exceed bytes_read $bytes_read: kept content was stored again"
((objects_new < files_read)) || fail "objects_new $objects_new not below files_read $files_read"
kept_now=0
for p in "${killed_packs[@]}"; do
  if [[ -e $DEST/packs/$p ]]; then
    kept_now=$((kept_now + 1))
  fi
done
assert_eq "$kept_packs" "$kept_now" "packs of the killed run still on disk"

assert_exit 0 "restore latest" -- "$STRATA" restore --dest "$DEST" --to-repository "$WORK/out"
assert_same_repo "$SRC" "$WORK/out" "restore after the resume"
assert_exit 0 "check --read-data" -- "$STRATA" check --dest "$DEST" --read-data
note "ok"
