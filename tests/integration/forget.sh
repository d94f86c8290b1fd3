#!/usr/bin/env bash
# forget: keep rules against a fixed calendar of ten snapshots (their times rewritten in the
# catalog), each rule alone (--dry-run --json: what stays and why) and a combination (applied:
# only the kept snapshots are listed); --dry-run changes nothing; explicit ids forget exactly
# those; no rule is a usage error; forget waits for no lock held by another run (exit 4). Forgetting every snapshot but the last keeps the nodes that
# older snapshots added: the last restores identically and check --read-data is clean; a backup
# after forgetting the newest snapshot still adds nothing. A dump delta chain cut in the middle
# by forget still restores every kept snapshot's database, a backup after forgetting the newest
# deltas against a kept snapshot, and check reports a chain whose base row was deleted by hand (exit 8).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/db_lib.sh"

export PGTZ=UTC PGDATESTYLE=ISO

DSN=$(new_db forget)
SRC=$(new_tmp)
WORK=$(new_tmp)
DEST=$WORK/dest

backup() {
  assert_exit 0 "$1" -- "$STRATA" backup --dest "$2" --dsn "$DSN" --repository "$SRC" --files-only --json
}

note "ten --files-only backups, nodes added between some of them"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 40 --size-scale 0.1 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"
for ((n = 1; n <= 10; n++)); do
  if ((n == 3 || n == 6 || n == 9)); then
    "$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 5 --size-scale 0.1 --mode add --seed "$n" --quiet >/dev/null
  fi
  backup "backup #$n" "$DEST"
  assert_eq "$n" "$(json_get "$LAST_STDOUT" id)" "backup #$n: id"
done
nodes_now=$(json_get "$LAST_STDOUT" nodes)
assert_eq 55 "$nodes_now" "nodes of the last snapshot"

# The calendar (UTC). 2025-12-30 lies in ISO week 2026-W01, with 2026-01-02.
CALENDAR=(
  ""
  "2025-01-15 10:00" "2025-06-10 10:00" "2025-12-30 10:00" "2026-01-02 09:00" "2026-01-05 08:00"
  "2026-01-05 08:30" "2026-01-05 20:00" "2026-01-06 10:00" "2026-01-12 10:00" "2026-01-12 10:45"
)
for ((n = 1; n <= 10; n++)); do
  us=$(($(date -u -d "${CALENDAR[n]}" +%s) * 1000000))
  sqlite3 "$DEST/catalog.db" "UPDATE snapshots SET time_us = $us WHERE id = $n" || fail "rewriting time_us of $n"
done

# kept_ids JSON: the ids a forget --json keeps, space-separated.
kept_ids() {
  python3 -c 'import json, sys
print(" ".join(str(s["id"]) for s in json.loads(sys.argv[1])["snapshots"] if s["keep"]))' "$1"
}
reasons_of() {
  python3 -c 'import json, sys
print(",".join(*[s["reasons"] for s in json.loads(sys.argv[1])["snapshots"] if s["id"] == int(sys.argv[2])]))' "$1" "$2"
}
listed_ids() {
  assert_exit 0 "snapshots --json" -- "$STRATA" snapshots --dest "$1" --json
  python3 -c 'import json, sys
print(" ".join(str(s["id"]) for s in json.loads(sys.argv[1])["snapshots"]))' "$LAST_STDOUT"
}
states() {
  sqlite3 "$1/catalog.db" "SELECT group_concat(id || ':' || state, ' ') FROM snapshots"
}

before=$(states "$DEST")
rule() {
  local expected=$1
  shift
  assert_exit 0 "forget $* --dry-run" -- "$STRATA" forget --dest "$DEST" "$@" --dry-run --json
  assert_eq "$expected" "$(kept_ids "$LAST_STDOUT")" "forget $*: kept snapshots"
}
note "each rule alone (--dry-run)"
rule "8 9 10" --keep-last 3
rule "7 8 10" --keep-hourly 3
rule "4 7 8 10" --keep-daily 4
rule "4 8 10" --keep-weekly 3
rule "2 3 10" --keep-monthly 3
rule "3 10" --keep-yearly 2
rule "1 2 3 10" --keep-monthly 12
rule "7 8 9 10" --keep-within 7d
rule "9 10" --keep-within 12h
rule "3 4 5 6 7 8 9 10" --keep-within 7m
rule "1 2 3 4 5 6 7 8 9 10" --keep-within 1y2m
assert_eq "true" "$(json_get "$LAST_STDOUT" dry_run)" "dry_run in the JSON"
[[ $LAST_STDOUT == '{"version":'* ]] || fail "forget --json does not start with version: $LAST_STDOUT"

