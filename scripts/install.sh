#!/usr/bin/env bash
# Create .venv (if missing) and install the provider with its test tools (EXTRAS, default "test";
# "browser" adds Playwright and Debian's Chromium, "distributed" the Celery provider, psycopg2 and
# Debian's postgresql and redis-server), pinned by the committed constraints file.
# Sourced by test.sh and demo.sh; sets VENV.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
CONSTRAINTS="${CONSTRAINTS:-constraints/airflow-3.3.txt}"
EXTRAS="${EXTRAS:-test}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -x "$VENV/bin/uv" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check uv
fi
echo "== installing (constraints: $CONSTRAINTS)"
# Bytecode compiled at install: this machine sets PYTHONDONTWRITEBYTECODE, and every Airflow
# process would otherwise compile its imports from source (seconds each).
"$VENV/bin/uv" pip install --quiet --compile-bytecode --python "$VENV/bin/python" -c "$CONSTRAINTS" -e ".[$EXTRAS]"
export PATH="$PWD/$VENV/bin:$PATH"

# Services some tests need, from Debian's packages, installed once: the browser test drives the
# system's Chromium (Playwright's own browser download cannot work on a closed network); the
# distributed test runs Postgres and Redis (started by the test itself, on free 127.0.0.1 ports).
PACKAGES=()
if [[ ",$EXTRAS," == *",browser,"* ]] && ! command -v chromium >/dev/null; then
  PACKAGES+=(chromium)
fi
if [[ ",$EXTRAS," == *",distributed,"* ]]; then
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || PACKAGES+=(postgresql)
  command -v redis-server >/dev/null || PACKAGES+=(redis-server)
fi
if [ ${#PACKAGES[@]} -gt 0 ]; then
  echo "== installing Debian's ${PACKAGES[*]} (for the browser and distributed tests)"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  # No service starts at install: the tests start their own, on free ports.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${PACKAGES[@]}" >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
fi
