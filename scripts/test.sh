#!/usr/bin/env bash
# Install everything from nothing, then: lint and type-check once (Airflow 3.3 environment), and run
# every test (unit, emulator-backed, the example DAG end to end, the `airflow providers` CLI, the
# standalone and the distributed deployments) on Airflow 3.3 (.venv, constraints/airflow-3.3.txt)
# and then on Airflow 2.11 (.venv-2.11, constraints/airflow-2.11.txt). Tests that need Airflow 3.3
# skip themselves on 2.11 with a reason (listed by -rs). Extra arguments go to both pytest runs.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV_3="${VENV:-.venv}"
VENV_2="${VENV_2_11:-.venv-2.11}"

step_started=$SECONDS
took() { echo "== $1 took $((SECONDS - step_started)) s"; step_started=$SECONDS; }

VENV="$VENV_3" CONSTRAINTS=constraints/airflow-3.3.txt EXTRAS=test,browser,distributed
# shellcheck source=scripts/install.sh
source scripts/install.sh
took "install (Airflow 3.3, $VENV)"

echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== mypy"
"$VENV/bin/mypy"
took "ruff + mypy"

echo "== pytest (Airflow 3.3, $VENV)"
"$VENV/bin/pytest" -q -p no:cacheprovider -rs "$@"
took "pytest (Airflow 3.3)"

VENV="$VENV_2" CONSTRAINTS=constraints/airflow-2.11.txt EXTRAS=test
# shellcheck source=scripts/install.sh
source scripts/install.sh
took "install (Airflow 2.11, $VENV)"

echo "== pytest (Airflow 2.11, $VENV)"
"$VENV/bin/pytest" -q -p no:cacheprovider -rs "$@"
took "pytest (Airflow 2.11)"
