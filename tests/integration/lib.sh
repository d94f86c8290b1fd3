# tests/integration/lib.sh — helpers for the integration test scripts; source it first thing:
#
#   source "$(dirname "$0")/lib.sh"
#
# ctest runs each script as `bash tests/integration/<name>.sh` with STRATA (the strata binary),
# GENREPO (strata-genrepo), STRATA_BUILD_DIR (the build tree, for `cmake --install`) and the
# STRATA_TEST_DSN / STRATA_TEST_DSN2 / PG* variables that tests/run.sh exports. Run by hand,
# STRATA, GENREPO and STRATA_BUILD_DIR default to build/.
#
#   fail MSG                          print 'FAIL: MSG' on stderr and exit 1
#   note MSG                          print '# MSG' on stderr (progress for the ctest log)
#   assert_eq EXPECTED ACTUAL WHAT
#   assert_contains HAYSTACK NEEDLE WHAT
#   assert_exit CODE WHAT -- CMD...   run CMD, check its exit code; leaves LAST_STATUS,
#                                     LAST_STDOUT and LAST_STDERR (captured, not shown)
#   new_db PREFIX                     create a database on the primary cluster, echo its DSN
#   new_db2 PREFIX                    the same on the second (restore target) cluster
#   new_role_db PREFIX                a database on the primary cluster owned by the password-only
#                                     role strata_pw (TCP, STRATA_TEST_PG_TCP_PORT); echo its name.
#                                     role_dsn DBNAME echoes its TCP DSN with the password
#   new_tmp                           echo a new empty directory
#   on_exit CMD...                    run CMD at exit (before databases and directories go)
#   tree_listing [OPT] DIR            one line per entry: path, type, mode, mtime, size, hash
#   tree_digest [OPT] DIR             sha256 of tree_listing: equal iff the trees are identical
#   assert_same_tree [OPT] A B WHAT   compare two trees; on failure show the
#                                     entries that differ
#     OPT: --no-dir-mtimes            leave out every directory's mtime
#          --dir-mtimes-from-depth N  leave out the mtimes of directories less than N levels
#                                     below DIR (DIR/a is level 1, DIR/a/b level 2, ...)
#   assert_same_listing LISTING DIR WHAT
#                                     DIR's tree_listing equals LISTING (one taken earlier, e.g.
#                                     right after a backup); on failure show what differs
#   assert_same_repo [--no-shard-mtimes] A B WHAT
#                                     assert_same_tree for two repository roots: everything
#                                     compared, every directory's mtime included (restore sets
#                                     those of ROOT/repository, .../node and the shard levels
#                                     node/xx, node/xx/yy as the snapshot recorded them);
#                                     --no-shard-mtimes leaves out the mtimes of those four
#                                     levels, for a restore of an older snapshot compared to a
#                                     source whose shards changed after it
#   assert_one_error WHAT             after assert_exit: LAST_STDERR is exactly one line, and it
#                                     starts with 'strata: error: '
#   flock_is_held FILE                true if some process holds a flock() on FILE (looked up in
#                                     /proc/locks: probing with flock -n would take it briefly)
#   hold_flock FILE                   start a background process that holds an exclusive flock()
#                                     on FILE (its pid in HOLD_FLOCK_PID); returns once it holds it
#   release_flock                     end that process, which releases the lock
#   json_get JSON KEY                 a field of a JSON object (KEY may be a dotted path, a.0.b)
#   add_odd_entries ROOT              give the first node folder below ROOT a link and a dot-file,
#                                     which a careless walk would lose; echo that folder
#   delete_nodes DSN IDS              delete nodes (IDS: comma-separated ids) from an AiiDA 1.x
#                                     database with their links, group memberships, logs and
#                                     comments, in one transaction, as AiiDA would
#   flip_byte FILE OFFSET...          invert the byte at each OFFSET of FILE (damage, in place)
#   s3_setup NAME                     for the S3 tests, against the gateway that tests/run.sh
#                                     starts (tests/ceph.sh; STRATA_TEST_S3_* variables): exports
#                                     the AWS_* credentials and a private STRATA_CACHE_DIR,
#                                     creates an empty bucket NAME-<random> and sets S3_BUCKET,
#                                     S3_DEST (s3:ENDPOINT/BUCKET/dest) and S3_ENDPOINT
#   s3_curl ARGS...                   curl signed with the test credentials (S3 requests by hand)
#   s3_keys                           the keys in S3_BUCKET, one a line
#   s3_pack_count                     how many packs S3_DEST holds in the bucket
#   s3_pack_etags                     "KEY SIZE ETAG" of each pack in the bucket, one a line (a
#                                     multipart upload's ETag ends in -PARTS)
#   s3_uploads                        the keys of the unfinished multipart uploads in S3_BUCKET
#
# Everything that new_db, new_db2, new_tmp and on_exit register is cleaned up when the script
# exits, also when they were called inside $(...). Do not install an EXIT trap of your own;
# use on_exit.

