#!/usr/bin/env bash
# Install (if needed), then run the benchmarks against the local emulator and write their output
# to docs/performance.md, a section each: many waits in one triggerer (N = 100, 1000, 5000, and
# the parse-time cost; about 20 minutes), several processes sharing one ARM read budget
# (K = 1, 2, 4 with N = 2000; about 25 minutes), waits started right after a burst emptied it
# (N = 1000, 5000; about 6 minutes), and item waits against the service's hourly quota with and
# without the vaults' lists (N = 1000, 5000; about 10 minutes). Arguments go to the first.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/install.sh
source scripts/install.sh
status=0
"$VENV/bin/python" benchmarks/triggers.py "$@" || status=$?
"$VENV/bin/python" benchmarks/processes.py || status=$?
"$VENV/bin/python" benchmarks/processes.py --recovery || status=$?
"$VENV/bin/python" benchmarks/reads.py || status=$?
exit $status
