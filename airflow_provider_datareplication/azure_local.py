"""
What Azure's own tools for Azure Local migration check and build, as Az.Migrate's cmdlets do it.

The rules, limits and messages of ``Set-AzMigrateLocalServerReplication`` (Azure/azure-powershell,
``src/Migrate/Migrate.Autorest/custom/``, with the constants of ``Helper/AzLocalCommonSettings.ps1``),
here for the update of a replicating server: each check raises :class:`ValueError` naming the
parameter, before anything is sent. Standard library only: DAG parsing imports this module.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from airflow_provider_datareplication.arguments import as_bool, literal

#: ``$TargetVMCPUCores``.
CPU_CORES = (1, 64)
#: ``$TargetVMRamInMB``, by Hyper-V generation ("1"; any other is generation 2).
RAM_MB = {"1": (512, 1048576), "2": (32, 12582912)}
#: ``$RAMConfig``: the dynamic memory defaults and the target memory buffer's range.
DEFAULT_MIN_DYNAMIC_MEMORY_MB = 1024
DEFAULT_MAX_DYNAMIC_MEMORY_MB = 1048576
DEFAULT_MEMORY_BUFFER_PERCENTAGE = 20
MEMORY_BUFFER_PERCENTAGE = (5, 2000)
#: ``-OsType``'s set (PowerShell's ``ValidateSet`` takes any case; sent as spelt here).
OS_TYPES = ("WindowsGuest", "LinuxGuest")
#: ``$SecurityOptions``: the service's ``securityOption`` values.
SECURITY_OPTIONS = ("None", "SecureBootEnabled", "TrustedLaunch")
#: ``$VMNicSelection``.
SELECTED_BY_USER = "SelectedByUser"
NIC_SELECTIONS = (SELECTED_BY_USER, "NotSelected")
#: The fields of a NIC of ``nicsToInclude`` (``HyperVToAzStackHCINicInput``, ``VMwareToAzStackHCINicInput``).
NIC_FIELDS = (
    "nicId",
    "label",
    "targetNetworkId",
    "testNetworkId",
    "selectionTypeForFailover",
    "isStaticIpMigrationEnabled",
    "isMacMigrationEnabled",
)
#: The fields of ``dynamicMemoryConfig`` (``ProtectedItemDynamicMemoryConfig``).
DYNAMIC_MEMORY_FIELDS = (
    "maximumMemoryInMegaBytes",
    "minimumMemoryInMegaBytes",
    "targetMemoryBufferPercentage",
)
#: The api-version Az.Migrate reads discovered machines at (``$ApiVersions.HyperVSites``, OffAzure).
OFFAZURE_API_VERSION = "2020-01-01"
#: The instance type of each site type of a discovered machine's id (``$SiteTypes``).
SITE_INSTANCE_TYPES = {"hypervsites": "HyperVToAzStackHCI", "vmwaresites": "VMwareToAzStackHCI"}


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return value


def _one_of(name: str, value: Any, choices: tuple[str, ...]) -> str:
    chosen = {choice.lower(): choice for choice in choices}.get(str(value).strip().lower())
    if chosen is None or not isinstance(value, str):
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return chosen


def check_cpu_cores(value: Any, name: str = "target_vm_cpu_cores") -> int:
    """
    Return a target VM's CPU cores checked as the cmdlets check ``-TargetVMCPUCore`` (1 to 64).

    :param value: The value.
    :param name: The parameter, for the message.
    """
    cores = _integer(name, value)
    low, high = CPU_CORES
    if not low <= cores <= high:
        raise ValueError(f"Specify {name} between {low} and {high} (got {cores}).")
    return cores


def check_ram_mb(value: Any, generation: Any, name: str = "target_vm_ram_mb") -> int:
    """
    Return a target VM's memory in MB checked as ``Set-AzMigrateLocalServerReplication`` checks it.

    Between 512 MB and 1 TB for a Hyper-V generation 1 VM, 32 MB and 12 TB for generation 2.

    :param value: The value.
    :param generation: The item's ``hyperVGeneration`` (``"1"``; anything else is generation 2).
    :param name: The parameter, for the message.
    """
    megabytes = _integer(name, value)
    gen = "1" if str(generation).strip() == "1" else "2"
    low, high = RAM_MB[gen]
    if not low <= megabytes <= high:
        top = "1 TB" if gen == "1" else "12 TB"
        raise ValueError(
            f"Specify {name} between {low} and {high} MB (i.e., {top}) for Hyper-V Generation {gen} VM "
            f"(got {megabytes})."
        )
    return megabytes


def check_dynamic_memory_config(value: Any, name: str = "dynamic_memory_config") -> dict[str, int]:
    """
    Return a ``dynamicMemoryConfig`` checked for its fields (the service's names) and its buffer's range.

    :param value: Its ``minimumMemoryInMegaBytes``, ``maximumMemoryInMegaBytes`` and
        ``targetMemoryBufferPercentage``.
    :param name: The parameter, for the message.
    """
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object with {', '.join(DYNAMIC_MEMORY_FIELDS)}, got {value!r}")
    if unknown := sorted(set(value) - set(DYNAMIC_MEMORY_FIELDS)):
        raise ValueError(
            f"{name} has unknown fields {unknown}: its fields are {', '.join(DYNAMIC_MEMORY_FIELDS)}"
        )
    if missing := [field for field in DYNAMIC_MEMORY_FIELDS if value.get(field) is None]:
        raise ValueError(f"{name} must give {', '.join(missing)}")
    config = {field: _integer(f"{name}.{field}", value[field]) for field in DYNAMIC_MEMORY_FIELDS}
    low, high = MEMORY_BUFFER_PERCENTAGE
    if not low <= config["targetMemoryBufferPercentage"] <= high:
        raise ValueError(
            f"DynamicMemoryConfig - Specify target memory buffer percentage between {low} % and {high} %."
        )
    return config


def check_nics(value: Any, name: str = "nics") -> list[dict[str, Any]]:
    """
    Return NICs to include, checked as the cmdlets check NIC mappings (none twice, a network if selected).

    Each is a NIC of ``nicsToInclude`` in the service's words: ``nicId``, ``targetNetworkId`` (the
    logical network), ``testNetworkId`` (defaults to ``targetNetworkId``, as
    ``New-AzMigrateLocalNicMappingObject`` does), ``selectionTypeForFailover`` (``SelectedByUser``,
    the default, or ``NotSelected``).

    :param value: The list.
    :param name: The parameter, for the message.
    """
    if not isinstance(value, list) or not value:
        raise ValueError(f"{name} must be a non-empty list of NICs (objects with nicId), got {value!r}")
    nics, seen = [], set()
    for index, entry in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(entry, dict) or not entry.get("nicId"):
            raise ValueError(f"{where} must be an object with nicId, got {entry!r}")
        if unknown := sorted(set(entry) - set(NIC_FIELDS)):
            raise ValueError(
                f"{where} has unknown fields {unknown}: a NIC's fields are {', '.join(NIC_FIELDS)}"
            )
        nic = dict(entry)
        nic_id = str(nic["nicId"])
        if nic_id.lower() in seen:
            raise ValueError(
                f"The Nic id '{nic_id}' is already included. Please remove the duplicate entry and try again."
            )
        seen.add(nic_id.lower())
        nic["selectionTypeForFailover"] = _one_of(
            f"{where}.selectionTypeForFailover",
            nic.get("selectionTypeForFailover", SELECTED_BY_USER),
            NIC_SELECTIONS,
        )
        if nic["selectionTypeForFailover"] == SELECTED_BY_USER and not nic.get("targetNetworkId"):
            raise ValueError(
                f"{where} needs targetNetworkId: NIC '{nic_id}' is SelectedByUser (created at the target)"
            )
        if nic.get("targetNetworkId") and not nic.get("testNetworkId"):
            nic["testNetworkId"] = nic["targetNetworkId"]
        nics.append(nic)
    return nics


def check_update_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """
    Check an update's arguments by themselves (a template left as it is); return them normalized.

    The checks that need the item (the memory range of its generation, its NICs) come once it is read.

    :param arguments: ``target_vm_cpu_cores``, ``target_vm_ram_mb``, ``is_dynamic_memory_enabled``,
        ``dynamic_memory_config``, ``nics``, ``os_type``, ``target_vm_security_option``.
    """
    checked = dict(arguments)
    for name, value in arguments.items():
        if not literal(value):
            continue
        if name == "target_vm_cpu_cores":
            checked[name] = check_cpu_cores(value)
        elif name == "target_vm_ram_mb":
            checked[name] = _integer(name, value)
        elif name == "is_dynamic_memory_enabled":
            checked[name] = as_bool(name, value)
        elif name == "dynamic_memory_config":
            checked[name] = check_dynamic_memory_config(value)
        elif name == "nics":
            checked[name] = check_nics(value)
        elif name == "os_type":
            checked[name] = _one_of(name, value, OS_TYPES)
        elif name == "target_vm_security_option":
            checked[name] = _one_of(name, value, SECURITY_OPTIONS)
    return checked


def instance_type_of(custom_properties: dict[str, Any]) -> str | None:
    """
    Return a replicating server's instance type: its own, else its discovered machine's site type's.

    The cmdlet takes it from the site type in ``fabricDiscoveryMachineId`` alone; the item's own
    ``instanceType`` is the same when the service sends it.

    :param custom_properties: The item's ``customProperties``.
    """
    if own := custom_properties.get("instanceType"):
        return str(own)
    parts = str(custom_properties.get("fabricDiscoveryMachineId") or "").split("/")
    return SITE_INSTANCE_TYPES.get(parts[7].lower()) if len(parts) > 8 else None


def update_custom_properties(
    custom_properties: dict[str, Any],
    *,
    target_vm_cpu_cores: int | None = None,
    target_vm_ram_mb: int | None = None,
    is_dynamic_memory_enabled: bool | None = None,
    dynamic_memory_config: dict[str, int] | None = None,
    nics: list[dict[str, Any]] | None = None,
    os_type: str | None = None,
    target_vm_security_option: str | None = None,
    machine_nic_ids: list[str] | None = None,
) -> dict[str, Any]:
    """
    Build the ``customProperties`` of an update as ``Set-AzMigrateLocalServerReplication`` builds them.

    Only what is given is sent, with the item's ``instanceType``; ``hyperVGeneration`` never (it
    cannot change). Memory: the item's generation sets the range; dynamic memory takes the
    configuration given (its minimum at most, its maximum at least the target memory), else the
    item's, else the cmdlet's default (1 GB or less, 1 TB or more, 20 %).

    :param custom_properties: The item's ``customProperties`` (as read).
    :param target_vm_cpu_cores: CPU cores (checked).
    :param target_vm_ram_mb: Memory in MB.
    :param is_dynamic_memory_enabled: Dynamic memory on or off.
    :param dynamic_memory_config: Its configuration (checked).
    :param nics: NICs to include (checked).
    :param os_type: ``WindowsGuest`` or ``LinuxGuest``.
    :param target_vm_security_option: ``None``, ``SecureBootEnabled`` or ``TrustedLaunch``.
    :param machine_nic_ids: The discovered machine's NIC ids, for ``nics`` to be among them.
    :raises ValueError: A value the cmdlet refuses, or nothing to update.
    """
    instance_type = instance_type_of(custom_properties)
    if instance_type is None:
        raise ValueError("the item's customProperties name no instanceType (nor a discovered machine's site)")
    generation = custom_properties.get("hyperVGeneration")
    update: dict[str, Any] = {"instanceType": instance_type}
    if target_vm_cpu_cores is not None:
        update["targetCpuCores"] = check_cpu_cores(target_vm_cpu_cores)
    if target_vm_ram_mb is not None:
        update["targetMemoryInMegaBytes"] = check_ram_mb(target_vm_ram_mb, generation)
    # The cmdlet means the new memory, else the item's (its "-or" makes a boolean of the two).
    target_memory = update.get("targetMemoryInMegaBytes") or custom_properties.get("targetMemoryInMegaBytes")
    if is_dynamic_memory_enabled is not None:
        update["isDynamicRam"] = is_dynamic_memory_enabled
    elif dynamic_memory_config is not None:
        update["isDynamicRam"] = str(custom_properties.get("isDynamicRam")).lower() == "true"
    if dynamic_memory_config is not None and not update.get("isDynamicRam"):
        raise ValueError(
            "dynamic_memory_config needs dynamic memory: set is_dynamic_memory_enabled=True (the item's "
            "is off)"
        )
    if update.get("isDynamicRam"):
        if dynamic_memory_config is not None:
            config = check_dynamic_memory_config(dynamic_memory_config)
            if target_memory is not None:
                memory = float(target_memory)
                if memory < config["minimumMemoryInMegaBytes"]:
                    raise ValueError(
                        f"DynamicMemoryConfig - Specify minimum memory less than {target_memory:g}"
                    )
                if memory > config["maximumMemoryInMegaBytes"]:
                    raise ValueError(
                        f"DynamicMemoryConfig - Specify maximum memory greater than {target_memory:g}"
                    )
            update["dynamicMemoryConfig"] = config
        elif isinstance(custom_properties.get("dynamicMemoryConfig"), dict):
            update["dynamicMemoryConfig"] = custom_properties["dynamicMemoryConfig"]
        else:
            memory = int(float(target_memory or DEFAULT_MIN_DYNAMIC_MEMORY_MB))
            update["dynamicMemoryConfig"] = {
                "maximumMemoryInMegaBytes": max(memory, DEFAULT_MAX_DYNAMIC_MEMORY_MB),
                "minimumMemoryInMegaBytes": min(memory, DEFAULT_MIN_DYNAMIC_MEMORY_MB),
                "targetMemoryBufferPercentage": DEFAULT_MEMORY_BUFFER_PERCENTAGE,
            }
    if nics is not None:
        checked = check_nics(nics)
        known = {nic_id.lower() for nic_id in machine_nic_ids or []}
        for nic in checked:
            if machine_nic_ids is not None and str(nic["nicId"]).lower() not in known:
                raise ValueError(f"The Nic id '{nic['nicId']}' is not found.")
        update["nicsToInclude"] = checked
    if os_type is not None:
        update["osType"] = _one_of("os_type", os_type, OS_TYPES)
    if target_vm_security_option is not None:
        option = _one_of("target_vm_security_option", target_vm_security_option, SECURITY_OPTIONS)
        if str(generation).strip() == "1" and option != "None":
            raise ValueError(
                f"target_vm_security_option '{option}' requires a Generation 2 target VM: the item's target "
                "VM is Generation 1"
            )
        update["securityOption"] = option
    if len(update) == 1:
        raise ValueError(
            "nothing to update: give target_vm_cpu_cores, target_vm_ram_mb, is_dynamic_memory_enabled, "
            "dynamic_memory_config, nics, os_type or target_vm_security_option"
        )
    return update


# -- enabling replication from a discovered machine (New-AzMigrateLocalServerReplication) ---------

#: The Migrate project's solutions the cmdlet reads (``$AzMigrateSolutions``).
DATA_REPLICATION_SOLUTION = "Servers-Migration-ServerMigration_DataReplication"
DISCOVERY_SOLUTION = "Servers-Discovery-ServerDiscovery"
#: The api-versions of the cmdlet's reads (Az.Migrate's generated clients; ``$ApiVersions``).
MIGRATE_API_VERSION = "2018-09-01-preview"
DATA_REPLICATION_API_VERSION = "2024-09-01"
AZURE_STACK_HCI_API_VERSION = "2021-09-01-preview"
RESOURCE_GRAPH_API_VERSION = "2021-03-01"
#: ``$FabricInstanceTypes``: the source fabric's instance type, by the item's; the target's.
SOURCE_FABRIC_TYPES = {"HyperVToAzStackHCI": "HyperVMigrate", "VMwareToAzStackHCI": "VMwareMigrate"}
TARGET_FABRIC_TYPE = "AzStackHCI"
#: ``$RunAsAccountCredentialTypes``: the run-as account the source site's appliance uses.
RUN_AS_CREDENTIAL_TYPES = {"HyperVToAzStackHCI": "HyperVFabric", "VMwareToAzStackHCI": "VMwareFabric"}
#: ``$RAMConfig.MinTargetMemoryInMB``: a discovered machine's memory is taken as at least this.
MIN_TARGET_MEMORY_MB = 1024
#: ``$PowerStatus``: a source powered off.
POWERED_OFF = ("off", "poweroff")
_VALIDATION = (
    "Replication could not be initiated. Please ensure the necessary changes are made, and allow up to "
    "30 minutes before re-trying."
)
#: ``$VmReplicationValidationMessages``.
VM_POWERED_OFF = f"The VM is currently powered off. {_VALIDATION}"
ALREADY_IN_REPLICATION = f"The VM is already in replication. {_VALIDATION}"
INTEGRATION_SERVICES_NOT_RUNNING = f"Hyper-V Integration Services are not running on VM. {_VALIDATION}"
NOT_HIGHLY_AVAILABLE = f"The VM is not highly available. {_VALIDATION}"
#: ``$ArcResourceBridgeValidationMessages``.
BRIDGE_NOT_RUNNING = (
    "Arc Resource Bridge is offline. To continue, bring the Arc Resource Bridge online. Wait a few "
    "minutes for the status to update and retry."
)
NO_CLUSTERS = "There are no Azure Local clusters found in the selected resource group."
#: ``IsReservedOrTrademarked`` (Helper/CommonHelper.ps1): names a VM or disk cannot be.
RESERVED_WORDS = frozenset(
    {
        "ACCESS",
        "APP_CODE",
        "APP_THEMES",
        "APP_DATA",
        "APP_GLOBALRESOURCES",
        "APP_LOCALRESOURCES",
        "APP_WEBREFERENCES",
        "APP_BROWSERS",
        "AZURE",
        "BING",
        "BIZSPARK",
        "BIZTALK",
        "CORTANA",
        "DIRECTX",
        "DOTNET",
        "DYNAMICS",
        "EXCEL",
        "EXCHANGE",
        "FOREFRONT",
        "GROOVE",
        "HOLOLENS",
        "HYPERV",
        "KINECT",
        "LYNC",
        "MSDN",
        "O365",
        "OFFICE",
        "OFFICE365",
        "ONEDRIVE",
        "ONENOTE",
        "OUTLOOK",
        "POWERPOINT",
        "SHAREPOINT",
        "SKYPE",
        "VISIO",
        "VISUALSTUDIO",
    }
)
#: The cmdlet's target VM name rule.
_VM_NAME = re.compile(r"^[^_\W][a-zA-Z0-9\-]{0,63}(?<![-._])$")
#: The fields of a disk of ``disksToInclude`` (the Hyper-V and VMware ``...ToAzStackHCIDiskInput``).
DISK_FIELDS = (
    "diskId",
    "storageContainerId",
    "isDynamic",
    "diskSizeGB",
    "diskFileFormat",
    "isOsDisk",
    "diskBlockSize",
    "diskLogicalSectorSize",
    "diskPhysicalSectorSize",
    "diskIdentifier",
    "diskController",
)


def arc_resource_bridge_query(cluster_id: str) -> str:
    """
    Return the Resource Graph query the cmdlet sends for a cluster's Arc resource bridge.

    ``GetARGQueryForArcResourceBridge``'s text, the cluster's id in it.

    :param cluster_id: The Azure Local cluster's id (the target fabric's ``cluster.resourceName``).
    """
    quoted = cluster_id.replace("'", "''")
    return (
        "resources | where type == 'microsoft.extendedlocation/customlocations'\n"
        "| mv-expand ClusterId = properties['clusterExtensionIds']\n"
        "| extend ClusterId = toupper(tostring(ClusterId))\n"
        "| extend CustomLocation = toupper(tostring(id))\n"
        "| extend resourceBridgeID = toupper(tostring(properties['hostResourceId']))\n"
        "| extend customLocationRegion = location\n"
        "| join (\n"
        "    kubernetesconfigurationresources\n"
        "    | where type == 'microsoft.kubernetesconfiguration/extensions'\n"
        f"    | where properties['ConfigurationSettings']['HCIClusterID'] =~ '{quoted}'\n"
        "    | project ClusterId = id\n"
        "    | extend ClusterId = toupper(tostring(ClusterId))\n"
        ") on ClusterId\n"
        "| join (\n"
        "    resources\n"
        "    | where type == 'microsoft.resourceconnector/appliances'\n"
        "    | where properties['provisioningState'] == 'Succeeded'\n"
        "    | extend statusOfTheBridge = properties['status']\n"
        "    | extend resourceBridgeID = toupper(tostring(id))\n"
        ") on resourceBridgeID\n"
    )


def is_reserved_or_trademarked(value: str) -> bool:
    """
    Whether a name is, or holds, a word Azure reserves (``IsReservedOrTrademarked``).

    :param value: A VM's or a disk's name.
    """
    upper = value.upper()
    return (
        upper.startswith(("LOGIN", "XBOX"))
        or "MICROSOFT" in upper
        or "WINDOWS" in upper
        or upper in RESERVED_WORDS
    )


def check_target_vm_name(value: Any, name: str = "target_vm_name") -> str:
    """
    Return a target VM name checked by the cmdlet's rules (1 to 64 characters, its pattern, no reserved word).

    :param value: The name.
    :param name: The parameter, for the message.
    """
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise ValueError(f"{name}: the target virtual machine name must be between 1 and 64 characters long.")
    if not _VM_NAME.match(value):
        raise ValueError(
            f"{name}: the target virtual machine name must begin with a letter or number, and can contain "
            "only letters, numbers, or hyphens(-). The names cannot contain special characters "
            "\\/\"[]:|<>+=;,?*@&, whitespace, or begin with '_' or end with '.' or '-'."
        )
    if is_reserved_or_trademarked(value):
        raise ValueError(
            f"The target virtual machine name '{value}' or part of the name is a trademarked or "
            "reserved word."
        )
    return value


@dataclass(frozen=True)
class DiscoveredMachine:
    """
    A discovered machine's id, split as the cmdlet splits it.

    :param machine_id: The id (``.../Microsoft.OffAzure/{HyperVSites|VMwareSites}/{site}/machines/{m}``).
    """

    machine_id: str

    @property
    def parts(self) -> list[str]:
        """The id's segments."""
        return self.machine_id.split("/")

    @property
    def subscription_id(self) -> str:
        """The machine's subscription."""
        return self.parts[2]

    @property
    def resource_group_name(self) -> str:
        """The machine's resource group: the Migrate project's, and its vault's."""
        return self.parts[4]

    @property
    def site_type(self) -> str:
        """``HyperVSites`` or ``VMwareSites``."""
        return self.parts[7]

    @property
    def site_id(self) -> str:
        """The discovery site's id."""
        return "/".join(self.parts[:9])

    @property
    def machine_name(self) -> str:
        """The machine's name: the protected item's, by default."""
        return self.parts[10]

    @property
    def instance_type(self) -> str:
        """The replication's instance type (``HyperVToAzStackHCI`` or ``VMwareToAzStackHCI``)."""
        return SITE_INSTANCE_TYPES[self.site_type.lower()]

    @classmethod
    def parse(cls, value: Any, name: str = "machine_id") -> DiscoveredMachine:
        """
        Check a discovered machine's id as the cmdlet does: its length, then its site type.

        :param value: The id.
        :param name: The parameter, for the message.
        """
        if (
            not isinstance(value, str)
            or len(value.split("/")) < 11
            or not value.startswith("/subscriptions/")
        ):
            raise ValueError(f"Invalid machine ARM ID '{value}' ({name})")
        machine = cls(value)
        if machine.site_type.lower() not in SITE_INSTANCE_TYPES:
            raise ValueError(
                f"Site type is not supported. Site type '{machine.site_type}'. Check MachineId provided."
            )
        return machine


