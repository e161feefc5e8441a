"""Enabling replication from a discovered machine, resolved as New-AzMigrateLocalServerReplication does."""

from __future__ import annotations

import json
import math

import pytest

from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook
from airflow_provider_datareplication.operators.data_replication import (
    AzureDataReplicationCreateProtectedItemOperator,
)
from airflow_provider_datareplication.testing.local_migration import (
    RECORDED_RG,
    LocalMigrationStates,
    recorded_vmware_put,
    seed_local_migration,
)
from tests.helpers import TaskInstance

VAULT = "aszmigtest1f0b4ffreplicationvault"


@pytest.fixture(autouse=True)
def _fast_reads(emulator, monkeypatch):
    """A resolution makes some fifteen reads: paced at 25 a second they would cost most of a second."""
    monkeypatch.setenv("AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT", json.dumps(fast_connection(emulator)))


def fast_connection(emulator):
    connection = emulator.connection()
    connection["extra"]["max_reads_per_second"] = 1000
    return connection


#: The recorded sizes of the VMware machine's disks, in GiB (the current cmdlet sends them).
DISK_GB = [math.ceil(size / 2**30) for size in (42949672960, 17179869184, 10737418240)]


def writes(emulator):
    return [r for r in emulator.requests if r.kind == "arm" and r.method in ("PUT", "PATCH", "DELETE")]


def same(built, recorded, path=""):
    """Compare field by field: ids case-insensitively (as ARM does), lists entry by entry."""
    if isinstance(recorded, dict):
        assert isinstance(built, dict) and set(built) == set(recorded), (
            path,
            sorted(built),
            sorted(recorded),
        )
        for key in recorded:
            same(built[key], recorded[key], f"{path}.{key}")
    elif isinstance(recorded, list):
        assert isinstance(built, list) and len(built) == len(recorded), path
        for index, (mine, theirs) in enumerate(zip(built, recorded, strict=True)):
            same(mine, theirs, f"{path}[{index}]")
    elif isinstance(recorded, str) and recorded.startswith("/"):
        assert str(built).lower() == recorded.lower(), path
    else:
        assert built == recorded, (path, built, recorded)


def recorded_with_sizes(emulator):
    """The recorded body, its disks sized as the current cmdlet sizes them (the recording's sent 0)."""
    expected = recorded_vmware_put(emulator)
    for disk, size in zip(expected["customProperties"]["disksToInclude"], DISK_GB, strict=True):
        disk["diskSizeGB"] = size
    return expected


def test_the_built_body_is_the_recorded_cmdlet_s_field_by_field(emulator):
    (inputs,) = seed_local_migration(emulator)
    with AzureDataReplicationHook() as hook:
        # The recorded PUT has isDynamicRam true: the recorded call asked for it (VMware's default is off).
        built = hook.replication_properties(**inputs, is_dynamic_memory_enabled=True)
    same(built, recorded_with_sizes(emulator))
    assert writes(emulator) == []
    (graph,) = [
        r for r in emulator.requests if r.path.lower() == "/providers/microsoft.resourcegraph/resources"
    ]
    assert graph.method == "POST" and "microsoft.resourceconnector/appliances" in graph.body["query"]
    assert graph.body["subscriptions"] == [emulator.subscription_id]


def test_the_operator_creates_the_item_in_the_project_s_vault_named_after_the_machine(emulator):
    emulator.item_durations(enable_protection=0.2, initial_replication=5)
    (inputs,) = seed_local_migration(emulator)
    ti = TaskInstance()
    job = AzureDataReplicationCreateProtectedItemOperator(
        task_id="enable", **inputs, is_dynamic_memory_enabled="true", check_interval=0.1
    ).execute({"ti": ti})
    (put,) = writes(emulator)
    name = inputs["machine_id"].rsplit("/", 1)[-1]
    assert put.path == (
        f"/subscriptions/{emulator.subscription_id}/resourceGroups/{RECORDED_RG}/providers/"
        f"Microsoft.DataReplication/replicationVaults/{VAULT}/protectedItems/{name}"
    )
    same(put.body["properties"], recorded_with_sizes(emulator))
    assert job["properties"]["state"] == "Succeeded"
    # A second run finds the item as asked: nothing is sent again.
    AzureDataReplicationCreateProtectedItemOperator(
        task_id="enable", **inputs, is_dynamic_memory_enabled=True
    ).execute({"ti": TaskInstance()})
    assert len(writes(emulator)) == 1


