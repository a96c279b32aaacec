#!/usr/bin/env bash
# The whole test suite on real PostgreSQL and Kafka: installs what is missing, starts the
# services (stopping again what it started), checks lint and types, runs pytest.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/unit -q`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
# Ports are configurable (KAFKA_PORT, PGPORT), e.g. to test beside services that already run.
export STREAM_APP_KAFKA_BOOTSTRAP="127.0.0.1:${KAFKA_PORT:-9092}"
export STREAM_APP_TEST_PG_ADMIN="postgresql://postgres@127.0.0.1:${PGPORT:-5432}/postgres"

started=()
if ! bash scripts/pg-local.sh status >/dev/null 2>&1; then started+=(pg); fi
if ! bash scripts/kafka-local.sh status >/dev/null 2>&1; then started+=(kafka); fi
cleanup() {
  for s in "${started[@]}"; do
    case "$s" in
      pg) bash scripts/pg-local.sh stop || true ;;
      kafka) bash scripts/kafka-local.sh stop || true ;;
    esac
  done
}
trap cleanup EXIT
bash scripts/services.sh start

.venv/bin/ruff check stream_app tests bench scripts
.venv/bin/ruff format --check stream_app tests bench scripts
.venv/bin/mypy
.venv/bin/pytest "$@"
