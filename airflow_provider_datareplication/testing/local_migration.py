"""
A Migrate project set up for Azure Local migration, in the emulator: what replicating a machine reads.

:func:`seed_local_migration` serves every resource ``New-AzMigrateLocalServerReplication`` reads
(and the create operator's ``machine_id`` resolution with it): the discovered machine and its site,
the project's Data Replication and discovery solutions, the vault, the fabrics and their agents,
the policy and the replication extension, Resource Graph's answer for the Arc resource bridge, the
site's run-as accounts and the storage path, with settable states (an appliance not responsive, a
bridge offline, no policy...).

*Recorded* (Azure PowerShell's ``New-AzMigrateLocalServerReplication.Recording.json``, February
2025, VMware, default mapping): the machine, the site and the Data Replication solution, and the
``PUT`` body the cmdlet built (:data:`RECORDED_VMWARE_PUT`), trimmed to the fields read and
stripped of certificates, key vaults and agent ids. *Assumed* (the recording holds none: its mocks
answered them; built from the 2024-09-01 and OffAzure 2020-01-01 specs so that the names the
recorded ``PUT`` carries follow from them): the vault, the discovery solution's appliance map, the
fabrics, the fabric agents, the policy, the extension, the Resource Graph row, the run-as account and
the storage path; the Hyper-V scenario as a whole (no Hyper-V recording holds the reads: its
machines are the VMware one's disks and memory on a Hyper-V host, the first generation 2, the second
generation 1, neither with dynamic memory; its target side is the recorded one).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_datareplication.testing.emulator import DataReplicationEmulator

#: The recording's subscription: replaced by the emulator's when seeded.
RECORDED_SUBSCRIPTION = "de3c4d5e-af08-451a-a873-438d86ab6f4b"
_SUB = f"/subscriptions/{RECORDED_SUBSCRIPTION}"
RECORDED_RG = "aszmige2etestscratchKPIvmw01"
_GROUP = f"{_SUB}/resourceGroups/{RECORDED_RG}"
_HCI_GROUP = f"{_SUB}/resourceGroups/E2ETestTargetrgVMMig6/providers/Microsoft.AzureStackHCI"
_PROJECT = f"{_GROUP}/providers/Microsoft.Migrate/MigrateProjects/aszmigtest1f0b4ff"
_VAULT = PROJECT_VAULT = "aszmigtest1f0b4ffreplicationvault"
_CLUSTER = (
    "/Subscriptions/de3c4d5e-af08-451a-a873-438d86ab6f4b/resourceGroups/EDGECI-REGISTRATION-n22r1004-vBTa6UOS"
    "/providers/Microsoft.AzureStackHCI/clusters/n22r1004-cl"
)

#: The recorded call's inputs, as the create operator takes them.
RECORDED_VMWARE_INPUTS: dict[str, Any] = {
    "machine_id": f"{_GROUP}/providers/Microsoft.OffAzure/VMwareSites/VMware-1f0b4ffsite/machines/"
    "100-69-177-104-31be0ff4-c932-4cb3-8efc-efa411d23480_50238fae-8286-3153-78db-9613d575e73f",
    "target_storage_path_id": f"{_HCI_GROUP}/storageContainers/scontn22r1004-cl",
    "target_resource_group_id": f"{_SUB}/resourceGroups/aszmige2etestscratchKPIvmw01-target",
    "target_vm_name": "hciVm1",
    "target_virtual_switch_id": f"{_HCI_GROUP}/logicalNetworks/vnetn22r1004-cl-static",
    "os_disk_id": "6000C290-a4d0-e5ea-bad5-4e993df22e3b",
    "source_appliance_name": "VMware-1f0b4ff",
    "target_appliance_name": "asz-1f0b4ff",
}
_LNET = RECORDED_VMWARE_INPUTS["target_virtual_switch_id"]

#: Recorded: the PUT body's ``properties`` (Az.Migrate 2.6.0). Its ``diskSizeGB`` is 0 on every
#: disk: that version sent none; the cmdlet's source since computes it from the machine's disks.
RECORDED_VMWARE_PUT: dict[str, Any] = {
    "policyName": "aszmigtest1f0b4ffreplicationvaultVMwareToAzStackHCIpolicy",
    "replicationExtensionName": (
        "VMware-1f0b4ff5920replicationfabric-asz-1f0b4ff5d25replicationfabric-MigReplicationExtn"
    ),
    "customProperties": {
        "instanceType": "VMwareToAzStackHCI",
        "targetHciClusterId": _CLUSTER,
        "targetArcClusterCustomLocationId": "/SUBSCRIPTIONS/DE3C4D5E-AF08-451A-A873-438D86AB6F4B/"
        "RESOURCEGROUPS/"
        "EDGECI-REGISTRATION-N22R1004-VBTA6UOS/PROVIDERS/MICROSOFT.EXTENDEDLOCATION/CUSTOMLOCATIONS/"
        "N22R1004-CL-CUSTOMLOCATION",
        "storageContainerId": RECORDED_VMWARE_INPUTS["target_storage_path_id"],
        "targetResourceGroupId": RECORDED_VMWARE_INPUTS["target_resource_group_id"],
        "customLocationRegion": "canadacentral",
        "disksToInclude": [
            {
                "diskId": disk,
                "isDynamic": True,
                "diskSizeGB": 0,
                "diskFileFormat": "VHDX",
                "isOsDisk": disk == osd,
            }
            for disk, osd in (
                ("6000C290-a4d0-e5ea-bad5-4e993df22e3b", "6000C290-a4d0-e5ea-bad5-4e993df22e3b"),
                ("6000C29a-bcb7-a62b-7ed0-0c78f3dc1f80", ""),
                ("6000C29a-8bda-0949-803a-cdbe92d7f417", ""),
            )
        ],
        "nicsToInclude": [
            {
                "nicId": "4000",
                "targetNetworkId": _LNET,
                "testNetworkId": _LNET,
                "selectionTypeForFailover": "SelectedByUser",
            }
        ],
        "targetVmName": "hciVm1",
        "hyperVGeneration": "2",
        "targetCpuCores": 4,
        "isDynamicRam": True,
        "dynamicMemoryConfig": {
            "maximumMemoryInMegaBytes": 1048576,
            "minimumMemoryInMegaBytes": 1024,
            "targetMemoryBufferPercentage": 20,
        },
        "targetMemoryInMegaBytes": 4096,
        "fabricDiscoveryMachineId": RECORDED_VMWARE_INPUTS["machine_id"],
        "runAsAccountId": f"{_GROUP}/providers/Microsoft.OffAzure/VMwareSites/VMware-1f0b4ffsite/"
        "runasaccounts/"
        "e6176dcd-08e9-54d8-9514-92128b1162c0",
        "sourceFabricAgentName": "VMware-1f0b4ff5920dra",
        "targetFabricAgentName": "asz-1f0b4ff5d25dra",
    },
}
#: Recorded: the VMware machine's disks (uuid, size, path).
_VMWARE_DISKS = [
    ("6000C290-a4d0-e5ea-bad5-4e993df22e3b", 42949672960, "test-vm4-ubuntuvm64efi.vmdk"),
    ("6000C29a-bcb7-a62b-7ed0-0c78f3dc1f80", 17179869184, "test-vm4-ubuntuvm64efi_1.vmdk"),
    ("6000C29a-8bda-0949-803a-cdbe92d7f417", 10737418240, "test-vm4-ubuntuvm64efi_2.vmdk"),
]


@dataclass
class LocalMigrationStates:
    """
    What can be set wrong in a seeded project, to see each check refuse.

    :param source_agent_responsive: The source appliance's fabric agent ``isResponsive``.
    :param target_agent_responsive: The target appliance's.
    :param bridge_status: The Arc resource bridge's ``status`` (``Running``, ``Offline``...); ``None``:
        Resource Graph finds no cluster.
    :param policy: Whether the replication policy exists (``False``: not initialized).
    :param extension: Whether the replication extension exists.
    :param vault_state: The vault's ``provisioningState``.
    :param storage_path_state: The storage path's ``provisioningState``; ``None``: it does not exist.
    :param power_status: The machine's ``powerStatus``.
    """

    source_agent_responsive: bool = True
    target_agent_responsive: bool = True
    bridge_status: str | None = "Running"
    policy: bool = True
    extension: bool = True
    vault_state: str = "Succeeded"
    storage_path_state: str | None = "Succeeded"
    power_status: str | None = None


def _ours(value: Any, subscription_id: str) -> Any:
    """Put the emulator's subscription in place of the recording's (any case)."""
    text = re.sub(re.escape(RECORDED_SUBSCRIPTION), subscription_id, json.dumps(value), flags=re.IGNORECASE)
    return json.loads(text)


def recorded_vmware_inputs(emulator: DataReplicationEmulator) -> dict[str, Any]:
    """Return the recorded call's inputs, in the emulator's subscription."""
    return dict(_ours(RECORDED_VMWARE_INPUTS, emulator.subscription_id))


def recorded_vmware_put(emulator: DataReplicationEmulator) -> dict[str, Any]:
    """Return the recorded ``PUT`` body's ``properties``, in the emulator's subscription."""
    return dict(_ours(RECORDED_VMWARE_PUT, emulator.subscription_id))


def _machine_name(index: int) -> str:
    return RECORDED_VMWARE_INPUTS["machine_id"].rsplit("/", 1)[-1] if index == 0 else f"vm{index + 1}"


def _vmware_disk_id(uuid: str, index: int) -> str:
    return uuid if index == 0 else f"{uuid[:-4]}{index:04d}"


def local_migration_inputs(
    subscription_id: str, *, site_type: str = "VMwareSites", machines: int = 1
) -> list[dict[str, Any]]:
    """
    Return the create-operator inputs of the machines :func:`seed_local_migration` serves, without seeding.

    :param subscription_id: The emulator's subscription.
    :param site_type: ``VMwareSites`` or ``HyperVSites``.
    :param machines: How many.
    """
    hyperv = site_type == "HyperVSites"
    appliance = "HyperV-1f0b4ff" if hyperv else "VMware-1f0b4ff"
    site_id = f"{_GROUP}/providers/Microsoft.OffAzure/{site_type}/{appliance}site"
    rows = []
    for index in range(machines):
        name = _machine_name(index)
        rows.append(
            {
                **RECORDED_VMWARE_INPUTS,
                "machine_id": f"{site_id}/machines/{name}",
                "os_disk_id": f"{name}-disk0" if hyperv else _vmware_disk_id(_VMWARE_DISKS[0][0], index),
                "source_appliance_name": appliance,
                "target_vm_name": "hciVm1" if index == 0 else f"hciVm{index + 1}",
            }
        )
    return [dict(_ours(row, subscription_id)) for row in rows]


def seed_local_migration(
    emulator: DataReplicationEmulator,
    *,
    site_type: str = "VMwareSites",
    states: LocalMigrationStates | None = None,
    machines: int = 1,
) -> list[dict[str, Any]]:
    """
    Seed the recorded Migrate project (VMware; or its Hyper-V twin, assumed) in the emulator.

    Return each machine's create-operator inputs (the recorded ones for the first VMware machine;
    further machines ``vm2``, ``vm3``..., with their own target VM names).

    :param emulator: The emulator.
    :param site_type: ``VMwareSites`` or ``HyperVSites``.
    :param states: What to set wrong (default: all well).
    :param machines: How many discovered machines the site holds.
    """
    states = states or LocalMigrationStates()
    sub = emulator.subscription_id
    hyperv = site_type == "HyperVSites"
    kind = "HyperVToAzStackHCI" if hyperv else "VMwareToAzStackHCI"
    source_appliance = "HyperV-1f0b4ff" if hyperv else "VMware-1f0b4ff"
    site_id = f"{_GROUP}/providers/Microsoft.OffAzure/{site_type}/{source_appliance}site"
    target_site = f"{_GROUP}/providers/Microsoft.OffAzure/HyperVSites/asz-1f0b4ffsite"
    solution_id = f"{_PROJECT}/Solutions/Servers-Migration-ServerMigration_DataReplication"
    offazure = ("2020-01-01", "2023-06-06", "2024-12-01-preview")
    group = f"{_GROUP}/providers/Microsoft.DataReplication"
    source_fabric = f"{source_appliance}5920replicationfabric"
    target_fabric = "asz-1f0b4ff5d25replicationfabric"
    vault_id = f"{group}/replicationVaults/{_VAULT}"
    resources: list[tuple[str, dict[str, Any], tuple[str, ...]]] = []

    def add(resource_id: str, body: dict[str, Any], versions: tuple[str, ...] = ("2024-09-01",)) -> None:
        resources.append((resource_id, body, versions))

    for index in range(machines):
        name = _machine_name(index)
        machine_id = f"{site_id}/machines/{name}"
        if hyperv:
            disks = [
                {"instanceId": f"{name}-disk{n}", "maxSizeInBytes": size, "path": f"C:\\VMs\\{name}\\{path}"}
                for n, (_, size, path) in enumerate(_VMWARE_DISKS)
            ]
            properties: dict[str, Any] = {
                "disks": disks,
                "networkAdapters": [{"nicId": f"{name}-nic0", "macAddress": "00:15:5d:a0:40:7d"}],
                "numberOfProcessorCore": 4,
                "allocatedMemoryInMB": 4096.0,
                "isDynamicMemoryEnabled": False,
                # The second machine a generation 1 VM: the power user's VHD disks are for it alone.
                "generation": 1 if index == 1 else 2,
                "powerStatus": states.power_status or "Running",
                "operatingSystemDetails": {"osType": "windowsguest", "osName": "Windows Server 2022"},
                "guestOSDetails": {"osName": "Windows Server 2022"},
                "displayName": name,
            }
        else:
            properties = {
                "disks": [
                    {
                        "uuid": _vmware_disk_id(uuid, index),
                        "maxSizeInBytes": size,
                        "path": f"[SSDVMStore3] test-vm4-ubuntuvm64efi/{path}",
                        "label": f"Hard disk {n + 1}",
                    }
                    for n, (uuid, size, path) in enumerate(_VMWARE_DISKS)
                ],
                "networkAdapters": [
                    {
                        "label": "Network adapter 1",
                        "adapterType": "VirtualVmxnet3",
                        "nicId": "4000",
                        "macAddress": "00:50:56:a3:b6:f0",
                        "networkName": "dhcp_lan",
                    }
                ],
                "vMwareToolsStatus": "OK",
                "powerStatus": states.power_status or "ON",
                "firmware": "efi",
                "numberOfProcessorCore": 4,
                "allocatedMemoryInMB": 4096.0,
                "operatingSystemDetails": {"osType": "linuxGuest", "osName": "Ubuntu Linux (64-bit)"},
                "displayName": "test-vm4-ubuntuvm64efi" if index == 0 else name,
            }
        add(
            machine_id,
            {"name": name, "type": f"Microsoft.OffAzure/{site_type}/machines", "properties": properties},
            offazure,
        )
    add(
        site_id,
        {
            "name": f"{source_appliance}site",
            "type": f"Microsoft.OffAzure/{site_type}",
            "location": "centraluseuap",
            "properties": {
                "applianceName": source_appliance,
                "discoverySolutionId": f"{_PROJECT}/Solutions/Servers-Discovery-ServerDiscovery",
                "provisioningState": "Succeeded",
            },
        },
        offazure,
    )
    add(
        f"{site_id}/runAsAccounts",
        {
            "value": [
                {
                    "id": f"{site_id}/runasaccounts/e6176dcd-08e9-54d8-9514-92128b1162c0",
                    "name": "e6176dcd-08e9-54d8-9514-92128b1162c0",
                    "properties": {
                        "displayName": f"{source_appliance}cred",
                        "credentialType": "HyperVFabric" if hyperv else "VMwareFabric",
                    },
                }
            ]
        },
        offazure,
    )
    migrate = ("2018-09-01-preview", "2020-05-01")
    add(
        solution_id,
        {
            "name": "Servers-Migration-ServerMigration_DataReplication",
            "type": "Microsoft.Migrate/MigrateProjects/Solutions",
            "properties": {
                "tool": "ServerMigration_DataReplication",
                "purpose": "Migration",
                "details": {"extendedDetails": {"vaultId": vault_id}},
            },
        },
        migrate,
    )
    add(
        f"{_PROJECT}/Solutions/Servers-Discovery-ServerDiscovery",
        {
            "name": "Servers-Discovery-ServerDiscovery",
            "properties": {
                "tool": "ServerDiscovery",
                "details": {
                    "extendedDetails": {
                        "applianceNameToSiteIdMapV3": json.dumps(
                            [
                                {source_appliance: {"SiteId": site_id}},
                                {"asz-1f0b4ff": {"SiteId": target_site}},
                            ]
                        )
                    }
                },
            },
        },
        migrate,
    )

    def fabric(name: str, instance_type: str, **custom: Any) -> dict[str, Any]:
        return {
            "id": f"{group}/replicationFabrics/{name}",
            "name": name,
            "properties": {
                "provisioningState": "Succeeded",
                "customProperties": {
                    "instanceType": instance_type,
                    "migrationSolutionId": solution_id,
                    **custom,
                },
            },
        }

    add(
        f"{group}/replicationFabrics",
        {
            "value": [
                fabric(source_fabric, "HyperVMigrate" if hyperv else "VMwareMigrate"),
                fabric(target_fabric, "AzStackHCI", cluster={"resourceName": _CLUSTER}),
            ]
        },
    )
    for fabric_name, agent, appliance, instance_type, responsive in (
        (
            source_fabric,
            f"{source_appliance}5920dra",
            source_appliance,
            "HyperVMigrate" if hyperv else "VMwareMigrate",
            states.source_agent_responsive,
        ),
        (target_fabric, "asz-1f0b4ff5d25dra", "asz-1f0b4ff", "AzStackHCI", states.target_agent_responsive),
    ):
        add(
            f"{group}/replicationFabrics/{fabric_name}/fabricAgents",
            {
                "value": [
                    {
                        "id": f"{group}/replicationFabrics/{fabric_name}/fabricAgents/{agent}",
                        "name": agent,
                        "properties": {
                            "machineName": appliance,
                            "isResponsive": responsive,
                            "customProperties": {"instanceType": instance_type},
                        },
                    }
                ]
            },
        )
    if states.policy:
        add(
            f"{vault_id}/replicationPolicies/{_VAULT}{kind}policy",
            {"properties": {"provisioningState": "Succeeded"}},
        )
    if states.extension:
        add(
            f"{vault_id}/replicationExtensions/{source_fabric}-{target_fabric}-MigReplicationExtn",
            {"properties": {"provisioningState": "Succeeded"}},
        )
    if states.storage_path_state is not None:
        add(
            RECORDED_VMWARE_INPUTS["target_storage_path_id"],
            {"properties": {"provisioningState": states.storage_path_state}},
            ("2021-09-01-preview", "2024-01-01"),
        )
    for resource_id, body, versions in resources:
        emulator.add_resource(_ours(resource_id, sub), _ours(body, sub), api_versions=versions)
    emulator.add_vault(_VAULT, resource_group_name=RECORDED_RG, provisioning_state=states.vault_state)
    row = {
        "CustomLocation": RECORDED_VMWARE_PUT["customProperties"]["targetArcClusterCustomLocationId"],
        "customLocationRegion": "canadacentral",
        "statusOfTheBridge": states.bridge_status,
    }
    emulator.items.bridges[_ours(_CLUSTER, sub).lower()] = (
        [] if states.bridge_status is None else [_ours(row, sub)]
    )
    return local_migration_inputs(sub, site_type=site_type, machines=machines)
