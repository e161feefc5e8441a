"""
System test (read-only): report and wait on what a vault holds already; nothing is started or changed.

- ``job_status``: the status operator reads an existing job once (stable api-version);
- ``operation_status``: the status operator reads one of its operations (preview api-version; only
  with ``DATAREPLICATION_SYSTEM_TEST_OPERATION_ID``);
- ``wait_for_job``: the job sensor, deferred to the triggerer, until the job has ended (a job that
  ended in failure is reported, not raised: ``raise_on_failure=False``);
- ``wait_for_item``: the protected item sensor until the item is ready to migrate (initial
  replication done);
- ``list_items``: the list operator, the vault's servers as one table;
- ``check``: what came back names the job and the item asked for, and the table holds the item.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow_provider_datareplication.operators.data_replication import (
    AzureDataReplicationJobStatusOperator,
    AzureDataReplicationListProtectedItemsOperator,
    AzureDataReplicationOperationStatusOperator,
)
from airflow_provider_datareplication.sensors.data_replication import (
    AzureDataReplicationJobSensor,
    AzureDataReplicationProtectedItemSensor,
)
from tests.system.system_tests import CONN_ID, JOB, PROTECTED_ITEM, SETTINGS, get_test_run

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[no-redef,attr-defined]
    from airflow.decorators import task  # type: ignore[no-redef]

ENV_ID = SETTINGS.env_id
DAG_ID = "system_datareplication_status"
VAULT = {
    "azure_data_replication_conn_id": CONN_ID,
    "vault_name": SETTINGS.vault_name,
    "resource_group_name": SETTINGS.resource_group_name,
}
WAIT = {"poke_interval": SETTINGS.poll_seconds, "timeout": SETTINGS.timeout_seconds}

with DAG(
    DAG_ID, schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["example", "system"]
) as dag:
    job_status = AzureDataReplicationJobStatusOperator(
        task_id="job_status", job_name=SETTINGS.job_name, **VAULT
    )
    wait_for_job = AzureDataReplicationJobSensor(
        task_id="wait_for_job",
        job_name=SETTINGS.job_name,
        deferrable=True,
        raise_on_failure=False,
        **VAULT,
        **WAIT,
    )
    wait_for_item = AzureDataReplicationProtectedItemSensor(
        task_id="wait_for_item", protected_item_name=SETTINGS.protected_item_name, **VAULT, **WAIT
    )

    list_items = AzureDataReplicationListProtectedItemsOperator(task_id="list_items", **VAULT)

    @task
    def check(
        job: dict[str, Any], ended: dict[str, Any], item: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        assert job["name"] == ended["name"] == SETTINGS.job_name, (job["name"], ended["name"])
        assert item["name"] == SETTINGS.protected_item_name, item["name"]
        names = [row["protected_item_name"] for row in rows]
        assert SETTINGS.protected_item_name in names, names
        print(f"job {ended['name']} ended {ended['properties']['state']}")
        print(f"item {item['name']} is {item['properties']['protectionState']}, ready to migrate")

    job_status >> wait_for_job
    check(job_status.output, wait_for_job.output, wait_for_item.output, list_items.output)
    if SETTINGS.operation_id:
        AzureDataReplicationOperationStatusOperator(
            task_id="operation_status",
            job_name=SETTINGS.job_name,
            operation_id=SETTINGS.operation_id,
            **VAULT,
        )


test_run = get_test_run(dag, needs=(JOB, PROTECTED_ITEM))
