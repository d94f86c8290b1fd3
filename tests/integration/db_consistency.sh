#!/usr/bin/env bash
# db_consistency: the database dump and the file scan of one backup show the same instant, while
# the profile is in use. A writer (as AiiDA does) creates a node's folder with its files and only
# THEN inserts and commits the node's db_dbnode row, over and over, while strata backs up a
# repository of 3000 nodes. Restoring that snapshot (files and database in one command) must give:
#   - for every node row of the restored database whose folder exists in the source, a restored
#     folder identical to the source's (content, modes, mtimes);
#   - no restored folder that does not belong to a node row of the restored database (a folder
#     written for a row that was not yet committed at the snapshot must be left out);
#   - no writer node in the restored database without its folder (a row committed after the
#     scan's snapshot must not be in the dump);
#   - as many db_dbnode rows as the backup reports nodes.
# The same holds for a second, incremental backup taken while the writer still runs; a third
# one, taken once it stopped, restores to exactly the source (tree and table checksums).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

export PGTZ=UTC PGDATESTYLE=ISO

DSN=$(new_db dbcons)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)
WORK=$(new_tmp)
NODE_DIR=$SRC/repository/node

note "generating 3000 nodes"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 3000 --quiet >/dev/null
user_id=$(psql -X -At -d "$DSN" -c 'SELECT min(id) FROM db_dbuser')
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"

# The writer: folder and files first, then the row, committed at once (autocommit), as fast as
# it can, until $WORK/stop appears (at most MAX_ITER nodes). Its SQL goes to one psql.
MAX_ITER=20000
writer() {
  local i uuid dir
  for ((i = 1; i <= MAX_ITER; i++)); do
    [[ -e $WORK/stop ]] && break
    uuid=$(</proc/sys/kernel/random/uuid)
    dir=$NODE_DIR/${uuid:0:2}/${uuid:2:2}/${uuid:4}
    mkdir -p "$dir/path/sub"
    printf 'writer node %d %s\n' "$i" "$uuid" >"$dir/path/info.txt"
    head -c $((1000 + RANDOM % 20000)) /dev/urandom >"$dir/path/sub/data.bin"
    printf "INSERT INTO db_dbnode (uuid, node_type, process_type, label, description, ctime, mtime, attributes, extras, user_id) VALUES ('%s', 'data.folder.FolderData.', NULL, 'writer-%d', '', now(), now(), '{}', '{}', %d);\n" \
      "$uuid" "$i" "$user_id"
  done
}
writer_count() {
  psql -X -At -d "$DSN" -c "SELECT count(*) FROM db_dbnode WHERE label LIKE 'writer-%'"
}
wait_writer_count() { # wait until the writer has committed at least N rows
  local n=$1 t
  for ((t = 0; t < 600; t++)); do
    (($(writer_count) >= n)) && return 0
    sleep 0.1
  done
  fail "the writer did not reach $n rows in 60 s (it has $(writer_count))"
}

writer | psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" >/dev/null &
writer_pid=$!
on_exit "touch '$WORK/stop'; kill $writer_pid 2>/dev/null; wait $writer_pid 2>/dev/null"

wait_writer_count 20
note "backup #1 while the writer runs ($(writer_count) writer rows so far)"
before1=$(writer_count)
assert_exit 0 "backup #1 (writer running)" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
  --repository "$SRC" --jobs 2 --json
b1=$LAST_STDOUT
after1=$(writer_count)
note "backup #1: writer rows $before1 before, $after1 after; $(json_fields "$b1" seconds) s"
((after1 > before1)) || fail "the writer committed nothing during backup #1 ($before1 -> $after1): no overlap tested"

wait_writer_count $((after1 + 10))
before2=$(writer_count)
assert_exit 0 "backup #2 (incremental, writer running)" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
  --repository "$SRC" --jobs 2 --json
b2=$LAST_STDOUT
wait_writer_count $(($(writer_count) + 10))
touch "$WORK/stop"
wait "$writer_pid" || fail "the writer failed"
total_writer=$(writer_count)
note "writer stopped after $total_writer nodes"
assert_exit 0 "backup #3 (quiet)" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --jobs 2 --json
b3=$LAST_STDOUT

