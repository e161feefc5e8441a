"""Real Data Replication identifiers through real Airflow (``dag.test()``) and the emulator."""

from __future__ import annotations

import pytest

from tests.e2e.dags.e2e_scenarios import MODES, REAL_JOB, REAL_OPERATION, REAL_VAULT

pytestmark = pytest.mark.e2e


def test_guid_job_names_and_numbers_rendered_by_airflow_are_waited_on(emulator, run_dag):
    emulator.script_operation(REAL_OPERATION, ["InProgress", "Succeeded"])
    for mode in MODES:
        emulator.script_operation(f"numeric-{mode}", ["InProgress", "Succeeded"])

    result = run_dag("e2e_real_identifiers")

    assert set(result.states.values()) == {"success"}, result.states
    for mode in MODES:
        guid = result.xcom[f"guid_{mode}"]
        assert guid["status"] == "Succeeded"
        assert guid["id"].endswith(
            f"/replicationVaults/{REAL_VAULT}/jobs/{REAL_JOB}/operations/{REAL_OPERATION}"
        )
        # The job name rendered as the number 12345 was sent as its text.
        assert result.xcom[f"numeric_{mode}"]["id"].endswith(f"/jobs/12345/operations/numeric-{mode}")
    assert result.xcom["report"]["name"] == REAL_OPERATION
    assert result.links["guid_poke"].endswith(f"/replicationVaults/{REAL_VAULT}/jobs/{REAL_JOB}")
