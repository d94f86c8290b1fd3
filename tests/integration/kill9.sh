#!/usr/bin/env bash
# kill9: a backup killed with SIGKILL leaves every earlier snapshot intact and no half-written
# snapshot behind; the next backup resumes, reusing the packs the killed run had sealed.
#
# Snapshot 1 holds a small repository; then ~140 MB in 3000 nodes are added (~80 MB once
# compressed: one full 64 MiB pack and a partial one), and the second backup (one compressing
# thread, zstd level 9: a few seconds) is killed at two moments: as soon as its first pack file
# appears (nothing sealed yet), and when its second pack appears (one 64 MiB pack sealed).
# Each time, from a copy of the destination as it was after snapshot 1:
#   - snapshots --json is byte-for-byte what it was, snapshot 1 restores to the old tree, and
#     check (without --read-data) passes;
#   - the next backup succeeds with resumed_after_interruption=true, removes the pack the
#     killed run was writing, keeps the ones it had sealed and, once one was sealed, stores less
#     than the new snapshot needs in all (the sealed packs are reused);
#   - the latest snapshot restores to the source, and check --read-data passes.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db kill9)
SRC=$(new_tmp)
WORK=$(new_tmp)
DEST1=$WORK/dest1 # the destination after snapshot 1, copied for each round
DEST=$WORK/dest
OUT=$WORK/out

pack_names() {
  local d=$1 p
  for p in "$d"/packs/*.pack; do
    [[ -e $p ]] && printf '%s\n' "${p##*/}"
  done
  return 0
}

note "snapshot 1: 200 nodes"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 200 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST1"
assert_exit 0 "first backup" -- "$STRATA" backup --dest "$DEST1" --dsn "$DSN" --repository "$SRC"
assert_exit 0 "snapshots after the first backup" -- "$STRATA" snapshots --dest "$DEST1" --json
snaps1=$LAST_STDOUT
listing1=$(tree_listing "$SRC")
packs1=$(pack_names "$DEST1")

note "adding 3000 nodes (size scale 5)"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 3000 --mode add --size-scale 5 --quiet >/dev/null
listing2=$(tree_listing "$SRC")