def check_machine(machine: dict[str, Any], instance_type: str) -> list[str]:
    """
    Check a discovered machine as ``ValidateReplication`` does; return its warnings.

    Raises for a source powered off, a Hyper-V VM whose integration services do not run, or one in a
    cluster that is not highly available. (That it is not already replicating is checked by the
    caller, which reads the vault.)

    :param machine: The machine's body.
    :param instance_type: The replication's instance type.
    """
    properties = machine.get("properties") or {}
    if str(properties.get("powerStatus") or "").lower() in POWERED_OFF:
        raise ValueError(VM_POWERED_OFF)
    os_type = str((properties.get("operatingSystemDetails") or {}).get("osType") or "")
    warnings = []
    if instance_type == "HyperVToAzStackHCI":
        os_name = (properties.get("guestOSDetails") or {}).get("osName")
        if not os_type or (os_type.lower() == "otherguestfamily" and not os_name):
            raise ValueError(INTEGRATION_SERVICES_NOT_RUNNING)
        if properties.get("clusterId") and str(properties.get("highAvailability")) == "No":
            raise ValueError(NOT_HIGHLY_AVAILABLE)
    else:
        tools = str(properties.get("vMwareToolsStatus") or "")
        if tools == "NotRunning":
            warnings.append(
                "VMware Tools are not running on the VM. To preserve static IPs during migration, ensure "
                "VMware Tools are running and wait up to 30 minutes for the system to detect the changes."
            )
        elif tools == "NotInstalled":
            warnings.append(
                "VMware Tools are not installed on the VM. To preserve static IPs during migration, install "
                "VMware Tools and wait up to 30 minutes for the system to detect the changes."
            )
    if os_type.lower() not in ("windowsguest", "linuxguest"):
        warnings.append(
            "The VM OS type could not be identified. For custom Windows or Linux builds, set its OS type "
            "(AzureDataReplicationUpdateProtectedItemOperator, os_type) before migration."
        )
    return warnings


