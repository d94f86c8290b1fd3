#!/usr/bin/env bash
# db_secrets: a database password never ends up anywhere strata writes or shows.
# The profile's database belongs to the password-only role strata_pw and is reached over TCP
# (scram-sha-256). Backups take the password in turn from the DSN (keyword form and URI),
# from PGPASSWORD and from a PGPASSFILE; restores to the second cluster likewise (strata_pw
# creates the databases there). The password must appear nowhere:
#   - under the destination (catalog.db, packs/ both raw and with every zstd object decompressed,
#     any other file), in a --dump-dir, in the restored repository;
#   - on strata's stdout or stderr, for every command, with --json and with -v, also when the
#     command fails (unreachable database, non-empty target, wrong database name);
#   - on the command line of pg_dump and pg_restore (a logging wrapper in STRATA_PG_BINDIR
#     records their arguments, and the names only of their environment variables). A password
#     file that strata makes for them must be private (0600) and gone when strata exits.
source "$(dirname "$0")/lib.sh"

unset PGPASSWORD PGPASSFILE
PW=s3cret-pw
ROLE=strata_pw

dsn_field() {
  local kv
  for kv in $1; do
    [[ $kv == "$2="* ]] && { printf '%s\n' "${kv#*=}"; return 0; }
  done
  return 1
}

TCP1=${STRATA_TEST_PG_TCP_PORT:?}
TCP2=$(dsn_field "$STRATA_TEST_DSN2" port)
SRC=$(new_tmp)
DEST=$(new_tmp)/dest
OUT=$(new_tmp)
LOGS=$(new_tmp)
WRAP=$(new_tmp)
NOPASS=$LOGS/no-such-pgpass # PGPASSFILE for the runs whose password comes from elsewhere

# The source database, owned by strata_pw, its schema and rows created by strata_pw over TCP.
SOCK_DSN=$(new_db dbsecrets)
DB=$(dsn_field "$SOCK_DSN" dbname)
psql -X -q -v ON_ERROR_STOP=1 -d "$SOCK_DSN" -c "ALTER DATABASE $DB OWNER TO $ROLE"
DSN_NOPW="host=127.0.0.1 port=$TCP1 user=$ROLE dbname=$DB"
DSN_PW="$DSN_NOPW password=$PW"
URI_PW="postgresql://$ROLE:$PW@127.0.0.1:$TCP1/$DB"
note "generating 60 nodes as $ROLE over TCP"
PGPASSFILE=$NOPASS "$GENREPO" --dsn "$DSN_PW" --root "$SRC" --nodes 60 --quiet >/dev/null
assert_eq "$ROLE" "$(psql -X -At -d "$SOCK_DSN" -c "SELECT tableowner FROM pg_tables WHERE tablename = 'db_dbnode'")" \
  "db_dbnode belongs to $ROLE"
# Without a password the role cannot get in: the runs below really use the one they are given.
if PGPASSFILE=$NOPASS psql -X -At -w -d "$DSN_NOPW" -c 'SELECT 1' >/dev/null 2>&1; then
  fail "$ROLE logs in over TCP without a password; the test would prove nothing"
fi

PASSFILE=$LOGS/pgpass
printf '127.0.0.1:%s:*:%s:%s\n127.0.0.1:%s:*:%s:%s\n' "$TCP1" "$ROLE" "$PW" "$TCP2" "$ROLE" "$PW" >"$PASSFILE"
chmod 0600 "$PASSFILE"

# Wrappers for pg_dump and pg_restore: log the arguments and the environment's variable names,
# the path and mode of any PGPASSFILE, then run the real tool.
REAL_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d | sort -V | tail -n 1)
[[ -x $REAL_BIN/pg_dump && -x $REAL_BIN/pg_restore ]] || fail "no pg_dump/pg_restore under /usr/lib/postgresql"
for tool in pg_dump pg_restore; do
  cat >"$WRAP/$tool" <<EOF
