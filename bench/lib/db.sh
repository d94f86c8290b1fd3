# bench/lib/db.sh — the database part of bench/run.sh, on the generated AiiDA database:
#
#   db_dump_and_restore   pg_dump -Fd -j N by hand vs strata backup --database-only (time, size),
#                         pg_restore -j N into a fresh database vs strata restore --to-dsn into a
#                         fresh database (time; each restored copy's db_dbnode count is checked)
#   db_rounds K           K "days", in turn (bench/lib/days.sh): 1% of the rows of db_dbnode and
#                         db_dblog updated, 1% new nodes with links and logs, nothing changed;
#                         each day strata backup --database-only, a pg_dump -Fc file kept by hand
#                         (and a pgBackRest incremental backup where pgBackRest is set up);
#                         records what each day stored
#   pgbackrest_setup      optional: only on the throwaway cluster this harness started (pgBackRest
#                         needs archive_mode, hence a restart) and when pgbackrest is installed;
#                         otherwise records why it was skipped in PGBR_NOTE
#
# Globals used: NODES, GENREPO, SERVER_DSN, SRC_DSN, SRC_ROOT, DB_PREFIX, PG_DIR, PG_PORT, JOBS, STRATA, WORK, LOGS,
# BENCH_SOURCE_DIR. Results go to SEC/KIB/SIZE/STATE (keys db.* and round.K.*), ROWS[K] and KIND[K].
#
# shellcheck shell=bash
# shellcheck disable=SC2034  # the results are read by bench/lib/report.sh
# Declared in common.sh; repeated (without a value, so nothing is reset) for shellcheck.
declare -gA SEC KIB SIZE STATE ROWS DELTAS KIND

PGBR=0
PGBR_NOTE=
PGBR_DIR=
PGBR_CONF=

psql_server() {
  psql -X -q -v ON_ERROR_STOP=1 -d "$SERVER_DSN" "$@"
}

# db_create NAME — a new empty database on the server (replacing one of that name); echoes its DSN.
db_create() {
  psql_server -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" -c "CREATE DATABASE \"$1\"" >&2
  with_dbname "$SERVER_DSN" "$1"
}

db_drop() {
  psql_server -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >&2
}

db_node_count() {
  psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "SELECT count(*) FROM db_dbnode"
}

# db_check_copy KEY DSN — the restored copy has as many nodes as the source, or KEY is marked.
db_check_copy() {
  local key=$1 dsn=$2 want got
  want=$(db_node_count "$SRC_DSN")
  got=$(db_node_count "$dsn" 2>>"$LOGS/$key.err") || got=none
  if [[ $got != "$want" ]]; then
    log "MISMATCH: $key: restored db_dbnode has $got rows, the source $want"
    STATE["$key"]=MISMATCH
    return 1
  fi
}

