from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, TaskDeferred

from airflow_provider_datareplication.exceptions import AzureDataReplicationNotFoundError
from airflow_provider_datareplication.operators.data_replication import (
    AzureDataReplicationJobStatusOperator,
    AzureDataReplicationOperationStatusOperator,
)
from airflow_provider_datareplication.testing.emulator import Fault
from airflow_provider_datareplication.triggers.data_replication import AzureDataReplicationOperationTrigger
from tests.helpers import OPERATION, SUBSCRIPTION_ID


def operator(**kwargs):
    return AzureDataReplicationOperationStatusOperator(**{"task_id": "report", **OPERATION, **kwargs})


def test_one_get_returns_the_status_body(emulator):
    emulator.script_operation("op1", ["InProgress", "Succeeded"], extra={"percentComplete": 30})
    result = operator().execute({})
    assert result["status"] == "InProgress"
    assert result["percentComplete"] == 30
    assert set(result) >= {"id", "name", "status", "startTime", "endTime"}
    assert len(emulator.requests_for("op1")) == 1


@pytest.mark.parametrize("final", ["Failed", "Canceled"])
def test_reports_failed_without_raising(emulator, final):
    emulator.script_operation("op1", [final], extra={"error": {"code": "E1", "message": "broken"}})
    result = operator().execute({})
    assert result["status"] == final
    assert result["error"] == {"code": "E1", "message": "broken"}


def test_errors_reading_the_status_fail_the_task(emulator):
    with pytest.raises(AzureDataReplicationNotFoundError):
        operator().execute({})


def test_wait_for_completion_polls_until_terminal(emulator):
    emulator.script_operation("op1", ["InProgress", "InProgress", "Failed"])
    emulator.add_fault(Fault.malformed_json())
    result = operator(wait_for_completion=True, poll_interval=0.05).execute({})
    assert result["status"] == "Failed"
    assert len(emulator.requests_for("op1")) == 4


def test_wait_for_completion_gives_up_after_wait_timeout(emulator):
    emulator.script_operation("op1", ["InProgress"])
    # The sensor's own wait: Airflow's sensor timeout, which fails the task.
    with pytest.raises(AirflowSensorTimeout, match=r"exceeds the specified timeout of 0\.3"):
        operator(wait_for_completion=True, poll_interval=0.05, wait_timeout=0.3).execute({})


def test_deferrable_wait_defers_and_completes_with_the_event(emulator):
    emulator.script_operation("op1", ["InProgress"])
    task = operator(wait_for_completion=True, deferrable=True, poll_interval=20)
    with pytest.raises(TaskDeferred) as info:
        task.execute({})
    assert isinstance(info.value.trigger, AzureDataReplicationOperationTrigger)
    assert info.value.trigger.poll_interval == 20
    body = {"id": "x", "name": "op1", "status": "Failed", "startTime": None, "endTime": None}
    operation = {**OPERATION, "subscription_id": SUBSCRIPTION_ID, "resource_group_name": "rg1"}
    assert task.execute_complete({}, {"event": "terminal", "status": body, "target": operation}) == body


def test_deferrable_without_wait_does_not_defer(emulator):
    emulator.script_operation("op1", ["InProgress"])
    assert operator(deferrable=True).execute({})["status"] == "InProgress"


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="poll_interval"):
        operator(poll_interval=0)
    with pytest.raises(ValueError, match="wait_timeout"):
        operator(wait_timeout=-1)


JOB = "0203aa1b-1dff-4653-89a9-b90a76d1601a"


def job_operator(**kwargs):
    return AzureDataReplicationJobStatusOperator(**{"task_id": "report_job", "job_name": JOB, **kwargs})


def test_job_operator_reads_once_and_pushes_the_body_as_sent(emulator):
    emulator.script_job(JOB, ["Started", "Succeeded"])
    result = job_operator().execute({})
    assert result["name"] == JOB and result["properties"]["state"] == "Started"
    assert len(emulator.requests_for_job(JOB)) == 1


def test_job_operator_reports_a_failed_job_without_raising(emulator):
    emulator.script_job(JOB, [{"state": "CompletedWithErrors", "errors": [{"code": "E1", "message": "x"}]}])
    result = job_operator().execute({})
    assert result["properties"]["state"] == "CompletedWithErrors"
    assert result["properties"]["errors"] == [{"code": "E1", "message": "x"}]


def test_job_operator_can_wait_for_the_end(emulator):
    emulator.script_job(JOB, ["Pending", "Started", "Cancelled"])
    result = job_operator(wait_for_completion=True, poll_interval=0.05).execute({})
    assert result["properties"]["state"] == "Cancelled"


def test_operation_operator_reports_an_operation_by_its_url(emulator):
    emulator.script_operation("lro1", ["InProgress"])
    result = operator(
        operation_id=None, job_name=None, vault_name=None, operation_url=emulator.operation_url("lro1")
    )
    assert result.execute({})["status"] == "InProgress"
