"""
What Azure's own tools for Azure Local migration check and build, as Az.Migrate's cmdlets do it.

The rules, limits and messages of ``Set-AzMigrateLocalServerReplication`` (Azure/azure-powershell,
``src/Migrate/Migrate.Autorest/custom/``, with the constants of ``Helper/AzLocalCommonSettings.ps1``),
here for the update of a replicating server: each check raises :class:`ValueError` naming the
parameter, before anything is sent. Standard library only: DAG parsing imports this module.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_datareplication.arguments import as_bool, templated

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
        if value is None or templated(value):
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