def appliance_sites(discovery_solution: dict[str, Any]) -> dict[str, str]:
    """
    Return the discovery solution's appliances and their sites (lower-cased names), V2 map then V3.

    :param discovery_solution: The ``Servers-Discovery-ServerDiscovery`` solution's body.
    """
    import json

    details = ((discovery_solution.get("properties") or {}).get("details") or {}).get("extendedDetails") or {}
    v2, v3 = details.get("applianceNameToSiteIdMapV2"), details.get("applianceNameToSiteIdMapV3")
    if v2 is None and v3 is None:
        raise ValueError("Server Discovery Solution missing Appliance Details. Invalid Solution.")
    sites: dict[str, str] = {}
    for entry in json.loads(v2) if v2 else []:
        sites[str(entry.get("ApplianceName")).lower()] = str(entry.get("SiteId"))
    for entry in json.loads(v3) if v3 else []:
        for appliance, value in entry.items():
            sites[str(appliance).lower()] = str((value or {}).get("SiteId"))
    return sites


def check_appliances(sites: dict[str, str], source: str, target: str) -> None:
    """
    Check the two appliances as the cmdlet does: Hyper-V or VMware at the source, Hyper-V at the target.

    :param sites: :func:`appliance_sites`.
    :param source: The source appliance's name.
    :param target: The target appliance's name.
    """
    source_site, target_site = sites.get(source.lower(), ""), sites.get(target.lower(), "")

    def of(site: str, kind: str) -> bool:
        return f"/microsoft.offazure/{kind}/" in site.lower()

    if not (
        of(target_site, "hypervsites") and (of(source_site, "hypervsites") or of(source_site, "vmwaresites"))
    ):
        raise ValueError(
            f"Error encountered in matching the given source appliance name '{source}' and target appliance "
            f"name '{target}'. Please verify the VM site type to be either for HyperV or VMware for both "
            "source and target appliances, and the appliance names are correct."
        )


