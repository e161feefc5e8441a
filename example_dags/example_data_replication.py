"""
The three waits of Azure Data Replication, and a report of where an operation stands.

- An operation by its identifiers ("Workflow Operation Status - Get", api-version
  ``2021-02-16-preview``, the only one that serves it).
- A job (stable api-versions: ``2024-09-01``, ``2026-05-01``): what Azure's own tools wait on.
- An operation by the URL a long-running call returned (``Azure-AsyncOperation``), in any
  api-version.

Run it with DAG params (or a triggered run's conf): ``operation_id``, ``job_name``,
``operation_url`` and, unless the connection ``azure_data_replication_default`` carries it,
``vault_name``.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow_provider_datareplication.operators.data_replication import (
    AzureDataReplicationOperationStatusOperator,
)
from airflow_provider_datareplication.sensors.data_replication import (
    AzureDataReplicationJobSensor,
    AzureDataReplicationOperationSensor,
)

try:
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2
    from airflow.decorators import dag, task  # type: ignore[no-redef]

POLL_SECONDS = float(os.environ.get("DATAREPLICATION_EXAMPLE_POLL_SECONDS", "30"))
#: A replication job is named by a GUID; its operations by "<job GUID>_<suffix>".
EXAMPLE_JOB = "0203aa1b-1dff-4653-89a9-b90a76d1601a"
EXAMPLE_OPERATION = f"{EXAMPLE_JOB}_2b9c5f1e-6c8d-4a0e-9f3b-7d4e1a2c8b60"
#: What a planned failover (POST .../protectedItems/{item}/plannedFailover) returns in its
#: Azure-AsyncOperation header.
EXAMPLE_OPERATION_URL = (
    "https://management.azure.com/subscriptions/930CEC23-4430-4513-B855-DBA237E2F3BF/providers"
    "/Microsoft.DataReplication/locations/eastus/operationResults/7c1a9d3e-2f4b-4e8a-9b6c-5d0e1f2a3b4c"
    "?api-version=2024-09-01"
)


@dag(
    dag_id="example_azure_data_replication",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={
        "operation_id": EXAMPLE_OPERATION,
        "job_name": EXAMPLE_JOB,
        "vault_name": "vault1",
        "operation_url": EXAMPLE_OPERATION_URL,
    },
    render_template_as_native_obj=True,
    tags=["example", "azure"],
)
def example_azure_data_replication():
    operation = {
        "operation_id": "{{ params.operation_id }}",
        "job_name": "{{ params.job_name }}",
        "vault_name": "{{ params.vault_name or None }}",
    }
    waiting = {"deferrable": True, "poke_interval": POLL_SECONDS, "timeout": 6 * 3600}

    # Where the operation stands right now (a Failed operation is reported, not raised).
    report = AzureDataReplicationOperationStatusOperator(task_id="report_operation_status", **operation)

    # 1. The operation by its identifiers, waited on in the triggerer (no worker slot held).
    wait_operation = AzureDataReplicationOperationSensor(task_id="wait_for_operation", **operation, **waiting)

    # 2. The job itself (stable api-version): its body, as the service sent it, goes to XCom.
    wait_job = AzureDataReplicationJobSensor(
        task_id="wait_for_job",
        job_name="{{ params.job_name }}",
        vault_name="{{ params.vault_name or None }}",
        **waiting,
    )

    # 3. An operation by the URL its long-running call returned; in a real DAG, typically from the
    #    upstream task that started it: "{{ ti.xcom_pull('start_failover')['azure_async_operation'] }}".
    wait_url = AzureDataReplicationOperationSensor(
        task_id="wait_for_operation_url", operation_url="{{ params.operation_url }}", **waiting
    )

    @task
    def summarize(operation_status: dict, job: dict, by_url: dict) -> str:
        print(f"Operation {operation_status['name']} ended {operation_status['status']}")
        print(f"Job {job['properties']['displayName']} ({job['name']}) ended {job['properties']['state']}")
        print(f"Operation {by_url['name']} (by URL) ended {by_url['status']}")
        return operation_status["status"]

    report >> wait_operation
    summarize(wait_operation.output, wait_job.output, wait_url.output)


example_azure_data_replication()