def test_the_power_user_mapping_sends_the_disks_and_nics_given(emulator):
    (inputs,) = seed_local_migration(emulator)
    del inputs["os_disk_id"]
    lnet = inputs.pop("target_virtual_switch_id")
    os_disk = "6000C290-a4d0-e5ea-bad5-4e993df22e3b"
    disks = [
        {"diskId": os_disk, "diskSizeGB": 64, "diskFileFormat": "VHDX", "isDynamic": False, "isOsDisk": True}
    ]
    nics = [{"nicId": "4000", "targetNetworkId": lnet}]
    with AzureDataReplicationHook() as hook:
        custom = hook.replication_properties(
            **inputs, disks=disks, nics=nics, target_vm_cpu_cores=2, target_vm_ram_mb=8192
        )["customProperties"]
    assert custom["disksToInclude"] == disks
    assert custom["nicsToInclude"] == [
        {**nics[0], "testNetworkId": lnet, "selectionTypeForFailover": "SelectedByUser"}
    ]
    assert (custom["targetCpuCores"], custom["targetMemoryInMegaBytes"]) == (2, 8192)
    assert custom["dynamicMemoryConfig"]["maximumMemoryInMegaBytes"] == 1048576


def test_a_hyper_v_machine_takes_its_generation_disks_and_memory(emulator):
    """The Hyper-V body: assumed, from the spec and New-AzMigrateLocalServerReplication.ps1 (no recording)."""
    (inputs,) = seed_local_migration(emulator, site_type="HyperVSites")
    with AzureDataReplicationHook() as hook:
        built = hook.replication_properties(**inputs)
    custom = built["customProperties"]
    assert built["policyName"] == f"{VAULT}HyperVToAzStackHCIpolicy"
    assert built["replicationExtensionName"] == (
        "HyperV-1f0b4ff5920replicationfabric-asz-1f0b4ff5d25replicationfabric-MigReplicationExtn"
    )
    assert custom["instanceType"] == "HyperVToAzStackHCI" and custom["hyperVGeneration"] == "2"
    assert custom["isDynamicRam"] is False and custom["targetMemoryInMegaBytes"] == 4096
    assert [(d["diskId"], d["diskSizeGB"], d["isOsDisk"]) for d in custom["disksToInclude"]] == [
        (f"{inputs['machine_id'].rsplit('/', 1)[-1]}-disk{n}", size, n == 0) for n, size in enumerate(DISK_GB)
    ]
    assert custom["sourceFabricAgentName"] == "HyperV-1f0b4ff5920dra"
    assert custom["runAsAccountId"].endswith("/runasaccounts/e6176dcd-08e9-54d8-9514-92128b1162c0")