# shellcheck shell=bash disable=SC2034  # LAST_* are read by the scripts that source this
set -euo pipefail
shopt -s inherit_errexit

STRATA_SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export STRATA=${STRATA:-$STRATA_SOURCE_DIR/build/cli/strata}
export GENREPO=${GENREPO:-$STRATA_SOURCE_DIR/build/bench/strata-genrepo}
export STRATA_BUILD_DIR=${STRATA_BUILD_DIR:-$STRATA_SOURCE_DIR/build}

# Registrations live in files, so that helpers running in a $(...) subshell can add to them.
_LIB_STATE=$(mktemp -d "${TMPDIR:-/tmp}/strata-it-state.XXXXXX")
LAST_STATUS=0
LAST_STDOUT=
LAST_STDERR=

_lib_cleanup() {
  local status=$?
  trap '' PIPE
  set +e
  local line
  if [[ -f $_LIB_STATE/on_exit ]]; then
    # Last registered, first run.
    while IFS= read -r line; do
      eval "$line"
    done < <(tac "$_LIB_STATE/on_exit")
  fi
  if [[ -f $_LIB_STATE/dbs ]]; then
    local dsn
    while IFS= read -r dsn; do
      _lib_dropdb "$dsn"
    done <"$_LIB_STATE/dbs"
  fi
  if [[ -f $_LIB_STATE/dirs ]]; then
    while IFS= read -r line; do
      if [[ -n $line && -d $line ]]; then
        chmod -R u+rwX "$line" 2>/dev/null
        rm -rf "$line"
      fi
    done <"$_LIB_STATE/dirs"
  fi
  rm -rf "$_LIB_STATE"
  exit "$status"
}
trap _lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

note() {
  echo "# $*" >&2
}

