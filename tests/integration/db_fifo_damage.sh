#!/usr/bin/env bash
# db_fifo_damage: restore --to-dsn serves large dump files to pg_restore through named pipes,
# and a damaged one fails the restore cleanly. One --database-only backup of a database whose
# db_dbnode data file is above the 1 MiB FIFO threshold:
#   - restore into a new database says it serves files through named pipes and restores
#     exactly the rows backed up;
#   - after one byte of that file's copy is flipped in its pack, restore into a database that
#     does not exist yet exits 8 with one error line naming the dump file, leaves no
#     pg_restore running and no database behind;
#   - a second backup after 1% of db_dbnode's rows changed stores that file as a zstd delta,
#     which restore patches into its named pipe (the rows as backed up), and which fails the
#     same clean way once its basis is damaged.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

export PGTZ=UTC PGDATESTYLE=ISO

DSN=$(new_db dbfifo)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
SUMS=$(new_tmp)

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 50 --size-scale 0.1 --quiet >/dev/null
add_bulk_nodes "$DSN" 12000
db_checksums "$DSN" >"$SUMS/source"
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
assert_exit 0 "backup (--database-only)" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
  --repository "$SRC" --database-only --json

KEY='TABLE DATA public db_dbnode'
read -r name fsize < <(sqlite3 -separator ' ' "$DEST/catalog.db" \
  "SELECT name, size FROM dump_files WHERE snapshot_id = 1 AND table_key = '$KEY'")
((fsize > 1048576)) || fail "db_dbnode's dump file is $fsize bytes, not above the 1 MiB FIFO threshold"

target=$(new_db2 dbfifo_ok)
assert_exit 0 "restore through named pipes" -- "$STRATA" restore -v --dest "$DEST" --snapshot 1 --to-dsn "$target"
assert_contains "$LAST_STDERR" "through named pipes" "restore serves the large files through named pipes"
diff "$SUMS/source" <(db_checksums "$target") >/dev/null || fail "the FIFO restore gives other rows than were backed up"

# A zstd delta (1% of db_dbnode's rows changed) is patched into its named pipe.
psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" -c "UPDATE db_dbnode SET label = label || 'x' WHERE id % 100 = 1"
db_checksums "$DSN" >"$SUMS/second"
assert_exit 0 "backup #2 (--database-only)" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
  --repository "$SRC" --database-only --json
read -r name2 storage < <(sqlite3 -separator ' ' "$DEST/catalog.db" \
  "SELECT name, storage FROM dump_files WHERE snapshot_id = 2 AND table_key = '$KEY'")
assert_eq 2 "$storage" "db_dbnode's file of snapshot 2 is a zstd delta"
target=$(new_db2 dbfifo_delta)
assert_exit 0 "restore of a delta through its named pipe" -- "$STRATA" restore -v --dest "$DEST" --snapshot 2 \
  --to-dsn "$target"
assert_contains "$LAST_STDERR" "through named pipes" "restore serves the delta through a named pipe"
diff "$SUMS/second" <(db_checksums "$target") >/dev/null ||
  fail "the FIFO restore of the delta gives other rows than were backed up"

read -r pack offset size < <(sqlite3 -separator ' ' "$DEST/catalog.db" "
  SELECT p.name, o.offset, o.stored_size FROM dump_files d
  JOIN objects o ON o.hash = coalesce(substr(d.content_chunks, 1, 16), d.content_hash)
  JOIN packs p ON p.id = o.pack_id
  WHERE d.snapshot_id = 1 AND d.table_key = '$KEY'")
[[ -n ${pack:-} && -f $DEST/packs/$pack ]] || fail "no pack holds db_dbnode's file"
note "db_dbnode's file $name: first object $size bytes at $offset of $pack; flipping its middle byte"
flip_byte "$DEST/packs/$pack" $((offset + size / 2))

# A database the restore creates itself, so that it must drop it again on failure.
base=$(new_db2 dbfifo_base)
newname="dbfifo_new_$$_$RANDOM"
fresh="${base% dbname=*} dbname=$newname"
assert_exit 8 "restore of the damaged file through its named pipe" -- "$STRATA" restore --dest "$DEST" \
  --snapshot 1 --to-dsn "$fresh"
assert_one_error "restore of the damaged file"
assert_contains "$LAST_STDERR" "$name" "the error names the dump file"
if pgrep -f "pg_restore.*$newname" >/dev/null; then
  fail "pg_restore is still running after the failed restore"
fi
exists=$(psql -X -At -d "$base" -c "SELECT count(*) FROM pg_database WHERE datname = '$newname'")
assert_eq "0" "$exists" "the database the failed restore created is dropped"

# The delta's basis (snapshot 1's copy) is damaged: found before pg_restore starts.
assert_exit 8 "restore of a delta on the damaged basis" -- "$STRATA" restore --dest "$DEST" --snapshot 2 \
  --to-dsn "$fresh"
assert_one_error "restore of a delta on the damaged basis"
assert_contains "$LAST_STDERR" "$name2" "the error names the dump file"
exists=$(psql -X -At -d "$base" -c "SELECT count(*) FROM pg_database WHERE datname = '$newname'")
assert_eq "0" "$exists" "the database the failed restore created is dropped"
note "ok"
