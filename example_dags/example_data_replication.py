"""
Wait for an Azure Data Replication job operation and report its status.

Run it with DAG params (or a triggered run's conf): ``operation_id``, ``job_name`` and, unless the
connection ``azure_data_replication_default`` carries them, ``vault_name``.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow_provider_datareplication.operators.data_replication import (
    AzureDataReplicationOperationStatusOperator,
)
from airflow_provider_datareplication.sensors.data_replication import AzureDataReplicationOperationSensor

try:
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2
    from airflow.decorators import dag, task  # type: ignore[no-redef]

POLL_SECONDS = float(os.environ.get("DATAREPLICATION_EXAMPLE_POLL_SECONDS", "30"))
#: A replication job is named by a GUID; its operations by "<job GUID>_<suffix>".
EXAMPLE_JOB = "0203aa1b-1dff-4653-89a9-b90a76d1601a"
EXAMPLE_OPERATION = f"{EXAMPLE_JOB}_2b9c5f1e-6c8d-4a0e-9f3b-7d4e1a2c8b60"
OPERATION = {
    "operation_id": "{{ params.operation_id }}",
    "job_name": "{{ params.job_name }}",
    "vault_name": "{{ params.vault_name or None }}",
}


@dag(
    dag_id="example_azure_data_replication",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"operation_id": EXAMPLE_OPERATION, "job_name": EXAMPLE_JOB, "vault_name": "vault1"},
    render_template_as_native_obj=True,
    tags=["example", "azure"],
)
def example_azure_data_replication():
    # Where the operation stands right now (a Failed operation is reported, not raised).
    report = AzureDataReplicationOperationStatusOperator(task_id="report_operation_status", **OPERATION)

    # Wait in the triggerer, without holding a worker slot, until the operation is terminal.
    wait = AzureDataReplicationOperationSensor(
        task_id="wait_for_operation",
        deferrable=True,
        poke_interval=POLL_SECONDS,
        timeout=6 * 3600,
        **OPERATION,
    )

    @task
    def summarize(operation_status: dict) -> str:
        print(f"Operation {operation_status['name']} ended {operation_status['status']}")
        return operation_status["status"]

    report >> wait
    summarize(wait.output)


example_azure_data_replication()
