# bench/lib/tools.sh — how bench/run.sh drives each tool on the file repository. For a tool T:
#
#   T_init DEST              prepare an empty destination (untimed; output to the caller's log)
#   T_backup STEP DEST       back up $SRC_ROOT/$BENCH_TREE into DEST, timed as STEP.T; STEP is
#                            'full' (first run) or 'incr' (after nodes were added: the tool's own
#                            incremental mode)
#   T_restore DEST TARGET    restore the newest backup so that TARGET/$BENCH_TREE is the copy,
#                            timed as restore.T
#
# BENCH_TREE is the directory below SRC_ROOT that rsync, tar, restic and borg copy: 'repository'
# (AiiDA 1.x node folders, bench/run.sh) or 'container' (2.x, bench/container_bench.sh).
# Globals used: SRC_ROOT, SRC_DSN, JOBS, STRATA, WORK. The tools' passwords, caches and "never
# prompt" switches are exported once by tools_environment. Every command is the plain one a user
# would type (see bench/README.md), run with the tool's default settings except where noted.
#
# shellcheck shell=bash

# shellcheck disable=SC2034  # used by bench/run.sh
BENCH_TOOLS=(strata rsync tar restic borg)
BENCH_TREE=${BENCH_TREE:-repository}

# The programs each tool needs.
tool_programs() {
  case $1 in
    strata) echo "$STRATA" ;;
    rsync) echo rsync ;;
    tar) echo tar zstd ;;
    restic) echo restic ;;
    borg) echo borg ;;
  esac
}

tool_version() {
  case $1 in
    strata) git -C "$BENCH_SOURCE_DIR" describe --always --dirty 2>/dev/null || echo unknown ;;
    rsync) rsync --version | sed -n '1s/^rsync *version \([^ ]*\).*/\1/p' ;;
    tar) echo "$(tar --version | sed -n '1s/.* //p') + zstd $(zstd --version | sed -E 's/.*v([0-9.]+).*/\1/')" ;;
    restic) restic version | awk '{ print $2 }' ;;
    borg) borg --version | awk '{ print $2 }' ;;
  esac
}

tools_environment() {
  export RESTIC_PASSWORD=bench
  export RESTIC_CACHE_DIR=$WORK/cache/restic
  export BORG_BASE_DIR=$WORK/cache/borg
  export BORG_PASSPHRASE=bench
  export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
  export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
  export BORG_CHECK_I_KNOW_WHAT_I_AM_DOING=NO
  export BORG_DELETE_I_KNOW_WHAT_I_AM_DOING=NO
}

# ---- strata: node folders only; the database is benchmarked on its own ----------------------------
strata_init() {
  "$STRATA" init --dest "$1"
}

strata_backup() {
  local step=$1 dest=$2
  timed "$step.strata" "$STRATA" backup --dest "$dest" --dsn "$SRC_DSN" \
    --repository "$SRC_ROOT" --files-only --json --jobs "$JOBS" || return
  # The JSON is part of the interface the harness relies on: a change in it must show.
  json_field "$LOGS/$step.strata.out" files >/dev/null
}

strata_restore() {
  timed restore.strata "$STRATA" restore --dest "$1" --to-repository "$2" --jobs "$JOBS"
}

# ---- rsync: a plain mirror; the incremental is the same command again ------------------------------
rsync_init() {
  mkdir -p "$1"
}

rsync_backup() {
  timed "$1.rsync" rsync -a "$SRC_ROOT/$BENCH_TREE/" "$2/"
}

rsync_restore() {
  mkdir -p "$2/$BENCH_TREE"
  timed restore.rsync rsync -a "$1/" "$2/$BENCH_TREE/"
}

# ---- tar + zstd: GNU tar's listed-incremental (level 0, then level 1 on the same snapshot file) ----
tar_init() {
  mkdir -p "$1"
}

tar_backup() {
  local step=$1 dest=$2
  # shellcheck disable=SC2016  # expanded by the inner bash
  timed "$step.tar" bash -c 'set -o pipefail
    tar -C "$1" --listed-incremental="$2/snapshot.snar" -cf - "$4" |
      zstd -3 -T0 -q -o "$2/$3.tar.zst"' _ "$SRC_ROOT" "$dest" "$step" "$BENCH_TREE"
}

tar_restore() {
  local dest=$1 target=$2
  mkdir -p "$target"
  # shellcheck disable=SC2016  # expanded by the inner bash
  timed restore.tar bash -c 'set -o pipefail
    for archive in full incr; do
      zstd -dc -q "$1/$archive.tar.zst" | tar -C "$2" --listed-incremental=/dev/null -xf - || exit
    done' _ "$dest" "$target"
}

# ---- restic (repository format 2: zstd compression auto) ------------------------------------------
restic_init() {
  restic init --repo "$1"
}

restic_backup() {
  timed "$1.restic" env -C "$SRC_ROOT" restic backup --repo "$2" --host bench "$BENCH_TREE"
}

restic_restore() {
  timed restore.restic restic restore latest --repo "$1" --target "$2"
}

# ---- borg (no encryption, default lz4 compression) --------------------------------------------------
borg_init() {
  borg init --encryption=none "$1"
}

borg_backup() {
  timed "$1.borg" env -C "$SRC_ROOT" borg create "$2::$1" "$BENCH_TREE"
}

borg_restore() {
  mkdir -p "$2"
  timed restore.borg env -C "$2" borg extract "$1::incr"
}
