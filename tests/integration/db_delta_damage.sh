#!/usr/bin/env bash
# db_delta_damage: a dump delta whose basis is damaged is found, and never turns into wrong rows.
# Two --database-only backups with 1% of db_dbnode's rows changed between them, so that the
# second stores db_dbnode's data file as a zstd delta against the first. Then one byte of the
# first snapshot's copy of that file is flipped in its pack:
#   - check --read-data exits 8 naming the pack;
#   - restore of the second snapshot (its delta's basis is the damaged copy) exits 8 with one
#     error line, and restore of the first too;
#   - the next backup cannot rebuild the previous version to delta against: it warns and stores
#     the file in full, exits 0, and its snapshot restores to exactly the rows it backed up.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

export PGTZ=UTC PGDATESTYLE=ISO

DSN=$(new_db dbdamage)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
SUMS=$(new_tmp)

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 50 --size-scale 0.1 --quiet >/dev/null
add_bulk_nodes "$DSN" 12000
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"

change_rows() { # ROUND
  psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" \
    -c "UPDATE db_dbnode SET label = label || 'x', mtime = now() WHERE id % 100 = $1" || fail "update"
}

backup_db() { # N
  assert_exit 0 "backup #$1 (--database-only)" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
    --repository "$SRC" --database-only --json
}

backup_db 1
change_rows 1
backup_db 2
KEY='TABLE DATA public db_dbnode'
storage=$(sqlite3 "$DEST/catalog.db" "SELECT storage, base_snapshot FROM dump_files WHERE snapshot_id = 2 AND table_key = '$KEY'")
assert_eq "2|1" "$storage" "snapshot 2's db_dbnode file: a zstd delta (storage 2) against snapshot 1"

# The first object of snapshot 1's full copy of db_dbnode's file, and where it is.
read -r pack offset size < <(sqlite3 -separator ' ' "$DEST/catalog.db" "
  SELECT p.name, o.offset, o.stored_size FROM dump_files d
  JOIN objects o ON o.hash = coalesce(substr(d.content_chunks, 1, 16), d.content_hash)
  JOIN packs p ON p.id = o.pack_id
  WHERE d.snapshot_id = 1 AND d.table_key = '$KEY'")
[[ -n ${pack:-} && -f $DEST/packs/$pack ]] || fail "no pack holds snapshot 1's copy of db_dbnode's file"
note "snapshot 1's db_dbnode copy: $size bytes at $offset of $pack; flipping its middle byte"
flip_byte "$DEST/packs/$pack" $((offset + size / 2))

assert_exit 8 "check --read-data of the damaged destination" -- "$STRATA" check --dest "$DEST" --read-data
assert_contains "$LAST_STDERR" "$pack" "check names the damaged pack"
for n in 2 1; do
  target=$(new_db2 "dbdamage_r$n")
  assert_exit 8 "restore of snapshot $n over the damaged basis" -- "$STRATA" restore --dest "$DEST" \
    --snapshot "$n" --to-dsn "$target"
  assert_one_error "restore of snapshot $n"
done

change_rows 2
db_checksums "$DSN" >"$SUMS/3"
backup_db 3
assert_contains "$LAST_STDERR" "could not be rebuilt" "backup #3 warns that it cannot delta against the damaged version"
assert_eq "0" "$(sqlite3 "$DEST/catalog.db" "SELECT storage FROM dump_files WHERE snapshot_id = 3 AND table_key = '$KEY'")" \
  "snapshot 3 stores db_dbnode's file in full"
target=$(new_db2 dbdamage_r3)
assert_exit 0 "restore of snapshot 3" -- "$STRATA" restore --dest "$DEST" --snapshot 3 --to-dsn "$target"
diff "$SUMS/3" <(db_checksums "$target") >/dev/null || fail "snapshot 3 restores to other rows than were backed up"
note "ok"
