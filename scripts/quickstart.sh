#!/usr/bin/env bash
# From a fresh machine to a running stream_app with a visible demo:
# install, start PostgreSQL and Kafka, migrate, create topics, start the worker, produce records.
# `bash scripts/quickstart.sh stop` stops the worker, Kafka and PostgreSQL again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PIDFILE=.data/worker.pid
# The worker and the demo use the ports the services start on (KAFKA_PORT, PGPORT), unless told otherwise.
export STREAM_APP_KAFKA_BOOTSTRAP="${STREAM_APP_KAFKA_BOOTSTRAP:-127.0.0.1:${KAFKA_PORT:-9092}}"
export STREAM_APP_DATABASE_URL="${STREAM_APP_DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:${PGPORT:-5432}/${STREAM_APP_DB_NAME:-stream_app}}"

# The pid file names our worker only while that process lives and runs `stream-app worker`
# (after a reboot the pid may belong to anything else).
worker_running() {
  local pid args=()
  [ -f "$PIDFILE" ] && pid="$(cat "$PIDFILE")" && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ -r "/proc/$pid/cmdline" ] || return 0  # no /proc: trust the pid
  mapfile -d '' -t args <"/proc/$pid/cmdline" 2>/dev/null || return 1
  [[ " ${args[*]} " == *"stream-app worker "* ]]
}

if [ "${1:-}" = stop ]; then
  if worker_running; then
    # The worker drains in-flight records on TERM (some seconds): Kafka and PostgreSQL must outlive it.
    pid="$(cat "$PIDFILE")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "worker (pid $pid) still running after 30 s: killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    echo "worker (pid $pid) stopped"
  fi
  rm -f "$PIDFILE"
  bash scripts/services.sh stop
  exit 0
fi

bash scripts/bootstrap.sh
bash scripts/services.sh start
mkdir -p .data
.venv/bin/stream-app db upgrade
.venv/bin/stream-app topics create
if ! worker_running; then
  nohup .venv/bin/stream-app worker >.data/worker.log 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  sleep 5
  if ! worker_running; then
    rm -f "$PIDFILE"
    echo "the worker exited at start; end of .data/worker.log:" >&2
    tail -n 30 .data/worker.log >&2
    exit 1
  fi
fi
echo "worker running (pid $(cat "$PIDFILE")), log: .data/worker.log"
echo
.venv/bin/python scripts/demo.py
echo
echo "dead letters of flush_repo (stream-app dlq list flush_repo):"
.venv/bin/stream-app dlq list flush_repo
echo
echo "stream-app status:"
.venv/bin/stream-app status
echo
echo "The worker keeps running. Try: .venv/bin/stream-app send flush_repo '{\"repoid\": 1}'"
echo "One JSON line per record is in .data/worker.log. Stop everything: bash scripts/quickstart.sh stop"
