#!/usr/bin/env bash
# export: strata export writes one snapshot as a tar archive that stock tools restore. The
# archive lists with stock `tar -tf`, manifest.json first; stock `tar -xf` gives a repository
# identical to the source (modes, mtimes, links, folder mtimes) and to what restore writes;
# stock pg_restore of its database/ into a fresh database gives the source's row checksums.
# The manifest lists exactly the archive's other entries, and every file's size and XXH3-128
# hash as strata stores them. --output - writes the same entries to stdout (what --output FILE
# writes, content included); the format comes from the name or --format (tar, tar.gz, tar.zst); a
# name of no known kind is a usage error. After an incremental backup that deleted and added
# nodes (and changed folder modes), the export of each snapshot is entry for entry what restore
# of it writes (manifest and tar -xf: types, sizes, modes, mtimes, targets), and the archive
# never comes back into a folder it left. A failed export (an unwritable output, a damaged
# pack; to a file and to stdout) exits non-zero with one error line and leaves no output and
# nothing in TMPDIR.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

DSN=$(new_db export)
SRC=$(new_tmp)
W=$(new_tmp)
D=$W/dest
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 40 --quiet >/dev/null
node=$(add_odd_entries "$SRC")
assert_exit 0 "init" -- "$STRATA" init --dest "$D"
assert_exit 0 "backup" -- "$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC"
src_sums=$(db_checksums "$DSN")

note "export to a .tar.zst file"
A=$W/snap.tar.zst
assert_exit 0 "export" -- "$STRATA" export --dest "$D" --output "$A" --json
assert_eq 1 "$(json_get "$LAST_STDOUT" snapshot)" "export --json: snapshot"
src_files=$(find "$SRC/repository" -type f | wc -l)
db_files=$("$STRATA" restore --dest "$D" --dump-dir "$W/dump" >/dev/null && find "$W/dump" -type f | wc -l)
assert_eq "$((src_files + db_files))" "$(json_get "$LAST_STDOUT" files)" "export --json: files"
assert_eq "$(find "$SRC/repository" -type l | wc -l)" "$(json_get "$LAST_STDOUT" symlinks)" "export --json: symlinks"
[[ $(zstd -dc "$A" | head -c 4 | wc -c) == 4 ]] || fail "the .tar.zst is not zstd"

note "stock tar -tf"
tar -tf "$A" >"$W/list" || fail "stock tar cannot list the archive"
assert_eq manifest.json "$(head -n 1 "$W/list")" "the first entry"
grep -qx 'database/toc.dat' "$W/list" || fail "no database/toc.dat in the archive"
grep -q '^repository/node/../../' "$W/list" || fail "no node folder in the archive"

note "the manifest lists exactly the other entries, with sizes and hashes"
X=$W/x
mkdir "$X"
tar -xf "$A" -C "$X" || fail "stock tar -xf failed"
tar --quoting-style=literal -tf "$A" >"$W/list-literal"
python3 - "$X" "$W/list-literal" <<'PY' || fail "manifest check failed"
import json, os, sys
root, listing = sys.argv[1], sys.argv[2]
m = json.load(open(os.path.join(root, "manifest.json")))
assert m["format"] == "strata-archive" and m["version"] == 1 and m["hash"] == "xxh3-128", m
assert m["snapshot"]["id"] == 1
names = [l.rstrip("\n").rstrip("/") for l in open(listing)][1:]
listed = [e["path"] for e in m["entries"]]
assert sorted(names) == sorted(listed), (set(names) ^ set(listed))
for e in m["entries"]:
    p = os.path.join(root, e["path"])
    st = os.lstat(p)
    if e["type"] == "file":
        assert st.st_size == e["size"], e
        assert len(e["hash"]) == 32, e
    elif e["type"] == "symlink":
        assert os.readlink(p) == e["target"], e
