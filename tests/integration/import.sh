#!/usr/bin/env bash
# import: strata import adds an exported archive to a destination as a new snapshot. Into an
# empty destination, then restored: the repository is byte-identical to the source (modes,
# mtimes to the nanosecond, links, folder mtimes, a file stored in chunks) and restore --to-dsn
# gives the source's row checksums, verified against the row counts the manifest carried; an
# export of the imported snapshot has the original's entries and nodes (ids, ctimes). Into the
# destination the archive came from: nothing new is stored (deduplicated), and the next backup
# finds nothing new. An archive without the manifest's node list imports too. Hostile archives
# (a lying size or hash, an entry not listed, a listed entry missing, a stray file outside the
# node folders, a truncated stream, no manifest) are refused with one error line and exit 8,
# and leave the destination's snapshots as they were (check passes); a held lock is exit 4.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

DSN=$(new_db import)
SRC=$(new_tmp)
W=$(new_tmp)
D=$W/dest
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 40 --quiet >/dev/null
node=$(add_odd_entries "$SRC")
head -c $((5 * 1024 * 1024 + 7)) /dev/urandom >"$node/big.bin"
assert_exit 0 "init" -- "$STRATA" init --dest "$D"
assert_exit 0 "backup" -- "$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC"
assert_exit 0 "export" -- "$STRATA" export --dest "$D" --output "$W/good.tar.zst"
assert_exit 0 "export plain" -- "$STRATA" export --dest "$D" --output "$W/good.tar"
src_sums=$(db_checksums "$DSN")
mtimes() { (cd "$1" && find . -mindepth 1 -printf '%p %T@ %m\n' | LC_ALL=C sort); }
snapshot_count() { "$STRATA" snapshots --dest "$1" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["snapshots"]))'; }

note "import into an empty destination"
D2=$W/dest2
assert_exit 0 "init dest2" -- "$STRATA" init --dest "$D2"
assert_exit 0 "import" -- "$STRATA" import --dest "$D2" "$W/good.tar.zst" --json
assert_eq 1 "$(json_get "$LAST_STDOUT" id)" "import --json: id"
assert_eq true "$(json_get "$LAST_STDOUT" has_database)" "import --json: has_database"
assert_eq 1 "$(json_get "$LAST_STDOUT" archive_snapshot)" "import --json: archive_snapshot"
assert_eq 40 "$(json_get "$LAST_STDOUT" nodes)" "import --json: nodes"
assert_eq "$(find "$SRC/repository" -type f | wc -l)" "$(json_get "$LAST_STDOUT" files)" "import --json: files"
[[ $(json_get "$LAST_STDOUT" dump_files) -gt 0 ]] || fail "import stored no dump file"
assert_exit 0 "restore the imported snapshot" -- "$STRATA" restore --dest "$D2" --to-repository "$W/r2"
assert_same_repo "$SRC" "$W/r2" "restore of the imported snapshot vs the source"
assert_exit 0 "restore the original" -- "$STRATA" restore --dest "$D" --to-repository "$W/r1"
assert_eq "$(mtimes "$W/r1")" "$(mtimes "$W/r2")" "imported vs original: nanosecond mtimes and modes"
TARGET=$(new_db2 import_target)
assert_exit 0 "restore --to-dsn of the imported snapshot" -- "$STRATA" restore --dest "$D2" --to-dsn "$TARGET" --json
assert_eq true "$(json_get "$LAST_STDOUT" database.verified)" "the imported snapshot's row counts are verified"
assert_eq "$src_sums" "$(db_checksums "$TARGET")" "restore --to-dsn of the imported snapshot: checksums"
assert_exit 0 "check dest2" -- "$STRATA" check --dest "$D2" --read-data

note "the imported snapshot keeps the exported one's record"
assert_exit 0 "export the imported snapshot" -- "$STRATA" export --dest "$D2" --output "$W/again.tar"
python3 - "$W/good.tar" "$W/again.tar" <<'PY' || fail "the re-exported manifest differs"
import json, sys, tarfile
a, b = (json.load(tarfile.open(p).extractfile("manifest.json")) for p in sys.argv[1:3])
assert len(a["nodes"]) == 40 and all(n["id"] > 0 for n in a["nodes"]), a["nodes"][:2]
def entries(m):
    # The dump files' own mtimes are the time of each export's restore.
    return [dict(e, mtime_ns=0) if e["path"].startswith("database") else e for e in m["entries"]]
assert sorted(map(json.dumps, entries(a))) == sorted(map(json.dumps, entries(b))), "entries"
for key in ("nodes", "profile", "schema_version"):
    assert a[key] == b[key], key
