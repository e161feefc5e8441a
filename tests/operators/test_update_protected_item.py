"""Changing a replicating server before its cut-over, as Set-AzMigrateLocalServerReplication does."""

from __future__ import annotations

import pytest

from airflow_provider_datareplication.exceptions import (
    AzureDataReplicationActionRefusedError,
    AzureDataReplicationJobFailedError,
)
from airflow_provider_datareplication.operators.data_replication import (
    AzureDataReplicationUpdateProtectedItemOperator,
)
from tests.e2e.dags.e2e_scenarios import ITEM
from tests.helpers import TaskInstance
from tests.sdk_requests import SdkRequest, update_request

RG = "rgrecoveryservicesdatareplication"
SITE = "/subscriptions/{sub}/resourceGroups/" + RG + "/providers/Microsoft.OffAzure/{site}/site1"
#: Recorded (Set-AzMigrateLocalServerReplication): the item's memory settings before the update.
RECORDED_MEMORY = {
    "hyperVGeneration": "2",
    "isDynamicRam": True,
    "dynamicMemoryConfig": {
        "maximumMemoryInMegaBytes": 1048576,
        "minimumMemoryInMegaBytes": 1024,
        "targetMemoryBufferPercentage": 20,
    },
    "targetMemoryInMegaBytes": 1024,
    "targetCpuCores": 1,
}


@pytest.fixture
def quick(emulator):
    emulator.item_durations(update_protected_item=0.2)
    return emulator


def update(**kwargs):
    return AzureDataReplicationUpdateProtectedItemOperator(
        **{"task_id": "update", "protected_item_name": ITEM, "check_interval": 0.1, **kwargs}
    )


def writes(emulator):
    return [r for r in emulator.requests_for_item(ITEM) if r.method != "GET"]


def seed(emulator, *, state="Protected", custom=None, instance_type="HyperVToAzStackHCI"):
    return emulator.add_protected_item(
        ITEM,
        protection_state=state,
        instance_type=instance_type,
        properties={"customProperties": {**RECORDED_MEMORY, **(custom or {})}},
    )


def sent(emulator, custom_properties):
    (patch,) = writes(emulator)
    assert SdkRequest.of(patch) == update_request(
        subscription_id=emulator.subscription_id,
        resource_group_name=RG,
        vault_name="vault1",
        protected_item_name=ITEM,
        custom_properties=custom_properties,
    )
    return patch.body


def test_the_recorded_update_is_sent_as_the_cmdlet_sent_it_and_waited_on(quick):
    seed(quick, state="InitialReplicationInProgress")
    ti = TaskInstance()
    job = update(is_dynamic_memory_enabled=True).execute({"ti": ti})
    # The recorded PATCH body of Set-AzMigrateLocalServerReplication -IsDynamicMemoryEnabled true.
    assert sent(
        quick,
        {
            "instanceType": "HyperVToAzStackHCI",
            **{k: RECORDED_MEMORY[k] for k in ("isDynamicRam", "dynamicMemoryConfig")},
        },
    ) == {
        "properties": {
            "customProperties": {
                "instanceType": "HyperVToAzStackHCI",
                "isDynamicRam": True,
                "dynamicMemoryConfig": RECORDED_MEMORY["dynamicMemoryConfig"],
            }
        }
    }
    assert job["properties"]["displayName"] == "Update protected item"
    assert job["properties"]["state"] == "Succeeded" and ti.xcom["job_name"] == job["name"]


def test_cpu_memory_and_os_type_are_sent_and_the_item_takes_them_never_its_generation(quick):
    seed(quick)
    update(target_vm_cpu_cores=8, target_vm_ram_mb="16384", os_type="linuxguest").execute(
        {"ti": TaskInstance()}
    )
    body = sent(
        quick,
        {
            "instanceType": "HyperVToAzStackHCI",
            "targetCpuCores": 8,
            "targetMemoryInMegaBytes": 16384,
            "osType": "LinuxGuest",
        },
    )
    assert "hyperVGeneration" not in body["properties"]["customProperties"]
    custom = quick.protected_item(ITEM)["properties"]["customProperties"]
    assert (custom["targetCpuCores"], custom["targetMemoryInMegaBytes"], custom["osType"]) == (
        8,
        16384,
        "LinuxGuest",
    )


def test_dynamic_memory_without_a_configuration_takes_the_cmdlet_s_default(quick):
    seed(quick, custom={"isDynamicRam": False, "dynamicMemoryConfig": None, "targetMemoryInMegaBytes": 4096})
    update(is_dynamic_memory_enabled="true").execute({"ti": TaskInstance()})
    assert sent(
        quick,
        {
            "instanceType": "HyperVToAzStackHCI",
            "isDynamicRam": True,
            "dynamicMemoryConfig": {
                "maximumMemoryInMegaBytes": 1048576,
                "minimumMemoryInMegaBytes": 1024,
                "targetMemoryBufferPercentage": 20,
            },
        },
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_vm_cpu_cores": 65}, r"Specify target_vm_cpu_cores between 1 and 64"),
        ({"target_vm_cpu_cores": "four"}, r"target_vm_cpu_cores must be a whole number"),
        ({"os_type": "Windows"}, r"os_type must be one of WindowsGuest, LinuxGuest"),
        ({"target_vm_security_option": "vTPM"}, r"None, SecureBootEnabled, TrustedLaunch"),
        ({"is_dynamic_memory_enabled": "yes"}, r"is_dynamic_memory_enabled must be true or false"),
        (
            {
                "dynamic_memory_config": {
                    "minimumMemoryInMegaBytes": 512,
                    "maximumMemoryInMegaBytes": 2048,
                    "targetMemoryBufferPercentage": 3,
                }
            },
            r"target memory buffer percentage between 5 % and 2000 %",
        ),
        (
            {"nics": [{"nicId": "4000", "targetNetworkId": "n"}, {"nicId": "4000", "targetNetworkId": "n"}]},
            r"The Nic id '4000' is already included",
        ),
        (
            {"nics": [{"nicId": "4000", "selectionTypeForFailover": "SelectedByUser"}]},
            r"nics\[0\] needs targetNetworkId",
        ),
        ({}, r"nothing to update"),
    ],
)
def test_bad_input_is_refused_when_the_task_is_built(kwargs, message):
    with pytest.raises(ValueError, match=message):
        update(**kwargs)


