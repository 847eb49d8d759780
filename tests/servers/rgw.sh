#!/usr/bin/env bash
# tests/servers/rgw.sh — a throwaway, versioned S3 server for integration tests:
# Ceph RADOS Gateway (Debian bookworm packages, Ceph 16.2 "pacific") running
# entirely on 127.0.0.1, with one mon, one memstore OSD and radosgw (beast).
# No mgr, no auth (cephx off), nothing under /etc/ceph or /var/lib/ceph.
#
# Usage:
#   bash tests/servers/rgw.sh install          # apt-get install ceph-mon ceph-osd radosgw (idempotent)
#   bash tests/servers/rgw.sh start  [DIR]     # DIR defaults to /tmp/s3backup-rgw
#   bash tests/servers/rgw.sh status [DIR]     # exit 0 and print env if running, else exit 1
#   bash tests/servers/rgw.sh stop   [DIR]     # kill our daemons by pid, remove DIR
#
# `start` prints (and writes to DIR/env) lines:
#   RGW_ENDPOINT=http://127.0.0.1:7480
#   RGW_ACCESS_KEY=...
#   RGW_SECRET_KEY=...
#   RGW_REGION=us-east-1
# so `eval "$(bash tests/servers/rgw.sh start)"` or `set -a; . /tmp/s3backup-rgw/env`
# works. `start` is idempotent: if the daemons of DIR are alive and HTTP
# answers it only prints the env. Otherwise it wipes DIR and starts from
# nothing (memstore keeps no data across restarts anyway): ~2 s from nothing
# to answering (13 s without the paxos settings below), ~200 MiB RSS idle
# plus the objects stored, which live in RAM. `stop` takes ~2 s.
#
# Environment overrides:
#   RGW_PORT        HTTP port of radosgw (default 7480)
#   RGW_MON_PORT    msgr2 port of the mon (default RGW_PORT+10000, i.e. 17480)
#   RGW_ACCESS_KEY / RGW_SECRET_KEY   credentials of the S3 user "test"
#   RGW_MEMSTORE_BYTES  capacity the memstore OSD reports (default 8 GiB;
#                   objects really live in RAM, so keep test data small)
#   RGW_START_TIMEOUT   seconds to wait for each step (default 60)
# Two instances can run side by side with different DIR and RGW_PORT.
#
# Settings that matter (found by trial): auth {cluster,service,client}
# required = none *and* ms mon client mode = crc (otherwise radosgw loops on
# auth error -13 and never starts); pool size 1 / min size 1, 8 PGs,
# autoscale off, crush chooseleaf type 0, mon allow pool size one.
# rgw lc debug interval = 10: a lifecycle "day" lasts 10 seconds (a
# NoncurrentDays: 1 rule removed old versions within ~90 s in our check).
# paxos propose interval 0.05 s: each pool creation otherwise costs ~1 s.
#
# Known limits of RGW 16.2 (clients/tests must live with them):
#  - Streamed uploads using the AWS SDK v3 default trailing checksums
#    (aws-chunked + x-amz-trailer) get HTTP 411. Create the S3Client with
#    requestChecksumCalculation/responseChecksumValidation: "WHEN_REQUIRED"
#    and send precomputed checksums (ContentMD5 / ChecksumSHA256) instead.
#  - PutBucketEncryption is not supported.
#  - The ETag in the CompleteMultipartUpload response is empty; use
#    HeadObject to learn it.
#  - A bucket policy denying aws:SecureTransport=false is accepted but not
#    enforced over plain http.
#  - Flexible checksums are ignored: a WRONG x-amz-checksum-sha256 is
#    accepted on PutObject and UploadPart (even with ChecksumAlgorithm SHA256
#    on CreateMultipartUpload), and no x-amz-checksum-* is returned by
#    PUT/GET/HEAD. Content-MD5 IS enforced (BadDigest, 400) on both.
#  - PublicAccessBlock with BlockPublicAcls=true makes the bucket OWNER's
#    PutObject fail with 403 AccessDenied (with or without x-amz-acl);
#    CreateMultipartUpload/CopyObject still work. Other PAB flags are fine.
#  - Lifecycle read back turns Filter{Prefix:""} into the legacy rule Prefix.
set -euo pipefail

