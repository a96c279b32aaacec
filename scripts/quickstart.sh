#!/usr/bin/env bash
# From a fresh machine to a running stream_app with a visible demo:
# install, start PostgreSQL and Kafka, migrate, create topics, start the worker, produce records.
# `bash scripts/quickstart.sh stop` stops the worker, Kafka and PostgreSQL again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PIDFILE=.data/worker.pid

worker_running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

if [ "${1:-}" = stop ]; then
  if worker_running; then kill -TERM "$(cat "$PIDFILE")"; sleep 3; fi
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