@pytest.mark.parametrize(
    ("states", "message"),
    [
        (
            LocalMigrationStates(source_agent_responsive=False),
            r"source appliance 'VMware-1f0b4ff' is in a disconnected state",
        ),
        (
            LocalMigrationStates(target_agent_responsive=False),
            r"target appliance 'asz-1f0b4ff' is in a disconnected state",
        ),
        (LocalMigrationStates(bridge_status="Offline"), r"Arc Resource Bridge is offline"),
        (LocalMigrationStates(bridge_status=None), r"There are no Azure Local clusters found"),
        (
            LocalMigrationStates(policy=False),
            r"replication policy .* not found. The replication infrastructure is not initialized",
        ),
        (LocalMigrationStates(extension=False), r"replication extension .* not found"),
        (
            LocalMigrationStates(vault_state="Creating"),
            r"Replication Vault .* provisioning state is 'Creating'",
        ),
        (LocalMigrationStates(storage_path_state=None), r"storage path .* was not found"),
        (LocalMigrationStates(storage_path_state="Failed"), r"storage path .* is not provisioned"),
        (LocalMigrationStates(power_status="OFF"), r"The VM is currently powered off"),
    ],
)
def test_each_check_refuses_before_anything_is_sent(emulator, states, message):
    (inputs,) = seed_local_migration(emulator, states=states)
    task = AzureDataReplicationCreateProtectedItemOperator(task_id="enable", **inputs)
    with pytest.raises(ValueError, match=message):
        task.execute({"ti": TaskInstance()})
    assert writes(emulator) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source_appliance_name": "nope"}, r"matching the given source appliance name 'nope'"),
        ({"os_disk_id": "no-such-disk"}, r"No Disk found with Uuid no-such-disk"),
        ({"machine_id": "gone"}, r"Machine 'gone' not found"),
    ],
)
def test_inputs_the_machine_does_not_match_are_refused(emulator, change, message):
    (inputs,) = seed_local_migration(emulator)
    if change.get("machine_id") == "gone":
        change = {"machine_id": inputs["machine_id"].rsplit("/", 1)[0] + "/gone"}
    with AzureDataReplicationHook() as hook, pytest.raises(ValueError, match=message):
        hook.replication_properties(**{**inputs, **change})
    assert writes(emulator) == []


def test_a_machine_replicating_under_another_item_is_refused(emulator):
    first, second = seed_local_migration(emulator, machines=2)
    emulator.add_protected_item(
        "other-item",
        vault_name=VAULT,
        resource_group_name=RECORDED_RG,
        instance_type="VMwareToAzStackHCI",
        properties={"customProperties": {"fabricDiscoveryMachineId": second["machine_id"]}},
    )
    with AzureDataReplicationHook() as hook:
        hook.replication_properties(**first)
        with pytest.raises(ValueError, match=r"The VM is already in replication.*'other-item'"):
            hook.replication_properties(**second)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"properties": {"policyName": "p"}, "machine_id": "/subscriptions/x"},
            r"give properties or machine_id",
        ),
        ({}, r"give machine_id \(a discovered machine\) and its inputs, or properties"),
        ({"machine_id": "/subscriptions/x"}, r"with machine_id, give target_storage_path_id"),
        ({"target_vm_name": "bad_name."}, r"must begin with a letter or number"),
        ({"target_vm_name": "my-windows-vm"}, r"trademarked or reserved word"),
        ({"target_vm_name": "x" * 65}, r"between 1 and 64 characters"),
        ({"target_vm_cpu_cores": 0}, r"between 1 and 64"),
        ({"disks": [{"diskId": "d", "isOsDisk": True}]}, r"takes both disks and nics"),
        ({"target_virtual_switch_id": None}, r"give os_disk_id and target_virtual_switch_id"),
    ],
)
def test_bad_inputs_are_refused_when_the_task_is_built(kwargs, message):
    base = {
        "machine_id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OffAzure/VMwareSites/s/machines"
        "/m",
        "target_storage_path_id": "/sp",
        "target_resource_group_id": "/rg",
        "target_vm_name": "vm1",
        "target_virtual_switch_id": "/lnet",
        "os_disk_id": "d",
        "source_appliance_name": "src",
        "target_appliance_name": "tgt",
    }
    if "properties" in kwargs or kwargs == {} or kwargs.get("machine_id"):
        base = {}
    with pytest.raises(ValueError, match=message):
        AzureDataReplicationCreateProtectedItemOperator(task_id="enable", **{**base, **kwargs})


def test_a_vault_other_than_the_project_s_is_refused(emulator):
    (inputs,) = seed_local_migration(emulator)
    with AzureDataReplicationHook() as hook:
        with pytest.raises(ValueError, match=r"vault_name 'vault1' is not the Migrate project's"):
            hook.replication_properties(**inputs, vault_name="vault1")
        assert hook.replication_properties(
            **inputs, vault_name=VAULT.upper(), resource_group_name=RECORDED_RG
        )