@pytest.mark.parametrize(
    ("state", "custom", "kwargs", "message"),
    [
        (
            "EnablingProtection",
            {},
            {"target_vm_cpu_cores": 2},
            r"needs DisableProtection and not CommitFailover",
        ),
        (
            "PlannedFailoverCompleted",
            {},
            {"target_vm_cpu_cores": 2},
            r"allowed jobs: CommitFailover, DisableProtection",
        ),
        (
            "Protected",
            {"hyperVGeneration": "1"},
            {"target_vm_ram_mb": 256},
            r"between 512 and 1048576 MB \(i.e., 1 TB\) for Hyper-V Generation 1",
        ),
        (
            "Protected",
            {},
            {"target_vm_ram_mb": 16},
            r"between 32 and 12582912 MB \(i.e., 12 TB\) for Hyper-V Generation 2",
        ),
        (
            "Protected",
            {"hyperVGeneration": "1"},
            {"target_vm_security_option": "TrustedLaunch"},
            r"requires a Generation 2 target VM",
        ),
        (
            "Protected",
            {},
            {
                "target_vm_ram_mb": 4096,
                "dynamic_memory_config": {
                    "minimumMemoryInMegaBytes": 8192,
                    "maximumMemoryInMegaBytes": 16384,
                    "targetMemoryBufferPercentage": 20,
                },
            },
            r"DynamicMemoryConfig - Specify minimum memory less than 4096",
        ),
        (
            "Protected",
            {"isDynamicRam": False},
            {
                "dynamic_memory_config": {
                    "minimumMemoryInMegaBytes": 512,
                    "maximumMemoryInMegaBytes": 2048,
                    "targetMemoryBufferPercentage": 20,
                }
            },
            r"dynamic_memory_config needs dynamic memory",
        ),
    ],
)
def test_what_the_cmdlet_refuses_for_the_item_is_refused_before_anything_is_sent(
    quick, state, custom, kwargs, message
):
    seed(quick, state=state, custom=custom)
    with pytest.raises(AzureDataReplicationActionRefusedError, match=message):
        update(**kwargs).execute({"ti": TaskInstance()})
    assert writes(quick) == []


def test_nics_are_checked_against_the_discovered_machine(quick):
    sub = quick.subscription_id
    machine_id = SITE.format(sub=sub, site="VMwareSites") + "/machines/vm1"
    # Recorded (New-AzMigrateLocalServerReplication): a VMware machine's one network adapter.
    quick.add_resource(
        machine_id,
        {
            "name": "vm1",
            "type": "Microsoft.OffAzure/VMwareSites/machines",
            "properties": {
                "networkAdapters": [
                    {"label": "Network adapter 1", "nicId": "4000", "macAddress": "00:50:56:a3:b6:f0"}
                ]
            },
        },
        api_versions=("2020-01-01",),
    )
    seed(quick, instance_type="VMwareToAzStackHCI", custom={"fabricDiscoveryMachineId": machine_id})
    lnet = f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.AzureStackHCI/logicalnetworks/lnet1"
    with pytest.raises(AzureDataReplicationActionRefusedError, match=r"The Nic id '4001' is not found"):
        update(nics=[{"nicId": "4001", "targetNetworkId": lnet}]).execute({"ti": TaskInstance()})
    assert writes(quick) == []
    update(nics=[{"nicId": "4000", "targetNetworkId": lnet}]).execute({"ti": TaskInstance()})
    nic = {
        "nicId": "4000",
        "targetNetworkId": lnet,
        "testNetworkId": lnet,
        "selectionTypeForFailover": "SelectedByUser",
    }
    sent(quick, {"instanceType": "VMwareToAzStackHCI", "nicsToInclude": [nic]})


def test_an_update_the_service_fails_fails_the_task_with_its_error(quick):
    # Recorded: the update of an item whose enabling failed is taken, and its job fails (1001012).
    seed(quick, state="EnablingFailed")
    with pytest.raises(AzureDataReplicationJobFailedError, match="can not update in the state"):
        update(target_vm_cpu_cores=2).execute({"ti": TaskInstance()})


def test_a_later_try_judges_this_attempt_s_update_and_sends_nothing_again(quick):
    seed(quick)
    first = update(target_vm_cpu_cores=2).execute({"ti": TaskInstance()})
    again = update(target_vm_cpu_cores=2).execute({"ti": TaskInstance(try_number=2, max_tries=1)})
    assert again["name"] == first["name"] and again["properties"]["state"] == "Succeeded"
    assert len(writes(quick)) == 1
