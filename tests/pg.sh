#!/usr/bin/env bash
# tests/pg.sh — start and stop throwaway PostgreSQL clusters for tests and the quickstart.
#
#   tests/pg.sh start DIR PORT   initialise (once) a cluster in DIR/data and start it:
#                                socket in DIR/sock, TCP on 127.0.0.1:PORT, log in DIR/postgres.log;
#                                local (socket) connections are trusted, TCP ones need a password
#                                (scram-sha-256); superuser 'postgres'; a role 'strata_pw' with
#                                password 's3cret-pw' (LOGIN CREATEDB) for credential tests.
#                                Returns once the server accepts connections.
#   tests/pg.sh stop DIR         stop it (fast mode); does nothing if it is not running.
#
# Uses the newest PostgreSQL under /usr/lib/postgresql/*/bin. Run as root, the server runs as the
# 'postgres' OS user and DIR is handed to that user, so DIR's parents must be traversable by it
# (anything under /tmp is). DIR should be short: a socket path is limited to 107 bytes.
set -euo pipefail

TEST_ROLE=strata_pw
TEST_ROLE_PASSWORD=s3cret-pw

usage() {
  echo "usage: tests/pg.sh start DIR PORT | tests/pg.sh stop DIR" >&2
  exit 2
}

die() {
  echo "pg.sh: $*" >&2
  exit 1
}

pg_bindir() {
  local dir
  dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null |
        sort -V | tail -n 1)
  [[ -n $dir && -x $dir/pg_ctl ]] || die "no PostgreSQL server under /usr/lib/postgresql/*/bin"
  printf '%s\n' "$dir"
}

# Runs a command as the cluster's owner: 'postgres' when we are root, ourselves otherwise.
# The working directory is / so the server user never trips over an unreadable cwd.
as_owner() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

is_running() {
  local data=$1
  [[ -f $data/PG_VERSION ]] && as_owner "$BIN/pg_ctl" status -D "$data" >/dev/null 2>&1
}

show_log_tail() {
  local log=$1
  if [[ -f $log ]]; then
    echo "pg.sh: last lines of $log:" >&2
    tail -n 20 "$log" >&2
  fi
}

cmd_start() {
  local dir=$1 port=$2
  [[ $port =~ ^[0-9]+$ ]] || die "port must be a number: '$port'"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local data=$dir/data sock=$dir/sock log=$dir/postgres.log

  mkdir -p "$sock"
  chmod 0755 "$dir" "$sock"
  if ((EUID == 0)); then
    getent passwd postgres >/dev/null || die "running as root but there is no 'postgres' user"
    chown -R postgres:postgres "$dir"
    as_owner test -x "$dir" ||
      die "user 'postgres' cannot reach '$dir': make its parent directories traversable (0755)"
  fi

  if is_running "$data"; then
    echo "pg.sh: cluster in $data already running"
  else
    if [[ ! -f $data/PG_VERSION ]]; then
      echo "pg.sh: initdb $data ($("$BIN/postgres" --version))"
      as_owner "$BIN/initdb" -D "$data" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; die "initdb failed"; }
      echo "include_if_exists = 'strata-test.conf'" | as_owner tee -a "$data/postgresql.conf" >/dev/null
    fi
    # Rewritten on every start, so the same DIR can be started on another port.
    # fsync off: a throwaway cluster never has to survive a machine crash.
    as_owner tee "$data/strata-test.conf" >/dev/null <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    echo "pg.sh: starting on port $port (socket $sock)"
    as_owner "$BIN/pg_ctl" start -D "$data" -l "$log" -w -t 60 -s ||
      { show_log_tail "$log"; die "could not start the cluster in $data"; }
  fi

  local i
  for ((i = 0; i < 60; i++)); do
    if "$BIN/pg_isready" -q -h "$sock" -p "$port"; then
      break
    fi
    sleep 0.5
  done
  "$BIN/pg_isready" -q -h "$sock" -p "$port" ||
    { show_log_tail "$log"; die "cluster on port $port does not accept connections"; }

  "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres -d postgres <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$TEST_ROLE') THEN
    CREATE ROLE $TEST_ROLE LOGIN CREATEDB PASSWORD '$TEST_ROLE_PASSWORD';
  END IF;
END
\$\$;
EOF
  echo "pg.sh: ready: host=$sock port=$port user=postgres"
}

cmd_stop() {
  local dir=$1
  if [[ ! -d $dir ]]; then
    echo "pg.sh: $dir does not exist; nothing to stop"
    return 0
  fi
  dir=$(cd "$dir" && pwd)
  local data=$dir/data
  if ! is_running "$data"; then
    echo "pg.sh: no cluster running in $dir"
    return 0
  fi
  as_owner "$BIN/pg_ctl" stop -D "$data" -m fast -w -t 60 -s
  echo "pg.sh: stopped cluster in $data"
}

main() {
  (($# >= 1)) || usage
  BIN=$(pg_bindir)
  case $1 in
    start) (($# == 3)) || usage; cmd_start "$2" "$3" ;;
    stop) (($# == 2)) || usage; cmd_stop "$2" ;;
    *) usage ;;
  esac
}

main "$@"
