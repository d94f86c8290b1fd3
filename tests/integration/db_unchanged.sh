#!/usr/bin/env bash
# db_unchanged: a backup of a database in which nothing changed since the last snapshot that
# holds it does not run pg_dump (that snapshot's dump is recorded again) nor reconcile node ids;
# anything that could change what pg_dump writes makes the next backup dump again.
# pg_dump is a wrapper (STRATA_PG_BINDIR) that logs every dump it runs.
#   #1 first backup: dumps.                 #2 nothing changed: reused from #1, not reconciled.
#   #3 an empty transaction took an xid and committed: dumps.
#   #4 a transaction updated a node and is still open: nothing committed, reused from #3 (an
#      insert would have advanced db_dbnode's sequence, which pg_dump records: that dumps).
#   #5 that transaction committed: dumps, the update is in it.
#   #6 -v off a terminal: reused, and the one-line summary says so.
#   #7 --full-scan: the ids are reconciled anyway, the dump is still reused.
#   #8 nextval() advanced a sequence (no xid): dumps.
# Every snapshot restores to the row checksums recorded after its backup, also after snapshot
# 1 (whose dump files #2 shares) was forgotten and pruned, and check --read-data is clean.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

export PGTZ=UTC PGDATESTYLE=ISO

DSN=$(new_db dbunchanged)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
SUMS=$(new_tmp)
BIN=$(new_tmp)
DUMPS=$BIN/dumps.log

"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 60 --size-scale 0.1 --quiet >/dev/null
# Autovacuum's ANALYZE takes transaction ids: off for this database's tables, analyzed now.
psql -X -q -At -v ON_ERROR_STOP=1 -d "$DSN" -c "SELECT format('ALTER TABLE %I.%I SET (autovacuum_enabled = false,"\
" toast.autovacuum_enabled = false);', schemaname, tablename) FROM pg_tables WHERE schemaname = 'public'" |
  psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" >/dev/null || fail "could not turn autovacuum off"
psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" -c "VACUUM ANALYZE" || fail "VACUUM ANALYZE failed"

major=$(psql -X -At -d "$DSN" -c "SELECT current_setting('server_version_num')::int / 10000")
real_bin=/usr/lib/postgresql/$major/bin
[[ -x $real_bin/pg_dump ]] || fail "no pg_dump in $real_bin"
cat >"$BIN/pg_dump" <<EOF
#!/bin/sh
case " \$* " in *" --snapshot="*) echo dump >>"$DUMPS" ;; esac
exec "$real_bin/pg_dump" "\$@"
EOF
chmod +x "$BIN/pg_dump"
ln -s "$real_bin/pg_restore" "$BIN/pg_restore"
: >"$DUMPS"

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"

dumps_run() { wc -l <"$DUMPS"; }

# backup N EXPECTED_REUSED_FROM EXPECTED_UNCHANGED [OPTION]: one backup, its JSON checked.
backup() {
  local n=$1 reused=$2 unchanged=$3 dumps_before
  dumps_before=$(dumps_run)
  assert_exit 0 "backup #$n" -- env STRATA_PG_BINDIR="$BIN" "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
    --repository "$SRC" --json ${4:+"$4"}
  mapfile -t f < <(json_fields "$LAST_STDOUT" id database.reused_from_snapshot database_unchanged \
    has_database database.dump_files)
  assert_eq "$n" "${f[0]}" "backup #$n: snapshot id"
  assert_eq "$reused" "${f[1]}" "backup #$n: database.reused_from_snapshot"
  assert_eq "$unchanged" "${f[2]}" "backup #$n: database_unchanged"
  assert_eq true "${f[3]}" "backup #$n: has_database"
  ((f[4] > 3)) || fail "backup #$n: only ${f[4]} dump files"
  local expected_dumps=$((dumps_before + 1))
  [[ $reused == null ]] || expected_dumps=$dumps_before
  assert_eq "$expected_dumps" "$(dumps_run)" "backup #$n: pg_dump runs so far"
  db_checksums "$DSN" >"$SUMS/$n"
}

