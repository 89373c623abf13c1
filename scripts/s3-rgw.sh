#!/usr/bin/env bash
# s3-rgw.sh - a real S3 server for integration tests: single-node Ceph RADOS Gateway
# (Debian 12 packages, Ceph 16.2 Pacific), loopback only, no systemd, no root-owned
# system paths touched (everything lives in $S3_DIR).
#
#   bash start-s3.sh            # install (if needed) + start in background + wait healthy + create user/bucket
#   bash start-s3.sh stop       # stop the daemons this script started (by their recorded PIDs)
#   bash start-s3.sh status     # exit 0 if the S3 endpoint answers
#   source "$S3_DIR/s3.env"     # AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...
#
# Topology: 1 ceph-mon (auth none, msgr v2 on 127.0.0.1:$S3_MON_PORT), 1 ceph-osd with the
# in-memory "memstore" backend (data is lost on stop - fine for tests), pools of size 1,
# no ceph-mgr (not needed for RGW I/O), radosgw with the beast frontend on 127.0.0.1:$S3_PORT.
# S3 requests themselves are fully SigV4-authenticated by RGW (cephx "auth none" only
# concerns the daemons talking to each other).
set -euo pipefail

S3_DIR=${S3_DIR:-/tmp/effect-obstore/s3}
S3_HOST=${S3_HOST:-127.0.0.1}
S3_PORT=${S3_PORT:-47480}
S3_MON_PORT=${S3_MON_PORT:-43300}
S3_REGION=${S3_REGION:-us-east-1}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-AKIAOBSTORETEST00000}
S3_SECRET_KEY=${S3_SECRET_KEY:-obstoreTestSecretKey00000000000000000000}
S3_BUCKET=${S3_BUCKET:-test-bucket}
S3_MEM_BYTES=${S3_MEM_BYTES:-8589934592}   # capacity memstore reports (data lives in RAM, only what is stored)
S3_START_TIMEOUT=${S3_START_TIMEOUT:-120}  # seconds, per phase

case "$S3_DIR" in /tmp/?*|/var/tmp/?*|/run/?*|/dev/shm/?*|*/s3*|*/rgw*) ;; *) echo "refusing S3_DIR=$S3_DIR (it gets rm -rf'd; use a scratch dir)" >&2; exit 2 ;; esac
ENDPOINT="http://${S3_HOST}:${S3_PORT}"
CONF="$S3_DIR/ceph.conf"
RUN="$S3_DIR/run"
LOG="$S3_DIR/log"

