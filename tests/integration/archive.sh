#!/usr/bin/env bash
# archive: restore --from-archive of an export is byte-identical to the source (assert_same_repo),
# from a file and from standard input, and --dump-dir gets the dump files as restore writes
# them, and --to-dsn restores its database (row checksums); names that are not ASCII survive
# the C locale. Hostile archives (crafted with python3's tarfile from a good export) are refused with
# one error line and the documented exit code, and nothing is written outside the target:
# '..' and absolute names, a link followed by a file written through it, a hard link out of the
# tree, a device and a fifo, a 5000-byte name, an entry not in the manifest or twice in the
# archive, a manifest that lies about a size or a hash (that file is removed), a listed entry
# missing, no manifest first, a truncated stream.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

DSN=$(new_db archive)
SRC=$(new_tmp)
W=$(new_tmp)
D=$W/dest
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 30 --quiet >/dev/null
node=$(find "$SRC/repository/node" -mindepth 3 -maxdepth 3 -type d -print -quit)
printf 'x\n' >"$node/sub dir ü"
assert_exit 0 "init" -- "$STRATA" init --dest "$D"
assert_exit 0 "backup" -- "$STRATA" backup --dest "$D" --dsn "$DSN" --repository "$SRC"
assert_exit 0 "export" -- "$STRATA" export --dest "$D" --output "$W/good.tar.zst"
assert_exit 0 "export plain" -- "$STRATA" export --dest "$D" --output "$W/good.tar"

note "round trip from a file, with --dump-dir"
assert_exit 0 "restore --from-archive" -- "$STRATA" restore --from-archive "$W/good.tar.zst" \
  --to-repository "$W/r1" --dump-dir "$W/dump1" --json
assert_eq 1 "$(json_get "$LAST_STDOUT" snapshot)" "--json: snapshot"
assert_same_repo "$SRC" "$W/r1" "restore --from-archive vs the source"
assert_exit 0 "restore --dump-dir" -- "$STRATA" restore --dest "$D" --dump-dir "$W/dump0"
# The dump files' own mtimes are the time of each restore: compare names and content.
sums() { (cd "$1" && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k 2); }
[[ -n $(sums "$W/dump0") ]] || fail "restore --dump-dir wrote nothing"
assert_eq "$(sums "$W/dump0")" "$(sums "$W/dump1")" "the archive's dump directory"

# Sub-second mtimes too (tree_listing compares whole seconds): as strata restore writes them.
assert_exit 0 "restore" -- "$STRATA" restore --dest "$D" --to-repository "$W/r0"
mtimes() { (cd "$1" && find . -mindepth 1 -printf '%p %T@\n' | LC_ALL=C sort); }
assert_eq "$(mtimes "$W/r0")" "$(mtimes "$W/r1")" "restore --from-archive: nanosecond mtimes"

note "round trip from standard input"
assert_exit 0 "restore --from-archive -" -- sh -c "'$STRATA' restore --from-archive - --to-repository '$W/r2' <'$W/good.tar.zst'"
assert_same_repo "$SRC" "$W/r2" "restore --from-archive - vs the source"
"$STRATA" export --dest "$D" --output - | "$STRATA" restore --from-archive - --to-repository "$W/r3" ||
  fail "export - | restore --from-archive -"
assert_same_repo "$SRC" "$W/r3" "export | restore --from-archive -"

note "--to-dsn: the archive's database/ through pg_restore"
TARGET=$(new_db2 archive_target)
assert_exit 0 "restore --from-archive --to-dsn" -- "$STRATA" restore --from-archive "$W/good.tar.zst" \
  --to-repository "$W/r4" --to-dsn "$TARGET" --json