CMD="${1:-}"
DIR="${2:-/tmp/s3backup-rgw}"
RGW_PORT_REQUESTED="${RGW_PORT:-}"
RGW_PORT="${RGW_PORT:-7480}"
RGW_MON_PORT="${RGW_MON_PORT:-$((RGW_PORT + 10000))}"
RGW_ACCESS_KEY="${RGW_ACCESS_KEY:-S3BACKUPTESTKEY00001}"
RGW_SECRET_KEY="${RGW_SECRET_KEY:-s3backupTestSecretKey0000000000000000000}"
RGW_MEMSTORE_BYTES="${RGW_MEMSTORE_BYTES:-8589934592}"
RGW_START_TIMEOUT="${RGW_START_TIMEOUT:-60}"
MARKER=".s3backup-rgw"
DAEMONS=(mon osd rgw) # start order; stopped in reverse

log() { echo "rgw.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
  sed -n '2,16p' "$0" >&2
  exit 2
}

# ---------------------------------------------------------------- install
BINARIES=(ceph ceph-mon ceph-osd ceph-authtool monmaptool radosgw radosgw-admin)

have_binaries() {
  local b
  for b in "${BINARIES[@]}"; do command -v "$b" >/dev/null 2>&1 || return 1; done
}

do_install() {
  if have_binaries; then
    log "ceph-mon, ceph-osd, radosgw already installed ($(ceph --version 2>/dev/null | awk '{print $3}'))"
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "install needs root (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  local pkgs=(ceph-mon ceph-osd radosgw)
  local cand
  cand="$(apt-cache policy radosgw 2>/dev/null | awk '/Candidate:/ {print $2}')"
  if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
    log "apt-get update (no candidate for radosgw yet)"
    apt-get update -qq
  fi
  if ! apt-get install -y -q --no-install-recommends "${pkgs[@]}"; then
    log "install failed; retrying after apt-get update"
    apt-get update -qq
    apt-get install -y -q --no-install-recommends "${pkgs[@]}"
  fi
  have_binaries || die "packages installed but binaries missing: ${BINARIES[*]}"
}

