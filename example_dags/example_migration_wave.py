"""
A migration wave in one DAG: replicate each server, wait until it is ready, migrate it, check it, complete.

For every server of the wave (a mapped task group, one per server, each going at its own pace):

0. ``skip_if_migrated``: a server whose migration has completed already (its protected item is gone
   and its VM runs on the target) is skipped with all its steps, so a second run of the wave sends
   nothing for it;
1. ``enable_replication``: create its protected item (``PUT``), wait for the enable-protection job;
2. ``wait_until_ready``: wait, in the triggerer, until initial replication has finished (hours to
   days) and the item allows a planned failover;
3. ``migrate``: the planned failover (the cut-over, with the source server shut down), waited on in
   the triggerer;
4. ``check_migrated_server``: your own checks of the migrated server (here: it runs on the
   recovery side);
5. ``complete_migration``: remove the protected item, which completes the migration.

Then, whatever each server's steps came to, ``wave_status`` lists every protected item left in the
vault (one read of the vault's list, page by page) as a table in its log and as rows in its XCom:
a server that stopped on the way shows where it stands, its health and its job.

Every step is safe to retry: work already under way is waited on, work already done is reported,
never started twice; work of this run that failed fails the step, and is not sent again. Run it with
the ``servers`` param: one row per server of ``New-AzMigrateLocalServerReplication``'s inputs (the
discovered machine, the target storage path, resource group, VM name and logical network, the OS
disk, the two appliances: a CSV's columns); the create operator finds the rest as the cmdlet does.
``vault_name`` and ``resource_group_name`` are the Migrate project's (its vault's).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow_provider_datareplication.operators.data_replication import (
    AzureDataReplicationCreateProtectedItemOperator,
    AzureDataReplicationDeleteProtectedItemOperator,
    AzureDataReplicationListProtectedItemsOperator,
    AzureDataReplicationPlannedFailoverOperator,
)
from airflow_provider_datareplication.sensors.data_replication import AzureDataReplicationProtectedItemSensor

try:
    from airflow.sdk import dag, task, task_group
    from airflow.sdk.exceptions import AirflowSkipException
except ImportError:  # Airflow 2
    from airflow.decorators import dag, task, task_group  # type: ignore[no-redef]
    from airflow.exceptions import AirflowSkipException  # type: ignore[no-redef]

CHECK_SECONDS = float(os.environ.get("DATAREPLICATION_EXAMPLE_POLL_SECONDS", "300"))
RETRY_DELAY = timedelta(seconds=float(os.environ.get("DATAREPLICATION_EXAMPLE_RETRY_DELAY_SECONDS", "60")))
_SUB = "/subscriptions/930CEC23-4430-4513-B855-DBA237E2F3BF"
#: The Migrate project's resource group: its discovered machines', and its replication vault's.
PROJECT_GROUP = "aszmige2etestscratchKPIvmw01"
VAULT = "aszmigtest1f0b4ffreplicationvault"
_SITE = f"{_SUB}/resourceGroups/{PROJECT_GROUP}/providers/Microsoft.OffAzure/VMwareSites/VMware-1f0b4ffsite"
_HCI = f"{_SUB}/resourceGroups/E2ETestTargetrgVMMig6/providers/Microsoft.AzureStackHCI"
#: The api-version of an Azure Local VM's Arc machine (``Microsoft.HybridCompute/machines``).
MACHINE_API_VERSION = "2024-07-10"


def server(machine: str, vm: str, os_disk: str) -> dict[str, Any]:
    """One server of the wave: one row of New-AzMigrateLocalServerReplication's inputs (a CSV's row)."""
    return {
        "machine_id": f"{_SITE}/machines/{machine}",
        "target_storage_path_id": f"{_HCI}/storageContainers/scontn22r1004-cl",
        "target_resource_group_id": f"{_SUB}/resourceGroups/{PROJECT_GROUP}-target",
        "target_vm_name": vm,
        "target_virtual_switch_id": f"{_HCI}/logicalNetworks/vnetn22r1004-cl-static",
        "os_disk_id": os_disk,
        "source_appliance_name": "VMware-1f0b4ff",
        "target_appliance_name": "asz-1f0b4ff",
    }


#: A row's columns, as the create operator takes them.
ROW_INPUTS = (
    "machine_id",
    "target_storage_path_id",
    "target_resource_group_id",
    "target_vm_name",
    "target_virtual_switch_id",
    "os_disk_id",
    "source_appliance_name",
    "target_appliance_name",
)


def item_name(row: dict[str, Any]) -> str:
    """A server's protected item: named after its discovered machine, as the cmdlet names it."""
    return str(row["machine_id"]).rsplit("/", 1)[-1]


