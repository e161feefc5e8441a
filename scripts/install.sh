#!/usr/bin/env bash
# Create .venv (if missing) and install the provider with its test tools (EXTRAS, default "test";
# "test,browser" adds Playwright and Debian's Chromium), pinned by the committed constraints file.
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

# The browser test drives the system's Chromium (Playwright's own browser download cannot work on a
# closed network): Debian's package, installed once.
if [[ ",$EXTRAS," == *",browser,"* ]] && ! command -v chromium >/dev/null; then
  echo "== installing Debian's chromium (for the browser test)"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
