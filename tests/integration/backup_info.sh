#!/usr/bin/env bash
# backup_info: strata backup --config FILE runs the rounds of a backup_info.json as AiiDA 1.x's
# backup script did: rounds of `periodicity` days from oldest_object_backedup up to
# end_date_of_backup / days_to_backup / now, none when what is left is shorter than
# backup_length_threshold hours; oldest_object_backedup advances only after the snapshot has
# committed (a failed backup leaves the file as it was), written back in the same format. A
# null oldest_object_backedup starts at the oldest node; nodes imported with old ctimes are
# still caught by the id watermark.
source "$(dirname "$0")/lib.sh"
export TZ=UTC

DSN=$(new_db backupinfo)
SRC=$(new_tmp)
WORK=$(new_tmp)
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 50 --quiet >/dev/null
# Node i was created on 2020-01-01 plus i days.
psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" -c \
  "UPDATE db_dbnode SET ctime = timestamptz '2020-01-01 00:00:00+00' + id * interval '1 day'"
D=$WORK/dest
assert_exit 0 "init" -- "$STRATA" init --dest "$D"
F=$WORK/backup_info.json

write_info() { # OLDEST DAYS END PERIODICITY THRESHOLD [DSN]
  python3 - "$F" "$@" "$D" "$SRC" <<'PY'
import json, sys
path, oldest, days, end, period, threshold = sys.argv[1:7]
dsn, dest, src = (sys.argv[7], sys.argv[8], sys.argv[9]) if len(sys.argv) > 9 else (None, sys.argv[7], sys.argv[8])
null = lambda v: None if v == "null" else v
doc = {"oldest_object_backedup": null(oldest), "backup_dir": dest + "/./",
       "days_to_backup": None if days == "null" else int(days), "end_date_of_backup": null(end),
       "periodicity": int(period), "backup_length_threshold": int(threshold),
       "strata": {"dsn": dsn, "repository": src}}
json.dump(doc, open(path, "w"), indent=4)
PY
}
field() { python3 -c 'import json, sys; v = json.load(open(sys.argv[1]))[sys.argv[2]]; print("null" if v is None else v)' "$F" "$1"; }
count_snapshots() {
  "$STRATA" snapshots --dest "$D" --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["snapshots"]))'
}

note "1: four rounds of 3 days up to end_date_of_backup, in one snapshot"
write_info "2020-01-01 00:00:00+00:00" null "2020-01-11 00:00:00+00:00" 3 2 "$DSN"
assert_exit 0 "backup --config" -- "$STRATA" backup --config "$F" --json
assert_eq 4 "$(json_get "$LAST_STDOUT" rounds)" "rounds"
assert_eq 50 "$(json_get "$LAST_STDOUT" backup.nodes)" "nodes of the snapshot"
assert_eq "2020-01-11 00:00:00+00:00" "$(field oldest_object_backedup)" "oldest_object_backedup after the rounds"
assert_eq "$SRC" "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["strata"]["repository"])' "$F")" \
  "strata's own settings kept"
[[ -z $(find "$WORK" -maxdepth 1 -name 'backup_info.json.*') ]] || fail "a temporary file was left"

note "2: the end is reached: no round, no snapshot"
cp "$F" "$WORK/before"
assert_exit 0 "backup --config at the end" -- "$STRATA" backup --config "$F" --json
assert_eq 0 "$(json_get "$LAST_STDOUT" rounds)" "rounds at the end"
assert_eq null "$(json_get "$LAST_STDOUT" backup)" "no backup at the end"
cmp -s "$F" "$WORK/before" || fail "the file changed although no round ran"
assert_eq 1 "$(count_snapshots)" "snapshots"

note "3: days_to_backup 2 from 2020-01-11; imported nodes with old ctimes are caught"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 6 --mode import --quiet >/dev/null
write_info "2020-01-11 00:00:00.250000+00:00" 2 null 3 0 "$DSN"
assert_exit 0 "backup --config days_to_backup" -- "$STRATA" backup --config "$F" --json
assert_eq 1 "$(json_get "$LAST_STDOUT" rounds)" "rounds of days_to_backup"
assert_eq 6 "$(json_get "$LAST_STDOUT" backup.new_nodes)" "imported nodes caught by the watermark"
assert_eq "2020-01-13 00:00:00.250000+00:00" "$(field oldest_object_backedup)" "oldest after days_to_backup"

note "4: a failed backup does not advance oldest_object_backedup"
write_info "2020-01-13 00:00:00+00:00" null null 3 0 "${DSN% dbname=*} dbname=no_such_db_$$"
cp "$F" "$WORK/before"
assert_exit 5 "backup --config with a bad database" -- "$STRATA" backup --config "$F"
assert_one_error "backup --config with a bad database"
cmp -s "$F" "$WORK/before" || fail "oldest_object_backedup advanced after a failed backup"

note "5: a window shorter than the threshold is not run"
write_info "$(date -u -d '-1 hour' '+%Y-%m-%d %H:%M:%S+00:00')" null null 1 2 "$DSN"
cp "$F" "$WORK/before"
assert_exit 0 "backup --config below the threshold" -- "$STRATA" backup --config "$F" --json
assert_eq 0 "$(json_get "$LAST_STDOUT" rounds)" "rounds below the threshold"
cmp -s "$F" "$WORK/before" || fail "the file changed below the threshold"

note "6: oldest_object_backedup null starts at the oldest node"
write_info null 1 null 1 0 "$DSN"
assert_exit 0 "backup --config from null" -- "$STRATA" backup --config "$F" --json
assert_eq 1 "$(json_get "$LAST_STDOUT" rounds)" "rounds from null"
oldest=$(psql -X -At -d "$DSN" -c "SELECT replace(to_char(min(ctime) AT TIME ZONE 'UTC' + interval '1 day',
  'YYYY-MM-DD HH24:MI:SS.US'), '.000000', '') FROM db_dbnode")
assert_eq "$oldest+00:00" "$(field oldest_object_backedup)" "oldest after a null start"

note "7: bad files are one-line errors (exit 2)"
write_info "2020-01-01 00:00:00+00:00" 2 "2020-01-11 00:00:00+00:00" 3 2 "$DSN"
assert_exit 2 "both ends" -- "$STRATA" backup --config "$F"
assert_one_error "both ends"
assert_contains "$LAST_STDERR" "only one end of backup" "both ends"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d["backup_dir"] = sys.argv[2]; d["end_date_of_backup"] = None; json.dump(d, open(sys.argv[1], "w"))' "$F" "$WORK/missing"
assert_exit 2 "missing backup_dir" -- "$STRATA" backup --config "$F"
assert_one_error "missing backup_dir"
assert_contains "$LAST_STDERR" "does not exist" "missing backup_dir"
assert_exit 2 "missing file" -- "$STRATA" backup --config "$WORK/nope.json"
assert_one_error "missing file"
note "ok"
