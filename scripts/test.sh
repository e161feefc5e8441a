#!/usr/bin/env bash
# Install everything from nothing into .venv, then lint, type-check and run every test
# (unit, emulator-backed, and the example DAG end to end under real Airflow).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/install.sh
source scripts/install.sh

echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== mypy"
"$VENV/bin/mypy"
echo "== pytest"
"$VENV/bin/pytest" -q -p no:cacheprovider "$@"