# One round: kill the second backup once it has created WANT packs of its own.
kill_round() {
  local want=$1 pid status=0 new i
  rm -rf "$DEST" "$OUT"
  cp -a "$DEST1" "$DEST"
  note "round: kill -9 once the backup has opened $want pack(s)"

  "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --jobs 1 --level 9 \
    >"$WORK/killed.out" 2>"$WORK/killed.err" &
  pid=$!
  on_exit "kill -9 $pid 2>/dev/null || true"
  new=0
  for ((i = 0; i < 6000; i++)); do # up to 60 s
    new=$(comm -13 <(printf '%s\n' "$packs1" | sort) <(pack_names "$DEST" | sort) | grep -c . || true)
    ((new >= want)) && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  kill -9 "$pid" 2>/dev/null || fail "the backup ended before its pack number $want appeared (too fast?)"
  { wait "$pid"; } 2>/dev/null || status=$? # no "Killed" job notice in the log
  assert_eq 137 "$status" "exit status of the killed backup"
  ((new >= want)) || fail "no pack number $want after 60 s"
  local packs_killed
  packs_killed=$(comm -13 <(printf '%s\n' "$packs1" | sort) <(pack_names "$DEST" | sort))
  note "killed with $(printf '%s\n' "$packs_killed" | grep -c .) new pack(s) on disk"

  # Nothing visible changed.
  assert_exit 0 "snapshots after the kill" -- "$STRATA" snapshots --dest "$DEST" --json
  assert_eq "$snaps1" "$LAST_STDOUT" "snapshots --json after the kill"
  # A failing check is reported at the end, so that the rest of the round still runs.
  local check_status=0
  "$STRATA" check --dest "$DEST" >"$WORK/check.out" 2>"$WORK/check.err" || check_status=$?
  if ((check_status != 0)); then
    DEFERRED+=("round $want: check after the kill exited $check_status (expected 0): $(wc -l <"$WORK/check.err") line(s) on stderr, e.g. $(head -n 1 "$WORK/check.err"); $(tail -n 1 "$WORK/check.err")")
    note "check after the kill failed (reported at the end)"
  fi
  assert_exit 0 "restore --snapshot 1 after the kill" -- "$STRATA" restore --dest "$DEST" \
    --snapshot 1 --to-repository "$OUT/first"
  assert_same_listing "$listing1" "$OUT/first" "snapshot 1 after the kill"
  rm -rf "$OUT/first"
  # 'latest' is still snapshot 1, not the killed run's.
  assert_exit 0 "restore latest after the kill" -- "$STRATA" restore --dest "$DEST" \
    --to-repository "$OUT/first" --json
  assert_eq 1 "$(json_get "$LAST_STDOUT" snapshot)" "restore latest after the kill: snapshot"
  assert_same_listing "$listing1" "$OUT/first" "restore latest after the kill"
  rm -rf "$OUT/first"

  # The next backup resumes.
  assert_exit 0 "backup after the kill" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
    --repository "$SRC" --json
  local resumed=$LAST_STDOUT
  assert_eq true "$(json_get "$resumed" resumed_after_interruption)" "resumed_after_interruption"
  assert_eq 3200 "$(json_get "$resumed" nodes)" "resumed backup: nodes"
  assert_eq 3000 "$(json_get "$resumed" new_nodes)" "resumed backup: new_nodes"

  local packs_after kept total_new_bytes stored
  packs_after=$(pack_names "$DEST" | sort)
  kept=$(comm -12 <(printf '%s\n' "$packs_killed" | sort) <(printf '%s\n' "$packs_after") | grep -c . || true)
  total_new_bytes=0
  while IFS= read -r p; do
    [[ -n $p ]] || continue
    total_new_bytes=$((total_new_bytes + $(stat -c %s "$DEST/packs/$p")))
  done < <(comm -13 <(printf '%s\n' "$packs1" | sort) <(printf '%s\n' "$packs_after"))
  stored=$(json_get "$resumed" stored_bytes)
  note "resumed: stored $stored bytes of the $total_new_bytes in new packs; $kept pack(s) of the killed run kept"
  # The packs the killed run had sealed stay; the one it was writing is removed.
  assert_eq $((want - 1)) "$kept" "packs of the killed run still there after the resume"
  if ((want >= 2)); then
    ((stored < total_new_bytes)) ||
      fail "resumed backup stored $stored bytes, not less than the $total_new_bytes the snapshot needs: sealed packs not reused"
    local objects_new files_read
    objects_new=$(json_get "$resumed" new_objects)
    files_read=$(json_get "$resumed" read_files)
    ((objects_new < files_read)) ||
      fail "resumed backup: new_objects $objects_new not below read_files $files_read"
  fi

  assert_exit 0 "snapshots after the resumed backup" -- "$STRATA" snapshots --dest "$DEST" --json
  local snaps=$LAST_STDOUT
  assert_eq "$(json_get "$snaps1" snapshots.0)" "$(json_get "$snaps" snapshots.0)" \
    "snapshot 1 after the resumed backup"
  assert_eq 3200 "$(json_get "$snaps" snapshots.1.nodes)" "second snapshot: nodes"
  assert_eq "$(json_get "$snaps" snapshots.1.id)" "$(json_get "$snaps" snapshots.-1.id)" \
    "exactly two snapshots"

  assert_exit 0 "restore latest after the resume" -- "$STRATA" restore --dest "$DEST" \
    --to-repository "$OUT/latest"
  assert_same_listing "$listing2" "$OUT/latest" "restore latest after the resume"
  rm -rf "$OUT/latest"
  assert_exit 0 "check --read-data after the resume" -- "$STRATA" check --dest "$DEST" --read-data
}

DEFERRED=()
kill_round 1
kill_round 2
if ((${#DEFERRED[@]} > 0)); then
  printf 'FAIL: %s\n' "${DEFERRED[@]}" >&2
  exit 1
fi
note "ok"