# check_snapshot ID BACKUP_JSON — restore the snapshot and check the invariants listed above.
check_snapshot() {
  local id=$1 bj=$2 target repo nodes
  target=$(new_db2 "dbcons_r$id")
  repo=$OUT/r$id
  assert_exit 0 "restore snapshot $id (files and database)" -- "$STRATA" restore --dest "$DEST" \
    --snapshot "$id" --to-dsn "$target" --to-repository "$repo" --json
  local rj=$LAST_STDOUT
  mapfile -t f < <(json_fields "$rj" database.verified files.folders)
  assert_eq true "${f[0]}" "restore $id: database verified"
  nodes=$(json_fields "$bj" nodes)
  assert_eq "$nodes" "$(psql -X -At -d "$target" -c 'SELECT count(*) FROM db_dbnode')" \
    "snapshot $id: restored db_dbnode rows vs the backup's node count"

  # For every node row of the restored database: its folder in the source (if any) against the
  # restored one, entry by entry (type, mode, mtime, size, sha256, link target); and every
  # restored folder must belong to a node row.
  psql -X -At -d "$target" -c 'SELECT uuid FROM db_dbnode ORDER BY id' >"$WORK/uuids$id"
  python3 - "$SRC" "$WORK/uuids$id" "$repo" "$WORK/report$id" <<'EOF'
import hashlib, os, stat, sys
src, uuids_file, repo, report_file = sys.argv[1:]
uuids = [u.strip() for u in open(uuids_file) if u.strip()]
uuid_set = set(uuids)

def rel(u):
    return os.path.join("repository", "node", u[0:2], u[2:4], u[4:])

def listing(folder):
    out = []
    for top, dirs, files in os.walk(folder):
        for name in [""] + dirs + files if top == folder else dirs + files:
            full = os.path.join(top, name) if name else folder
            st = os.lstat(full)
            r = os.path.relpath(full, folder)
            if stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()
                out.append(("f", r, oct(stat.S_IMODE(st.st_mode)), st.st_mtime_ns // 10**9, st.st_size, h))
            elif stat.S_ISDIR(st.st_mode):
                out.append(("d", r, oct(stat.S_IMODE(st.st_mode)), st.st_mtime_ns // 10**9))
            elif stat.S_ISLNK(st.st_mode):
                out.append(("l", r, os.readlink(full)))
            else:
                out.append(("?", r, oct(st.st_mode)))
    return sorted(out)

problems = []
with_folder = 0
for u in uuids:
    s = os.path.join(src, rel(u))
    d = os.path.join(repo, rel(u))
    if not os.path.isdir(s):
        if os.path.lexists(d):
            problems.append("node %s has no folder in the source but one was restored" % u)
        continue
    with_folder += 1
    if not os.path.isdir(d):
        problems.append("node row %s: its source folder was not restored" % u)
        continue
    a, b = listing(s), listing(d)
    if a != b:
        diff = sorted(set(a) ^ set(b))[:4]
        problems.append("node %s: restored folder differs from the source: %r" % (u, diff))
orphans = 0
node_root = os.path.join(repo, "repository", "node")
if os.path.isdir(node_root):
    for x in os.listdir(node_root):
        for y in os.listdir(os.path.join(node_root, x)):
            for rest in os.listdir(os.path.join(node_root, x, y)):
                if x + y + rest not in uuid_set:
                    orphans += 1
                    problems.append("restored folder %s/%s/%s belongs to no node row" % (x, y, rest))
with open(report_file, "w") as f:
    f.write("%d %d %d\n" % (with_folder, orphans, len(problems)))
    for p in problems[:10]:
        f.write(p + "\n")
EOF
  local with_folder orphans problems
  read -r with_folder orphans problems <"$WORK/report$id"
  ((problems == 0)) || fail "snapshot $id: $problems problems ($orphans orphan folders): $(tail -n +2 "$WORK/report$id")"
  assert_eq "$with_folder" "${f[1]}" "snapshot $id: restored folders vs node rows with a source folder"

  # Every writer row of the restored database has its folder (the writer always makes one).
  local writer_rows writer_missing=0
  writer_rows=$(psql -X -At -d "$target" -c "SELECT count(*) FROM db_dbnode WHERE label LIKE 'writer-%'")
  while IFS= read -r u; do
    [[ -f $repo/repository/node/${u:0:2}/${u:2:2}/${u:4}/path/sub/data.bin ]] || writer_missing=$((writer_missing + 1))
  done < <(psql -X -At -d "$target" -c "SELECT uuid FROM db_dbnode WHERE label LIKE 'writer-%'")
  assert_eq 0 "$writer_missing" "snapshot $id: writer rows restored without their folder"
  LAST_TARGET=$target
  LAST_WRITER_ROWS=$writer_rows
}

note "restoring snapshot 1"
check_snapshot 1 "$b1"
w1=$LAST_WRITER_ROWS
((w1 >= before1)) || fail "snapshot 1 has $w1 writer rows, but $before1 were committed before the backup started"
((w1 <= after1)) || fail "snapshot 1 has $w1 writer rows, but only $after1 were committed when it ended"

note "restoring snapshot 2"
check_snapshot 2 "$b2"
w2=$LAST_WRITER_ROWS
((w2 >= before2 && w2 > w1)) || fail "snapshot 2 has $w2 writer rows (snapshot 1: $w1, committed before backup #2: $before2)"
((w2 < total_writer)) || fail "snapshot 2 has all $total_writer writer rows: it cannot have been taken while the writer ran"

note "restoring snapshot 3"
check_snapshot 3 "$b3"
assert_eq "$total_writer" "$LAST_WRITER_ROWS" "snapshot 3: every writer row"
assert_same_repo "$SRC" "$OUT/r3" "snapshot 3 (quiet) vs source"
assert_eq "$(db_checksums "$DSN")" "$(db_checksums "$LAST_TARGET")" "snapshot 3: table checksums vs source"
note "ok: writer rows in snapshots 1/2/3: $w1/$w2/$total_writer"