assert_eq True "$(python3 -c 'import json,sys; print("database" in json.loads(sys.argv[1]))' "$LAST_STDOUT")" "--json: database"
assert_eq true "$(json_get "$LAST_STDOUT" database.verified)" "--to-dsn: row counts verified against the manifest"
[[ $(json_get "$LAST_STDOUT" database.tables) -gt 0 ]] || fail "--to-dsn: no table verified"
assert_eq "$(db_checksums "$DSN")" "$(db_checksums "$TARGET")" "restore --from-archive --to-dsn: checksums"
assert_same_repo "$SRC" "$W/r4" "restore --from-archive --to-dsn: files"
assert_exit 9 "--to-dsn into a database with tables" -- "$STRATA" restore --from-archive "$W/good.tar.zst" \
  --to-repository "$W/r5" --to-dsn "$TARGET"
assert_one_error "--to-dsn into a database with tables"

note "in the C locale: names that are not ASCII go through as bytes"
assert_exit 0 "export, C locale" -- env LC_ALL=C "$STRATA" export --dest "$D" --output "$W/c.tar"
assert_exit 0 "restore --from-archive, C locale" -- env LC_ALL=C "$STRATA" restore --from-archive "$W/c.tar" \
  --to-repository "$W/r6"
assert_same_repo "$SRC" "$W/r6" "export and restore --from-archive in the C locale"
[[ -n $(LC_ALL=C find "$SRC/repository" -name '*[! -~]*' -print -quit) ]] || fail "the source has no name that is not ASCII"

note "a non-empty target, a usage error"
assert_exit 9 "non-empty target" -- "$STRATA" restore --from-archive "$W/good.tar" --to-repository "$W/r1"
assert_one_error "non-empty target"
assert_exit 2 "--from-archive --snapshot" -- "$STRATA" restore --from-archive "$W/good.tar" --to-repository "$W/x" \
  --snapshot 1

OUT=$W/outside
mkdir "$OUT"
printf 'keep\n' >"$OUT/victim"
hostile() { # CASE EXIT
  local case=$1 code=$2 t=$W/t-$1
  python3 "$(dirname "$0")/archive_hostile.py" "$W/good.tar" "$OUT" "$case" "$W/$case.tar" ||
    fail "could not craft '$case'"
  assert_exit "$code" "hostile $case" -- "$STRATA" restore --from-archive "$W/$case.tar" --to-repository "$t"
  assert_one_error "hostile $case"
  assert_eq "victim" "$(ls -A "$OUT")" "hostile $case: nothing written outside the target"
  assert_eq "keep" "$(cat "$OUT/victim")" "hostile $case: the file outside is untouched"
  [[ ! -e $W/dotdot && ! -e /absolute ]] || fail "hostile $case: a file escaped"
}
for c in dotdot absolute hardlink device fifo long-name not-listed size-lie missing no-manifest twice; do
  note "hostile: $c"
  hostile "$c" 8
done
note "hostile: symlink-through"
hostile symlink-through 9
[[ -L $W/t-symlink-through/repository/evil ]] || fail "the link itself is created as a link"
note "hostile: hash-lie"
hostile hash-lie 8
assert_contains "$LAST_STDERR" "does not match its manifest's hash" "hash-lie: the reason"
rel=$(python3 -c 'import json,sys,tarfile; t=tarfile.open(sys.argv[1]); print(next(m.name for m in t.getmembers()[1:] if m.isfile() and m.size>0 and m.name.startswith("repository/")))' "$W/good.tar")
[[ ! -e $W/t-hash-lie/$rel ]] || fail "hash-lie: the file that failed its check is left behind"

note "hostile: truncated"
head -c $(($(stat -c %s "$W/good.tar") / 2)) "$W/good.tar" >"$W/trunc.tar"
assert_exit 8 "truncated" -- "$STRATA" restore --from-archive "$W/trunc.tar" --to-repository "$W/t-trunc"
assert_one_error "truncated"
head -c $(($(stat -c %s "$W/good.tar.zst") / 2)) "$W/good.tar.zst" >"$W/trunc.tar.zst"
assert_exit 8 "truncated zstd" -- "$STRATA" restore --from-archive "$W/trunc.tar.zst" --to-repository "$W/t-trunc2"
assert_one_error "truncated zstd"
assert_exit 7 "missing archive" -- "$STRATA" restore --from-archive "$W/none.tar" --to-repository "$W/t-none"
assert_one_error "missing archive"
