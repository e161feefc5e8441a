#!/usr/bin/env bash
# Refresh the documents the tests produce: docs/reliability.md (the fault suite, on Airflow 3.3) and
# the connection form's screenshots in docs/images/ (the browser test). The test command runs the
# same tests but writes to the git-ignored test-output/, so running the tests changes no tracked
# file. (docs/performance.md comes from `bash scripts/benchmark.sh`.)
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=test,browser
# shellcheck source=scripts/install.sh
source scripts/install.sh
DATAREPLICATION_WRITE_DOCS=1 "$VENV/bin/pytest" -q -p no:cacheprovider \
  tests/e2e/test_faults.py tests/standalone/test_connection_form.py "$@"
git status --short docs/