#!/bin/bash
{
  printf '%s args:' "$tool"
  for a in "\$@"; do printf ' [%s]' "\$a"; done
  printf '\n%s env: %s\n' "$tool" "\$(env -0 | tr '\0\n' '\n ' | sed -n 's/=.*//p' | sort | tr '\n' ' ')"
  if [[ -n \${PGPASSFILE:-} ]]; then
    printf '%s passfile: %s %s\n' "$tool" "\$PGPASSFILE" "\$(stat -c %a "\$PGPASSFILE" 2>/dev/null || echo missing)"
  fi
} >>"$LOGS/wrapper.log"
exec "$REAL_BIN/$tool" "\$@"
EOF
  chmod +x "$WRAP/$tool"
done

# run NAME EXPECTED_CODE ENV... -- STRATA-ARGS...: run strata with the wrapper bindir, keep its
# stdout and stderr in $LOGS/NAME.{out,err}.
run() {
  local name=$1 code=$2
  shift 2
  local envs=()
  while [[ $1 != -- ]]; do
    envs+=("$1")
    shift
  done
  shift
  assert_exit "$code" "$name" -- env STRATA_PG_BINDIR="$WRAP" "${envs[@]}" "$STRATA" "$@"
  printf '%s' "$LAST_STDOUT" >"$LOGS/$name.out"
  printf '%s' "$LAST_STDERR" >"$LOGS/$name.err"
}

assert_exit 0 "init" -- "$STRATA" init --dest "$DEST"

