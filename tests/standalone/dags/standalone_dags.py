"""DAGs run by tests/standalone on a real ``airflow standalone`` against the Data Replication emulator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow_provider_datareplication.operators.data_replication import (
    AzureDataReplicationOperationStatusOperator,
)
from airflow_provider_datareplication.sensors.data_replication import (
    AzureDataReplicationJobSensor,
    AzureDataReplicationOperationSensor,
)

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[no-redef,attr-defined]
    from airflow.decorators import task  # type: ignore[no-redef]

#: Seconds between status reads (short: the tests wait on real schedulers).
POLL = 1
#: Sensor timeout of the DAGs that must not time out.
LONG = 300
#: Sensor timeout of the timeout DAG.
SHORT = 15
COMMON: dict[str, Any] = {"job_name": "job1", "vault_name": "vault1"}
#: The job the job DAG waits on (named by a GUID, as Azure names jobs).
JOB = "0203aa1b-1dff-4653-89a9-b90a76d1601a"
START = datetime(2024, 1, 1)
DEFAULTS: dict[str, Any] = {"retries": 0}


@task
def summarize(task_ids: list[str], ti: Any = None) -> dict[str, Any]:
    """Read the operations' statuses from XCom, as a user's downstream task would."""
    values = ti.xcom_pull(task_ids=task_ids)
    return {
        task_id: {"status": value["status"], "name": value["name"]}
        for task_id, value in zip(task_ids, values, strict=True)
    }


def sensor(task_id: str, operation_id: str, **kwargs: Any) -> AzureDataReplicationOperationSensor:
    return AzureDataReplicationOperationSensor(
        task_id=task_id, operation_id=operation_id, poke_interval=POLL, **COMMON, **kwargs
    )


with DAG(
    "standalone_success", schedule=None, start_date=START, catchup=False, default_args=DEFAULTS
) as standalone_success:
    waits = [
        sensor("wait_deferrable", "success-deferrable", deferrable=True, timeout=LONG),
        sensor("wait_from_trigger", "success-from-trigger", start_from_trigger=True, timeout=LONG),
        # The wait that reports without judging: any end goes to XCom.
        sensor("report", "success-report", deferrable=True, raise_on_failure=False, timeout=LONG),
    ]
    waits >> summarize([w.task_id for w in waits])
    # The status operator: one read, after the waits (the operation has ended by then).
    waits >> AzureDataReplicationOperationStatusOperator(
        task_id="status", operation_id="success-report", **COMMON
    )

with DAG(
    "standalone_triggerer_restart", schedule=None, start_date=START, catchup=False, default_args=DEFAULTS
) as standalone_triggerer_restart:
    wait = sensor("wait", "restart-wait", deferrable=True, timeout=LONG)
    wait >> summarize(["wait"])

with DAG(
    "standalone_timeout", schedule=None, start_date=START, catchup=False, default_args=DEFAULTS
) as standalone_timeout:
    sensor("deferred_fails", "timeout-deferred", deferrable=True, timeout=SHORT)
    sensor("deferred_soft_fail", "timeout-deferred-soft", deferrable=True, timeout=SHORT, soft_fail=True)
    sensor("from_trigger_fails", "timeout-from-trigger", start_from_trigger=True, timeout=SHORT)
    sensor(
        "from_trigger_soft_fail",
        "timeout-from-trigger-soft",
        start_from_trigger=True,
        timeout=SHORT,
        soft_fail=True,
    )

with DAG(
    "standalone_job", schedule=None, start_date=START, catchup=False, default_args=DEFAULTS
) as standalone_job:

    @task
    def job_state(ti: Any = None) -> str:
        """Read the job's state from XCom, as a user's downstream task would."""
        return str(ti.xcom_pull(task_ids="wait_job")["properties"]["state"])

    (
        AzureDataReplicationJobSensor(
            task_id="wait_job",
            job_name=JOB,
            vault_name="vault1",
            deferrable=True,
            poke_interval=POLL,
            timeout=LONG,
        )
        >> job_state()
    )
