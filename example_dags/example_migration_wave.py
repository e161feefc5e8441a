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
the ``servers`` param: each server's protected item name and the ``properties`` of its
enable-replication request (as ``New-AzMigrateLocalServerReplication`` builds them), and the vault
unless the connection ``azure_data_replication_default`` carries it.
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
_TARGET = "/subscriptions/930CEC23-4430-4513-B855-DBA237E2F3BF/resourceGroups/migrated-servers"
_HCI = f"{_TARGET}/providers/Microsoft.AzureStackHCI"
_SITE = f"{_TARGET}/providers/Microsoft.OffAzure/HyperVSites/site1"
#: The api-version of an Azure Local VM's Arc machine (``Microsoft.HybridCompute/machines``).
MACHINE_API_VERSION = "2024-07-10"


def hyperv_server(name: str, vm: str) -> dict[str, Any]:
    """One server of the wave: its protected item's name and enable-replication properties (Hyper-V)."""
    return {
        "protected_item_name": name,
        "properties": {
            "policyName": "vault1hypervtoazstackhcipolicy",
            "replicationExtensionName": "vault1-hyperv-hci-extension",
            "customProperties": {
                "instanceType": "HyperVToAzStackHCI",
                "targetHciClusterId": f"{_HCI}/clusters/hci-01",
                "targetArcClusterCustomLocationId": (
                    f"{_TARGET}/providers/Microsoft.ExtendedLocation/customLocations/hci-01-cl"
                ),
                "fabricDiscoveryMachineId": f"{_SITE}/machines/{vm}",
                "disksToInclude": [
                    {"diskId": f"{vm}-os", "diskSizeGB": 127, "diskFileFormat": "VHDX", "isOsDisk": True}
                ],
                "nicsToInclude": [
                    {
                        "nicId": f"{vm}-nic0",
                        "targetNetworkId": f"{_HCI}/logicalnetworks/lnet1",
                        "selectionTypeForFailover": "SelectedByUser",
                    }
                ],
                "targetVmName": vm,
                "targetResourceGroupId": _TARGET,
                "storageContainerId": f"{_HCI}/storageContainers/sc1",
                "hyperVGeneration": "2",
                "targetCpuCores": 4,
                "targetMemoryInMegaBytes": 8192,
                "runAsAccountId": f"{_SITE}/runAsAccounts/ra1",
                "sourceFabricAgentName": "source-appliance",
                "targetFabricAgentName": "target-appliance",
                "customLocationRegion": "eastus",
            },
        },
    }


#: The wave's servers (a triggered run's conf replaces them).
WAVE = [
    hyperv_server("10-1-0-21-2f3c9a1e-0b4d-4c5e-8f6a-7b8c9d0e1f2a_1d2e3f4a", "vm-web-01"),
    hyperv_server("10-1-0-22-6a7b8c9d-1e2f-4a3b-9c4d-5e6f7a8b9c0d_1d2e3f4a", "vm-db-01"),
]


@dag(
    dag_id="example_azure_data_replication_migration_wave",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"servers": WAVE, "vault_name": "vault1"},
    render_template_as_native_obj=True,
    default_args={"retries": 2, "retry_delay": RETRY_DELAY},
    tags=["example", "azure", "migration"],
)
def example_azure_data_replication_migration_wave():
    vault = "{{ params.vault_name or None }}"
    waiting = {"deferrable": True, "check_interval": CHECK_SECONDS, "vault_name": vault}

    @task
    def servers(params: dict[str, Any] | None = None) -> list[str]:
        """The wave's protected items, one mapped task group each."""
        return [server["protected_item_name"] for server in (params or {})["servers"]]

    @task_group(group_id="server")
    def migrate_server(protected_item_name: str) -> None:
        @task
        def skip_if_migrated(protected_item_name: str, params: dict[str, Any] | None = None) -> None:
            """Skip a server migrated already: its protected item is gone, and its VM runs on the target."""
            from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook
            from airflow_provider_datareplication.identifiers import ProtectedItem

            wave = (params or {})["servers"]
            custom = next(s for s in wave if s["protected_item_name"] == protected_item_name)["properties"][
                "customProperties"
            ]
            # The migrated VM, an Azure Local VM (an Arc machine) named as the item named it.
            vm = f"{custom['targetResourceGroupId']}/providers/Microsoft.HybridCompute/machines/"
            vm += custom["targetVmName"]
            with AzureDataReplicationHook() as hook:
                item = hook.find_protected_item(
                    hook.resolve(
                        ProtectedItem,
                        protected_item_name=protected_item_name,
                        vault_name=(params or {}).get("vault_name"),
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

        @task
        def replication_properties(protected_item_name: str, params: dict[str, Any] | None = None) -> dict:
            """This server's enable-replication properties, from the run's params."""
            wave = (params or {})["servers"]
            return next(s["properties"] for s in wave if s["protected_item_name"] == protected_item_name)

        enable = AzureDataReplicationCreateProtectedItemOperator(
            task_id="enable_replication",
            protected_item_name=protected_item_name,
            properties=(properties := replication_properties(protected_item_name)),
            **waiting,
        )
        ready = AzureDataReplicationProtectedItemSensor(
            task_id="wait_until_ready",
            protected_item_name=protected_item_name,
            until="ready_to_migrate",
            vault_name=vault,
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
                    protected_item_name=protected_item_name, vault_name=(params or {}).get("vault_name")
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
        skip >> properties
        skip >> enable >> ready >> migrate >> check_migrated_server(protected_item_name) >> complete

    wave = migrate_server.expand(protected_item_name=servers())
    wave >> AzureDataReplicationListProtectedItemsOperator(
        task_id="wave_status", vault_name=vault, trigger_rule="all_done"
    )


example_azure_data_replication_migration_wave()