db_dump_and_restore() {
  local dump=$WORK/db/pgdump dest=$WORK/dest/strata-db
  mkdir -p "$WORK/db"
  rm -rf "$dump"

  log "database: pg_dump -Fd -j $JOBS -Z 6"
  if timed db.dump.pg_dump pg_dump -Fd -j "$JOBS" -Z 6 -f "$dump" -d "$SRC_DSN"; then
    STATE[db.dump.pg_dump]=ok
    SIZE[db.dump.pg_dump]=$(du_bytes "$dump")
  else
    STATE[db.dump.pg_dump]=FAILED
  fi

  log "database: strata backup --database-only"
  if "$STRATA" init --dest "$dest" >"$LOGS/init.strata-db.log" 2>&1 &&
    timed db.dump.strata "$STRATA" backup --dest "$dest" --dsn "$SRC_DSN" \
      --repository "$SRC_ROOT" --database-only --json --jobs "$JOBS" &&
    SIZE[db.dump.strata]=$(json_field "$LOGS/db.dump.strata.out" database.stored_bytes); then
    STATE[db.dump.strata]=ok
  else
    STATE[db.dump.strata]=FAILED
  fi

  local target
  if [[ ${STATE[db.dump.pg_dump]:-} == ok ]]; then
    log "database: pg_restore -j $JOBS into a fresh database"
    target=$(db_create "${DB_PREFIX}_pg_restore")
    if timed db.restore.pg_restore pg_restore -j "$JOBS" --no-owner -d "$target" "$dump"; then
      STATE[db.restore.pg_restore]=ok
      db_check_copy db.restore.pg_restore "$target" || true
    else
      STATE[db.restore.pg_restore]=FAILED
    fi
    db_drop "${DB_PREFIX}_pg_restore"
  else
    STATE[db.restore.pg_restore]=skipped
  fi

  if [[ ${STATE[db.dump.strata]:-} == ok ]]; then
    log "database: strata restore --to-dsn a fresh database"
    db_drop "${DB_PREFIX}_strata_restore"
    target=$(with_dbname "$SERVER_DSN" "${DB_PREFIX}_strata_restore")
    if timed db.restore.strata "$STRATA" restore --dest "$dest" --to-dsn "$target" --jobs "$JOBS"; then
      STATE[db.restore.strata]=ok
      db_check_copy db.restore.strata "$target" || true
    else
      STATE[db.restore.strata]=FAILED
    fi
    db_drop "${DB_PREFIX}_strata_restore"
  else
    STATE[db.restore.strata]=skipped
  fi
}


# The pgbackrest command line as an array (PGBR_RUN), so that GNU time can run it too.
PGBR_RUN=()
pgbackrest_cmd() {
  "${PGBR_RUN[@]}" "$@"
}

# Bytes stored in the pgBackRest repository by its newest backup (FIELD: delta or size).
pgbackrest_last() {
  pgbackrest_cmd info --output=json >"$LOGS/pgbackrest.info.json" &&
    json_field "$LOGS/pgbackrest.info.json" "0.backup.-1.info.repository.$1"
}

pgbackrest_setup() {
  if ! command -v pgbackrest >/dev/null 2>&1; then
    PGBR_NOTE="pgBackRest: not installed (apt-get install pgbackrest), skipped"
    return 0
  fi
  if [[ -z $PG_DIR ]]; then
    PGBR_NOTE="pgBackRest: skipped: it needs archive_mode and a restart, which this harness does only on the throwaway cluster it starts (not with --dsn)"
    return 0
  fi
  PGBR_DIR=$PG_DIR/pgbackrest
  PGBR_CONF=$PGBR_DIR/pgbackrest.conf
  mkdir -p "$PGBR_DIR"/{repo,log,lock,spool}
  # zstd level 3, as strata's default, so that the stored sizes compare like with like.
  cat >"$PGBR_CONF" <<EOF
[global]
repo1-path=$PGBR_DIR/repo
repo1-retention-full=2
log-path=$PGBR_DIR/log
lock-path=$PGBR_DIR/lock
spool-path=$PGBR_DIR/spool
log-level-console=warn
log-level-file=info
start-fast=y
compress-type=zst
compress-level=3
process-max=$JOBS

[bench]
pg1-path=$PG_DIR/data
pg1-socket-path=$PG_DIR/sock
pg1-port=$PG_PORT
EOF
  # Run as the cluster's owner ('postgres' when we are root), from /.
  PGBR_RUN=(env -C / pgbackrest --config="$PGBR_CONF" --stanza=bench)
  if ((EUID == 0)); then
    chown -R postgres:postgres "$PGBR_DIR"
    PGBR_RUN=(env -C / runuser -u postgres -- pgbackrest --config="$PGBR_CONF" --stanza=bench)
  fi

  log "database: configuring WAL archiving for pgBackRest (restarts the throwaway cluster)"
  if psql_server -c "ALTER SYSTEM SET archive_mode = on" \
    -c "ALTER SYSTEM SET archive_command = 'pgbackrest --config=$PGBR_CONF --stanza=bench archive-push %p'" \
    >"$LOGS/pgbackrest.setup.log" 2>&1 &&
    "$BENCH_SOURCE_DIR/tests/pg.sh" stop "$PG_DIR" >>"$LOGS/pgbackrest.setup.log" 2>&1 &&
    "$BENCH_SOURCE_DIR/tests/pg.sh" start "$PG_DIR" "$PG_PORT" >>"$LOGS/pgbackrest.setup.log" 2>&1 &&
    pgbackrest_cmd stanza-create >>"$LOGS/pgbackrest.setup.log" 2>&1; then
    :
  else
    PGBR_NOTE="pgBackRest: could not be configured on the local cluster, skipped (see $LOGS/pgbackrest.setup.log)"
    return 0
  fi

  log "database: pgBackRest full backup (the whole cluster)"
  if timed db.dump.pgbackrest "${PGBR_RUN[@]}" backup --type=full &&
    SIZE[db.dump.pgbackrest]=$(pgbackrest_last size); then
    STATE[db.dump.pgbackrest]=ok
    PGBR=1
    PGBR_NOTE="pgBackRest $(pgbackrest version | awk '{ print $2 }'): backs up the whole cluster (every database, not only the AiiDA one), zstd level 3; stored sizes are its repository's, without the archived WAL"
  else
    STATE[db.dump.pgbackrest]=FAILED
    PGBR_NOTE="pgBackRest: the full backup failed (see $LOGS/db.dump.pgbackrest.err)"
  fi
}

