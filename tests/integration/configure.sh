#!/usr/bin/env bash
# configure: strata configure sets up the nightly backup of an AiiDA profile. Without a
# terminal it takes options and defaults: backup_info.json (six fields of the 1.x script plus
# strata's own under "strata"), an initialised destination, an executable script and the
# crontab line that calls it. The script then runs as cron would run it (no terminal, no HOME,
# no AIIDA_PATH, a minimal PATH): quiet, exit 0, one snapshot, oldest_object_backedup advanced.
# In a pseudo-terminal (script(1)) it asks, shows the defaults, and asks again after a wrong
# answer.
source "$(dirname "$0")/lib.sh"

unset PGPASSWORD
export PGPASSFILE=/nonexistent/pgpass
PW=$ROLE_PASSWORD
TCP=${STRATA_TEST_PG_TCP_PORT:?}
DB=$(new_role_db configure)
SRC=$(new_tmp)
WORK=$(new_tmp)
"$GENREPO" --dsn "$(role_dsn "$DB")" --root "$SRC" --nodes 30 \
  --quiet >/dev/null
mkdir -p "$WORK/home/.aiida"
cat >"$WORK/home/.aiida/config.json" <<JSON
{"CONFIG_VERSION": {"CURRENT": 9, "OLDEST_COMPATIBLE": 9}, "default_profile": "main",
 "profiles": {"main": {"storage": {"backend": "core.psql_dos", "config": {
   "database_hostname": "127.0.0.1", "database_port": $TCP, "database_username": "$ROLE",
   "database_password": "$PW", "database_name": "$DB", "repository_uri": "file://$SRC"}}}}}
JSON
export AIIDA_PATH=$WORK/home
CONF=$WORK/home/.aiida

note "1: without a terminal: options and defaults"
OLDEST=$(date -u -d '-3 days' '+%Y-%m-%d %H:%M:%S+00:00')
assert_exit 0 "configure" -- "$STRATA" configure --profile --oldest "$OLDEST" </dev/null
FOLDER=$CONF/backup_main
SCRIPT=$FOLDER/strata_backup.sh
INFO=$FOLDER/backup_info.json
assert_contains "$LAST_STDOUT" "0 2 * * * '$SCRIPT'" "the crontab line"
[[ -x $SCRIPT ]] || fail "the script is not executable"
[[ -f $FOLDER/backup_dest/strata.dest ]] || fail "the destination was not initialised"
python3 - "$INFO" "$FOLDER/backup_dest" "$OLDEST" "$CONF" <<'PY' || fail "backup_info.json is not as expected"
import json, sys
d = json.load(open(sys.argv[1]))
want = {"oldest_object_backedup": sys.argv[3], "backup_dir": sys.argv[2], "days_to_backup": None,
        "end_date_of_backup": None, "periodicity": 2, "backup_length_threshold": 1}
for k, v in want.items():
    assert d[k] == v, (k, d[k], v)
assert d["strata"] == {"profile": "main", "config_dir": sys.argv[4]}, d["strata"]
PY
if grep -q "$PW" "$INFO" "$SCRIPT"; then fail "the password was written"; fi

note "2: the script as cron runs it"
env -i PATH=/usr/bin:/bin /bin/sh -c "'$SCRIPT'" >"$WORK/cron.out" 2>"$WORK/cron.err" </dev/null ||
  fail "the cron-like run failed: $(cat "$WORK/cron.err")"
[[ ! -s $WORK/cron.out && ! -s $WORK/cron.err ]] || fail "the cron-like run was not quiet: $(cat "$WORK/cron.out" "$WORK/cron.err")"
assert_contains "$(cat "$FOLDER/backup.log")" "backup: snapshot 1: 30 new nodes" "the script's log file"
assert_exit 0 "snapshots" -- "$STRATA" snapshots --dest "$FOLDER/backup_dest" --json
assert_eq 30 "$(json_get "$LAST_STDOUT" snapshots.0.nodes)" "nodes backed up by the script"
assert_eq main "$(json_get "$LAST_STDOUT" snapshots.0.profile.name)" "profile recorded by the script's backup"
new_oldest=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["oldest_object_backedup"])' "$INFO")
[[ $new_oldest > $OLDEST ]] || fail "oldest_object_backedup did not advance: $new_oldest"

note "3: refusals"
assert_exit 2 "configure again" -- "$STRATA" configure --profile </dev/null
assert_one_error "configure again"
assert_contains "$LAST_STDERR" "configured already" "configure again"
assert_exit 0 "configure --force" -- "$STRATA" configure --profile main --force --periodicity 5 --json </dev/null
assert_eq "$SCRIPT" "$(json_get "$LAST_STDOUT" script)" "script of --force"
assert_eq false "$(json_get "$LAST_STDOUT" dest_created)" "the existing destination is kept"
assert_exit 2 "without --profile" -- "$STRATA" configure --folder "$WORK/x" </dev/null
assert_one_error "without --profile"
assert_exit 2 "unknown profile" -- "$STRATA" configure --profile nope --folder "$WORK/x" </dev/null
assert_one_error "unknown profile"
assert_exit 2 "bad date" -- "$STRATA" configure --profile --folder "$WORK/x" --end-date tomorrow </dev/null
assert_one_error "bad date"
assert_exit 2 "both ends" -- "$STRATA" configure --profile --folder "$WORK/x" --end-date 2030-01-01 \
  --days-to-backup 3 </dev/null
assert_one_error "both ends"
mkdir -p "$WORK/notdest" && echo x >"$WORK/notdest/file"
assert_exit 3 "a foreign destination" -- "$STRATA" configure --profile --folder "$WORK/y" --dest "$WORK/notdest" </dev/null
assert_one_error "a foreign destination"

note "4: in a pseudo-terminal: questions with defaults, a wrong answer asked again"
F2=$WORK/asked
# folder, destination (default), oldest (wrong, then right), days (none), end date (none),
# periodicity (wrong, then 3), threshold (default)
printf '%s\n\n%s\n%s\n\n\n%s\n%s\n\n' "$F2" "not a date" "2020-01-01 00:00:00+00:00" 0 3 |
  script -qec "'$STRATA' configure --profile main" /dev/null >"$WORK/tty.out" 2>&1 ||
  fail "configure in a terminal failed: $(cat "$WORK/tty.out")"
tty_out=$(tr -d '\r' <"$WORK/tty.out")
assert_contains "$tty_out" "Folder for backup_info.json and the backup script [$CONF/backup_main]:" "folder question"
assert_contains "$tty_out" "Destination of the backups (backup_dir) [$F2/backup_dest]:" "destination question"
assert_contains "$tty_out" "'not a date' is not a timestamp" "a wrong timestamp is refused"
assert_contains "$tty_out" "Periodicity (days per round) [2]:" "periodicity question with its default"
assert_contains "$tty_out" "invalid value '0' for periodicity" "a wrong periodicity is refused"
assert_contains "$tty_out" "0 2 * * * '$F2/strata_backup.sh'" "the crontab line in the terminal"
python3 - "$F2/backup_info.json" "$F2/backup_dest" <<'PY' || fail "the answers were not written"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["oldest_object_backedup"] == "2020-01-01 00:00:00+00:00", d
assert d["periodicity"] == 3 and d["backup_length_threshold"] == 1, d
assert d["days_to_backup"] is None and d["end_date_of_backup"] is None, d
assert d["backup_dir"] == sys.argv[2], d
PY
[[ -x $F2/strata_backup.sh && -f $F2/backup_dest/strata.dest ]] || fail "configure in a terminal did not set up"
note "ok"
