#!/usr/bin/env bash
# Install (if needed), then run the example DAG under real Airflow against the local emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/install.sh
source scripts/install.sh
exec "$VENV/bin/python" scripts/demo.py