note "backups: password in the DSN, in a URI, in PGPASSWORD, in PGPASSFILE"
run backup-dsn-json 0 PGPASSFILE="$NOPASS" -- backup --dest "$DEST" --dsn "$DSN_PW" --repository "$SRC" --json
[[ $LAST_STDOUT =~ \"has_database\":\ *true ]] || fail "backup-dsn-json: no database: $LAST_STDOUT"
PGPASSFILE=$NOPASS "$GENREPO" --dsn "$DSN_PW" --root "$SRC" --nodes 5 --mode add --seed 2 --quiet >/dev/null
run backup-uri-v 0 PGPASSFILE="$NOPASS" -- backup --dest "$DEST" --dsn "$URI_PW" --repository "$SRC" -v
PGPASSFILE=$NOPASS "$GENREPO" --dsn "$DSN_PW" --root "$SRC" --nodes 5 --mode add --seed 3 --quiet >/dev/null
run backup-env-json-v 0 PGPASSFILE="$NOPASS" PGPASSWORD="$PW" -- backup --dest "$DEST" --dsn "$DSN_NOPW" \
  --repository "$SRC" --json -v
PGPASSFILE=$NOPASS "$GENREPO" --dsn "$DSN_PW" --root "$SRC" --nodes 5 --mode add --seed 4 --quiet >/dev/null
run backup-passfile-json 0 PGPASSFILE="$PASSFILE" -- backup --dest "$DEST" --dsn "$DSN_NOPW" --repository "$SRC" --json
run backup-passfile-dbonly-v 0 PGPASSFILE="$PASSFILE" -- backup --dest "$DEST" --dsn "$DSN_NOPW" --repository "$SRC" \
  --database-only -v
# Failures with a password in the DSN.
run backup-wrongdb-json 5 PGPASSFILE="$NOPASS" -- backup --dest "$DEST" --dsn "${DSN_PW/dbname=$DB/dbname=no_such_db}" \
  --repository "$SRC" --json -v
run backup-wrongpw-v 5 PGPASSFILE="$NOPASS" -- backup --dest "$DEST" \
  --dsn "$DSN_NOPW password=not-$PW" --repository "$SRC" -v
run backup-unreachable-uri 5 PGPASSFILE="$NOPASS" -- backup --dest "$DEST" \
  --dsn "postgresql://$ROLE:$PW@127.0.0.1:1/$DB" --repository "$SRC" --json -v

run snapshots 0 -- snapshots --dest "$DEST"
run snapshots-json 0 -- snapshots --dest "$DEST" --json
nsnap=$(python3 -c 'import json, sys; print(len(json.loads(sys.argv[1])["snapshots"]))' "$LAST_STDOUT")
assert_eq 5 "$nsnap" "number of snapshots"
run check-json 0 -- check --dest "$DEST" --read-data --json -v

note "restores to the second cluster as $ROLE: DSN, URI, PGPASSWORD, PGPASSFILE"
# Fresh names that strata (as strata_pw, which has CREATEDB) creates; registered for clean-up.
fresh_target() {
  local dsn name
  dsn=$(new_db2 "$1")
  name=$(dsn_field "$dsn" dbname)
  dropdb -h "$(dsn_field "$dsn" host)" -p "$(dsn_field "$dsn" port)" -U postgres "$name"
  printf '%s\n' "$name"
}
R1=$(fresh_target dbsecrets_r1)
run restore-dsn-json 0 PGPASSFILE="$NOPASS" -- restore --dest "$DEST" --snapshot 1 \
  --to-dsn "host=127.0.0.1 port=$TCP2 user=$ROLE password=$PW dbname=$R1" --to-repository "$OUT/repo1" --json
[[ $LAST_STDOUT =~ \"created_database\":\ *true.*\"verified\":\ *true ]] ||
  fail "restore-dsn-json: database not created and verified: $LAST_STDOUT"
R2=$(fresh_target dbsecrets_r2)
run restore-uri-v 0 PGPASSFILE="$NOPASS" -- restore --dest "$DEST" --snapshot 2 \
  --to-dsn "postgresql://$ROLE:$PW@127.0.0.1:$TCP2/$R2" -v
R3=$(fresh_target dbsecrets_r3)
run restore-env-json-v 0 PGPASSFILE="$NOPASS" PGPASSWORD="$PW" -- restore --dest "$DEST" --snapshot 3 \
  --to-dsn "host=127.0.0.1 port=$TCP2 user=$ROLE dbname=$R3" --to-repository "$OUT/repo3" --dump-dir "$OUT/dump3" \
  --json -v
R4=$(fresh_target dbsecrets_r4)
run restore-passfile-json 0 PGPASSFILE="$PASSFILE" -- restore --dest "$DEST" \
  --to-dsn "host=127.0.0.1 port=$TCP2 user=$ROLE dbname=$R4" --json
# The same target again (it now has tables), with --clean, and without.
run restore-passfile-clean-v 0 PGPASSFILE="$PASSFILE" -- restore --dest "$DEST" --snapshot 4 \
  --to-dsn "host=127.0.0.1 port=$TCP2 user=$ROLE dbname=$R4" --clean -v
run restore-nonempty-json 9 PGPASSFILE="$NOPASS" -- restore --dest "$DEST" \
  --to-dsn "host=127.0.0.1 port=$TCP2 user=$ROLE password=$PW dbname=$R4" --json -v
run restore-wrongpw-json 5 PGPASSFILE="$NOPASS" -- restore --dest "$DEST" \
  --to-dsn "host=127.0.0.1 port=$TCP2 user=$ROLE password=not-$PW dbname=$R4" --json -v
run restore-unreachable-v 5 PGPASSFILE="$NOPASS" -- restore --dest "$DEST" \
  --to-dsn "postgresql://$ROLE:$PW@127.0.0.1:1/$R4" -v

for r in "$R1" "$R2" "$R3" "$R4"; do
  assert_eq "$ROLE" "$(psql -X -At -d "$STRATA_TEST_DSN2" -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$r'")" \
    "restored database $r exists and belongs to $ROLE"
done
assert_eq "$(psql -X -At -d "$SOCK_DSN" -c 'SELECT count(*) FROM db_dbnode')" \
  "$(psql -X -At -d "${STRATA_TEST_DSN2/dbname=postgres/dbname=$R4}" -c 'SELECT count(*) FROM db_dbnode')" \
  "the latest snapshot restored every node"

# --- where the password must not be ------------------------------------------------------------
note "searching for the password"
[[ -s $LOGS/wrapper.log ]] || fail "the pg_dump/pg_restore wrappers were never run"
grep -q '^pg_dump args:.*--snapshot' "$LOGS/wrapper.log" || fail "no pg_dump run with --snapshot in the wrapper log"
grep -q '^pg_restore args:.*\[-d\]\|^pg_restore args:.*--dbname' "$LOGS/wrapper.log" ||
  grep -q '^pg_restore args:' "$LOGS/wrapper.log" || fail "pg_restore was never run"
if grep -nF -- "$PW" "$LOGS/wrapper.log"; then
  fail "the password is on the command line of pg_dump or pg_restore (lines above)"
fi
# Password files strata made for its tools: private, and gone now.
while read -r _ _ path mode; do
  [[ $path == "$PASSFILE" || $path == "$NOPASS" ]] && continue
  assert_eq 600 "$mode" "mode of the password file '$path' that strata gave pg_dump/pg_restore"
  [[ ! -e $path ]] || fail "strata left its password file '$path' behind"
done < <(grep '^pg_[a-z]* passfile: ' "$LOGS/wrapper.log" || true)

for f in "$LOGS"/*.out "$LOGS"/*.err; do
  if grep -qF -- "$PW" "$f"; then
    fail "the password appears in the output of '$(basename "$f")': $(grep -F -- "$PW" "$f" | head -n 3)"
  fi
done
# The failing runs did print an error (so the search above looked at real messages).
for f in backup-wrongdb-json backup-wrongpw-v backup-unreachable-uri restore-nonempty-json restore-wrongpw-json \
  restore-unreachable-v; do
  grep -q '^strata: error: ' "$LOGS/$f.err" || fail "$f printed no error: $(cat "$LOGS/$f.err")"
done

if matches=$(grep -rlaF -- "$PW" "$DEST" "$OUT"); then
  fail "the password is stored in: $matches"
fi
# Pack objects are mostly zstd-compressed: look inside every object too.
python3 - "$DEST/packs" "$LOGS/objects" <<'EOF'
import os, struct, sys
packs, out = sys.argv[1:]
raw = open(out + ".raw", "wb")
zst = open(out + ".zst", "wb")
n = 0
for name in sorted(os.listdir(packs)):
    data = open(os.path.join(packs, name), "rb").read()
    if data[:8] != b"STRATAPK":
        sys.exit("FAIL: %s is not a pack" % name)
    pos = 16
    while pos + 48 <= len(data):
        magic, codec, raw_size, stored = struct.unpack_from("<4sB3xQQ", data, pos)
        if magic != b"SOBJ":
            sys.exit("FAIL: %s: no record at offset %d" % (name, pos))
        body = data[pos + 48:pos + 48 + stored]
        (zst if codec == 1 else raw).write(body)
        pos += 48 + stored
        n += 1
print(n)
EOF
[[ -s $LOGS/objects.zst ]] || fail "no zstd object in the packs"
zstd -q -d -c "$LOGS/objects.zst" >"$LOGS/objects.dec" || fail "could not decompress the pack objects"
(($(stat -c %s "$LOGS/objects.dec") > 0)) || fail "the pack objects decompressed to nothing"
if grep -qaF -- "$PW" "$LOGS/objects.raw" "$LOGS/objects.dec"; then
  fail "the password is inside a pack object"
fi
# And the searches do find what they look for: the role name is stored in the dump.
grep -qaF -- "$ROLE" "$LOGS/objects.dec" "$LOGS/objects.raw" ||
  fail "the role name is in no decompressed pack object: the search cannot work"
note "ok"