backup 1 null false
backup 2 1 true
assert_eq false "$(json_get "$LAST_STDOUT" reconciled)" "backup #2: reconciled"
assert_eq 0 "$(json_get "$LAST_STDOUT" compared_id_ranges)" "backup #2: compared_id_ranges"
assert_eq "$(json_get "$LAST_STDOUT" nodes)" "$(psql -X -At -d "$DSN" -c 'SELECT count(*) FROM db_dbnode')" \
  "backup #2: nodes"

psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" -c "BEGIN; SELECT txid_current(); COMMIT;" >/dev/null
backup 3 null false

# A transaction that has updated a node and waits for a file to appear before it commits.
GO=$BIN/commit-now
{
  echo "BEGIN; UPDATE db_dbnode SET label = 'late', mtime = now() WHERE id = (SELECT min(id) FROM db_dbnode);"
  while [[ ! -e $GO ]]; do sleep 0.1; done
  echo "COMMIT;"
} | psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" >/dev/null &
writer=$!
on_exit "kill $writer 2>/dev/null || true"
for ((i = 0; i < 200; i++)); do
  open=$(psql -X -At -d "$DSN" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
    AND state = 'idle in transaction' AND backend_xid IS NOT NULL")
  ((open == 1)) && break
  sleep 0.1
done
assert_eq 1 "$open" "transactions open with an updated row"
backup 4 3 true
touch "$GO"
wait "$writer" || fail "the inserting transaction failed"
backup 5 null false
! cmp -s "$SUMS/4" "$SUMS/5" || fail "backup #5: the committed update is not in the table checksums"

assert_exit 0 "backup #6 -v" -- env STRATA_PG_BINDIR="$BIN" "$STRATA" backup --dest "$DEST" --dsn "$DSN" \
  --repository "$SRC" -v
assert_contains "$LAST_STDOUT" "backup: snapshot 6:" "backup #6: summary line"
assert_contains "$LAST_STDOUT" "database unchanged, its dump reused" "backup #6: summary line"
assert_eq 3 "$(dumps_run)" "backup #6: pg_dump runs so far (#1, #3, #5)"
db_checksums "$DSN" >"$SUMS/6"

backup 7 6 false --full-scan
assert_eq true "$(json_get "$LAST_STDOUT" reconciled)" "backup #7 (--full-scan): reconciled"

psql -X -q -At -v ON_ERROR_STOP=1 -d "$DSN" -c "SELECT nextval('db_dbnode_id_seq')" >/dev/null
backup 8 null false

assert_exit 0 "forget 1" -- "$STRATA" forget --dest "$DEST" 1
assert_exit 0 "prune" -- "$STRATA" prune --dest "$DEST" --max-unused 0%
declare -A TARGET
for n in 2 3 4 5 6 7 8; do
  target=$(new_db2 "dbunchanged_r$n")
  TARGET[$n]=$target
  assert_exit 0 "restore snapshot $n --to-dsn" -- "$STRATA" restore --dest "$DEST" --snapshot "$n" \
    --to-dsn "$target" --json
  [[ $LAST_STDOUT =~ \"verified\":\ *true ]] || fail "restore snapshot $n: not verified: $LAST_STDOUT"
  diff "$SUMS/$n" <(db_checksums "$target") >&2 || fail "snapshot $n restores to other rows than were backed up"
done
seq_value() { psql -X -At -d "$1" -c "SELECT last_value FROM db_dbnode_id_seq"; }
assert_eq "$(($(seq_value "${TARGET[7]}") + 1))" "$(seq_value "${TARGET[8]}")" \
  "db_dbnode_id_seq restored from #8: one nextval() ahead of #7's"
assert_exit 0 "check --read-data" -- "$STRATA" check --dest "$DEST" --read-data
echo "db_unchanged: ok"
