"""Replicating discovered machines (VMware, Hyper-V), an update and the table, through ``dag.test()``."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook
from airflow_provider_datareplication.testing.local_migration import (
    PROJECT_VAULT,
    recorded_vmware_put,
    seed_local_migration,
)
from tests.e2e.dags.e2e_scenarios import local_migration_creates

pytestmark = pytest.mark.e2e

#: The machines' disks in GiB (the recorded VMware machine's sizes; the Hyper-V machines have them too).
DISK_GB = [math.ceil(size / 2**30) for size in (42949672960, 17179869184, 10737418240)]


def run_local_migration(emulator, run_dag, monkeypatch, site_type: str, dag_id: str):
    """Seed a site type's project and run its DAG; return the run, the creates' inputs and the PUT bodies."""
    from tests.operators.test_create_from_machine import fast_connection

    monkeypatch.setenv("AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT", json.dumps(fast_connection(emulator)))
    emulator.item_durations(enable_protection=0.3, initial_replication=60, update_protected_item=0.3)
    rows = seed_local_migration(emulator, site_type=site_type, machines=2)
    creates = local_migration_creates(site_type)
    # The DAG file names the seeded machines.
    assert [inputs["machine_id"] for inputs in creates.values()] == [row["machine_id"] for row in rows]
    result = run_dag(dag_id)
    puts = {r.protected_item: r.body for r in emulator.requests if r.method == "PUT"}
    assert len(puts) == 2
    # What the emulator received is what the hook builds for the same inputs (read again, afterwards).
    with AzureDataReplicationHook() as hook:
        for inputs in creates.values():
            name = inputs["machine_id"].rsplit("/", 1)[-1]
            assert puts[name]["properties"] == hook.replication_properties(**inputs)
    return result, creates, puts


def test_machines_are_replicated_changed_and_listed_as_the_cmdlets_do(emulator, run_dag, monkeypatch):
    result, creates, puts = run_local_migration(
        emulator, run_dag, monkeypatch, "VMwareSites", "e2e_local_migration"
    )
    default_row, power_row = creates["create_default"], creates["create_power_user"]
    default_name, power_name = (row["machine_id"].rsplit("/", 1)[-1] for row in (default_row, power_row))

    assert result.states == dict.fromkeys(
        ("create_default", "create_power_user", "update", "table"), "success"
    )
    # The default mapping: the recorded cmdlet's body (its disks sized as the cmdlet's source sizes them).
    expected = recorded_vmware_put(emulator)
    for disk, size in zip(expected["customProperties"]["disksToInclude"], DISK_GB, strict=True):
        disk["diskSizeGB"] = size
    assert puts[default_name]["properties"] == expected
    # The power user's: the disks and NICs given (the OS disk alone: the machine's other disks left out).
    custom = puts[power_name]["properties"]["customProperties"]
    assert custom["disksToInclude"] == power_row["disks"] and len(power_row["disks"]) == 1
    (network,) = {nic["targetNetworkId"] for nic in power_row["nics"]}
    assert custom["nicsToInclude"][0]["testNetworkId"] == network
    assert custom["targetVmName"] == "hciVm2" and custom["isDynamicRam"] is False
    (patch,) = [r for r in emulator.requests if r.method == "PATCH"]
    assert patch.protected_item == default_name
    assert patch.body == {
        "properties": {
            "customProperties": {
                "instanceType": "VMwareToAzStackHCI",
                "targetCpuCores": 2,
                "targetMemoryInMegaBytes": 8192,
            }
        }
    }
    assert result.xcom["update"]["properties"]["displayName"] == "Update protected item"
    assert result.xcom["update"]["properties"]["state"] == "Succeeded"
    rows = {row["protected_item_name"]: row for row in result.xcom["table"]}
    assert set(rows) == {default_name, power_name}
    assert {row["protection_state"] for row in rows.values()} == {"InitialReplicationInProgress"}
    assert f"2 protected item(s) in vault '{PROJECT_VAULT}'" in result.output


def hyperv_put(emulator, inputs: dict[str, Any], custom: dict[str, Any]) -> dict[str, Any]:
    """
    Return the ``properties`` the cmdlet builds for a Hyper-V machine (assumed, see below).

    Assumed, from the spec and New-AzMigrateLocalServerReplication.ps1: no Azure PowerShell
    recording holds a Hyper-V resolution. The target side (cluster, custom location, its region,
    the target fabric agent) is the recorded VMware call's, the same Azure Local; the source side
    is ``HyperVToAzStackHCI``'s: the policy named after it, the Hyper-V fabric's extension and
    agent, the Hyper-V site's run-as account (``HyperVFabric``).

    :param emulator: The emulator (its subscription).
    :param inputs: The create task's inputs.
    :param custom: The fields that differ between the machines and mappings.
    """
    recorded = recorded_vmware_put(emulator)["customProperties"]
    site_id = inputs["machine_id"].rsplit("/", 2)[0]
    return {
        "policyName": f"{PROJECT_VAULT}HyperVToAzStackHCIpolicy",
        "replicationExtensionName": (
            "HyperV-1f0b4ff5920replicationfabric-asz-1f0b4ff5d25replicationfabric-MigReplicationExtn"
        ),
        "customProperties": {
            "instanceType": "HyperVToAzStackHCI",
            **{
                key: recorded[key]
                for key in (
                    "targetHciClusterId",
                    "targetArcClusterCustomLocationId",
                    "customLocationRegion",
                    "targetFabricAgentName",
                )
            },
            "storageContainerId": inputs["target_storage_path_id"],
            "targetResourceGroupId": inputs["target_resource_group_id"],
            "targetVmName": inputs["target_vm_name"],
            "fabricDiscoveryMachineId": inputs["machine_id"],
            "runAsAccountId": f"{site_id}/runasaccounts/e6176dcd-08e9-54d8-9514-92128b1162c0",
            "sourceFabricAgentName": "HyperV-1f0b4ff5920dra",
            **custom,
        },
    }


def test_hyper_v_machines_are_replicated_with_the_body_the_cmdlet_builds(emulator, run_dag, monkeypatch):
    """
    Both mappings of Hyper-V machines send the cmdlet's body.

    The body is assumed, from the spec and New-AzMigrateLocalServerReplication.ps1: no Azure
    PowerShell recording holds a Hyper-V resolution.
    """
    result, creates, puts = run_local_migration(
        emulator, run_dag, monkeypatch, "HyperVSites", "e2e_local_migration_hyperv"
    )
    assert result.states == dict.fromkeys(("create_default", "create_power_user", "table"), "success")
    default, power = creates["create_default"], creates["create_power_user"]
    default_name, power_name = (row["machine_id"].rsplit("/", 1)[-1] for row in (default, power))
    network = default["target_virtual_switch_id"]
    # The default mapping: every disk of the machine (its instanceId, its size rounded up to a GiB,
    # a dynamic VHDX), every NIC onto the logical network; the machine's generation, cores and
    # memory; its dynamic memory off as the machine's; the cmdlet's dynamic memory defaults.
    assert puts[default_name]["properties"] == hyperv_put(
        emulator,
        default,
        {
            "disksToInclude": [
                {
                    "diskId": f"{default_name}-disk{n}",
                    "diskSizeGB": size,
                    "diskFileFormat": "VHDX",
                    "isDynamic": True,
                    "isOsDisk": n == 0,
                }
                for n, size in enumerate(DISK_GB)
            ],
            "nicsToInclude": [
                {
                    "nicId": f"{default_name}-nic0",
                    "targetNetworkId": network,
                    "testNetworkId": network,
                    "selectionTypeForFailover": "SelectedByUser",
                }
            ],
            "hyperVGeneration": "2",
            "targetCpuCores": 4,
            "isDynamicRam": False,
            "dynamicMemoryConfig": {
                "maximumMemoryInMegaBytes": 1048576,
                "minimumMemoryInMegaBytes": 1024,
                "targetMemoryBufferPercentage": 20,
            },
            "targetMemoryInMegaBytes": 4096,
        },
    )
    # The power user's, on a generation 1 VM: the disks given (a fixed 512-byte-sector VHD among
    # them, the third disk left out) and the NIC with its own test network; the dynamic memory's
    # minimum is the target memory when below the cmdlet's 1 GB default.
    assert puts[power_name]["properties"] == hyperv_put(
        emulator,
        power,
        {
            "disksToInclude": [
                {
                    "diskId": f"{power_name}-disk0",
                    "diskSizeGB": 64,
                    "diskFileFormat": "VHDX",
                    "isDynamic": True,
                    "isOsDisk": True,
                },
                {
                    "diskId": f"{power_name}-disk2",
                    "diskSizeGB": 10,
                    "diskFileFormat": "VHD",
                    "isDynamic": False,
                    "isOsDisk": False,
                    "diskPhysicalSectorSize": 512,
                },
            ],
            "nicsToInclude": [
                {
                    "nicId": f"{power_name}-nic0",
                    "targetNetworkId": network,
                    "testNetworkId": f"{network.rsplit('/', 1)[0]}/test-lnet",
                    "selectionTypeForFailover": "SelectedByUser",
                }
            ],
            "hyperVGeneration": "1",
            "targetCpuCores": 2,
            "isDynamicRam": True,
            "dynamicMemoryConfig": {
                "maximumMemoryInMegaBytes": 1048576,
                "minimumMemoryInMegaBytes": 768,
                "targetMemoryBufferPercentage": 20,
            },
            "targetMemoryInMegaBytes": 768,
        },
    )
    rows = {row["protected_item_name"]: row for row in result.xcom["table"]}
    assert set(rows) == {default_name, power_name}
