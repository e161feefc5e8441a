#!/usr/bin/env bash
# Install everything from nothing, then: lint and type-check once (Airflow 3.3 environment), and run
# every test (unit, emulator-backed, the example DAGs end to end, the system tests against the
# emulator (tests/system; against Azure when DATAREPLICATION_SYSTEM_TEST_* name a subscription), the
# `airflow providers` CLI, the standalone and the distributed deployments) on Airflow 3.3 (.venv, constraints/airflow-3.3.txt)
# and on Airflow 2.11 (.venv-2.11, constraints/airflow-2.11.txt).
#
# The tests mostly wait (on the emulator's scripted answers, on Airflow's own loops), so the two
# Airflow versions' suites run side by side, each in two pytest-xdist workers (work-stealing: a
# worker left idle takes tests queued on the other); the two deployments (many Airflow processes
# each) run after them, alone. Tests that need Airflow 3.3 skip themselves on 2.11 with a reason
# (listed by -rs); the slowest tests are listed by --durations. Extra arguments go to every pytest run.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV_3="${VENV:-.venv}"
VENV_2="${VENV_2_11:-.venv-2.11}"
LOGS="$(mktemp -d -t datareplication-tests-XXXXXX)"

started=$SECONDS
step_started=$SECONDS
took() { echo "== $1 took $((SECONDS - step_started)) s"; step_started=$SECONDS; }
PYTEST_ARGS=(-q -p no:cacheprovider -rfEs --durations=15)
# pytest, where "no test selected" (exit 5: extra arguments that select none of a run's tests) passes.
run_pytest() {
  local venv=$1 code=0
  shift
  "$venv/bin/pytest" "${PYTEST_ARGS[@]}" "$@" || code=$?
  [ "$code" = 5 ] && code=0
  return "$code"
}

VENV="$VENV_2" CONSTRAINTS=constraints/airflow-2.11.txt EXTRAS=test bash scripts/install.sh \
  >"$LOGS/install-2.11.log" 2>&1 &
install_2=$!
VENV="$VENV_3" CONSTRAINTS=constraints/airflow-3.3.txt EXTRAS=test,browser,distributed
# shellcheck source=scripts/install.sh
source scripts/install.sh
if ! wait "$install_2"; then
  cat "$LOGS/install-2.11.log"
  exit 1
fi
took "install (Airflow 3.3, $VENV_3; Airflow 2.11, $VENV_2, alongside)"

echo "== ruff"
"$VENV_3/bin/ruff" check .
"$VENV_3/bin/ruff" format --check .
echo "== mypy"
"$VENV_3/bin/mypy"
took "ruff + mypy"

echo "== pytest, side by side: Airflow 3.3 ($VENV_3) without the deployments, and Airflow 2.11 ($VENV_2)"
run_pytest "$VENV_3" -n 2 --dist worksteal -m "not standalone and not distributed" "$@" >"$LOGS/pytest-3.3.log" 2>&1 &
tests_3=$!
run_pytest "$VENV_2" -n 2 --dist worksteal -m "not standalone and not distributed" "$@" >"$LOGS/pytest-2.11.log" 2>&1 &
tests_2=$!
status=0
wait "$tests_3" || status=1
echo "== pytest (Airflow 3.3, $VENV_3)"
cat "$LOGS/pytest-3.3.log"
wait "$tests_2" || status=1
echo "== pytest (Airflow 2.11, $VENV_2)"
cat "$LOGS/pytest-2.11.log"
took "pytest (Airflow 3.3 and 2.11, side by side)"

echo "== pytest (Airflow 3.3, $VENV_3): the standalone and distributed deployments"
run_pytest "$VENV_3" -m "standalone or distributed" "$@" || status=1
took "pytest (the deployments)"

echo "== all of it took $((SECONDS - started)) s"
rm -rf "$LOGS"
exit "$status"
