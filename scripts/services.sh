#!/usr/bin/env bash
# Start or stop the local PostgreSQL and Kafka, and prepare the stream_app database.
# Usage: scripts/services.sh start|stop
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
case "${1:-}" in
  start)
    bash scripts/pg-local.sh start
    bash scripts/kafka-local.sh start
    db="${STREAM_APP_DB_NAME:-stream_app}"
    port="${PGPORT:-5432}"
    exists="$(psql -X -w -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")"
    if [ "$exists" != 1 ]; then
      psql -X -w -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE \"$db\""
    fi
    ;;
  stop)
    bash scripts/kafka-local.sh stop
    bash scripts/pg-local.sh stop
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
