#!/usr/bin/env bash
# full_disk: a real full file system, for the destination and for a restore target (tmpfs
# mounts with a size limit; needs root, skipped - exit 77 - otherwise).
#   - a backup (files and database) into a destination that fills up: exit 10, one line;
#     snapshot 1 still lists, checks clean and restores to the first tree; once the file
#     system is made larger, the next backup completes and restores to the source;
#   - a restore into a target too small for it: exit 10, one line; once the target is larger,
#     restore --force gives the source tree.
source "$(dirname "$0")/lib.sh"

if ((EUID != 0)); then
  note "skipped: mounting a size-limited tmpfs needs root"
  exit 77
fi

DSN=$(new_db full_disk)
SRC=$(new_tmp)
WORK=$(new_tmp)
DISK=$WORK/disk
TARGET=$WORK/target
mkdir -p "$DISK" "$TARGET"
mount -t tmpfs -o size=3m strata-test "$DISK" || { note "skipped: unable to mount a tmpfs"; exit 77; }
on_exit "umount '$DISK'"
mount -t tmpfs -o size=2m strata-test "$TARGET"
on_exit "umount '$TARGET'"
DEST=$DISK/dest

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 60 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "first backup" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC"
listing1=$(tree_listing "$SRC")
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 800 --mode add --size-scale 4 --quiet >/dev/null

note "backup into a full destination"
assert_exit 10 "backup into a full destination" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC"
assert_one_error "backup into a full destination"
note "$LAST_STDERR"
assert_exit 0 "snapshots after ENOSPC" -- "$STRATA" snapshots --dest "$DEST" --json
assert_eq 1 "$(json_get "$LAST_STDOUT" snapshots.-1.id)" "the newest snapshot after ENOSPC"
assert_exit 0 "check after ENOSPC" -- "$STRATA" check --dest "$DEST" --read-data
assert_exit 0 "restore snapshot 1 after ENOSPC" -- "$STRATA" restore --dest "$DEST" --to-repository "$WORK/first"
assert_eq "$listing1" "$(tree_listing "$WORK/first")" "snapshot 1 after ENOSPC"

note "space freed: the next backup completes"
mount -o remount,size=512m "$DISK"
assert_exit 0 "backup after space is freed" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
assert_eq 860 "$(json_get "$LAST_STDOUT" nodes)" "backup after space is freed: nodes"
assert_exit 0 "check --read-data after the completed backup" -- "$STRATA" check --dest "$DEST" --read-data

note "restore into a full target"
assert_exit 10 "restore into a full target" -- "$STRATA" restore --dest "$DEST" --to-repository "$TARGET/repo"
assert_one_error "restore into a full target"
note "$LAST_STDERR"
mount -o remount,size=512m "$TARGET"
assert_exit 0 "restore --force after space is freed" -- "$STRATA" restore --dest "$DEST" \
  --to-repository "$TARGET/repo" --force
assert_same_repo "$SRC" "$TARGET/repo" "restore after space is freed"
note "ok"
