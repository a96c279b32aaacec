#!/usr/bin/env bash
# PostgreSQL from Debian's packages on a project-local data directory (.pgdata), on 127.0.0.1.
# Usage: scripts/pg-local.sh install|start|stop|status|destroy
# Env: PGPORT (5432), PG_HOME_DIR (.pgdata). Uses a server already listening on PGPORT if user
# postgres gets in without a password (trust auth); any other server on PGPORT is an error.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PG_HOME_DIR="${PG_HOME_DIR:-$(cd "$HERE/.." && pwd)/.pgdata}"
case "$PG_HOME_DIR" in /*) ;; *) PG_HOME_DIR="$PWD/$PG_HOME_DIR" ;; esac
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

# The newest installed server's bin directory, or nothing (never fails: safe under set -e).
bindir() {
  local d found=""
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && found="$found$d"$'\n'; done
  [ -n "$found" ] && printf '%s' "$found" | sort -V | tail -n 1
  return 0
}

# Root runs apt-get itself; anyone else needs sudo.
SUDO=()
as_root() {
  if [ "$(id -u)" != 0 ] && [ "${#SUDO[@]}" = 0 ]; then
    command -v sudo >/dev/null || { echo "$1 needs root: run as root or install sudo (or install it yourself: apt-get install $2)" >&2; exit 1; }
    SUDO=(sudo)
  fi
}

PG_CONF_ROOT=/etc/postgresql
# Clusters (version/name) that Debian's postgresql-common knows about.
clusters() { if command -v pg_lsclusters >/dev/null; then pg_lsclusters -h 2>/dev/null | awk '{print $1 "/" $2}'; fi; }

install() {
  [ -z "$(bindir)" ] || return 0
  command -v apt-get >/dev/null \
    || { echo "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin) and apt-get is not available: install PostgreSQL 15+" >&2; exit 1; }
  as_root "installing PostgreSQL" postgresql
  local before; before="$(clusters)"
  echo "installing postgresql from Debian's packages..."
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  # The package creates a cluster (15/main) and starts it on 5432 with password auth for TCP: it
  # would take our port. Stop it and keep it from starting at boot; only clusters this install
  # created, never one that existed before.
  local c ver name
  for c in $(clusters); do
    if printf '%s\n' "$before" | grep -qxF "$c"; then continue; fi
    ver="${c%%/*}"; name="${c#*/}"
    "${SUDO[@]}" pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
    if [ -f "$PG_CONF_ROOT/$ver/$name/start.conf" ]; then
      echo manual | "${SUDO[@]}" tee "$PG_CONF_ROOT/$ver/$name/start.conf" >/dev/null
    fi
    echo "stopped the package's own cluster $ver/$name and set it to start manually (pg_ctlcluster $ver $name start)"
  done
}

listening() { pg_isready -q -h 127.0.0.1 -p "$PGPORT" -U postgres 2>/dev/null; }
# Whether user postgres gets in over TCP without a password, as everything in scripts/ and tests/ expects.
trusted() {
  PGCONNECT_TIMEOUT=5 psql -X -w -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -tAc 'select 1' \
    >/dev/null 2>&1
}

start() {
  install
  resolve_dirs
  local bin; bin="$(bindir)"
  if listening; then
    if trusted; then echo "postgres already listening on 127.0.0.1:${PGPORT}"; return 0; fi
    echo "127.0.0.1:${PGPORT} is taken by a PostgreSQL that user postgres cannot enter without a password" \
         "(the system cluster? see pg_lsclusters; stop it with 'pg_ctlcluster <version> main stop'), or choose another PGPORT" >&2
    exit 1
  fi
  mkdir -p "$PG_HOME_DIR"
  [ "$(id -u)" = 0 ] && chown postgres "$PG_HOME_DIR"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA"  # an initdb that stopped half-way leaves a directory it refuses to reuse
    "${AS[@]}" "$bin/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  # Local test server: fsync off trades crash-durability of the *server* for speed; the worker's own
  # guarantees are tested by killing the worker, not the machine.
  if ! "${AS[@]}" "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start \
    -o "-p $PGPORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_HOME_DIR -c fsync=off -c max_connections=200" >/dev/null; then
    echo "postgres did not start on 127.0.0.1:${PGPORT}; end of $LOG:" >&2
    tail -n 20 "$LOG" >&2 || true
    exit 1
  fi
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
  *) echo "usage: $0 install|start|stop|status|destroy" >&2; exit 2 ;;
esac