def default_disks(machine: dict[str, Any], instance_type: str, os_disk_id: str) -> list[dict[str, Any]]:
    """
    Every disk of the machine, the OS disk marked, as the cmdlet maps them by default (VHDX, dynamic).

    :param machine: The machine's body.
    :param instance_type: The replication's instance type.
    :param os_disk_id: The OS disk (a Hyper-V disk's ``instanceId``, a VMware disk's ``uuid``).
    """
    key = "instanceId" if instance_type == "HyperVToAzStackHCI" else "uuid"
    found = _machine_disks(machine, instance_type)
    if os_disk_id not in found:
        raise ValueError(
            f"No Disk found with {key[0].upper() + key[1:]} {os_disk_id} from discovered machine disks."
        )
    _check_disk_name(found[os_disk_id])
    return [
        {
            "diskId": disk_id,
            "diskSizeGB": math.ceil(int(disk.get("maxSizeInBytes") or 0) / 2**30),
            "diskFileFormat": "VHDX",
            "isDynamic": True,
            "isOsDisk": disk_id == os_disk_id,
        }
        for disk_id, disk in found.items()
    ]


def default_nics(
    machine: dict[str, Any], network_id: str, test_network_id: str | None
) -> list[dict[str, Any]]:
    """
    Every NIC of the machine onto one logical network, as the cmdlet maps them by default.

    :param machine: The machine's body.
    :param network_id: The logical network (``target_virtual_switch_id``).
    :param test_network_id: The test one (defaults to ``network_id``).
    """
    return [
        {
            "nicId": nic.get("nicId"),
            "targetNetworkId": network_id,
            "testNetworkId": test_network_id or network_id,
            "selectionTypeForFailover": SELECTED_BY_USER,
        }
        for nic in (machine.get("properties") or {}).get("networkAdapters") or []
        if isinstance(nic, dict)
    ]


