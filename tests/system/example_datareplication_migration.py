"""
System test (starts work): migrate one disposable machine end to end, then remove its protected item.

- ``enable_replication``: create the protected item ``systest-<ENV_ID>`` with the machine's
  ``properties`` (``DATAREPLICATION_SYSTEM_TEST_MACHINE_PROPERTIES``), wait for the enable-protection job;
- ``wait_until_ready``: wait, deferred, until initial replication has finished;
- ``migrate``: the planned failover (the source machine is left running), waited on in the triggerer;
- ``complete_migration``: remove the protected item; it runs whatever happened before it (so a
  failed run leaves no replication behind), and the watcher fails the run if anything failed.

Against Azure it runs only with ``DATAREPLICATION_SYSTEM_TEST_ALLOW_WRITES=1``.
"""

from __future__ import annotations

from datetime import datetime

from airflow_provider_datareplication.operators.data_replication import (
    AzureDataReplicationCreateProtectedItemOperator,
    AzureDataReplicationDeleteProtectedItemOperator,
    AzureDataReplicationPlannedFailoverOperator,
)
from airflow_provider_datareplication.sensors.data_replication import AzureDataReplicationProtectedItemSensor
from tests.system.system_tests import CONN_ID, SETTINGS, get_test_run, watcher

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[no-redef,attr-defined]

ENV_ID = SETTINGS.env_id
DAG_ID = "system_datareplication_migration"
ITEM = {
    "azure_data_replication_conn_id": CONN_ID,
    "vault_name": SETTINGS.vault_name,
    "resource_group_name": SETTINGS.resource_group_name,
    "protected_item_name": SETTINGS.new_protected_item_name,
}
WORK = {"check_interval": SETTINGS.poll_seconds, "timeout": SETTINGS.timeout_seconds}

with DAG(
    DAG_ID, schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["example", "system"]
) as dag:
    enable = AzureDataReplicationCreateProtectedItemOperator(
        task_id="enable_replication", properties=SETTINGS.machine_properties, **ITEM, **WORK
    )
    ready = AzureDataReplicationProtectedItemSensor(
        task_id="wait_until_ready",
        until="ready_to_migrate",
        deferrable=True,
        poke_interval=SETTINGS.poll_seconds,
        timeout=SETTINGS.timeout_seconds,
        **ITEM,
    )
    migrate = AzureDataReplicationPlannedFailoverOperator(
        task_id="migrate", shutdown_source_vm=False, deferrable=True, **ITEM, **WORK
    )
    complete = AzureDataReplicationDeleteProtectedItemOperator(
        task_id="complete_migration", trigger_rule="all_done", **ITEM, **WORK
    )
    enable >> ready >> migrate >> complete
    list(dag.tasks) >> watcher()


test_run = get_test_run(dag, writes=True)
