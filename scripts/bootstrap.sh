#!/usr/bin/env bash
# Install everything stream_app needs on a fresh machine, idempotently:
# the Python virtualenv with the project, Kafka's jars (Maven Central), PostgreSQL (Debian).
# Env: PYTHON (python3), the interpreter of the virtualenv. Missing Debian packages (the venv module,
# gcc and the Python headers for the C extension) are installed with apt-get, through sudo if not root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null || { echo "$PY not found: install Python 3.11+ (apt-get install python3)" >&2; exit 1; }
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "$PY is Python $("$PY" -c 'import platform; print(platform.python_version())'); stream_app needs 3.11+ (set PYTHON=...)" >&2; exit 1; }
PYVER="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

# apt-get install of Debian packages, as root or through sudo; `apt-get update` once per run.
apt_updated=
apt_install() {
  local sudo=()
  command -v apt-get >/dev/null || return 1
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || return 1
    sudo=(sudo)
  fi
  if [ -z "$apt_updated" ]; then "${sudo[@]}" apt-get update -qq || return 1; apt_updated=1; fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Debian's python3 comes without ensurepip (it is in python3.X-venv): `python3 -m venv` would fail
# half-way, leaving a .venv without pip.
if ! "$PY" -c 'import ensurepip' 2>/dev/null; then
  echo "$PY has no ensurepip: installing python${PYVER}-venv"
  if ! { apt_install "python${PYVER}-venv" && "$PY" -c 'import ensurepip' 2>/dev/null; }; then
    echo "cannot create a virtualenv: $PY has no ensurepip; install python${PYVER}-venv (as root: apt-get install python${PYVER}-venv)" >&2
    exit 1
  fi
fi

# The optional C extension (setup.py) needs a C compiler and Python.h; the test suite requires it.
py_include="$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['include'])")"
cc="$("$PY" -c "import sysconfig; print((sysconfig.get_config_var('CC') or 'cc').split()[0])")"
need=()
command -v "${CC:-$cc}" >/dev/null || command -v gcc >/dev/null || need+=(gcc)
if [ ! -f "$py_include/Python.h" ]; then
  case "$py_include" in
    /usr/include/*) need+=("python${PYVER}-dev") ;;  # Debian's own interpreter: headers are a package
  esac
fi
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing ${need[*]} to build the C extension"
  apt_install "${need[@]}" || echo "warning: could not install ${need[*]} (apt-get as root or sudo)" >&2
fi
if ! { command -v "${CC:-$cc}" >/dev/null || command -v gcc >/dev/null; } || [ ! -f "$py_include/Python.h" ]; then
  echo "warning: no C compiler or no $py_include/Python.h: stream_app.coverage._linescan will not be built;" \
       "stream_app runs on its pure-Python parsers, but the test suite requires the extension" >&2
fi

# A .venv whose pip does not run (an interrupted or failed `python -m venv`, a removed interpreter)
# is recreated rather than skipped forever.
if [ -e .venv ] && ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  echo "removing the broken .venv (no working python or pip)"
  rm -rf .venv
fi
if [ ! -e .venv ]; then
  echo "creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv || { rm -rf .venv; echo "python -m venv failed" >&2; exit 1; }
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
  compgen -G "stream_app/coverage/_linescan*.so" > /dev/null \
    || echo "warning: the C extension stream_app.coverage._linescan was not built (see above); the test suite requires it" >&2
fi
bash scripts/kafka-local.sh fetch
bash scripts/pg-local.sh install
