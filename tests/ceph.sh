#!/usr/bin/env bash
# tests/ceph.sh — a throwaway single-node Ceph (one monitor, one memstore OSD, one radosgw) on
# 127.0.0.1, for the S3 tests (facts and gotchas: ../shared/s3-ceph.md).
#
#   tests/ceph.sh start DIR PORT   creates a cluster in DIR (which must not hold one yet): the
#                                  monitor on PORT, the OSD on PORT+1..PORT+9, the gateway (S3)
#                                  on PORT+10; creates the S3 user 'strata-test' and writes
#                                  DIR/env (the endpoint and the user's keys, as shell
#                                  assignments to source). Returns once the gateway answers.
#   tests/ceph.sh stop DIR         stops every daemon of the cluster (by pid); data is in RAM.
#   tests/ceph.sh stop-rgw DIR     stops only the gateway (a test of an endpoint that goes away).
#   tests/ceph.sh start-rgw DIR    starts the gateway again.
#
# Daemons run in the foreground mode (-f), detached, each with a pid file under DIR/run.
set -euo pipefail

ACCESS_KEY=STRATATESTACCESSKEY0
SECRET_KEY=strata-test-secret-9f2c41d7e8a6b35c0d1e

usage() {
  echo "usage: tests/ceph.sh start DIR PORT | stop DIR | stop-rgw DIR | start-rgw DIR" >&2
  exit 2
}

die() {
  echo "ceph.sh: $*" >&2
  exit 1
}

# alive PIDFILE — whether the daemon of PIDFILE runs. A zombie does not count, but a process
# whose main thread has exited while others still run shows as a zombie too: every thread is
# looked at.
alive() {
  local pid stat state
  [[ -f $1 ]] || return 1
  pid=$(cat "$1")
  for stat in /proc/"$pid"/task/*/stat; do
    [[ -r $stat ]] || continue
    state=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "$stat" 2>/dev/null) || continue
    [[ $state != Z && $state != X ]] && return 0
  done
  return 1
}

# stop_daemon DIR NAME — SIGTERM, then SIGKILL after 5 s.
stop_daemon() {
  local pidfile=$1/run/$2.pid i
  alive "$pidfile" || return 0
  kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive "$pidfile" || { rm -f "$pidfile"; return 0; }
    sleep 0.1
  done
  kill -KILL "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
}

# spawn DIR NAME COMMAND... — runs COMMAND detached; its pid in DIR/run/NAME.pid.
spawn() {
  local dir=$1 name=$2
  shift 2
  setsid "$@" </dev/null >>"$dir/log/$name.out" 2>&1 &
  echo $! >"$dir/run/$name.pid"
}

write_conf() {
  local dir=$1 port=$2
  cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $(cat "$dir/fsid")
mon host = v2:127.0.0.1:$port
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
ms bind msgr1 = false
ms bind port min = $((port + 1))
ms bind port max = $((port + 9))
ms mon client mode = crc
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
osd crush chooseleaf type = 0
mon warn on pool no redundancy = false

[mon]
mon data = $dir/mon/\$cluster-\$id
paxos propose interval = 0.05

[osd]
osd data = $dir/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = 2147483648
osd max object size = 134217728

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$((port + 10))
rgw data = $dir/rgw

EOF
}

start_rgw() {
  local dir=$1 port i
  port=$(cat "$dir/rgw.port")
  alive "$dir/run/rgw.pid" && return 0
  spawn "$dir" rgw radosgw -f -c "$dir/ceph.conf" -n client.rgw.a
  for ((i = 0; i < 300; i++)); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
      return 0
    fi
    alive "$dir/run/rgw.pid" || die "radosgw exited (see $dir/log)"
    sleep 0.1
  done
  die "radosgw did not answer on port $port within 30 s"
}

start() {
  local dir=$1 port=$2 uuid i
  [[ -e $dir/ceph.conf ]] && die "'$dir' already holds a cluster"
  mkdir -p "$dir"/{run,log,mon,osd/ceph-0,rgw}
  dir=$(cd "$dir" && pwd)
  cat /proc/sys/kernel/random/uuid >"$dir/fsid"
  echo $((port + 10)) >"$dir/rgw.port"
  write_conf "$dir" "$port"
  local conf=(-c "$dir/ceph.conf")
  monmaptool --create --fsid "$(cat "$dir/fsid")" --addv a "[v2:127.0.0.1:$port]" "$dir/monmap" >/dev/null
  ceph-mon "${conf[@]}" --mkfs -i a --monmap "$dir/monmap" >>"$dir/log/mkfs.out" 2>&1
  spawn "$dir" mon ceph-mon "${conf[@]}" -f -i a
  uuid=$(cat /proc/sys/kernel/random/uuid)
  timeout 30 ceph "${conf[@]}" osd new "$uuid" >/dev/null || die "monitor did not accept 'osd new'"
  ceph-osd "${conf[@]}" -i 0 --mkfs --osd-uuid "$uuid" >>"$dir/log/mkfs.out" 2>&1
  spawn "$dir" osd ceph-osd "${conf[@]}" -f -i 0
  for ((i = 0; i < 300; i++)); do
    if timeout 5 ceph "${conf[@]}" osd stat 2>/dev/null | grep -q '1 up'; then
      break
    fi
    ((i == 299)) && die "the OSD did not come up within 30 s"
    sleep 0.1
  done
  start_rgw "$dir"
  timeout 60 radosgw-admin "${conf[@]}" user create --uid=strata-test --display-name=strata-test \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
  cat >"$dir/env" <<EOF
STRATA_TEST_S3_ENDPOINT=http://127.0.0.1:$(cat "$dir/rgw.port")
STRATA_TEST_S3_ACCESS_KEY=$ACCESS_KEY
STRATA_TEST_S3_SECRET_KEY=$SECRET_KEY
STRATA_TEST_CEPH_DIR=$dir
EOF
}

stop() {
  local dir=$1
  [[ -d $dir/run ]] || return 0
  stop_daemon "$dir" rgw
  stop_daemon "$dir" osd
  stop_daemon "$dir" mon
}

(($# >= 2)) || usage
case $1 in
  start) (($# == 3)) || usage; start "$2" "$3" ;;
  stop) stop "$2" ;;
  stop-rgw) stop_daemon "$2" rgw ;;
  start-rgw) start_rgw "$2" ;;
  *) usage ;;
esac