log() { echo "[start-s3 +${SECONDS}s] $*" >&2; }
die() {
  echo "[start-s3] ERROR: $*" >&2
  for f in "$LOG"/*.log "$LOG"/*.out; do [ -s "$f" ] && { echo "--- tail $f" >&2; tail -n 20 "$f" >&2; }; done 2>/dev/null
  stop_daemons quiet
  exit 1
}

# fd 9 is the lock; every daemon is started with 9>&- so it never holds the lock after this script exits.
lock() { flock -w 600 9 || { echo "[start-s3] another start/stop held $S3_DIR.lock for 10 minutes" >&2; exit 1; }; }

# PID of one of our daemons, only if it is alive and really is ours (cmdline names our conf).
our_pid() {
  local f="$RUN/$1.fgpid" pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$CONF" || return 1
  echo "$pid"
}

http_up() { curl -s -o /dev/null --max-time 2 "$ENDPOINT/"; }

# SigV4-signed request with curl (curl >= 7.75; 7.88 needs x-amz-content-sha256 set explicitly).
s3curl() {
  curl -sS --max-time 10 --aws-sigv4 "aws:amz:${S3_REGION}:s3" --user "${S3_ACCESS_KEY}:${S3_SECRET_KEY}" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

write_env() {
  cat >"$S3_DIR/s3.env" <<EOF
export AWS_ENDPOINT_URL=$ENDPOINT
export AWS_ENDPOINT=$ENDPOINT
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export AWS_REGION=$S3_REGION
export AWS_DEFAULT_REGION=$S3_REGION
export AWS_ALLOW_HTTP=true
export S3_BUCKET=$S3_BUCKET
EOF
}

print_info() {
  echo "S3 endpoint : $ENDPOINT  (path-style, region $S3_REGION, plain HTTP)"
  echo "access key  : $S3_ACCESS_KEY"
  echo "secret key  : $S3_SECRET_KEY"
  echo "bucket      : $S3_BUCKET"
  echo "env file    : source $S3_DIR/s3.env"
  echo "stop        : bash $(realpath "$0") stop   (with the same S3_DIR)"
}

install_pkgs() {
  if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null \
     && command -v radosgw-admin >/dev/null && command -v monmaptool >/dev/null && command -v curl >/dev/null; then
    return 0
  fi
  log "installing radosgw ceph-mon ceph-osd (Debian packages)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends radosgw ceph-mon ceph-osd curl >/dev/null
}

wait_for() { # wait_for <what> <cmd...>
  local what=$1; shift
  local deadline=$((SECONDS + S3_START_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "timed out waiting for $what"
    sleep 0.3
  done
}

osd_up() { timeout 10 ceph -c "$CONF" osd dump 2>/dev/null | grep -q '^osd.0 up'; }

start() {
  if our_pid rgw >/dev/null && http_up; then
    log "already running"; write_env; print_info; return 0
  fi
  install_pkgs
  stop_daemons quiet
  if http_up; then echo "[start-s3] ERROR: something else already answers on $ENDPOINT (set S3_PORT)" >&2; exit 1; fi
  local t0=$SECONDS
  rm -rf "$S3_DIR"
  mkdir -p "$S3_DIR"/{mon,osd,rgw} "$RUN" "$LOG"
  local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$S3_MON_PORT
mon_initial_members = a
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc secure
ms_bind_ipv6 = false
public_network = 127.0.0.0/8
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_warn_on_insecure_global_id_reclaim_allowed = false
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
run_dir = $RUN
admin_socket = $RUN/\$name.asok
log_file = $LOG/\$name.log
pid_file = $RUN/\$name.pid
keyring = $S3_DIR/keyring
[mon]
mon_data = $S3_DIR/mon
mon_data_avail_warn = 1
mon_data_avail_crit = 0
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
[osd]
ms_bind_port_min = ${S3_OSD_PORT_MIN:-46800}
ms_bind_port_max = ${S3_OSD_PORT_MAX:-46899}
osd_data = $S3_DIR/osd
osd_objectstore = memstore
memstore_device_bytes = $S3_MEM_BYTES
osd_max_object_name_len = 460
osd_max_object_namespace_len = 64
[client.rgw.a]
rgw_frontends = beast endpoint=${S3_HOST}:${S3_PORT} tcp_nodelay=1
rgw_data = $S3_DIR/rgw
rgw_dns_name = ${S3_HOST}
rgw_enable_usage_log = false
rgw_crypt_require_ssl = false
rgw_thread_pool_size = 64
# Free deleted and overwritten data within seconds instead of hours: memstore keeps it in RAM, and a full OSD
# blocks every write (requests hang rather than fail).
rgw_gc_obj_min_wait = 1
rgw_gc_processor_period = 5
rgw_gc_processor_max_time = 5
EOF
  log "starting ceph-mon on 127.0.0.1:$S3_MON_PORT"
  monmaptool --create --addv a "[v2:127.0.0.1:$S3_MON_PORT]" --fsid "$fsid" "$S3_DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$S3_DIR/monmap" >"$LOG/mon.mkfs.out" 2>&1 || die "ceph-mon --mkfs failed"
  nohup ceph-mon -c "$CONF" -i a -f >"$LOG/mon.out" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/mon.fgpid"
  wait_for "ceph-mon" timeout 5 ceph -c "$CONF" mon stat
  log "starting ceph-osd (memstore)"
  local osd_uuid; osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  timeout 20 ceph -c "$CONF" osd new "$osd_uuid" >/dev/null || die "ceph osd new failed"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$LOG/osd.mkfs.out" 2>&1 || die "ceph-osd --mkfs failed"
  nohup ceph-osd -c "$CONF" -i 0 -f >"$LOG/osd.out" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/osd.fgpid"
  wait_for "ceph-osd up" osd_up
  log "starting radosgw on $ENDPOINT (creates its pools on first start)"
  nohup radosgw -c "$CONF" -n client.rgw.a -f >"$LOG/rgw.out" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/rgw.fgpid"
  wait_for "radosgw HTTP on $ENDPOINT" http_up
  log "creating S3 user and bucket $S3_BUCKET"
  # Seen once under load: the first user create fails while RGW's pools are still being made; retry a few times.
  local attempt
  for attempt in 1 2 3 4 5; do
    radosgw-admin -c "$CONF" user create --uid=tester --display-name="Test User" \
      --access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY" --max-buckets=0 >"$LOG/user.json" 2>"$LOG/user.err" \
      && break
    radosgw-admin -c "$CONF" user info --uid=tester >/dev/null 2>&1 && break
    [ "$attempt" = 5 ] && die "radosgw-admin user create failed: $(tail -n 3 "$LOG/user.err")"
    sleep 2
  done
  local code
  code=$(s3curl -o "$LOG/mkbucket.out" -w '%{http_code}' -X PUT "$ENDPOINT/$S3_BUCKET") || true
  [ "$code" = 200 ] || die "creating bucket $S3_BUCKET returned HTTP $code: $(cat "$LOG/mkbucket.out" 2>/dev/null)"
  code=$(s3curl -o /dev/null -w '%{http_code}' "$ENDPOINT/$S3_BUCKET?list-type=2") || true
  [ "$code" = 200 ] || die "listing bucket $S3_BUCKET returned HTTP $code"
  write_env
  log "ready (startup took $((SECONDS - t0))s)"
  print_info
}

stop_group() { # SIGTERM the named daemons, wait up to 10 s, then SIGKILL; only PIDs we recorded and that are ours
  local quiet=$1 name pid i pids=()
  shift
  for name in "$@"; do
    pid=$(our_pid "$name") || { rm -f "$RUN/$name.fgpid"; continue; }
    [ -n "$quiet" ] || log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
  done
  for pid in "${pids[@]}"; do
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  for name in "$@"; do rm -f "$RUN/$name.fgpid"; done
}
stop_daemons() { # one at a time: rgw, osd (it tells the mon it is going down), mon. Data is in RAM only.
  local quiet=${1:-}
  [ -d "$RUN" ] || return 0
  stop_group "$quiet" rgw
  stop_group "$quiet" osd
  stop_group "$quiet" mon
}

case "${1:-start}" in
  # One start at a time: test runs and benchmarks started together must not both build a cluster in $S3_DIR.
  start) mkdir -p "$(dirname "$S3_DIR")"; exec 9>"$S3_DIR.lock"; lock; start ;;
  stop) exec 9>"$S3_DIR.lock"; lock; stop_daemons; log "stopped" ;;
  status) if http_up; then echo "up: $ENDPOINT"; else echo "down"; exit 1; fi ;;
  env) write_env; cat "$S3_DIR/s3.env" ;;
  *) echo "usage: $0 [start|stop|status|env]" >&2; exit 2 ;;
esac