note "a combination"
rule "3 8 10" --keep-last 1 --keep-daily 2 --keep-monthly 2 --keep-yearly 2
dry=$LAST_STDOUT
assert_eq "last,daily,monthly,yearly" "$(reasons_of "$dry" 10)" "why 10 stays"
assert_eq "daily" "$(reasons_of "$dry" 8)" "why 8 stays"
assert_eq "monthly,yearly" "$(reasons_of "$dry" 3)" "why 3 stays"
assert_eq "" "$(reasons_of "$dry" 5)" "5 has no reason"
assert_eq 3 "$(json_get "$dry" kept_snapshots)" "kept_snapshots"
assert_eq 7 "$(json_get "$dry" forgotten_snapshots)" "forgotten_snapshots"
assert_exit 0 "forget --dry-run, human output" -- "$STRATA" forget --dest "$DEST" --keep-last 1 --dry-run
assert_contains "$LAST_STDOUT" "would forget 9 snapshot(s)" "dry-run summary"
assert_eq "$before" "$(states "$DEST")" "snapshot states after the dry runs"
assert_eq "1 2 3 4 5 6 7 8 9 10" "$(listed_ids "$DEST")" "snapshots after the dry runs"

note "usage errors and explicit ids"
assert_exit 2 "forget without a rule" -- "$STRATA" forget --dest "$DEST"
assert_exit 2 "forget with a rule and an id" -- "$STRATA" forget --dest "$DEST" --keep-last 1 3
assert_exit 2 "forget --keep-last 0" -- "$STRATA" forget --dest "$DEST" --keep-last 0
assert_exit 2 "forget --keep-within 7x" -- "$STRATA" forget --dest "$DEST" --keep-within 7x
assert_exit 7 "forget an unknown id" -- "$STRATA" forget --dest "$DEST" 3 99
assert_eq "$before" "$(states "$DEST")" "snapshot states after the refused runs"
cp -a "$DEST" "$WORK/ids"
assert_exit 0 "forget 3 5" -- "$STRATA" forget --dest "$WORK/ids" 3 5 --json
assert_eq "1 2 4 6 7 8 9 10" "$(kept_ids "$LAST_STDOUT")" "forget 3 5: kept"
assert_eq "1 2 4 6 7 8 9 10" "$(listed_ids "$WORK/ids")" "snapshots after forget 3 5"
assert_exit 7 "forget 3 again" -- "$STRATA" forget --dest "$WORK/ids" 3
hold_flock "$WORK/ids/lock"
assert_exit 4 "forget while another run holds the lock" -- "$STRATA" forget --dest "$WORK/ids" 4
assert_exit 0 "forget --dry-run while another run holds the lock" -- "$STRATA" forget --dest "$WORK/ids" 4 --dry-run
release_flock
assert_eq "1 2 4 6 7 8 9 10" "$(listed_ids "$WORK/ids")" "snapshots after the locked attempt"

note "the combination, applied"
cp -a "$DEST" "$WORK/combo"
assert_exit 0 "forget (combination)" -- "$STRATA" forget --dest "$WORK/combo" --keep-last 1 --keep-daily 2 \
  --keep-monthly 2 --keep-yearly 2 --json
assert_eq "false" "$(json_get "$LAST_STDOUT" dry_run)" "dry_run false"
assert_eq "3 8 10" "$(listed_ids "$WORK/combo")" "snapshots after forget"
for id in 3 8; do
  assert_exit 0 "restore kept snapshot $id" -- "$STRATA" restore --dest "$WORK/combo" --snapshot "$id" \
    --to-repository "$WORK/combo-r$id"
done
assert_exit 7 "restore forgotten snapshot 5" -- "$STRATA" restore --dest "$WORK/combo" --snapshot 5 \
  --to-repository "$WORK/combo-r5"
assert_exit 7 "ls forgotten snapshot 5" -- "$STRATA" ls --dest "$WORK/combo" --snapshot 5
assert_exit 7 "diff with forgotten snapshot 5" -- "$STRATA" diff --dest "$WORK/combo" 5 10
assert_exit 0 "stats" -- "$STRATA" stats --dest "$WORK/combo" --json
assert_eq 3 "$(json_get "$LAST_STDOUT" snapshots)" "stats: snapshots"
assert_exit 0 "check --json" -- "$STRATA" check --dest "$WORK/combo" --json
assert_eq 3 "$(json_get "$LAST_STDOUT" checked_snapshots)" "check: checked_snapshots"

note "every snapshot but the last"
assert_exit 0 "forget --keep-last 1" -- "$STRATA" forget --dest "$DEST" --keep-last 1
assert_contains "$LAST_STDOUT" "forgot 9 snapshot(s), kept 1" "forget summary"
assert_eq "10" "$(listed_ids "$DEST")" "snapshots after forget --keep-last 1"
assert_exit 0 "restore the last" -- "$STRATA" restore --dest "$DEST" --to-repository "$WORK/last"
assert_same_repo "$SRC" "$WORK/last" "the last snapshot after forgetting the others vs source"
assert_exit 0 "check --read-data" -- "$STRATA" check --dest "$DEST" --read-data
assert_exit 0 "ls the last" -- "$STRATA" ls --dest "$DEST" --json
assert_eq 55 "$(python3 -c 'import json, sys; print(len(json.loads(sys.argv[1])["nodes"]))' "$LAST_STDOUT")" \
  "nodes listed in the last snapshot"

