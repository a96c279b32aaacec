#!/usr/bin/env bash
# PostgreSQL from Debian's packages on a project-local data directory (.pgdata), on 127.0.0.1.
# Usage: scripts/pg-local.sh install|start|stop|status|destroy
# Env: PGPORT (5432), PG_HOME_DIR (.pgdata). Uses a server already listening on PGPORT if there is one.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PG_HOME_DIR="${PG_HOME_DIR:-$(cd "$HERE/.." && pwd)/.pgdata}"
PGPORT="${PGPORT:-5432}"
# postgres refuses to run as root: run the server as the `postgres` user the package creates.
AS=(); [ "$(id -u)" = 0 ] && AS=(runuser -u postgres --)

resolve_dirs() {
  if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 \
     && ! runuser -u postgres -- test -x "$(dirname "$PG_HOME_DIR")" 2>/dev/null; then
    # The checkout sits where the postgres user cannot enter (e.g. under /root): keep the data
    # directory under postgres's home instead, one per checkout.
    PG_HOME_DIR="/var/lib/postgresql/stream_app-$(echo "$PG_HOME_DIR" | md5sum | cut -c1-10)"
  fi
  DATA="$PG_HOME_DIR/data-$PGPORT"
  LOG="$PG_HOME_DIR/server-$PGPORT.log"
}

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

install() {
  if [ -z "$(bindir)" ]; then
    echo "installing postgresql from Debian's packages..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
}

listening() { pg_isready -q -h 127.0.0.1 -p "$PGPORT" 2>/dev/null; }

start() {
  install
  resolve_dirs
  local bin; bin="$(bindir)"
  if listening; then echo "postgres already listening on 127.0.0.1:${PGPORT}"; return 0; fi
  mkdir -p "$PG_HOME_DIR"
  [ "$(id -u)" = 0 ] && chown postgres "$PG_HOME_DIR"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    "${AS[@]}" "$bin/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  # Local test server: fsync off trades crash-durability of the *server* for speed; the worker's own
  # guarantees are tested by killing the worker, not the machine.
  "${AS[@]}" "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start \
    -o "-p $PGPORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_HOME_DIR -c fsync=off -c max_connections=200" >/dev/null
  echo "postgres up on 127.0.0.1:${PGPORT}"
}

stop() {
  resolve_dirs
  local bin; bin="$(bindir)"
  [ -n "$bin" ] && [ -f "$DATA/postmaster.pid" ] || return 0
  "${AS[@]}" "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null && echo "postgres on 127.0.0.1:${PGPORT} stopped"
  return 0
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  destroy) stop; rm -rf "$DATA" "$LOG" ;;
  status) if listening; then echo "running"; else echo "not running"; exit 1; fi ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
