"""Every status a sensor or the operator can meet, through real Airflow (``dag.test()``)."""

from __future__ import annotations

import pytest

from airflow_provider_datareplication.testing.emulator import Fault
from tests.e2e.dags.e2e_scenarios import MODES, OPERATOR_CASES, SENSOR_CASES, SENSOR_ERROR_CASES

pytestmark = pytest.mark.e2e


def test_statuses_end_each_task_as_airflow_users_expect(emulator, run_dag):
    for mode in MODES:
        for case in SENSOR_CASES:
            emulator.script_operation(f"{case.name}-{mode}", case.statuses)
    for case in OPERATOR_CASES:
        emulator.script_operation(case.name, case.statuses)

    result = run_dag("e2e_statuses")

    expected = {f"{case.name}_{mode}": case for mode in MODES for case in SENSOR_CASES}
    expected.update({case.name: case for case in OPERATOR_CASES})
    assert {task: result.states[task] for task in expected} == {
        task: case.state for task, case in expected.items()
    }
    for task, case in expected.items():
        if case.xcom_status is None:
            assert task not in result.xcom, task
        else:
            assert result.xcom[task]["status"] == case.xcom_status, task
            assert set(result.xcom[task]) >= {"id", "name", "status", "startTime", "endTime"}
    # The "Azure portal" link, drawn from what each task stored when it ran: rendered, no template.
    for task in ("succeeded_poke", "succeeded_deferrable", "report"):
        assert result.links[task].startswith("https://portal.azure.com/#@")
        assert result.links[task].endswith(
            "/providers/Microsoft.DataReplication/replicationVaults/vault1/jobs/job1"
        )
    # Each mode's failure names its own operation and the service's error, in one message.
    for mode in MODES:
        assert any(
            f"operation 'failed-{mode}' of job 'job1' in vault 'vault1'" in line
            and "ended Failed: ReplicationFailed: Disk offline" in line
            for line in result.output.splitlines()
        ), mode


def test_poke_mode_sensor_asks_for_one_token_however_often_it_pokes(emulator, run_dag):
    emulator.script_operation("token-economy", ["InProgress"] * 6 + ["Succeeded"])
    result = run_dag("e2e_token_economy")
    assert result.states == {"wait": "success"}
    assert len(emulator.requests_for("token-economy")) == 7
    assert emulator.token_requests == 1


def test_plain_http_endpoint_is_refused_before_a_token_is_sent(emulator, run_dag):
    result = run_dag("e2e_plain_http")
    assert result.states == {"wait": "failed"}
    assert "resource_manager_url must be an https:// URL" in result.output
    assert emulator.token_requests == 0
    assert not emulator.requests


def test_an_error_ends_the_task_alike_in_the_worker_and_from_the_trigger(emulator, run_dag):
    # soft_fail skips timeouts and failures only; never_fail skips any error; silent_fail waits
    # through errors reading the status (Airflow's rules for a poke), in both modes alike.
    for mode in MODES:
        for name, (what, _, _) in SENSOR_ERROR_CASES.items():
            op = f"{name}-{mode}"
            if what == "Failed":
                emulator.script_operation(op, ["InProgress", "Failed"])
                continue
            emulator.script_operation(op, ["InProgress", "InProgress", "Succeeded"])
            fault = Fault.forbidden if what == "403" else Fault.not_found
            emulator.add_fault(fault(operation_id=op, after=1))  # met while waiting: in the trigger

    result = run_dag("e2e_sensor_errors")

    expected = {
        f"{name}_{mode}": state for mode in MODES for name, (_, _, state) in SENSOR_ERROR_CASES.items()
    }
    assert {task: result.states[task] for task in expected} == expected
    assert "HTTP 403; AuthorizationFailed" in result.output


def test_status_operators_read_once_whatever_sensor_settings_a_dag_has(emulator, run_dag):
    # default_args with mode="reschedule", never_fail, soft_fail, poke_interval and timeout: an
    # operator is not a sensor, so none of them applies. A 404 fails the task (never_fail would have
    # skipped it), a running operation is reported after one read.
    emulator.script_operation("defaults-running", ["InProgress", "Succeeded"])

    result = run_dag("e2e_status_operators_under_sensor_defaults")

    assert result.states == {"running": "success", "missing": "failed", "job_missing": "failed"}
    assert result.xcom["running"]["status"] == "InProgress"
    assert len(emulator.requests_for("defaults-running")) == 1
    assert len(emulator.requests_for("defaults-missing")) == 1
    assert "HTTP 404; ResourceNotFound" in result.output
