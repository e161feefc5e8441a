"""Operations waited on by the URL a long-running call returned, through real Airflow (``dag.test()``)."""

from __future__ import annotations

import pytest

from tests.e2e.dags.e2e_scenarios import MODES

pytestmark = pytest.mark.e2e


def test_an_operation_waited_on_by_its_url(emulator, run_dag):
    for name in [*(f"lro-{mode}" for mode in MODES), "lro-report"]:
        emulator.script_operation(name, ["InProgress", "InProgress", "Succeeded"])

    result = run_dag("e2e_operation_urls")

    for task in ("url_poke", "url_deferrable", "url_report", "url_status"):
        assert result.states[task] == "success", task
        assert result.xcom[task]["status"] == "Succeeded"
        assert "/operationResults/lro-" in result.xcom[task]["id"]
    # A rendered URL pointing elsewhere than the connection's endpoint: refused, no token sent there.
    assert result.states["url_elsewhere"] == "failed"
    assert "operation_url must point at the connection's Azure Resource Manager endpoint" in result.output
