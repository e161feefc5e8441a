"""What the end-to-end DAGs run: shared by the DAG file (parsed by Airflow) and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_provider_datareplication.testing.local_migration import (
    PROJECT_VAULT,
    RECORDED_RG,
    local_migration_inputs,
)

MODES = ("poke", "deferrable")
#: The job sensor's modes: the worker's two and the triggerer.
JOB_MODES = ("poke", "reschedule", "deferrable")
POLL = 0.3
PROGRESS = ["InProgress", "InProgress", "Succeeded"]
SHORT_TIMEOUT_CONN = "e2e_short_timeout"
PLAIN_HTTP_CONN = "e2e_plain_http"
#: A connection with the ``http_logging`` extra on.
HTTP_LOGGING_CONN = "e2e_http_logging"


@dataclass(frozen=True)
class StatusCase:
    """One task of the status suite: its script, its arguments, and what Airflow must end with."""

    name: str
    statuses: list[Any]
    state: str
    xcom_status: str | None
    kwargs: dict[str, Any] = field(default_factory=dict)
    operator: bool = False


SENSOR_CASES = [
    StatusCase("succeeded", PROGRESS, "success", "Succeeded"),
    StatusCase("lower_case", ["InProgress", "succeeded"], "success", "succeeded"),
    StatusCase(
        "failed",
        [
            "InProgress",
            {"status": "Failed", "error": {"code": "ReplicationFailed", "message": "Disk offline"}},
        ],
        "failed",
        None,
    ),
    StatusCase("canceled", ["InProgress", "Canceled"], "failed", None),
    StatusCase("cancelled", ["InProgress", "Cancelled"], "failed", None),
    StatusCase("failed_to_xcom", ["Failed"], "success", "Failed", {"raise_on_failure": False}),
    StatusCase("unknown_until_timeout", ["Paused"], "failed", None, {"timeout": 2}),
    StatusCase("unknown_soft_fail", ["Paused"], "skipped", None, {"timeout": 2, "soft_fail": True}),
]

OPERATOR_CASES = [
    StatusCase("report", PROGRESS, "success", "InProgress", operator=True),
    StatusCase("report_failed", ["Failed"], "success", "Failed", operator=True),
]

#: ARM faults injected into a waiting sensor: name -> (transient?, connection).
ARM_FAULTS: dict[str, tuple[bool, str]] = {
    "429 Retry-After seconds": (True, "azure_data_replication_default"),
    "429 Retry-After HTTP-date": (True, "azure_data_replication_default"),
    "429 retry-after-ms": (True, "azure_data_replication_default"),
    "429 x-ms-retry-after-ms": (True, "azure_data_replication_default"),
    "500 JSON error": (True, "azure_data_replication_default"),
    "502 HTML from a gateway": (True, "azure_data_replication_default"),
    "503 bare {code,message}": (True, "azure_data_replication_default"),
    "504 empty body": (True, "azure_data_replication_default"),
    "503 six times in a row": (True, "azure_data_replication_default"),
    "200 malformed JSON": (True, "azure_data_replication_default"),
    "slow answer past the timeout": (True, SHORT_TIMEOUT_CONN),
    "dropped connection": (True, "azure_data_replication_default"),
    "401 ExpiredAuthenticationToken once": (True, "azure_data_replication_default"),
    "401 token revoked": (True, "azure_data_replication_default"),
    "401 twice in a row": (False, "azure_data_replication_default"),
    "403 AuthorizationFailed": (False, "azure_data_replication_default"),
    "404 ResourceNotFound": (False, "azure_data_replication_default"),
    "400 InvalidParameter": (False, "azure_data_replication_default"),
}

#: Token endpoint faults: name -> transient?
TOKEN_FAULTS: dict[str, bool] = {"token endpoint 500": True, "token endpoint invalid_client": False}

MANAGED_IDENTITY_CONN = "e2e_managed_identity"
#: Managed identity endpoint (IMDS) faults, signing in as a managed identity: name -> transient?
IDENTITY_FAULTS: dict[str, bool] = {
    "IMDS unreachable while a revoked token is replaced": True,
    "IMDS unreachable before the first token": False,
}

#: Errors met in each mode, with soft_fail / never_fail / silent_fail: (fault, kwargs) -> the state
#: Airflow's own rules for a poke give, whichever mode meets the error.
SENSOR_ERROR_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "forbidden_soft_fail": ("403", {"soft_fail": True}, "failed"),
    "forbidden_never_fail": ("403", {"never_fail": True}, "skipped"),
    "not_found_silent_fail": ("404", {"silent_fail": True}, "success"),
    "failed_soft_fail": ("Failed", {"soft_fail": True}, "skipped"),
    "failed_never_fail": ("Failed", {"never_fail": True}, "skipped"),
    "failed_silent_fail": ("Failed", {"silent_fail": True}, "failed"),
}

#: Real identifiers: jobs are GUIDs, operations "<job GUID>_<suffix>".
REAL_JOB = "0203aa1b-1dff-4653-89a9-b90a76d1601a"
REAL_OPERATION = f"{REAL_JOB}_8f14e45f-ceea-467f-a8f0-a4d2f3b9c1e7"
REAL_VAULT = "migrate-vault.prod_01"


def slug(text: str) -> str:
    """A task id / operation id from a fault name."""
    return "".join(ch if ch.isalnum() else "_" for ch in text).strip("_").lower()


def operation_id(name: str, mode: str) -> str:
    return f"{slug(name)}-{mode}"


def job_guid(name: str) -> str:
    """A job name as Azure gives them (a GUID), stable per test case."""
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"e2e/{name}"))


_JOB_ERRORS = [{"code": "FailoverFailed", "message": "The VM did not start", "recommendation": "Retry"}]
#: Every job state, in a job sensor: the states it goes through, and what Airflow must end with.
JOB_CASES = [
    StatusCase("job_succeeded", ["Pending", "Started", "Succeeded"], "success", "Succeeded"),
    StatusCase(
        "job_information", ["Started", "CompletedWithInformation"], "success", "CompletedWithInformation"
    ),
    StatusCase(
        "job_warnings",
        ["Started", {"state": "CompletedWithWarnings", "errors": [{"code": "SlowDisk", "message": "slow"}]}],
        "success",
        "CompletedWithWarnings",
    ),
    StatusCase("job_failed", ["Started", {"state": "Failed", "errors": _JOB_ERRORS}], "failed", None),
    StatusCase("job_cancelled", ["Started", "Cancelling", "Cancelled"], "failed", None),
    StatusCase(
        "job_errors", ["Started", {"state": "CompletedWithErrors", "errors": _JOB_ERRORS}], "failed", None
    ),
    StatusCase("job_failed_to_xcom", ["Failed"], "success", "Failed", {"raise_on_failure": False}),
    StatusCase("job_unknown_until_timeout", ["Paused"], "failed", None, {"timeout": 2}),
]
JOB_OPERATOR_CASES = [
    StatusCase("job_report", ["Started", "Succeeded"], "success", "Started", operator=True),
    StatusCase("job_report_errors", ["CompletedWithErrors"], "success", "CompletedWithErrors", operator=True),
]


#: A real-looking protected item's name (Az.Migrate names them by the server's address and GUIDs).
ITEM = "100-69-177-104-7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d_5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
_GROUP = "/subscriptions/930CEC23-4430-4513-B855-DBA237E2F3BF/resourceGroups/target-rg"
#: An enable-replication request's ``properties`` for a Hyper-V VM, as Az.Migrate sends them.
HYPERV_PROPERTIES = {
    "policyName": "vault1hypervtoazstackhcipolicy",
    "replicationExtensionName": "vault1-hyperv-hci-extension",
    "customProperties": {
        "instanceType": "HyperVToAzStackHCI",
        "targetHciClusterId": f"{_GROUP}/providers/Microsoft.AzureStackHCI/clusters/hci-cluster-01",
        "targetArcClusterCustomLocationId": (
            f"{_GROUP}/providers/Microsoft.ExtendedLocation/customLocations/hci-cl"
        ),
        "fabricDiscoveryMachineId": (
            f"{_GROUP}/providers/Microsoft.OffAzure/HyperVSites/site1/machines/vm-web-01"
        ),
        "disksToInclude": [
            {
                "diskId": "Microsoft:9A3D0D4A-5C16-4E0F-9BB5-2B3D0D4A5C16\\disk0",
                "diskSizeGB": 127,
                "diskFileFormat": "VHDX",
                "isOsDisk": True,
                "isDynamic": True,
            }
        ],
        "nicsToInclude": [
            {
                "nicId": "Microsoft:9A3D0D4A-5C16-4E0F-9BB5-2B3D0D4A5C16\\nic0",
                "targetNetworkId": f"{_GROUP}/providers/Microsoft.AzureStackHCI/logicalnetworks/lnet1",
                "testNetworkId": f"{_GROUP}/providers/Microsoft.AzureStackHCI/logicalnetworks/lnet1",
                "selectionTypeForFailover": "SelectedByUser",
            }
        ],
        "targetVmName": "vm-web-01",
        "targetResourceGroupId": _GROUP,
        "storageContainerId": f"{_GROUP}/providers/Microsoft.AzureStackHCI/storageContainers/sc1",
        "hyperVGeneration": "2",
        "targetCpuCores": 4,
        "isDynamicRam": False,
        "targetMemoryInMegaBytes": 8192,
        "runAsAccountId": f"{_GROUP}/providers/Microsoft.OffAzure/HyperVSites/site1/runAsAccounts/ra1",
        "sourceFabricAgentName": "source-appliance",
        "targetFabricAgentName": "target-appliance",
        "customLocationRegion": "eastus",
    },
}


def item_name(case: str) -> str:
    """A protected item's name as Az.Migrate gives them (an address and a GUID), stable per case."""
    return f"10-0-0-1-{job_guid(case)}"