# ---------------------------------------------------------------- helpers
case "$DIR" in
  /*) ;;
  *) DIR="$(pwd)/$DIR" ;;
esac
DIR="${DIR%/}"
if [ -z "$DIR" ] || [ "$DIR" = "/" ]; then die "refusing DIR='$DIR'"; fi
CONF="$DIR/ceph.conf"
ENDPOINT="http://127.0.0.1:$RGW_PORT"

# A DIR we may wipe: missing, empty, or made by us (has the marker).
dir_is_ours() {
  [ ! -e "$DIR" ] && return 0
  [ -d "$DIR" ] || return 1
  [ -e "$DIR/$MARKER" ] && return 0
  [ -z "$(ls -A "$DIR")" ]
}

# pid of daemon $1 if its pid file exists and the process is ours and alive.
daemon_pid() {
  local f="$DIR/$1.pid" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  # guard against pid reuse: the command line must name our config file
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- " -c $CONF " || return 1
  # a zombie is not alive
  [ "$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" != "Z" ] || return 1
  echo "$pid"
}

# An existing instance keeps the port it was started with (from DIR/env).
adopt_env_port() {
  local p
  p="$(sed -n 's|^RGW_ENDPOINT=http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$DIR/env" 2>/dev/null || true)"
  if [ -n "$p" ]; then
    RGW_PORT="$p"
    ENDPOINT="http://127.0.0.1:$RGW_PORT"
  fi
}

http_code() { # prints the HTTP status of GET $ENDPOINT/ or nothing
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -m 3 -w '%{http_code}' "$ENDPOINT/" 2>/dev/null || true
  else
    (
      exec 3<>"/dev/tcp/127.0.0.1/$RGW_PORT" || exit 0
      printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
      timeout 3 head -n1 <&3 | awk '{print $2}'
    ) 2>/dev/null || true
  fi
}

http_ok() {
  local c
  c="$(http_code)"
  [[ "$c" =~ ^[2-4][0-9][0-9]$ ]]
}

is_running() {
  local d
  [ -f "$DIR/env" ] || return 1
  adopt_env_port
  for d in "${DAEMONS[@]}"; do daemon_pid "$d" >/dev/null || return 1; done
  http_ok
}

print_env() { cat "$DIR/env"; }

show_log() { # tail of the log of daemon $1 (and its stdout/stderr capture)
  local f
  for f in "$DIR/log/$1.log" "$DIR/log/$1.out"; do
    if [ -s "$f" ]; then
      echo "----- tail of $f -----" >&2
      tail -n 40 "$f" >&2
    fi
  done
}

fail() { # fail WHICH-LOG MESSAGE: show log, stop what we started, exit 1
  local which="$1"; shift
  log "ERROR: $*"
  show_log "$which"
  log "stopping the partial cluster; logs stay in $DIR/log until the next start/stop"
  stop_daemons || true
  exit 1
}

ceph_cli() { timeout 30 ceph -c "$CONF" --connect-timeout 15 "$@"; }

# launch NAME LOGNAME BINARY ARGS...: run a daemon in the foreground mode (-f)
# but detached (own session, stdio to a file) and record its pid.
launch() {
  local name="$1" logname="$2"; shift 2
  setsid "$@" </dev/null >>"$DIR/log/$logname.out" 2>&1 9>&- &
  local pid=$!
  echo "$pid" >"$DIR/$name.pid"
  sleep 0.3
  daemon_pid "$name" >/dev/null || fail "$logname" "$name ($1) exited right after start"
}

wait_for() { # wait_for LOG DESCRIPTION COMMAND...
  local logname="$1" what="$2"; shift 2
  local deadline=$((SECONDS + RGW_START_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    local d
    for d in "${DAEMONS[@]}"; do
      if [ -f "$DIR/$d.pid" ] && ! daemon_pid "$d" >/dev/null; then
        fail "$d" "$d died while waiting for $what"
      fi
    done
    [ "$SECONDS" -lt "$deadline" ] || fail "$logname" "timed out after ${RGW_START_TIMEOUT}s waiting for $what"
    sleep 0.5
  done
}

osd_up() { ceph_cli osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1'; }

wait_exit() { # wait_exit PID SECONDS [quiet]: wait for PID to go away, SIGKILL after SECONDS
  local pid="$1" deadline=$((SECONDS + $2)) quiet="${3:-}"
  while kill -0 "$pid" 2>/dev/null && [ "$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" != "Z" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      [ -n "$quiet" ] || log "pid $pid did not exit after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
      return 0
    fi
    sleep 0.1
  done
}

stop_daemons() { # rgw, then osd (it tells the mon it is going), then mon
  local i d pid
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
    d="${DAEMONS[$i]}"
    if pid="$(daemon_pid "$d")"; then
      kill -TERM "$pid" 2>/dev/null || true
      # radosgw needs ~5 s for a clean exit; its data is thrown away anyway
      if [ "$d" = rgw ]; then wait_exit "$pid" 2 quiet; else wait_exit "$pid" 15; fi
    fi
    rm -f "$DIR/$d.pid"
  done
}

port_in_use() { # port_in_use PORT
  if command -v ss >/dev/null 2>&1; then
    ss -Htln "sport = :$1" 2>/dev/null | grep -q .
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# ---------------------------------------------------------------- start
write_conf() {
  cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon initial members = a
mon host = [v2:127.0.0.1:$RGW_MON_PORT]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
ms mon client mode = crc
auth cluster required = none
auth service required = none
auth client required = none
keyring = $DIR/keyring
run dir = $DIR/run
admin socket = $DIR/run/\$cluster-\$name.asok
log file = $DIR/log/\$name.log
mon cluster log file = $DIR/log/cluster.log
crash dir = $DIR/crash
log to stderr = false
err to stderr = true
debug ms = 0
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
# commit mon changes (pool creation by radosgw-admin) without the 1 s batching
paxos propose interval = 0.05
paxos min wait = 0.01

[mon]
mon data = $DIR/mon

[osd]
osd data = $DIR/osd
osd objectstore = memstore
memstore device bytes = $RGW_MEMSTORE_BYTES
osd max object name len = 460
osd max object namespace len = 64

[client]
rgw data = $DIR/rgw
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw lc debug interval = 10
rgw enable usage log = false
rgw thread pool size = 64
EOF
}

do_start() {
  have_binaries || die "ceph binaries missing; run: bash $0 install"
  dir_is_ours || die "$DIR exists and was not made by rgw.sh (no $MARKER); refusing to use it"
  mkdir -p "$(dirname "$DIR")"
  exec 9>"$DIR.lock"
  flock -w 120 9 || die "could not lock $DIR.lock"

  local want_port="$RGW_PORT"
  if is_running; then
    if [ -n "$RGW_PORT_REQUESTED" ] && [ "$RGW_PORT_REQUESTED" != "$RGW_PORT" ]; then
      die "$DIR already runs radosgw on port $RGW_PORT, not $RGW_PORT_REQUESTED; stop it first or use another DIR"
    fi
    print_env
    return 0
  fi
  RGW_PORT="$want_port"
  ENDPOINT="http://127.0.0.1:$RGW_PORT"
  dir_is_ours || die "$DIR exists and was not made by rgw.sh (no $MARKER); refusing to wipe it"
  if [ -e "$DIR" ]; then
    log "stale instance in $DIR; cleaning up"
    stop_daemons
    rm -rf "$DIR"
  fi
  port_in_use "$RGW_PORT" && die "port $RGW_PORT already in use (set RGW_PORT)"
  port_in_use "$RGW_MON_PORT" && die "port $RGW_MON_PORT already in use (set RGW_MON_PORT)"

  local t0=$SECONDS
  mkdir -p "$DIR"/{mon,osd,rgw,run,log,crash}
  touch "$DIR/$MARKER"
  FSID="$(cat /proc/sys/kernel/random/uuid)"
  write_conf

  # --- mon
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >"$DIR/log/mkfs.out" 2>&1 ||
    fail mkfs "ceph-authtool failed"
  monmaptool --create --addv a "[v2:127.0.0.1:$RGW_MON_PORT]" --fsid "$FSID" "$DIR/monmap" >>"$DIR/log/mkfs.out" 2>&1 ||
    fail mkfs "monmaptool failed"
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" \
    --setuser root --setgroup root >>"$DIR/log/mkfs.out" 2>&1 || fail mkfs "ceph-mon --mkfs failed"
  launch mon mon.a ceph-mon -c "$CONF" -f -i a --setuser root --setgroup root
  wait_for mon.a "the mon to answer" ceph_cli mon stat

  # --- osd
  local osd_uuid osd_id
  osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
  osd_id="$(ceph_cli osd new "$osd_uuid" 2>>"$DIR/log/mkfs.out")" || fail mkfs "ceph osd new failed"
  [ "$osd_id" = 0 ] || fail mkfs "unexpected osd id '$osd_id'"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" --setuser root --setgroup root \
    >>"$DIR/log/mkfs.out" 2>&1 || fail osd.0 "ceph-osd --mkfs failed"
  launch osd osd.0 ceph-osd -c "$CONF" -f -i 0 --setuser root --setgroup root
  wait_for osd.0 "the osd to be up (ceph osd stat)" osd_up

  # --- rgw user (radosgw-admin creates the rgw pools as needed)
  timeout "$RGW_START_TIMEOUT" radosgw-admin -c "$CONF" user create --uid=test --display-name=test \
    --access-key="$RGW_ACCESS_KEY" --secret="$RGW_SECRET_KEY" >"$DIR/log/user.out" 2>&1 ||
    fail user "radosgw-admin user create failed"

  # --- radosgw
  launch rgw client.rgw radosgw -c "$CONF" -f -n client.rgw --setuser root --setgroup root
  wait_for client.rgw "HTTP on $ENDPOINT" http_ok

  cat >"$DIR/env.tmp" <<EOF
RGW_ENDPOINT=$ENDPOINT
RGW_ACCESS_KEY=$RGW_ACCESS_KEY
RGW_SECRET_KEY=$RGW_SECRET_KEY
RGW_REGION=us-east-1
EOF
  mv "$DIR/env.tmp" "$DIR/env"
  log "radosgw answering on $ENDPOINT after $((SECONDS - t0))s (dir $DIR)"
  print_env
}

do_stop() {
  if [ ! -e "$DIR" ]; then
    log "nothing in $DIR"
    return 0
  fi
  dir_is_ours || die "$DIR was not made by rgw.sh (no $MARKER); refusing to touch it"
  exec 9>"$DIR.lock"
  flock -w 120 9 || die "could not lock $DIR.lock"
  stop_daemons
  rm -rf "$DIR"
  log "stopped; removed $DIR"
}

do_status() {
  local d pid
  for d in "${DAEMONS[@]}"; do
    if pid="$(daemon_pid "$d")"; then log "$d: running (pid $pid)"; else log "$d: not running"; fi
  done
  if is_running; then
    log "HTTP $ENDPOINT answers ($(http_code))"
    print_env
    return 0
  fi
  log "not running (DIR $DIR)"
  return 1
}

case "$CMD" in
  install) do_install ;;
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  *) usage ;;
esac