db_rounds() {
  local rounds=$1 k kind dest=$WORK/dest/strata-db fc=$WORK/dest/pg_dump-Fc
  mkdir -p "$fc"
  for ((k = 1; k <= rounds; k++)); do
    kind=$(day_kind "$k")
    KIND[$k]=$kind
    case $kind in
      update)
        ROWS[$k]=$(psql -X -At -d "$SRC_DSN" -c "SELECT count(*) FROM db_dbnode WHERE id % 100 = $((k % 100))")
        day_update "$SRC_DSN" "$k" >/dev/null || die "day $k: the UPDATEs failed" ;;
      append)
        ROWS[$k]=$(((NODES + 99) / 100))
        day_append "$SRC_DSN" "$WORK/db/new-folders" "${ROWS[$k]}" || die "day $k: adding nodes failed"
        rm -rf "$WORK/db/new-folders" ;;
      *) ROWS[$k]=0 ;;
    esac
    log "database: day $k ($kind, ${ROWS[$k]} rows): strata backup --database-only, pg_dump -Fc"
    if [[ ${STATE[db.dump.strata]:-} != ok ]]; then
      STATE[round.$k.strata]=skipped
    elif timed "round.$k.strata" "$STRATA" backup --dest "$dest" --dsn "$SRC_DSN" \
        --repository "$SRC_ROOT" --database-only --json --jobs "$JOBS" &&
      SIZE[round.$k.strata]=$(json_field "$LOGS/round.$k.strata.out" database.stored_bytes) &&
      DELTAS[$k]=$(json_field "$LOGS/round.$k.strata.out" database.delta_files); then
      STATE[round.$k.strata]=ok
    else
      STATE[round.$k.strata]=FAILED
    fi
    # What keeping one pg_dump -Fc file a day by hand stores: the whole file, every day.
    if timed "round.$k.pg_dump_fc" pg_dump -Fc --no-password --file="$fc/day$k.dump" --dbname="$SRC_DSN"; then
      SIZE[round.$k.pg_dump_fc]=$(stat -c %s "$fc/day$k.dump")
      STATE[round.$k.pg_dump_fc]=ok
    else
      STATE[round.$k.pg_dump_fc]=FAILED
    fi
    if ((PGBR == 1)); then
      log "database: day $k: pgBackRest incremental backup"
      if timed "round.$k.pgbackrest" "${PGBR_RUN[@]}" backup --type=incr &&
        SIZE[round.$k.pgbackrest]=$(pgbackrest_last delta); then
        STATE[round.$k.pgbackrest]=ok
      else
        STATE[round.$k.pgbackrest]=FAILED
      fi
    fi
  done
}
