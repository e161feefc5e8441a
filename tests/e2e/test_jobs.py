"""The job wait (stable api-versions), through real Airflow (``dag.test()``)."""

from __future__ import annotations

import pytest

from tests.e2e.dags.e2e_scenarios import JOB_CASES, JOB_MODES, JOB_OPERATOR_CASES, job_guid

pytestmark = pytest.mark.e2e


def test_every_job_state_ends_each_task_as_airflow_users_expect(emulator, run_dag):
    for mode in JOB_MODES:
        for case in JOB_CASES:
            emulator.script_job(job_guid(f"{case.name}-{mode}"), case.statuses)
    for case in JOB_OPERATOR_CASES:
        emulator.script_job(job_guid(case.name), case.statuses)

    result = run_dag("e2e_jobs")

    expected = {f"{case.name}_{mode}": case for mode in JOB_MODES for case in JOB_CASES}
    expected.update({case.name: case for case in JOB_OPERATOR_CASES})
    assert {task: result.states[task] for task in expected} == {
        task: case.state for task, case in expected.items()
    }
    for task, case in expected.items():
        if case.xcom_status is None:
            assert task not in result.xcom, task
            continue
        body = result.xcom[task]
        assert body["properties"]["state"] == case.xcom_status, task
        assert body["type"] == "Microsoft.DataReplication/replicationVaults/jobs"
        assert set(body) == {"id", "name", "type", "systemData", "properties"}  # exactly as sent
    job = job_guid("job_errors-deferrable")
    assert f"job '{job}' in vault 'vault1'" in result.output
    assert "ended CompletedWithErrors" in result.output
    assert "FailoverFailed: The VM did not start (recommendation: Retry)" in result.output
    assert "failed tasks: Shut down the virtual machine and fail over" in result.output
    assert "SlowDisk: slow" in result.output  # CompletedWithWarnings: logged, not raised
    for mode in JOB_MODES:
        assert result.links[f"job_succeeded_{mode}"].endswith(
            f"/replicationVaults/vault1/jobs/{job_guid(f'job_succeeded-{mode}')}"
        )