def check_disks(
    value: Any, machine: dict[str, Any], instance_type: str, generation: str, name: str = "disks"
) -> list[dict[str, Any]]:
    """
    Return the disks to include (the power-user mapping) checked as the cmdlet checks ``-DiskToInclude``.

    :param value: The disks, in the service's words (``diskId``, ``diskSizeGB``, ``diskFileFormat``,
        ``isDynamic``, ``isOsDisk``, ``diskPhysicalSectorSize``...).
    :param machine: The machine's body.
    :param instance_type: The replication's instance type.
    :param generation: The target VM's Hyper-V generation.
    :param name: The parameter, for the message.
    """
    if not isinstance(value, list) or not value:
        raise ValueError(f"Invalid {name}. At least one disk is required.")
    if any(not isinstance(disk, dict) or not disk.get("diskId") for disk in value):
        raise ValueError(f"{name} must be objects with diskId")
    if len([disk for disk in value if disk.get("isOsDisk") is True]) != 1:
        raise ValueError(f"Invalid {name}. One disk must be designated as the OS disk.")
    found = _machine_disks(machine, instance_type)
    key = "InstanceId" if instance_type == "HyperVToAzStackHCI" else "Uuid"
    disks, seen = [], set()
    for disk in value:
        if unknown := sorted(set(disk) - set(DISK_FIELDS)):
            raise ValueError(f"{name}: disk '{disk['diskId']}' has unknown fields {unknown}")
        disk_id, file_format = str(disk["diskId"]), str(disk.get("diskFileFormat") or "")
        if generation == "2" and file_format == "VHD":
            raise ValueError(
                f"VHD disks are not supported in Hyper-V Generation 2 VMs: disk '{disk_id}' in {name}."
            )
        if file_format == "VHD" and disk.get("diskPhysicalSectorSize") != 512:
            raise ValueError(f"PhysicalSectorSize must be 512 for VHD format: disk '{disk_id}' in {name}.")
        if disk_id not in found:
            raise ValueError(f"No Disk found with {key} '{disk_id}' from discovered machine disks.")
        _check_disk_name(found[disk_id])
        if disk_id in seen:
            raise ValueError(f"The disk id '{disk_id}' is already taken.")
        seen.add(disk_id)
        disks.append(dict(disk))
    return disks


def _machine_disks(machine: dict[str, Any], instance_type: str) -> dict[str, dict[str, Any]]:
    key = "instanceId" if instance_type == "HyperVToAzStackHCI" else "uuid"
    return {
        str(disk.get(key)): disk
        for disk in (machine.get("properties") or {}).get("disks") or []
        if isinstance(disk, dict)
    }


def _check_disk_name(disk: dict[str, Any]) -> None:
    name = str(disk.get("path") or "").replace("\\", "/").rsplit("/", 1)[-1]
    if is_reserved_or_trademarked(name):
        raise ValueError(f"The disk name {name} or part of the name is a trademarked or reserved word.")