note "a backup after forgetting the newest snapshot"
assert_exit 0 "forget 10 (the newest)" -- "$STRATA" forget --dest "$WORK/ids" 10
backup "backup after forgetting the newest" "$WORK/ids"
assert_eq 11 "$(json_get "$LAST_STDOUT" id)" "backup after forget: id (ids are not reused)"
assert_eq 0 "$(json_get "$LAST_STDOUT" new_nodes)" "backup after forget: new_nodes"
assert_eq "$nodes_now" "$(json_get "$LAST_STDOUT" nodes)" "backup after forget: nodes"
assert_exit 0 "restore snapshot 11" -- "$STRATA" restore --dest "$WORK/ids" --to-repository "$WORK/r11"
assert_same_repo "$SRC" "$WORK/r11" "snapshot 11 vs source"

# --- a dump delta chain cut in the middle --------------------------------------------------------
note "database: 12000 more db_dbnode rows, four --database-only backups with 1% changed each"
DDB=$(new_db forgetdb)
DSRC=$(new_tmp)
DDEST=$WORK/ddest
SUMS=$(new_tmp)
"$GENREPO" --dsn "$DDB" --root "$DSRC" --nodes 20 --size-scale 0.1 --quiet >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DDB" <<'EOF'
INSERT INTO db_dbnode (uuid, node_type, process_type, label, description, ctime, mtime,
                       attributes, extras, user_id)
SELECT gen_random_uuid(), 'data.core.dict.Dict.', NULL, 'bulk ' || g, 'row ' || md5(g::text),
       now(), now(),
       jsonb_build_object('a', md5(g::text), 'b', md5((g * 7)::text), 'c', md5((g * 11)::text), 'n', g),
       '{}'::jsonb, (SELECT min(id) FROM db_dbuser)
FROM generate_series(1, 12000) g;
EOF
assert_exit 0 "init (database)" -- "$STRATA" init --dest "$DDEST"
dbbackup() {
  psql -X -q -v ON_ERROR_STOP=1 -d "$DDB" \
    -c "UPDATE db_dbnode SET label = label || 'x' WHERE id % 100 = $1"
  db_checksums "$DDB" >"$SUMS/$1"
  assert_exit 0 "database backup #$1" -- "$STRATA" backup --dest "$DDEST" --dsn "$DDB" \
    --repository "$DSRC" --database-only --json
  assert_eq "$1" "$(json_get "$LAST_STDOUT" id)" "database backup #$1: id"
}
for n in 1 2 3 4; do dbbackup "$n"; done
deltas() {
  sqlite3 "$1/catalog.db" "SELECT group_concat(snapshot_id || '<' || base_snapshot, ' ') FROM
    (SELECT DISTINCT snapshot_id, base_snapshot FROM dump_files WHERE storage <> 0 ORDER BY snapshot_id)"
}
assert_eq "2<1 3<2 4<3" "$(deltas "$DDEST")" "delta chains before forget"

assert_exit 0 "forget 2 (the middle of the chain)" -- "$STRATA" forget --dest "$DDEST" 2
assert_eq "1 3 4" "$(listed_ids "$DDEST")" "snapshots after forget 2"
assert_exit 0 "check after forget 2" -- "$STRATA" check --dest "$DDEST" --read-data
assert_exit 0 "forget 4 (the newest)" -- "$STRATA" forget --dest "$DDEST" 4
dbbackup 5
assert_eq "2<1 3<2 4<3 5<3" "$(deltas "$DDEST")" "the backup after forget deltas against a kept snapshot"
assert_exit 0 "check after backup 5" -- "$STRATA" check --dest "$DDEST" --read-data
for n in 1 3 5; do
  target=$(new_db2 "forget_r$n")
  assert_exit 0 "restore database of snapshot $n" -- "$STRATA" restore --dest "$DDEST" --snapshot "$n" \
    --to-dsn "$target" --json
  diff "$SUMS/$n" <(db_checksums "$target") >"$WORK/dbdiff" ||
    fail "snapshot $n restores to other rows than were backed up: $(head -c 2000 "$WORK/dbdiff")"
done

note "check: a delta chain whose base row is gone, a row naming a missing pack"
cp -a "$DDEST" "$WORK/broken"
sqlite3 "$WORK/broken/catalog.db" "DELETE FROM dump_files WHERE snapshot_id = 2 AND table_key IN
  (SELECT table_key FROM dump_files WHERE snapshot_id = 3 AND storage <> 0)" || fail "deleting the base rows"
assert_exit 8 "check of a broken chain" -- "$STRATA" check --dest "$WORK/broken" --json
assert_contains "$LAST_STDOUT" "delta chain is broken: its base in snapshot 2 is missing" "check names the broken chain"
assert_contains "$LAST_STDOUT" "snapshot 5 dump file" "check names the later file of the chain too"
cp -a "$DDEST" "$WORK/nopack"
sqlite3 "$WORK/nopack/catalog.db" "INSERT INTO objects_staging SELECT hash, 999999, offset, raw_size, stored_size,
  codec FROM objects LIMIT 1" || fail "adding a staged object"
assert_exit 8 "check of a staged object without its pack" -- "$STRATA" check --dest "$WORK/nopack" --json
assert_contains "$LAST_STDOUT" "pack 999999 is not in the catalog" "check names the missing pack"
