#!/usr/bin/env bash
# Create .venv (if missing) and install the provider with its test tools, pinned by the
# committed constraints file. Sourced by test.sh and demo.sh; sets VENV.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
CONSTRAINTS="${CONSTRAINTS:-constraints/airflow-3.3.txt}"

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
"$VENV/bin/uv" pip install --quiet --compile-bytecode --python "$VENV/bin/python" -c "$CONSTRAINTS" -e ".[test]"
export PATH="$PWD/$VENV/bin:$PATH"