PY
# The manifest's hashes are strata's: the same as the catalog's for one file (cat checks it).
f=$(find "$node" -maxdepth 1 -type f -name '.hidden')
rel=${f#"$SRC"/}
h=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print([e for e in m["entries"] if e["path"]==sys.argv[2]][0]["size"])' \
  "$X/manifest.json" "$rel")
assert_eq 7 "$h" "the manifest's size of the dot-file"

note "stock tar -xf: the repository as the source and as restore writes it"
rm "$X/manifest.json"
rm -r "$X/database"
assert_same_repo "$SRC" "$X" "tar -xf of the export vs the source"
assert_exit 0 "restore" -- "$STRATA" restore --dest "$D" --to-repository "$W/restored"
assert_same_repo "$W/restored" "$X" "tar -xf of the export vs strata restore"

note "stock pg_restore of database/"
Y=$W/y
mkdir "$Y"
tar -xf "$A" -C "$Y" database
PLAIN=$(new_db2 export_plain)
pg_restore --exit-on-error --no-owner -d "$PLAIN" "$Y/database" || fail "stock pg_restore of database/ failed"
assert_eq "$src_sums" "$(db_checksums "$PLAIN")" "stock pg_restore of the export: checksums"

note "--output - (stdout, tar.zst by default) and the other formats"
"$STRATA" export --dest "$D" --output - | zstd -dc | tar -tf - >"$W/list-stdout" || fail "export to stdout"
assert_eq "$(cat "$W/list")" "$(cat "$W/list-stdout")" "export to stdout: the same entries"
assert_exit 0 "export .tar.gz" -- "$STRATA" export --dest "$D" --output "$W/s.tar.gz"
assert_eq "$(cat "$W/list")" "$(tar -tzf "$W/s.tar.gz")" "tar.gz: the same entries"
assert_exit 0 "export --format tar" -- "$STRATA" export --dest "$D" --output "$W/plain" --format tar
assert_eq "$(cat "$W/list")" "$(tar -tf "$W/plain")" "tar: the same entries"
[[ $(head -c 262 "$W/plain" | tail -c 5) == ustar ]] || fail "--format tar is not a plain tar"

note "usage errors"
assert_exit 2 "unknown name" -- "$STRATA" export --dest "$D" --output "$W/s.zip"
assert_one_error "unknown name"
assert_exit 2 "--json with --output -" -- "$STRATA" export --dest "$D" --output - --json
assert_exit 2 "no --output" -- "$STRATA" export --dest "$D"
assert_exit 7 "unknown snapshot" -- "$STRATA" export --dest "$D" --snapshot 9 --output "$W/n.tar"
[[ ! -e $W/n.tar ]] || fail "a failed export left its output"

note "--output - writes what --output FILE writes"
"$STRATA" export --dest "$D" --output - --format tar >"$W/stdout.tar" || fail "export --output - --format tar"
# Entry for entry, content included; only the dump's mtimes differ (it is rebuilt on each export).
python3 - "$W/stdout.tar" "$W/plain" <<'PY' || fail "export to stdout differs from the export to a file"
import hashlib, sys, tarfile
def members(path):
    out = []
    with tarfile.open(path) as t:
        for m in t:
            data = t.extractfile(m).read() if m.isfile() else b""
            if m.name == "manifest.json":
                data = b""  # holds the dump's mtimes
            mtime = None if m.name.startswith("database") else m.pax_headers.get("mtime", m.mtime)
            out.append((m.name, m.type, m.mode, mtime, m.size, m.linkname, hashlib.sha256(data).hexdigest()))
    return out
a, b = members(sys.argv[1]), members(sys.argv[2])
assert a == b, [x for x, y in zip(a, b) if x != y][:3]
PY

note "after an incremental backup that deleted and added nodes: each snapshot's export is what restore writes"
gone=$(psql -X -At -v ON_ERROR_STOP=1 -d "$DSN" -c \
  "SELECT string_agg(id::text, ',') FROM (SELECT id FROM db_dbnode ORDER BY id LIMIT 5 OFFSET 3) s")
delete_nodes "$DSN" "$gone"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 12 --mode add --quiet >/dev/null
# Folder modes that are not restore's default, recorded by the second backup.
chmod 0750 "$SRC/repository/node"
chmod 0711 "$SRC/repository"
assert_exit 0 "second backup" -- "$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC" --json
assert_eq 5 "$(json_get "$LAST_STDOUT" deleted_nodes)" "second backup: deleted nodes"
for snap in 1 2; do
  assert_exit 0 "export of snapshot $snap" -- "$STRATA" export --dest "$D" --snapshot "$snap" --output "$W/s$snap.tar"
  mkdir "$W/x$snap"
  tar -xf "$W/s$snap.tar" -C "$W/x$snap" || fail "stock tar -xf of snapshot $snap failed"
  assert_exit 0 "restore of snapshot $snap" -- "$STRATA" restore --dest "$D" --snapshot "$snap" --to-repository "$W/r$snap"
  # The manifest describes what restore writes (types, sizes, modes, mtimes, targets), entry for
  # entry; in the archive a folder comes before what is below it, which comes before its next
  # sibling (stock tar sets a folder's mtime once it has left it).
  python3 - "$W/x$snap" "$W/r$snap" "$W/s$snap.tar" <<'PY' || fail "snapshot $snap: manifest or order check failed"
import json, os, stat, sys, tarfile
x, r, archive = sys.argv[1], sys.argv[2], sys.argv[3]
m = json.load(open(os.path.join(x, "manifest.json")))
listed = {e["path"]: e for e in m["entries"] if e["path"].split("/")[0] == "repository"}
on_disk = set()
for top, dirs, files in os.walk(os.path.join(r, "repository")):
    for n in [top] + [os.path.join(top, f) for f in dirs + files]:
        on_disk.add(os.path.relpath(n, r))
assert on_disk == set(listed), set(listed) ^ on_disk
for path, e in listed.items():
    st = os.lstat(os.path.join(r, path))
    kind = "dir" if stat.S_ISDIR(st.st_mode) else "symlink" if stat.S_ISLNK(st.st_mode) else "file"
    assert e["type"] == kind, (e, kind)
    assert e["mode"] == stat.S_IMODE(st.st_mode), (e, oct(st.st_mode))
    assert e["mtime_ns"] == st.st_mtime_ns, (e, st.st_mtime_ns)
    if kind == "file":
        assert e["size"] == st.st_size, e
    if kind == "symlink":
        assert e["target"] == os.readlink(os.path.join(r, path)), e
names = [t.name.rstrip("/") for t in tarfile.open(archive)]
assert names[0] == "manifest.json", names[0]
open_dirs, left = [], set()
for n in names[1:]:
    parent = os.path.dirname(n)
    while open_dirs and open_dirs[-1] != parent:
        left.add(open_dirs.pop())
    assert parent == "" or open_dirs, ("entry before its folder", n)
    assert parent not in left, ("back into a folder already left", n)
    open_dirs.append(n)
PY
  rm -r "$W/x$snap/manifest.json" "$W/x$snap/database"
  assert_same_repo "$W/r$snap" "$W/x$snap" "snapshot $snap: tar -xf of the export vs strata restore"
done
[[ $(stat -c %a "$W/x2/repository/node") == 750 ]] || fail "the mode of repository/node in snapshot 2"

note "a failed export: one error line, a non-zero exit, no output, no temporary files"
T=$W/tmpdir
mkdir "$T"
assert_exit 9 "export to an unwritable place" -- env TMPDIR="$T" "$STRATA" export --dest "$D" \
  --output "$W/no/such/folder/x.tar"
assert_one_error "export to an unwritable place"
BAD=$W/bad
cp -a "$D" "$BAD"
pack=$(ls -S "$BAD"/packs/*.pack | head -n 1)
size=$(stat -c %s "$pack")
# shellcheck disable=SC2046  # one offset per argument
flip_byte "$pack" $(seq $((size / 4)) $((size / 8)) $((size - 1)))
assert_exit 8 "export of a damaged pack" -- env TMPDIR="$T" "$STRATA" export --dest "$BAD" --snapshot 1 \
  --output "$W/bad.tar"
assert_one_error "export of a damaged pack"
[[ ! -e $W/bad.tar ]] || fail "a failed export left its output"
assert_exit 8 "export of a damaged pack to stdout" -- env TMPDIR="$T" bash -c '"$0" export --dest "$1" --snapshot 1 \
  --output - >/dev/null' "$STRATA" "$BAD"
assert_one_error "export of a damaged pack to stdout"
assert_eq "" "$(ls -A "$T")" "what failed exports left in TMPDIR"