assert_eq() {
  (($# == 3)) || fail "assert_eq needs EXPECTED ACTUAL WHAT"
  if [[ $1 != "$2" ]]; then
    fail "$3: expected '$1', got '$2'"
  fi
}

assert_contains() {
  (($# == 3)) || fail "assert_contains needs HAYSTACK NEEDLE WHAT"
  if [[ $1 != *"$2"* ]]; then
    fail "$3: '$2' not found in: $1"
  fi
}

assert_exit() {
  local expected=$1 what=$2
  [[ ${3:-} == -- ]] || fail "assert_exit needs CODE WHAT -- CMD..."
  shift 3
  (($# > 0)) || fail "assert_exit: no command given for '$what'"
  LAST_STATUS=0
  "$@" >"$_LIB_STATE/stdout" 2>"$_LIB_STATE/stderr" || LAST_STATUS=$?
  LAST_STDOUT=$(cat "$_LIB_STATE/stdout")
  LAST_STDERR=$(cat "$_LIB_STATE/stderr")
  if [[ $LAST_STATUS != "$expected" ]]; then
    {
      echo "FAIL: $what: expected exit code $expected, got $LAST_STATUS"
      echo "  command: $*"
      echo "  stderr:"
      sed 's/^/    /' "$_LIB_STATE/stderr"
      echo "  stdout (first 40 lines):"
      head -n 40 "$_LIB_STATE/stdout" | sed 's/^/    /'
    } >&2
    exit 1
  fi
}

on_exit() {
  (($# > 0)) || fail "on_exit needs a command"
  printf '%s\n' "$*" >>"$_LIB_STATE/on_exit"
}

new_tmp() {
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/strata-it.XXXXXX") || fail "mktemp -d failed"
  printf '%s\n' "$dir" >>"$_LIB_STATE/dirs"
  printf '%s\n' "$dir"
}

# Value of KEY in a keyword=value DSN (values without spaces, as the test DSNs are).
_lib_dsn_field() {
  local dsn=$1 key=$2 kv
  for kv in $dsn; do
    if [[ $kv == "$key="* ]]; then
      printf '%s\n' "${kv#*=}"
      return 0
    fi
  done
  return 1
}

_lib_dropdb() {
  local dsn=$1 host port name
  host=$(_lib_dsn_field "$dsn" host) || return 0
  port=$(_lib_dsn_field "$dsn" port) || return 0
  name=$(_lib_dsn_field "$dsn" dbname) || return 0
  dropdb --if-exists --force -h "$host" -p "$port" -U postgres "$name" ||
    echo "# warning: could not drop database '$name'" >&2
}

# _lib_new_db BASE_DSN_VAR PREFIX — create a uniquely named database on that cluster.
_lib_new_db() {
  local var=$1 prefix=$2
  local base=${!var:-}
  [[ -n $base ]] || fail "$var is not set (run the tests through tests/run.sh or ctest)"
  local host port name
  host=$(_lib_dsn_field "$base" host) || fail "$var has no host: '$base'"
  port=$(_lib_dsn_field "$base" port) || fail "$var has no port: '$base'"
  prefix=$(printf '%s' "${prefix,,}" | LC_ALL=C tr -c 'a-z0-9_' '_')
  name="${prefix:0:40}_$$_${RANDOM}${RANDOM}"
  createdb -h "$host" -p "$port" -U postgres "$name" ||
    fail "could not create database '$name' on $host:$port"
  local dsn="host=$host port=$port user=postgres dbname=$name"
  printf '%s\n' "$dsn" >>"$_LIB_STATE/dbs"
  printf '%s\n' "$dsn"
}

new_db() {
  (($# == 1)) || fail "new_db needs NAME_PREFIX"
  _lib_new_db STRATA_TEST_DSN "$1"
}

new_db2() {
  (($# == 1)) || fail "new_db2 needs NAME_PREFIX"
  _lib_new_db STRATA_TEST_DSN2 "$1"
}

ROLE=strata_pw
ROLE_PASSWORD=s3cret-pw

new_role_db() {
  (($# == 1)) || fail "new_role_db needs NAME_PREFIX"
  local dsn name
  dsn=$(_lib_new_db STRATA_TEST_DSN "$1")
  name=$(_lib_dsn_field "$dsn" dbname)
  psql -X -q -v ON_ERROR_STOP=1 -d "$dsn" -c "ALTER DATABASE $name OWNER TO $ROLE" >&2
  printf '%s\n' "$name"
}

role_dsn() {
  (($# == 1)) || fail "role_dsn needs DBNAME"
  printf 'host=127.0.0.1 port=%s user=%s password=%s dbname=%s\n' "${STRATA_TEST_PG_TCP_PORT:?}" "$ROLE" \
    "$ROLE_PASSWORD" "$1"
}

# One line per entry below DIR (DIR itself excluded), sorted by path:
#   f PATH MODE MTIME SIZE SHA256   regular file
#   d PATH MODE MTIME               directory (no size: it depends on the file system)
#   l PATH -> TARGET                symbolic link
#   <type> PATH MODE                anything else (p fifo, s socket, c/b device)
# MODE is octal permission bits, MTIME whole seconds; backslashes and newlines in names are
# escaped. With --no-dir-mtimes, directories' mtimes are left out (shown as -); with
# --dir-mtimes-from-depth N, only those of directories less than N levels below DIR are.
tree_listing() {
  local mtime_depth=1
  case ${1:-} in
    --no-dir-mtimes)
      mtime_depth=-1
      shift
      ;;
    --dir-mtimes-from-depth)
      [[ ${2:-} =~ ^[0-9]+$ ]] || fail "tree_listing: --dir-mtimes-from-depth needs a number"
      mtime_depth=$2
      shift 2
      ;;
  esac
  (($# == 1)) || fail "tree_listing needs [--no-dir-mtimes | --dir-mtimes-from-depth N] DIR"
  [[ -d $1 ]] || fail "tree_listing: '$1' is not a directory"
  python3 - "$1" "$mtime_depth" <<'EOF'
import hashlib, os, stat, sys

root, mtime_depth = os.fsencode(sys.argv[1]), int(sys.argv[2])

def show(path):
    return path.replace(b"\\", b"\\\\").replace(b"\n", b"\\n")

def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest().encode()

lines = []
for top, dirs, files in os.walk(root):
    for name in dirs + files:
        full = os.path.join(top, name)
        rel = show(os.path.relpath(full, root))
        st = os.lstat(full)
        mode = b"%o" % stat.S_IMODE(st.st_mode)
        mtime = b"%d" % (st.st_mtime_ns // 1000000000)
        if stat.S_ISREG(st.st_mode):
            fields = [b"f", rel, mode, mtime, b"%d" % st.st_size, sha256(full)]
        elif stat.S_ISDIR(st.st_mode):
            depth = len(os.path.relpath(full, root).split(b"/"))
            shown = mtime_depth >= 0 and depth >= mtime_depth
            fields = [b"d", rel, mode, mtime if shown else b"-"]
        elif stat.S_ISLNK(st.st_mode):
            fields = [b"l", rel, b"->", show(os.readlink(full))]
        else:
            kind = {stat.S_IFIFO: b"p", stat.S_IFSOCK: b"s", stat.S_IFCHR: b"c",
                    stat.S_IFBLK: b"b"}.get(stat.S_IFMT(st.st_mode), b"?")
            fields = [kind, rel, mode]
        lines.append((rel, b" ".join(fields)))
lines.sort()
sys.stdout.buffer.write(b"".join(line + b"\n" for _, line in lines))
EOF
}

tree_digest() {
  local listing
  listing=$(tree_listing "$@")
  printf '%s\n' "$listing" | sha256sum | cut -d ' ' -f 1
}

assert_same_listing() {
  (($# == 3)) || fail "assert_same_listing needs LISTING DIR WHAT"
  local got
  got=$(tree_listing "$2")
  if [[ $got != "$1" ]]; then
    diff <(printf '%s\n' "$1") <(printf '%s\n' "$got") | grep '^[<>]' | head -n 20 >&2
    fail "$3: the restored tree differs (< expected, > restored)"
  fi
}

assert_same_tree() {
  local opt=()
  case ${1:-} in
    --no-dir-mtimes)
      opt=(--no-dir-mtimes)
      shift
      ;;
    --dir-mtimes-from-depth)
      opt=(--dir-mtimes-from-depth "${2:-}")
      shift 2
      ;;
  esac
  (($# == 3)) || fail "assert_same_tree needs [--no-dir-mtimes | --dir-mtimes-from-depth N] A B WHAT"
  local a b
  a=$(tree_listing "${opt[@]}" "$1")
  b=$(tree_listing "${opt[@]}" "$2")
  if [[ $a != "$b" ]]; then
    {
      echo "FAIL: $3: '$1' and '$2' differ (< only in the first, > only in the second):"
      diff <(printf '%s\n' "$a") <(printf '%s\n' "$b") | grep '^[<>]' | head -n 40
    } >&2
    exit 1
  fi
}

assert_one_error() {
  (($# == 1)) || fail "assert_one_error needs WHAT"
  local lines
  lines=$(printf '%s' "$LAST_STDERR" | grep -c '' || true)
  if [[ $lines != 1 || $LAST_STDERR != "strata: error: "* ]]; then
    {
      echo "FAIL: $1: expected one line 'strata: error: ...' on stderr, got $lines line(s):"
      printf '%s\n' "$LAST_STDERR" | head -n 20 | sed 's/^/    /'
    } >&2
    exit 1
  fi
}

flock_is_held() {
  (($# == 1)) || fail "flock_is_held needs FILE"
  local inode
  inode=$(stat -c %i "$1" 2>/dev/null) || return 1
  grep -Eq "^[0-9]+: +FLOCK +ADVISORY +WRITE +[0-9]+ +[0-9a-f]+:[0-9a-f]+:$inode " /proc/locks
}

HOLD_FLOCK_PID=
hold_flock() {
  (($# == 1)) || fail "hold_flock needs FILE"
  [[ -z $HOLD_FLOCK_PID ]] || fail "hold_flock: a lock is held already"
  # The subshell becomes the sleep that holds the descriptor: killing it releases the lock.
  # Its output goes to /dev/null so that it keeps no pipe of ours (ctest's) open.
  (exec 9>>"$1" && flock -x 9 && exec sleep 300) </dev/null >/dev/null 2>&1 &
  HOLD_FLOCK_PID=$!
  on_exit "kill $HOLD_FLOCK_PID 2>/dev/null || true"
  local i
  for ((i = 0; i < 1000; i++)); do
    flock_is_held "$1" && return 0
    kill -0 "$HOLD_FLOCK_PID" 2>/dev/null || break
    sleep 0.01
  done
  fail "hold_flock: could not take the lock on '$1'"
}

release_flock() {
  [[ -n $HOLD_FLOCK_PID ]] || fail "release_flock: no lock held"
  kill "$HOLD_FLOCK_PID" 2>/dev/null || true
  wait "$HOLD_FLOCK_PID" 2>/dev/null || true
  HOLD_FLOCK_PID=
}

# Every directory's mode and mtime is compared, the folders above the node folders too
# (ROOT/repository, .../node and the shard levels node/xx, node/xx/yy: levels 1 to 4), which a
# restore sets as the snapshot recorded them. --no-shard-mtimes leaves the mtimes of levels 1 to
# 4 out (node folders, level 5, and below still count): for a restore of an older snapshot
# compared to a source whose shards changed after it.
assert_same_repo() {
  local depth=1
  if [[ ${1:-} == --no-shard-mtimes ]]; then
    depth=5
    shift
  fi
  (($# == 3)) || fail "assert_same_repo needs [--no-shard-mtimes] A B WHAT"
  assert_same_tree --dir-mtimes-from-depth "$depth" "$@"
}

s3_curl() {
  curl -sS --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$STRATA_TEST_S3_ACCESS_KEY:$STRATA_TEST_S3_SECRET_KEY" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}

s3_setup() {
  (($# == 1)) || fail "s3_setup needs NAME"
  [[ -n ${STRATA_TEST_S3_ENDPOINT:-} ]] ||
    fail "no S3 gateway: run through tests/run.sh (tests/ceph.sh sets STRATA_TEST_S3_ENDPOINT)"
  export AWS_ACCESS_KEY_ID=$STRATA_TEST_S3_ACCESS_KEY
  export AWS_SECRET_ACCESS_KEY=$STRATA_TEST_S3_SECRET_KEY
  STRATA_CACHE_DIR=$(new_tmp)/cache
  export STRATA_CACHE_DIR
  S3_ENDPOINT=$STRATA_TEST_S3_ENDPOINT
  S3_BUCKET=$1-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
  local status
  status=$(s3_curl -o /dev/null -w '%{http_code}' -X PUT "$S3_ENDPOINT/$S3_BUCKET")
  [[ $status == 200 ]] || fail "unable to create bucket '$S3_BUCKET': HTTP $status"
  S3_DEST=s3:$S3_ENDPOINT/$S3_BUCKET/dest
}

s3_keys() {
  s3_curl "$S3_ENDPOINT/$S3_BUCKET?list-type=2" |
    python3 -c 'import re, sys; print("\n".join(re.findall(r"<Key>([^<]*)</Key>", sys.stdin.read())))'
}

s3_pack_count() {
  s3_keys | grep -c '^dest/packs/' || true
}

s3_pack_etags() {
  s3_curl "$S3_ENDPOINT/$S3_BUCKET?list-type=2&prefix=dest%2Fpacks%2F" | python3 -c '
import html, re, sys
for c in re.findall(r"<Contents>(.*?)</Contents>", sys.stdin.read()):
    get = lambda tag: html.unescape(re.search("<%s>([^<]*)</%s>" % (tag, tag), c).group(1))
    print(get("Key"), get("Size"), get("ETag").strip(chr(34)))'
}

s3_uploads() {
  s3_curl "$S3_ENDPOINT/$S3_BUCKET?uploads=" |
    python3 -c 'import re, sys; print("\n".join(re.findall(r"<Upload>.*?<Key>([^<]*)</Key>", sys.stdin.read())))'
}

json_get() {
  (($# == 2)) || fail "json_get needs JSON KEY"
  python3 -c '
import json, sys
try:
    value = json.loads(sys.argv[1])
except ValueError as e:
    sys.exit("FAIL: json_get: not JSON (%s): %.200s" % (e, sys.argv[1]))
for part in sys.argv[2].split("."):
    if isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
        value = value[int(part)]
    elif isinstance(value, dict) and part in value:
        value = value[part]
    else:
        sys.exit("FAIL: json_get: no %r in %.200s" % (sys.argv[2], sys.argv[1]))
print(value if isinstance(value, str) else json.dumps(value))
' "$1" "$2"
}

delete_nodes() {
  (($# == 2)) || fail "delete_nodes needs DSN IDS"
  [[ $2 =~ ^[0-9]+(,[0-9]+)*$ ]] || fail "delete_nodes: '$2' is not a list of ids"
  psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "BEGIN;
     DELETE FROM db_dblink WHERE input_id IN ($2) OR output_id IN ($2);
     DELETE FROM db_dbgroup_dbnodes WHERE dbnode_id IN ($2);
     DELETE FROM db_dblog WHERE dbnode_id IN ($2);
     DELETE FROM db_dbcomment WHERE dbnode_id IN ($2);
     DELETE FROM db_dbnode WHERE id IN ($2);
     COMMIT;" >/dev/null
}

add_odd_entries() {
  (($# == 1)) || fail "add_odd_entries needs ROOT"
  local node
  node=$(find "$1/repository/node" -mindepth 3 -maxdepth 3 -type d | LC_ALL=C sort | head -n 1)
  [[ -n $node ]] || fail "add_odd_entries: no node folder below '$1'"
  ln -s path/does-not-matter "$node/a-link"
  printf 'hidden\n' >"$node/.hidden"
  echo "$node"
}

# remove_nodes DSN ROOT WHERE — deletes the nodes matching WHERE (other than the bulk Dict rows
# of the tests) from the database and their folders below ROOT, and, as AiiDA does, the shard
# folders left empty (restore does not create them).
remove_nodes() {
  (($# == 3)) || fail "remove_nodes needs DSN ROOT WHERE"
  local ids="" id uuid
  while IFS='|' read -r id uuid; do
    rm -rf "${2:?}/repository/node/${uuid:0:2}/${uuid:2:2}/${uuid:4}"
    rmdir --ignore-fail-on-non-empty "$2/repository/node/${uuid:0:2}/${uuid:2:2}" 2>/dev/null || true
    rmdir --ignore-fail-on-non-empty "$2/repository/node/${uuid:0:2}" 2>/dev/null || true
    ids+=${ids:+,}$id
  done < <(psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c \
    "SELECT id, uuid FROM db_dbnode WHERE node_type NOT LIKE 'data.core.dict.%' AND ($3) ORDER BY id")
  [[ -z $ids ]] || delete_nodes "$1" "$ids"
}

flip_byte() {
  python3 - "$@" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    for offset in map(int, sys.argv[2:]):
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))
EOF
}

# count_backend_ops CMD... — runs CMD once with STRATA_FAULT_BACKEND=count; BACKEND_OPS is the
# number of destination operations it made (fails the test unless it succeeded and made some).
count_backend_ops() {
  assert_exit 0 "counting the destination operations of: $*" -- env STRATA_FAULT_BACKEND=count "$@"
  BACKEND_OPS=$(sed -n 's/^strata: backend operations: \([0-9]*\)$/\1/p' <<<"$LAST_STDERR" | tail -n 1)
  ((${BACKEND_OPS:-0} > 0)) || fail "'$*' counted '${BACKEND_OPS:-}' destination operations: $LAST_STDERR"
}

# kill_points OPS N — N operation numbers spread evenly over a run of OPS operations, then the
# last two (the work after a commit), one per line.
kill_points() {
  local ops=$1 n=$2 k
  for ((k = 1; k <= n; k++)); do
    echo $((ops * k / (n + 1) + 1))
  done
  echo $((ops - 1))
  echo "$ops"
}

# run_self_killed OP CMD... — runs CMD (output to $WORK/killed.out and .err) so that it kills
# itself with SIGKILL before its destination operation OP (STRATA_FAULT_BACKEND=OP:KILL): a
# point in the run that does not depend on the machine's load. KILLED_STATUS is its exit status
# (137 when it died so).
run_self_killed() {
  local at=$1
  shift
  KILLED_STATUS=0
  { env STRATA_FAULT_BACKEND="$at:KILL" "$@" >"$WORK/killed.out" 2>"$WORK/killed.err"; } 2>/dev/null ||
    KILLED_STATUS=$?
}
