from __future__ import annotations

import pytest

from airflow_provider_datareplication.exceptions import (
    AzureDataReplicationNotFoundError,
    AzureDataReplicationTransientError,
)
from airflow_provider_datareplication.operators.data_replication import (
    AzureDataReplicationJobStatusOperator,
    AzureDataReplicationOperationStatusOperator,
)
from airflow_provider_datareplication.testing.emulator import Fault
from airflow_provider_datareplication.version_compat import AIRFLOW_V_3_0_PLUS, BaseSensorOperator
from tests.helpers import OPERATION


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
    assert len(emulator.requests_for("op1")) == 1


def test_a_transient_error_fails_the_read_for_airflow_to_retry(emulator):
    # An operator reads once: what a sensor would wait through, Airflow's retries handle here.
    emulator.script_operation("op1", ["InProgress"])
    emulator.add_fault(Fault.server_error(503, times=4))
    with pytest.raises(AzureDataReplicationTransientError, match="HTTP 503"):
        operator().execute({})


def test_the_status_operators_are_operators_not_sensors():
    for task in (operator(), AzureDataReplicationJobStatusOperator(task_id="j", job_name="j1")):
        assert not isinstance(task, BaseSensorOperator)
        for setting in (
            "mode",
            "poke_interval",
            "soft_fail",
            "silent_fail",
            "never_fail",
            "wait_for_completion",
        ):
            assert not hasattr(task, setting), setting


@pytest.mark.parametrize("setting", [{"timeout": 60}, {"poke_interval": 5}, {"wait_for_completion": True}])
def test_sensor_settings_are_refused_by_name(setting):
    # Airflow's own check of an operator's arguments names the one that does not apply.
    with pytest.raises(Exception, match=next(iter(setting))) as info:
        operator(**setting)
    assert "multiple values" not in str(info.value)
    assert type(info.value).__name__ == ("TypeError" if AIRFLOW_V_3_0_PLUS else "AirflowException")


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


def test_operation_operator_reports_an_operation_by_its_url(emulator):
    emulator.script_operation("lro1", ["InProgress"])
    result = operator(
        operation_id=None, job_name=None, vault_name=None, operation_url=emulator.operation_url("lro1")
    )
    assert result.execute({})["status"] == "InProgress"


def test_sensor_default_args_do_not_make_an_operator_wait(emulator):
    try:
        from airflow.sdk import DAG
    except ImportError:  # Airflow 2
        from airflow import DAG

    from datetime import datetime

    # silent_fail would make a sensor wait through a 404 until its timeout.
    defaults = {"silent_fail": True, "timeout": 2, "poke_interval": 0.1, "mode": "poke"}
    with DAG("defaults", schedule=None, start_date=datetime(2024, 1, 1), default_args=defaults):
        task = operator()
    with pytest.raises(AzureDataReplicationNotFoundError):
        task.execute({})
    assert len(emulator.requests_for("op1")) == 1
