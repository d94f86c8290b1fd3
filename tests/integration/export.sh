#!/usr/bin/env bash
# export: strata export writes one snapshot as a tar archive that stock tools restore. The
# archive lists with stock `tar -tf`, manifest.json first; stock `tar -xf` gives a repository
# identical to the source (modes, mtimes, links, folder mtimes) and to what restore writes;
# stock pg_restore of its database/ into a fresh database gives the source's row checksums.
# The manifest lists exactly the archive's other entries, and every file's size and XXH3-128
# hash as strata stores them. --output - writes the same entries to stdout; the format comes
# from the name or --format (tar, tar.gz, tar.zst); a name of no known kind is a usage error.
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