#: The wave's servers (a triggered run's conf replaces them; the demo's emulator serves these).
WAVE = [
    server(
        "100-69-177-104-31be0ff4-c932-4cb3-8efc-efa411d23480_50238fae-8286-3153-78db-9613d575e73f",
        "hciVm1",
        "6000C290-a4d0-e5ea-bad5-4e993df22e3b",
    ),
    server("vm2", "hciVm2", "6000C290-a4d0-e5ea-bad5-4e993df20001"),
]


@dag(
    dag_id="example_azure_data_replication_migration_wave",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"servers": WAVE, "vault_name": VAULT, "resource_group_name": PROJECT_GROUP},
    render_template_as_native_obj=True,
    default_args={"retries": 2, "retry_delay": RETRY_DELAY},
    tags=["example", "azure", "migration"],
)
def example_azure_data_replication_migration_wave():
    vault = "{{ params.vault_name or None }}"
    group = "{{ params.resource_group_name or None }}"
    where = {"vault_name": vault, "resource_group_name": group}
    waiting = {"deferrable": True, "check_interval": CHECK_SECONDS, **where}

    @task
    def servers(params: dict[str, Any] | None = None) -> list[str]:
        """The wave's protected items (named after their machines), one mapped task group each."""
        return [item_name(row) for row in (params or {})["servers"]]

    @task_group(group_id="server")
    def migrate_server(protected_item_name: str) -> None:
        @task
        def skip_if_migrated(protected_item_name: str, params: dict[str, Any] | None = None) -> None:
            """Skip a server migrated already: its protected item is gone, and its VM runs on the target."""
            from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook
            from airflow_provider_datareplication.identifiers import ProtectedItem

            wave = (params or {})["servers"]
            row = next(row for row in wave if item_name(row) == protected_item_name)
            # The migrated VM, an Azure Local VM (an Arc machine) named as the row names it.
            vm = f"{row['target_resource_group_id']}/providers/Microsoft.HybridCompute/machines/"
            vm += row["target_vm_name"]
            with AzureDataReplicationHook() as hook:
                item = hook.find_protected_item(
                    hook.resolve(
                        ProtectedItem,
                        protected_item_name=protected_item_name,
                        vault_name=(params or {}).get("vault_name"),
                        resource_group_name=(params or {}).get("resource_group_name"),
                    )
                )
                if item is None and hook.get_resource(vm, api_version=MACHINE_API_VERSION) is not None:
                    raise AirflowSkipException(
                        f"{protected_item_name}: migrated already ({vm} exists and its protected item is "
                        "gone): skipped, nothing sent"
                    )
            print(
                f"{protected_item_name}: not migrated yet ({'replicating' if item else 'no protected item'})"
            )

        @task(multiple_outputs=True)
        def machine_inputs(protected_item_name: str, params: dict[str, Any] | None = None) -> dict:
            """This server's row: the cmdlet's inputs, from the run's params."""
            return next(row for row in (params or {})["servers"] if item_name(row) == protected_item_name)

        row = machine_inputs(protected_item_name)
        # The operator finds the rest (policy, extension, cluster, disks, NICs...) as the cmdlet does.
        enable = AzureDataReplicationCreateProtectedItemOperator(
            task_id="enable_replication",
            protected_item_name=protected_item_name,
            **{name: row[name] for name in ROW_INPUTS},
            **waiting,
        )
        ready = AzureDataReplicationProtectedItemSensor(
            task_id="wait_until_ready",
            protected_item_name=protected_item_name,
            until="ready_to_migrate",
            **where,
            deferrable=True,
            poke_interval=CHECK_SECONDS,
            timeout=7 * 24 * 3600,
        )
        migrate = AzureDataReplicationPlannedFailoverOperator(
            task_id="migrate", protected_item_name=protected_item_name, shutdown_source_vm=True, **waiting
        )

        @task
        def check_migrated_server(protected_item_name: str, params: dict[str, Any] | None = None) -> str:
            """Your own checks of the migrated server go here (smoke tests, DNS, monitoring, ...)."""
            from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook

            with AzureDataReplicationHook() as hook:
                item = hook.get_protected_item(
                    protected_item_name=protected_item_name,
                    vault_name=(params or {}).get("vault_name"),
                    resource_group_name=(params or {}).get("resource_group_name"),
                )
            location = item.custom_properties.get("activeLocation")
            if location != "Recovery":
                raise ValueError(f"{protected_item_name} runs on the {location} side, not on Azure's")
            print(f"{item.source_name or protected_item_name}: {item.protection_state}, running in Azure")
            return str(item.protection_state)

        complete = AzureDataReplicationDeleteProtectedItemOperator(
            task_id="complete_migration", protected_item_name=protected_item_name, **waiting
        )
        skip = skip_if_migrated(protected_item_name)
        skip >> row
        skip >> enable >> ready >> migrate >> check_migrated_server(protected_item_name) >> complete

    wave = migrate_server.expand(protected_item_name=servers())
    wave >> AzureDataReplicationListProtectedItemsOperator(
        task_id="wave_status", trigger_rule="all_done", **where
    )


example_azure_data_replication_migration_wave()
