#!/usr/bin/env bash
# Install (if needed), then run the scale benchmark (N = 100, 1000, 5000 triggers against the
# local emulator, and the parse-time cost) and write its output to docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/install.sh
source scripts/install.sh
exec "$VENV/bin/python" benchmarks/triggers.py "$@"
