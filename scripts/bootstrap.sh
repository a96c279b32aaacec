#!/usr/bin/env bash
# Install everything stream_app needs on a fresh machine, idempotently:
# the Python virtualenv with the project, Kafka's jars (Maven Central), PostgreSQL (Debian).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
# Reinstall only when pyproject.toml, setup.py or the C source changed since the last install
# (the editable install builds stream_app/coverage/_linescan*.so next to its source).
stamp=".venv/.stream-app-installed"
changed_since_install() {
  [ -f "$stamp" ] || return 0
  compgen -G "stream_app/coverage/_linescan*.so" > /dev/null || return 0  # built module gone (git clean)
  for source in pyproject.toml setup.py stream_app/coverage/*.c; do
    [ "$source" -nt "$stamp" ] && return 0
  done
  return 1
}
if changed_since_install; then
  echo "installing stream_app and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi
bash scripts/kafka-local.sh fetch
bash scripts/pg-local.sh install
