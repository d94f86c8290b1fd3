#!/usr/bin/env bash
# first_hour: the bad inputs a new user tries first get whole one-line messages and the exit
# codes README lists.
#   - init or snapshots on a path that is a file: exit 3, the message whole (names the path and
#     says "Not a directory");
#   - an invalid connection option (--dsn 'bogus=1', even with a host that does not exist):
#     exit 2 before any connection, for backup and restore --to-dsn, nothing written;
#   - a bare name as --dsn is a database name (as libpq reads it): the backup succeeds.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db first_hour)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
WORK=$(new_tmp)
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 30 --quiet >/dev/null

printf 'x' >"$WORK/a-file"
assert_exit 3 "init on a file" -- "$STRATA" init --dest "$WORK/a-file"
assert_one_error "init on a file"
assert_contains "$LAST_STDERR" "'$WORK/a-file': Not a directory" "init on a file: whole message"
assert_exit 3 "snapshots on a file" -- "$STRATA" snapshots --dest "$WORK/a-file"
assert_one_error "snapshots on a file"
assert_contains "$LAST_STDERR" "'$WORK/a-file': Not a directory" "snapshots on a file: whole message"

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
before=$(tree_digest "$DEST")
assert_exit 2 "backup --dsn 'bogus=1'" -- "$STRATA" backup --dest "$DEST" --dsn 'bogus=1 host=/nonexistent' \
  --repository "$SRC"
assert_one_error "backup --dsn 'bogus=1'"
assert_contains "$LAST_STDERR" 'invalid connection option "bogus"' "backup --dsn 'bogus=1': reason"
assert_eq "$before" "$(tree_digest "$DEST")" "the destination after a refused --dsn"

# A bare name is the database of that name, on the server PGHOST/PGPORT name.
dbname=$(psql -X -At -d "$DSN" -c 'select current_database()')
assert_exit 0 "backup --dsn <bare database name>" -- "$STRATA" backup --dest "$DEST" --dsn "$dbname" \
  --repository "$SRC" --json
assert_eq 30 "$(json_get "$LAST_STDOUT" nodes)" "backup with a bare database name: nodes"

assert_exit 2 "restore --to-dsn 'bogus=1'" -- "$STRATA" restore --dest "$DEST" --to-dsn 'bogus=1 host=/nonexistent'
assert_contains "$LAST_STDERR" 'strata: error: invalid connection string: invalid connection option "bogus"' \
  "restore --to-dsn 'bogus=1': reason"
note "ok"