for key in ("time_us", "db_time_us", "watermark"):
    assert a["snapshot"][key] == b["snapshot"][key], key
assert a["db_info"]["tables"] == b["db_info"]["tables"]
PY

note "import into the destination it came from: deduplicated"
assert_exit 0 "import into the same destination" -- "$STRATA" import --dest "$D" "$W/good.tar" --json
assert_eq 2 "$(json_get "$LAST_STDOUT" id)" "same destination: id"
assert_eq 0 "$(json_get "$LAST_STDOUT" stored_bytes)" "same destination: stored bytes"
assert_eq 0 "$(json_get "$LAST_STDOUT" new_objects)" "same destination: new objects"
assert_eq 40 "$(json_get "$LAST_STDOUT" replaced_nodes)" "same destination: the view replaced"
assert_exit 0 "restore snapshot 2" -- "$STRATA" restore --dest "$D" --snapshot 2 --to-repository "$W/r3"
assert_same_repo "$SRC" "$W/r3" "restore of the import into the same destination"
assert_exit 0 "backup after the import" -- "$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC" --json
assert_eq 0 "$(json_get "$LAST_STDOUT" new_nodes)" "the backup after the import: nothing new"
assert_exit 0 "check dest" -- "$STRATA" check --dest "$D"

note "from standard input, and an archive whose manifest lists no nodes"
D3=$W/dest3
assert_exit 0 "init dest3" -- "$STRATA" init --dest "$D3"
assert_exit 0 "import -" -- sh -c "'$STRATA' import --dest '$D3' - <'$W/good.tar.zst'"
OUT=$W/outside
mkdir "$OUT"
python3 "$(dirname "$0")/archive_hostile.py" "$W/good.tar" "$OUT" no-nodes "$W/no-nodes.tar" || fail "no-nodes"
assert_exit 0 "import without nodes" -- "$STRATA" import --dest "$D3" "$W/no-nodes.tar"
assert_exit 0 "restore the import without nodes" -- "$STRATA" restore --dest "$D3" --to-repository "$W/r4"
assert_same_repo "$SRC" "$W/r4" "restore of an import without the node list"

note "hostile and damaged archives: refused, earlier snapshots intact"
before=$(snapshot_count "$D2")
refused() { # WHAT FILE
  assert_exit 8 "import $1" -- "$STRATA" import --dest "$D2" "$2"
  assert_one_error "import $1"
  assert_eq "$before" "$(snapshot_count "$D2")" "import $1: no snapshot added"
}
for c in size-lie hash-lie not-listed missing stray no-manifest; do
  python3 "$(dirname "$0")/archive_hostile.py" "$W/good.tar" "$OUT" "$c" "$W/$c.tar" || fail "could not craft '$c'"
  refused "$c" "$W/$c.tar"
done
assert_contains "$LAST_STDERR" "does not start with manifest.json" "no-manifest: the reason"
head -c $(($(stat -c %s "$W/good.tar") * 3 / 4)) "$W/good.tar" >"$W/trunc.tar"
refused truncated "$W/trunc.tar"
head -c $(($(stat -c %s "$W/good.tar.zst") / 2)) "$W/good.tar.zst" >"$W/trunc.tar.zst"
refused "truncated zstd" "$W/trunc.tar.zst"
python3 "$(dirname "$0")/archive_hostile.py" "$W/good.tar" "$OUT" stray "$W/stray.tar"
assert_exit 8 "stray" -- "$STRATA" import --dest "$D2" "$W/stray.tar"
assert_contains "$LAST_STDERR" "'repository/stray' is not a repository, shard or node folder's" "stray: the reason"
assert_exit 0 "check dest2 after the refusals" -- "$STRATA" check --dest "$D2" --read-data
assert_exit 0 "restore after the refusals" -- "$STRATA" restore --dest "$D2" --to-repository "$W/r5"
assert_same_repo "$SRC" "$W/r5" "the imported snapshot after the refusals"

note "the lock, usage errors, a missing archive"
hold_flock "$D2/lock"
assert_exit 4 "import while another run holds the lock" -- "$STRATA" import --dest "$D2" "$W/good.tar"
assert_one_error "import while locked"
release_flock
assert_exit 2 "no archive" -- "$STRATA" import --dest "$D2"
assert_one_error "no archive"
assert_exit 2 "two archives" -- "$STRATA" import --dest "$D2" "$W/good.tar" "$W/good.tar"
assert_exit 7 "missing archive" -- "$STRATA" import --dest "$D2" "$W/none.tar"
assert_one_error "missing archive"
assert_eq "$before" "$(snapshot_count "$D2")" "no snapshot added by the failures"