#: The Migrate project's vault and resource group.
LOCAL_MIGRATION_VAULT = (PROJECT_VAULT, RECORDED_RG)


def local_migration_creates(site_type: str) -> dict[str, dict[str, Any]]:
    """
    Return the create tasks of a site type's e2e DAG and their inputs (the hook's, as the DAG gives them).

    ``create_default`` enables the first machine :func:`seed_local_migration` serves with the
    cmdlet's default mapping; ``create_power_user`` the second with the power user's: explicit disks
    (VMware: the OS disk alone; Hyper-V, a generation 1 VM: the OS disk and a fixed VHD data disk, the
    other left out) and NICs (Hyper-V's with its own test network), and for Hyper-V the CPU and a
    memory below the cmdlet's 1 GB dynamic minimum.

    :param site_type: ``VMwareSites`` or ``HyperVSites``.
    """
    default_row, power_row = local_migration_inputs(
        "930CEC23-4430-4513-B855-DBA237E2F3BF", site_type=site_type, machines=2
    )
    network = power_row.pop("target_virtual_switch_id")
    os_disk = power_row.pop("os_disk_id")
    os_disk_input = {"diskId": os_disk, "diskSizeGB": 64, "diskFileFormat": "VHDX", "isDynamic": True}
    if site_type == "HyperVSites":
        machine = power_row["machine_id"].rsplit("/", 1)[-1]
        power_user = {
            "disks": [
                {**os_disk_input, "isOsDisk": True},
                {
                    "diskId": f"{machine}-disk2",
                    "diskSizeGB": 10,
                    "diskFileFormat": "VHD",
                    "isDynamic": False,
                    "isOsDisk": False,
                    "diskPhysicalSectorSize": 512,
                },
            ],
            "nics": [
                {
                    "nicId": f"{machine}-nic0",
                    "targetNetworkId": network,
                    "testNetworkId": f"{network.rsplit('/', 1)[0]}/test-lnet",
                }
            ],
            "target_vm_cpu_cores": 2,
            "target_vm_ram_mb": 768,
            "is_dynamic_memory_enabled": True,
        }
        # Hyper-V's default: the machine's own dynamic memory (VMware's recorded call asked for it).
        default_extra: dict[str, Any] = {}
    else:
        power_user = {
            "disks": [{**os_disk_input, "isOsDisk": True}],
            "nics": [{"nicId": "4000", "targetNetworkId": network}],
        }
        default_extra = {"is_dynamic_memory_enabled": True}
    return {
        "create_default": {**default_row, **default_extra},
        "create_power_user": {**power_row, **power_user},
    }
