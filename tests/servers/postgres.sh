#!/usr/bin/env bash
# tests/servers/postgres.sh — a throwaway PostgreSQL cluster for the dump tests: Debian's
# packages, initdb + pg_ctl as an unprivileged user, listening on 127.0.0.1 only, trust
# authentication, data under DIR. Nothing under /etc/postgresql, no system service.
#
# Usage:
#   bash tests/servers/postgres.sh install          # apt-get install postgresql (idempotent)
#   bash tests/servers/postgres.sh start  [DIR]     # DIR defaults to /tmp/s3backup-pg
#   bash tests/servers/postgres.sh status [DIR]     # exit 0 and print env if running, else 1
#   bash tests/servers/postgres.sh stop   [DIR]     # stop our server, remove DIR
#
# `start` prints (and writes to DIR/env) lines:
#   PG_HOST=127.0.0.1
#   PG_PORT=55432
#   PG_USER=postgres
#   PG_BIN=/usr/lib/postgresql/15/bin
# `start` is idempotent: if the server of DIR answers it only prints the env.
#
# Environment overrides:
#   PG_PORT           TCP port (default 55432)
#   PG_BIN            folder of initdb/pg_ctl/pg_dump (default: the newest /usr/lib/postgresql/*/bin)
#   PG_RUN_AS         the unprivileged user the server runs as when started by root
#                     (default: postgres, which Debian's package creates)
#   PG_START_TIMEOUT  seconds to wait for the server (default 60)
# Two instances can run side by side with different DIR and PG_PORT.
set -euo pipefail

CMD="${1:-}"
DIR="${2:-/tmp/s3backup-pg}"
PG_PORT="${PG_PORT:-55432}"
PG_RUN_AS="${PG_RUN_AS:-postgres}"
PG_START_TIMEOUT="${PG_START_TIMEOUT:-60}"

log() { echo "postgres.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
  sed -n '2,24p' "$0" >&2
  exit 2
}

find_bin() {
  if [ -n "${PG_BIN:-}" ]; then
    [ -x "$PG_BIN/initdb" ] || die "PG_BIN=$PG_BIN has no initdb"
    echo "$PG_BIN"
    return
  fi
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$newest" ] && [ -x "$newest/initdb" ] ||
    die "no PostgreSQL server found under /usr/lib/postgresql (run: bash $0 install)"
  echo "$newest"
}

# Runs a command as the unprivileged user when we are root (PostgreSQL refuses to run as root).
as_user() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid="$PG_RUN_AS" --regid="$PG_RUN_AS" --init-groups --reset-env \
      env PATH=/usr/bin:/bin LC_ALL=C.UTF-8 "$@"
  else
    "$@"
  fi
}

print_env() {
  local env="PG_HOST=127.0.0.1
PG_PORT=$(cat "$DIR/port")
PG_USER=postgres
PG_BIN=$(cat "$DIR/bin")"
  echo "$env" > "$DIR/env"
  echo "$env"
}

is_up() {
  [ -f "$DIR/port" ] && [ -f "$DIR/bin" ] &&
    "$(cat "$DIR/bin")/pg_isready" -q -h 127.0.0.1 -p "$(cat "$DIR/port")" -t 2
}

cmd_install() {
  if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    log "PostgreSQL is installed: $(find_bin)"
    return
  fi
  [ "$(id -u)" = 0 ] || die "installing needs root (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed (is a Debian mirror reachable?)"
  # The server package would create and start a cluster of its own ("main" on port 5432): not
  # wanted. postgresql-common first, then its createcluster.conf says so, then the server.
  log "apt-get install postgresql-common, then postgresql (Debian's packages)"
  apt-get install -y -qq --no-install-recommends postgresql-common >/dev/null ||
    die "apt-get install postgresql-common failed"
  sed -i 's/^#* *create_main_cluster *=.*/create_main_cluster = false/' \
    /etc/postgresql-common/createcluster.conf
  grep -q '^create_main_cluster = false' /etc/postgresql-common/createcluster.conf ||
    echo "create_main_cluster = false" >>/etc/postgresql-common/createcluster.conf
  apt-get install -y -qq --no-install-recommends postgresql postgresql-client >/dev/null ||
    die "apt-get install postgresql failed"
  log "installed: $(find_bin)"
}

cmd_start() {
  if is_up; then
    print_env
    return
  fi
  local bin
  bin=$(find_bin)
  if [ "$(id -u)" = 0 ]; then
    id "$PG_RUN_AS" >/dev/null 2>&1 ||
      die "user $PG_RUN_AS does not exist (set PG_RUN_AS to an unprivileged user)"
  fi
  # A stale DIR (a server killed with the machine) is started from nothing.
  if [ -f "$DIR/data/postmaster.pid" ]; then
    as_user "$bin/pg_ctl" -D "$DIR/data" stop -m immediate >/dev/null 2>&1 || true
  fi
  rm -rf "$DIR"
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown "$PG_RUN_AS" "$DIR"
  chmod 700 "$DIR"
  echo "$PG_PORT" > "$DIR/port.tmp"
  echo "$bin" > "$DIR/bin.tmp"
  as_user "$bin/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --no-sync \
    >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
  mkdir -p "$DIR/sock"
  [ "$(id -u)" = 0 ] && chown "$PG_RUN_AS" "$DIR/sock"
  as_user "$bin/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t "$PG_START_TIMEOUT" \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$DIR/sock -c fsync=off -c full_page_writes=off" \
    start >/dev/null || { tail -20 "$DIR/server.log" >&2 || true; die "pg_ctl start failed"; }
  mv "$DIR/port.tmp" "$DIR/port"
  mv "$DIR/bin.tmp" "$DIR/bin"
  is_up || { tail -20 "$DIR/server.log" >&2 || true; die "the server does not answer on 127.0.0.1:$PG_PORT"; }
  print_env
}

cmd_status() {
  if is_up; then
    print_env
  else
    log "not running (DIR=$DIR)"
    exit 1
  fi
}

cmd_stop() {
  if [ -f "$DIR/bin" ] && [ -d "$DIR/data" ]; then
    as_user "$(cat "$DIR/bin")/pg_ctl" -D "$DIR/data" stop -m fast >/dev/null 2>&1 || true
  fi
  rm -rf "$DIR"
}

case "$CMD" in
  install) cmd_install ;;
  start) cmd_start ;;
  status) cmd_status ;;
  stop) cmd_stop ;;
  *) usage ;;
esac
