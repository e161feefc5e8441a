"""
The emulator's protected items (replicated servers) and the jobs their actions run.

A protected item lives as the service's does, computed from a monotonic clock on each read (no
background thread): ``PUT`` answers ``UnprotectedStatesBegin``; its enable-protection job runs
(``EnablingProtection``), then initial replication (``InitialReplicationInProgress``, the
percentage rising), closed by a "Complete initial replication" job, and the item is ``Protected``.
A planned failover (``PlannedFailoverInitiated``) ends ``PlannedFailoverCompleted`` on the recovery
side; a removal (``DisablingProtection``) ends with the item gone. Every action checks
``allowedJobs`` as the service does. Failures are scripted. Nothing here speaks HTTP: the emulator
calls :class:`ProtectedItemStore` and turns :class:`ArmError` into ARM's error answers.

What the operators lean on, and where it comes from. *Recorded* means seen in the real service's
answers that Azure PowerShell's Az.Migrate tests recorded (``src/Migrate/Migrate.Autorest/test/``
in Azure/azure-powershell: ``New-``, ``Get-``, ``Set-``, ``Remove-AzMigrateLocalServerReplication``,
``Start-AzMigrateLocalServerMigration``, ``Get-AzMigrateLocalJob``, ``Test-AzMigrateLocalEndToEnd``,
February and November 2025); *assumed*, what no recording shows, and why it is modelled so.

- Recorded: ``PUT`` of a new item answers 201 with the item (``UnprotectedStatesBegin``,
  ``provisioningState`` ``Creating``, ``allowedJobs`` null); ``plannedFailover`` and ``DELETE`` answer
  202 with no body; each start carries ``Location`` = ``Azure-AsyncOperation`` =
  ``.../operationResults/{job}_{vault GUID}`` and ``Retry-After: 15``; the vault's GUID is its
  ``serviceResourceId`` and each job's ``customProperties.affectedObjectDetails.VaultId``.
- Recorded: jobs' ``displayName`` ("Create or update protected item", "Planned failover", "Delete
  protected item"), their task names, ``objectId`` (the item's id, a failover's under it as
  ``.../plannedFailover``; a "Complete initial replication" job's null, its item by ``objectName``),
  ``objectInternalName`` (the source VM), ``provisioningState`` ``Canceled`` on every job,
  ``allowedActions`` (``Cancel`` while running, ``Restart`` once failed), the vault's job list newest
  first with ``tasks``, ``errors`` and ``customProperties`` null.
- Recorded: an item names its running job (``currentJob``, with ``scenarioName``
  ``EnableProtection``) only while protection is being enabled, and no job otherwise; a failed
  enable names ``lastFailedEnableProtectionJob``; the states and ``allowedJobs`` of
  ``UnprotectedStatesBegin``, ``EnablingProtection``, ``InitialReplicationInProgress``, ``Protected``,
  ``PlannedFailoverCompleted`` and ``EnablingFailed``.
- Assumed (the SDK's models name them, no recording shows them): ``lastFailedPlannedFailoverJob``
  and ``PlannedFailoverFailed`` with ``allowedJobs`` ``["Restart", "DisableProtection"]`` after a
  failed failover (Azure's tools accept ``Restart`` for a cut-over); the states while a failover or
  a removal runs (``PlannedFailoverInitiated``, ``DisablingProtection``, no allowed jobs).
- Assumed (no error answer was recorded at all): an action ``allowedJobs`` does not allow, a second
  failover among them, answers 409 ``OperationNotAllowed``; a ``PUT`` on an existing item answers
  200 and replaces its writable properties (ARM's create-or-replace; the operators never send one);
  ``forceDelete=true`` cancels the item's running job; a missing vault answers 404
  ``ResourceNotFound`` (ARM's ``ResourceGroupNotFound`` for a missing group is ARM's own, documented
  answer); an operation-results URL answers 202 with no body while its job runs (the cmdlets read
  the job, never that URL).
- Recorded (``Set-AzMigrateLocalServerReplication``, November 2025): a ``PATCH`` answers 202 with the
  update model echoed (each field, null where not sent), ``Location`` = ``Azure-AsyncOperation`` and
  ``Retry-After: 15``; its job is "Update protected item" (one task, "Updating the protected item",
  ``objectId`` the item's id); the update of an ``EnablingFailed`` item is taken and its job fails
  with error ``1001012``. Assumed: every other state not failed takes an update, applied to the
  item when its job ends; a field outside the 2024-09-01 update model (``hyperVGeneration``...) is
  refused 400 (``securityOption`` is taken: a field of a later api-version, assumed); a ``PATCH``
  while another job runs on the item answers 409.
- Assumed: a successful planned failover brings the VM up on the target as an Azure Local VM, an
  Arc machine ``{targetResourceGroupId}/providers/Microsoft.HybridCompute/machines/{targetVmName}``.
"""

from __future__ import annotations

import copy
import datetime
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

ITEM_TYPE = "Microsoft.DataReplication/replicationVaults/protectedItems"
VAULT_TYPE = "Microsoft.DataReplication/replicationVaults"
#: The vault every emulator starts with (where :meth:`DataReplicationEmulator.connection` points).
DEFAULT_RESOURCE_GROUP = "rgrecoveryservicesdatareplication"
DEFAULT_VAULT = "vault1"
JOB_TYPE = "Microsoft.DataReplication/replicationVaults/jobs"
#: The ``customProperties.instanceType`` values of a protected item (the SDK's discriminators).
INSTANCE_TYPES = ("HyperVToAzStackHCI", "VMwareToAzStackHCI")

#: ``allowedJobs`` of each protection state the emulator reaches (a seeded state not named: ``[]``).
ALLOWED_JOBS: dict[str, list[str] | None] = {
    "UnprotectedStatesBegin": None,
    "EnablingProtection": None,
    "EnablingFailed": ["DisableProtection"],
    "InitialReplicationInProgress": ["DisableProtection"],
    "InitialReplicationFailed": ["DisableProtection"],
    "Protected": ["PlannedFailover", "DisableProtection"],
    "PlannedFailoverInitiated": [],
    "PlannedFailoverCompleted": ["CommitFailover", "DisableProtection"],
    # Azure's tools accept "Restart" in place of "PlannedFailover": a failed cut-over is restarted.
    "PlannedFailoverFailed": ["Restart", "DisableProtection"],
    "DisablingProtection": [],
    "DisablingFailed": ["DisableProtection"],
}
#: ``provisioningState`` where it is not ``Succeeded``.
PROVISIONING_STATES = {
    "UnprotectedStatesBegin": "Creating",
    "EnablingProtection": "Creating",
    "EnablingFailed": "Failed",
    "DisablingProtection": "Deleting",
}
#: Protection states in which the replica runs on the recovery side.
_RECOVERY_STATES = re.compile(r"^(PlannedFailoverComplet|UnplannedFailoverComplet|CommitFailover)", re.I)
#: States before initial replication has finished (its percentage is not 100).
_BEFORE_REPLICATION = {
    "UnprotectedStatesBegin",
    "EnablingProtection",
    "EnablingFailed",
    "InitialReplicationStatesBegin",
    "InitialReplicationInProgress",
    "InitialReplicationFailed",
}


@dataclass(frozen=True)
class _Scenario:
    name: str
    display_name: str
    instance_type: str
    #: The protection state while its job runs.
    running_state: str
    tasks: tuple[str, ...]
    #: The path segment its job's ``objectId`` adds to the item's id (a planned failover's).
    action: str = ""


# Display names, task names and objectIds as Azure PowerShell's recordings show the real jobs (2025).
ENABLE_PROTECTION = _Scenario(
    "EnableProtection",
    "Create or update protected item",
    "JobDetails",
    "EnablingProtection",
    (
        "Creating or updating the protected item",
        "Initializing Protection",
        "Enabling Protection",
        "Starting Replication",
    ),
)
# Assumed: no recording shows the end of an initial replication; this job carries its failure.
COMPLETE_INITIAL_REPLICATION = _Scenario(
    "EnableProtection",
    "Complete initial replication",
    "JobDetails",
    "InitialReplicationInProgress",
    ("Complete initial replication",),
)
PLANNED_FAILOVER = _Scenario(
    "PlannedFailover",
    "Planned failover",
    "FailoverJobDetails",
    "PlannedFailoverInitiated",
    (
        "Prerequisite check",
        "Turning off resource on primary",
        "Starting failover",
        "Preparing protected entities",
        "Turning on resource on recovery",
    ),
    "plannedFailover",
)
DISABLE_PROTECTION = _Scenario(
    "DisableProtection",
    "Delete protected item",
    "JobDetails",
    "DisablingProtection",
    ("Prerequisite check", "Deleting protected item"),
)
# Recorded (Set-AzMigrateLocalServerReplication, November 2025): the job a PATCH runs, its one task.
UPDATE_PROTECTED_ITEM = _Scenario(
    "UpdateProtectedItem", "Update protected item", "JobDetails", "", ("Updating the protected item",)
)
#: The fields of the ``customProperties`` update model (2024-09-01, either instance type), as a PATCH
#: answer echoes them (recorded: every one, null where not sent).
UPDATE_FIELDS = (
    "nicsToInclude",
    "targetCpuCores",
    "isDynamicRam",
    "dynamicMemoryConfig",
    "osType",
    "targetMemoryInMegaBytes",
)
#: Taken in an update beside them (assumed: a later api-version's field).
UPDATE_EXTRA_FIELDS = ("securityOption",)
#: Recorded: the error an update job ends with when the item's state takes no update.
UPDATE_REFUSED_ERROR = {
    "code": "1001012",
    "type": "AsrErrorCode",
    "severity": "Error",
    "message": "The protected item {name} of replication provider type {provider} can not update in the "
    "state of state.",
    "causes": "The protected item is in a state which doesn't support update.",
    "recommendation": "Resolve the issue and retry the operation.",
}
_SHUTDOWN_TASK = PLANNED_FAILOVER.tasks[1]
DEFAULT_FAILED_TASK = PLANNED_FAILOVER.tasks[3]


class ArmError(Exception):
    """
    A refusal the emulator answers with ARM's error body.

    :param status: HTTP status.
    :param code: ARM error code.
    :param message: Its message.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class ItemDurations:
    """
    How long each part of a protected item's lifecycle takes, in seconds (``0``: at once).

    :param enable_protection: The enable-protection job (4-10 minutes in Azure).
    :param initial_replication: Initial replication, after it (hours to days in Azure).
    :param planned_failover: The planned failover job (about half an hour in Azure).
    :param disable_protection: The disable-protection job, after which the item is gone.
    :param update_protected_item: The job a ``PATCH`` of the item runs (recorded: 30 seconds).
    """

    enable_protection: float = 1.0
    initial_replication: float = 2.0
    planned_failover: float = 2.0
    disable_protection: float = 1.0
    update_protected_item: float = 0.5


def _iso(wall: float) -> str:
    moment = datetime.datetime.fromtimestamp(wall, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _sentence(state: str) -> str:
    """``InitialReplicationInProgress`` -> ``Initial replication in progress``."""
    words = re.findall(r"[A-Z][a-z]*", state)
    return " ".join([words[0], *(word.lower() for word in words[1:])]) if words else state


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts).lower()))


def vault_guid(vault_id: str) -> str:
    """Return the vault's GUID in operation ids (``{jobGuid}_{vaultGuid}``): stable for a vault id."""
    return _guid(vault_id)


@dataclass
class ItemJob:
    """A job an action on a protected item runs; its state follows from its times."""

    name: str
    scenario: _Scenario
    item_key: tuple[str, str, str, str]
    vault_id: str
    item_name: str
    started: float
    duration: float
    seq: int
    #: Set: the job fails at its end with these errors (at ``failed_task``).
    errors: list[dict[str, Any]] | None = None
    failed_task: str | None = None
    skipped: frozenset[str] = frozenset()
    cancelled_at: float | None = None
    settled: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    #: The source VM's name (``objectInternalName``), and the policy and extension its item uses.
    vm_name: str = ""
    policy_name: str = ""
    extension_name: str = ""

    @property
    def ends(self) -> float:
        """When it ends (monotonic)."""
        return self.cancelled_at if self.cancelled_at is not None else self.started + self.duration

    def state(self, now: float) -> str:
        """``properties.state`` at ``now``."""
        if now < self.ends:
            return "Started"
        if self.cancelled_at is not None:
            return "Cancelled"
        return "Failed" if self.errors is not None else "Succeeded"

    @property
    def item_id(self) -> str:
        """The protected item's resource id."""
        return f"{self.vault_id}/protectedItems/{self.item_name}"

    @property
    def id(self) -> str:
        """The job's resource id."""
        return f"{self.vault_id}/jobs/{self.name}"

    @property
    def operation_id(self) -> str:
        """The id of the operation that waits on it, as its start answer names it."""
        return f"{self.name}_{vault_guid(self.vault_id)}"

    def _tasks(self, now: float, wall: float) -> list[dict[str, Any]]:
        state = self.state(now)
        names = list(self.scenario.tasks)
        last = (
            names.index(self.failed_task) if self.errors is not None and self.failed_task else len(names) - 1
        )
        running = [name for name in names[: last + 1] if name not in self.skipped]
        share = self.duration / max(len(running), 1)
        tasks = []
        for name in names:
            task: dict[str, Any] = {
                "taskName": name,
                "state": "Skipped",
                "startTime": None,
                "endTime": None,
                "customProperties": {"instanceType": "TaskDetails"},
                "childrenJobs": [],
            }
            if name in running:
                begins = self.started + running.index(name) * share
                ends = begins + share
                if now < begins or (self.cancelled_at is not None and self.cancelled_at <= begins):
                    task["state"] = "Pending" if state == "Started" else "Skipped"
                else:
                    task["startTime"] = _iso(begins + wall)
                    if now < min(ends, self.ends):
                        task["state"] = "Started"
                    else:
                        task["endTime"] = _iso(min(ends, self.ends) + wall)
                        final = state if name == running[-1] else "Succeeded"
                        cut = self.cancelled_at is not None and self.cancelled_at < ends
                        task["state"] = "Cancelled" if cut else final
            elif name not in self.skipped and state == "Started":
                task["state"] = "Pending"
            tasks.append(task)
        return tasks

    def body(self, now: float, wall: float, *, listed: bool = False) -> dict[str, Any]:
        """
        Return the job as ``GET .../jobs/{name}`` answers it (``listed``: as a list's item).

        :param now: ``time.monotonic()``.
        :param wall: ``time.time() - time.monotonic()``.
        :param listed: Leave ``tasks``, ``errors`` and ``customProperties`` null, as the service's list does.
        """
        state = self.state(now)
        ended = state != "Started"
        errors = []
        if state == "Failed":
            errors = [
                {**error, "creationTime": error.get("creationTime") or _iso(self.ends + wall)}
                for error in self.errors or []
            ]
        custom: dict[str, Any] = {
            "instanceType": self.scenario.instance_type,
            # Recorded: the vault's GUID here is the part after "_" of the job's operation id.
            "affectedObjectDetails": {
                "PolicyName": self.policy_name,
                "ReplicationExtensionName": self.extension_name,
                "VaultId": vault_guid(self.vault_id),
            },
            **self.details,
        }
        action = f"/{self.scenario.action}" if self.scenario.action else ""
        properties: dict[str, Any] = {
            "displayName": self.scenario.display_name,
            "state": state,
            "startTime": _iso(self.started + wall),
            "endTime": _iso(self.ends + wall) if ended else None,
            # Recorded: a "Complete initial replication" job names its item by objectName alone.
            "objectId": None if self.scenario is COMPLETE_INITIAL_REPLICATION else self.item_id + action,
            "objectName": self.item_name,
            "objectInternalId": _guid(self.item_id),
            "objectInternalName": self.vm_name or self.item_name,
            "objectType": "ProtectedItem",
            "replicationProviderId": _guid(self.vault_id, "provider"),
            "sourceFabricProviderId": _guid(self.vault_id, "source"),
            "targetFabricProviderId": _guid(self.vault_id, "target"),
            "allowedActions": ["Restart"] if state == "Failed" else [] if ended else ["Cancel"],
            "activityId": f"{_guid(self.id, 'activity')} ActivityId: {_guid(self.id, 'client')}",
            "tasks": None if listed else self._tasks(now, wall),
            "errors": None if listed else errors,
            "customProperties": None if listed else custom,
            # What the real service sends on every job, running or not.
            "provisioningState": "Canceled",
        }
        return {
            "id": self.id,
            "name": self.name,
            "type": JOB_TYPE,
            "systemData": None,
            "properties": properties,
        }

    def reference(self, now: float, wall: float) -> dict[str, Any]:
        """Return the job as an item's ``lastFailed...Job`` names it (recorded: with its ``scenarioName``)."""
        state = self.state(now)
        return {
            "scenarioName": self.scenario.name,
            "id": self.id,
            "name": self.name,
            "displayName": self.scenario.display_name,
            "state": state,
            "startTime": _iso(self.started + wall),
            "endTime": _iso(self.ends + wall) if state != "Started" else None,
        }

    def operation_status(self, now: float, wall: float, resource_id: str) -> dict[str, Any] | None:
        """Return its operation's ``OperationStatus``; ``None`` while it runs (ARM answers 202, no body)."""
        state = self.state(now)
        if state == "Started":
            return None
        return {
            "id": resource_id,
            "name": self.operation_id,
            "status": {"Cancelled": "Canceled"}.get(state, state),
            "startTime": _iso(self.started + wall),
            "endTime": _iso(self.ends + wall),
        }


@dataclass
class ProtectedItem:
    """One protected item: what was asked for and where its lifecycle stands."""

    subscription_id: str
    resource_group_name: str
    vault_name: str
    name: str
    properties: dict[str, Any]
    #: The protection state when no job or initial replication runs.
    state: str
    allowed_jobs: list[str] | None
    job: ItemJob | None = None
    #: Initial replication: when it started and ends (monotonic), and at what percentage it stands.
    replication: tuple[float, float] | None = None
    progress: int = 0
    health_errors: list[dict[str, Any]] = field(default_factory=list)
    last_failed_enable: ItemJob | None = None
    last_failed_failover: ItemJob | None = None
    last_failover_time: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    #: Scripted failures: the next initial replication's (health errors, percentage), the next failover's.
    replication_failure: tuple[list[dict[str, Any]], int] | None = None
    failover_failure: tuple[list[dict[str, Any]], str, float | None] | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        """How ARM finds it: every name case-insensitively."""
        return _key(self.subscription_id, self.resource_group_name, self.vault_name, self.name)

    @property
    def vault_id(self) -> str:
        """The vault's resource id."""
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group_name}"
            f"/providers/Microsoft.DataReplication/replicationVaults/{self.vault_name}"
        )

    @property
    def id(self) -> str:
        """The item's resource id."""
        return f"{self.vault_id}/protectedItems/{self.name}"

    @property
    def vm_name(self) -> str:
        """The source VM's name (the discovered machine's last segment, else the target VM's name)."""
        custom = self.properties.get("customProperties", {})
        machine = str(custom.get("fabricDiscoveryMachineId") or "").rstrip("/").rsplit("/", 1)[-1]
        return machine or str(custom.get("targetVmName") or self.name)

    @property
    def instance_type(self) -> str:
        """``customProperties.instanceType``."""
        return str(self.properties.get("customProperties", {}).get("instanceType", ""))


def _key(sub: str, rg: str, vault: str, name: str) -> tuple[str, str, str, str]:
    return (sub.lower(), rg.lower(), vault.lower(), name.lower())


def _health_error(error: dict[str, Any], when: str) -> dict[str, Any]:
    return {
        "affectedResourceType": "ProtectedItem",
        "affectedResourceCorrelationIds": [],
        "childErrors": [],
        "code": "InitialReplicationFailed",
        "healthCategory": "Replication",
        "category": "Replication",
        "severity": "Error",
        "source": "ProtectedItem",
        "creationTime": when,
        "isCustomerResolvable": True,
        "summary": error.get("message", "Initial replication failed."),
        "message": "Initial replication failed.",
        "causes": None,
        "recommendation": None,
        **error,
    }


def _job_error(error: dict[str, Any]) -> dict[str, Any]:
    base = {"code": None, "type": "ProviderError", "severity": "Error", "creationTime": None}
    return {**base, "message": None, "causes": None, "recommendation": None, **error}


DEFAULT_HEALTH_ERRORS = [
    {
        "code": "DiskReplicationFailed",
        "message": "Replication of a disk of the virtual machine failed.",
        "causes": "The source host could not reach the target storage container.",
        "recommendation": "Check the network between the source host and the target cluster, then enable "
        "protection again.",
    }
]
DEFAULT_FAILOVER_ERRORS = [
    {
        "code": "VmStartFailed",
        "message": "The virtual machine could not be started on the target cluster.",
        "causes": "The target cluster has not enough memory for the virtual machine.",
        "recommendation": "Free memory on the target cluster and retry the planned failover.",
    }
]


class ProtectedItemStore:
    """
    Every protected item and item job of the emulator; thread-safe (one lock, for bookkeeping only).

    :param durations: How long each part of the lifecycle takes.
    """

    def __init__(self, durations: ItemDurations | None = None) -> None:
        #: Other ARM resources served by id (lower-cased): their body and api-versions.
        self.resources: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {}
        #: Resource Graph's rows for a cluster's Arc resource bridge, by cluster id (lower-cased).
        self.bridges: dict[str, list[dict[str, Any]]] = {}
        self.durations = durations or ItemDurations()
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str, str, str], ProtectedItem] = {}
        self._jobs: dict[str, ItemJob] = {}
        self._seq = 0
        # Scripted failures for items not created yet, by lower-cased name.
        self._pending_replication_failures: dict[str, tuple[list[dict[str, Any]], int]] = {}
        self._pending_failover_failures: dict[str, tuple[list[dict[str, Any]], str, float | None]] = {}
        #: The VMs failovers brought up on the target, by lower-cased resource id (see :meth:`target_vm`).
        self._target_vms: dict[str, dict[str, Any]] = {}
        # Wall time of a monotonic moment: ``moment + self._wall``.
        self._wall = time.time() - time.monotonic()
        #: The vaults that exist, by (subscription, resource group, vault), lower-cased.
        self._vaults: dict[tuple[str, str, str], dict[str, Any]] = {}

    # -- vaults -----------------------------------------------------------------------------------

    def add_vault(
        self, sub: str, rg: str, vault: str, *, provisioning_state: str = "Succeeded"
    ) -> dict[str, Any]:
        """Make a vault exist (its resource group with it); return its body as ``GET`` answers it."""
        vault_id = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{VAULT_TYPE}/{vault}"
        # The body as recorded (Test-AzMigrateLocalEndToEnd, 2025): serviceResourceId is the vault's
        # GUID that operation ids end with.
        body = {
            "id": vault_id,
            "name": vault,
            "type": VAULT_TYPE,
            "location": "eastus",
            "tags": {},
            "identity": {"type": "SystemAssigned", "principalId": _guid(vault_id, "identity")},
            "systemData": None,
            "properties": {
                "provisioningState": provisioning_state,
                "serviceResourceId": vault_guid(vault_id),
                "vaultType": "Migrate",
            },
        }
        with self._lock:
            self._vaults[(sub.lower(), rg.lower(), vault.lower())] = body
        return copy.deepcopy(body)

    def _check_vault(self, sub: str, rg: str, vault: str) -> None:
        """
        Raise ARM's 404 for a vault that does not exist, or for its resource group.

        ``ResourceGroupNotFound`` is ARM's own answer for a group that does not exist; the vault's
        404 is assumed to be ``ResourceNotFound``, as for any resource.
        """
        if not any(key[:2] == (sub.lower(), rg.lower()) for key in self._vaults):
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        if (sub.lower(), rg.lower(), vault.lower()) not in self._vaults:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource '{VAULT_TYPE.split('/')[0]}/replicationVaults/{vault}' under resource group "
                f"'{rg}' was not found.",
            )

    def vault(self, sub: str, rg: str, vault: str) -> dict[str, Any]:
        """``GET`` a vault (raises ArmError 404 when there is none, or no such resource group)."""
        with self._lock:
            self._check_vault(sub, rg, vault)
            return copy.deepcopy(self._vaults[(sub.lower(), rg.lower(), vault.lower())])

    # -- the lifecycle ----------------------------------------------------------------------------

    def _new_job(self, item: ProtectedItem, scenario: _Scenario, started: float, duration: float) -> ItemJob:
        self._seq += 1
        job = ItemJob(
            str(uuid.uuid4()), scenario, item.key, item.vault_id, item.name, started, duration, self._seq
        )
        job.vm_name = item.vm_name
        job.policy_name = str(item.properties.get("policyName") or "")
        job.extension_name = str(item.properties.get("replicationExtensionName") or "")
        self._jobs[job.name.lower()] = job
        item.job = job
        return job

    def _advance(self, now: float) -> None:
        """Apply every job end and initial replication end that ``now`` has passed, in time order."""
        for item in list(self._items.values()):
            while True:
                job = item.job
                if job is not None and not job.settled and now >= job.ends:
                    job.settled = True
                    self._settle(item, job)
                elif item.replication is not None and now >= item.replication[1]:
                    self._finish_replication(item)
                else:
                    break

    def _settle(self, item: ProtectedItem, job: ItemJob) -> None:
        state = job.state(job.ends)
        scenario = job.scenario
        if scenario is ENABLE_PROTECTION:
            if state != "Succeeded":
                item.state = "EnablingFailed"
                item.last_failed_enable = job
                return
            failure = item.replication_failure
            length = self.durations.initial_replication
            if failure is not None:
                length = length * failure[1] / 100
            item.replication = (job.ends, job.ends + length)
            item.state = "InitialReplicationInProgress"
        elif scenario is PLANNED_FAILOVER:
            if state == "Succeeded":
                item.state = "PlannedFailoverCompleted"
                item.last_failover_time = _iso(job.ends + self._wall)
                self._bring_up_target_vm(item)
            else:
                item.state = "PlannedFailoverFailed"
                item.last_failed_failover = job
        elif scenario is UPDATE_PROTECTED_ITEM:
            # Assumed: the item takes the update when its job ends; its state stays as it was.
            if state == "Succeeded":
                update = job.details.pop("update", {})
                item.properties["customProperties"].update(update)
                for key in update:
                    item.overrides.get("customProperties", {}).pop(key, None)
            return
        elif scenario is DISABLE_PROTECTION:
            if state == "Succeeded":
                del self._items[item.key]
                return
            item.state = "DisablingFailed"
        item.allowed_jobs = copy.deepcopy(ALLOWED_JOBS.get(item.state, []))

    def _bring_up_target_vm(self, item: ProtectedItem) -> None:
        """
        Make the migrated VM exist on the target, as an Arc machine of the Azure Local cluster.

        Assumed, not recorded: Azure Migrate brings a migrated server up on Azure Local as an Azure
        Local VM (``Microsoft.HybridCompute/machines/{targetVmName}`` in ``targetResourceGroupId``).
        """
        custom = item.properties.get("customProperties") or {}
        group, name = custom.get("targetResourceGroupId"), custom.get("targetVmName")
        if not group or not name:
            return
        vm_id = f"{str(group).rstrip('/')}/providers/Microsoft.HybridCompute/machines/{name}"
        self._target_vms[vm_id.lower()] = {
            "id": vm_id,
            "name": name,
            "type": "Microsoft.HybridCompute/machines",
            "kind": "HCI",
            "location": custom.get("customLocationRegion") or "eastus",
            "properties": {"provisioningState": "Succeeded", "status": "Connected"},
        }

    def target_vm(self, resource_id: str) -> dict[str, Any] | None:
        """Return a VM a failover brought up (``Microsoft.HybridCompute/machines``), or ``None``."""
        with self._lock:
            self._advance(time.monotonic())
            body = self._target_vms.get(resource_id.lower())
            return copy.deepcopy(body) if body is not None else None

    def job_item_name(self, job_name: str) -> str | None:
        """Return the name of the protected item a job acts on, if the job is one of an item's."""
        with self._lock:
            job = self._jobs.get(job_name.lower())
            return job.item_name if job is not None else None

    def _finish_replication(self, item: ProtectedItem) -> None:
        assert item.replication is not None
        _, ends = item.replication
        item.replication = None
        failure, item.replication_failure = item.replication_failure, None
        job = self._new_job(item, COMPLETE_INITIAL_REPLICATION, ends, 0.0)
        job.settled = True
        when = _iso(ends + self._wall)
        if failure is None:
            item.progress = 100
            item.state = "Protected"
        else:
            errors, percent = failure
            item.progress = percent
            item.state = "InitialReplicationFailed"
            item.health_errors = [_health_error(error, when) for error in errors]
            job.errors = [_job_error({**error, "creationTime": when}) for error in errors]
            item.last_failed_enable = job
        item.allowed_jobs = copy.deepcopy(ALLOWED_JOBS[item.state])

    def _view(self, item: ProtectedItem, now: float) -> tuple[str, list[str] | None, int]:
        """Return the item's protection state, allowed jobs and replication percentage at ``now``."""
        job = item.job
        if job is not None and job.state(now) == "Started" and job.scenario is not UPDATE_PROTECTED_ITEM:
            state = job.scenario.running_state
            return state, copy.deepcopy(ALLOWED_JOBS.get(state, [])), item.progress
        if item.replication is not None:
            begins, ends = item.replication
            span = ends - begins
            full = 100 if item.replication_failure is None else item.replication_failure[1]
            percent = full if span <= 0 else int(full * min(1.0, (now - begins) / span))
            return "InitialReplicationInProgress", ["DisableProtection"], percent
        return item.state, copy.deepcopy(item.allowed_jobs), item.progress

    def _body(self, item: ProtectedItem, now: float, *, created: bool = False) -> dict[str, Any]:
        state, allowed, percent = self._view(item, now)
        if created:
            state, allowed = "UnprotectedStatesBegin", None
        wall = self._wall
        custom = copy.deepcopy(item.properties.get("customProperties") or {})
        custom.update(
            {
                "activeLocation": "Recovery" if _RECOVERY_STATES.match(state) else "Primary",
                "initialReplicationProgressPercentage": percent,
                "resyncProgressPercentage": None,
                "lastReplicationUpdateTime": _iso(now + wall) if percent else None,
            }
        )
        if item.instance_type == "VMwareToAzStackHCI":
            custom["migrationProgressPercentage"] = 100 if custom["activeLocation"] == "Recovery" else 0
        source = _guid(item.vault_id, "source")
        target = _guid(item.vault_id, "target")
        properties: dict[str, Any] = {
            "policyName": item.properties.get("policyName"),
            "replicationExtensionName": item.properties.get("replicationExtensionName"),
            "correlationId": _guid(item.id, "correlation"),
            "provisioningState": "Creating" if created else PROVISIONING_STATES.get(state, "Succeeded"),
            "protectionState": state,
            "protectionStateDescription": _sentence(state),
            "testFailoverState": "None",
            "testFailoverStateDescription": "None",
            "resynchronizationState": "None",
            "fabricObjectId": custom.get("fabricDiscoveryMachineId"),
            "fabricObjectName": custom.get("targetVmName") or item.name,
            "sourceFabricProviderId": source,
            "targetFabricProviderId": target,
            "fabricId": _guid(item.vault_id, "fabric", source),
            "targetFabricId": _guid(item.vault_id, "fabric", target),
            "fabricAgentId": _guid(item.vault_id, "agent", source),
            "targetFabricAgentId": _guid(item.vault_id, "agent", target),
            # The service sends its booleans as strings.
            "resyncRequired": "false",
            "lastSuccessfulPlannedFailoverTime": item.last_failover_time,
            "lastSuccessfulUnplannedFailoverTime": None,
            "lastSuccessfulTestFailoverTime": None,
            # Recorded: the item names its running job only while protection is being enabled.
            **(
                {"currentJob": item.job.reference(now, wall)}
                if item.job is not None and state == ENABLE_PROTECTION.running_state and not created
                else {}
            ),
            "allowedJobs": allowed,
            "lastFailedEnableProtectionJob": (
                item.last_failed_enable.reference(now, wall) if item.last_failed_enable else None
            ),
            "lastFailedPlannedFailoverJob": (
                item.last_failed_failover.reference(now, wall) if item.last_failed_failover else None
            ),
            "lastTestFailoverJob": None,
            "replicationHealth": "Critical"
            if item.health_errors or state == "InitialReplicationFailed"
            else "Normal",
            "healthErrors": copy.deepcopy(item.health_errors),
            "customProperties": custom,
        }
        overrides = copy.deepcopy(item.overrides)
        custom.update(overrides.pop("customProperties", None) or {})
        properties.update(overrides)
        return {
            "id": item.id,
            "name": item.name,
            "type": ITEM_TYPE,
            "systemData": None,
            "properties": properties,
        }

    # -- ARM's calls (the emulator turns ArmError into its error answer) ---------------------------

    def _get(self, sub: str, rg: str, vault: str, name: str) -> ProtectedItem:
        item = self._items.get(_key(sub, rg, vault, name))
        if item is None and not any(key[:2] == (sub.lower(), rg.lower()) for key in self._vaults):
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        if item is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource '{ITEM_TYPE.split('/')[0]}/replicationVaults/{vault}/protectedItems/{name}' "
                f"under resource group '{rg}' was not found.",
            )
        return item

    def create_or_update(
        self, sub: str, rg: str, vault: str, name: str, body: Any
    ) -> tuple[int, dict[str, Any], ItemJob | None]:
        """
        ``PUT``: create the item (201, its enable-protection job), or take the request again (200).

        ARM's PUT is create-or-replace and idempotent: a PUT on an existing item answers 200 with it
        (its writable properties replaced, no new job), so a client that lost the first answer can
        send it again; an item being removed refuses it (409), and its instance type cannot change.

        :param body: The request's JSON.
        """
        properties = _create_properties(body)
        now = time.monotonic()
        with self._lock:
            self._advance(now)
            existing = self._items.get(_key(sub, rg, vault, name))
            if existing is None:
                self._check_vault(sub, rg, vault)
            else:
                state, _, _ = self._view(existing, now)
                if state == "DisablingProtection":
                    raise _not_allowed("Create or update", existing, state, [])
                if properties["customProperties"]["instanceType"] != existing.instance_type:
                    raise ArmError(
                        400,
                        "InvalidParameter",
                        f"The instance type of protected item '{existing.name}' is "
                        f"'{existing.instance_type}' and cannot change to "
                        f"'{properties['customProperties']['instanceType']}'.",
                    )
                existing.properties = properties
                return 200, self._body(existing, now), None
            item = ProtectedItem(sub, rg, vault, name, properties, "UnprotectedStatesBegin", None)
            item.replication_failure = self._pending_replication_failures.pop(name.lower(), None)
            item.failover_failure = self._pending_failover_failures.pop(name.lower(), None)
            self._items[item.key] = item
            job = self._new_job(item, ENABLE_PROTECTION, now, self.durations.enable_protection)
            return 201, self._body(item, now, created=True), job

    def planned_failover(self, sub: str, rg: str, vault: str, name: str, body: Any) -> ItemJob:
        """
        ``POST .../plannedFailover``: start the item's planned failover job.

        :param body: The request's JSON:
            ``{"properties": {"customProperties": {"instanceType", "shutdownSourceVM"}}}``.
        """
        now = time.monotonic()
        with self._lock:
            self._advance(now)
            item = self._get(sub, rg, vault, name)
            custom = _failover_properties(body)
            if custom["instanceType"] != item.instance_type:
                raise ArmError(
                    400,
                    "InvalidParameter",
                    f"The planned failover's instance type '{custom['instanceType']}' does not match "
                    f"protected item '{item.name}', of instance type '{item.instance_type}'.",
                )
            state, allowed, _ = self._view(item, now)
            if not {"plannedfailover", "restart"} & {job.lower() for job in allowed or []}:
                raise _not_allowed("PlannedFailover", item, state, allowed)
            job = self._new_job(item, PLANNED_FAILOVER, now, self.durations.planned_failover)
            if not custom["shutdownSourceVM"]:
                job.skipped = frozenset({_SHUTDOWN_TASK})
            if item.failover_failure is not None:
                errors, job.failed_task, seconds = item.failover_failure
                if seconds is not None:
                    job.duration = seconds
                job.errors = [_job_error(error) for error in errors]
                item.failover_failure = None
            job.details = {
                "protectedItemDetails": [
                    {
                        "protectedItemName": item.name,
                        "vmName": item.properties["customProperties"].get("targetVmName") or item.name,
                        "testVmName": None,
                        "recoveryPointId": f"{item.id}/recoveryPoints/{_guid(job.id, 'point')}",
                        "recoveryPointTime": _iso(now + self._wall),
                        "networkName": None,
                        "subnet": None,
                    }
                ]
            }
            return job

    def update(self, sub: str, rg: str, vault: str, name: str, body: Any) -> tuple[dict[str, Any], ItemJob]:
        """
        ``PATCH``: start the item's update job; return the answer's body (the update echoed) and the job.

        Recorded: 202 with the update model echoed (each of its fields, null where not sent) and an
        "Update protected item" job; in a state that takes no update (``EnablingFailed``) the job
        fails with error ``1001012``. Assumed: every state whose phase is not failed takes one, and
        the instance type must be the item's.

        :param body: The request's JSON: ``{"properties": {"customProperties": {"instanceType", ...}}}``.
        """
        properties = _object(_object(body, "body").get("properties"), "properties")
        custom = _object(properties.get("customProperties"), "properties.customProperties")
        now = time.monotonic()
        with self._lock:
            self._advance(now)
            item = self._get(sub, rg, vault, name)
            if custom.get("instanceType") != item.instance_type:
                raise ArmError(
                    400,
                    "InvalidParameter",
                    f"The update's instance type '{custom.get('instanceType')}' does not match protected "
                    f"item '{item.name}', of instance type '{item.instance_type}'.",
                )
            unknown = sorted(set(custom) - {"instanceType", *UPDATE_FIELDS, *UPDATE_EXTRA_FIELDS})
            if unknown:
                # Assumed: the service's model has no such field (hyperVGeneration cannot change).
                raise ArmError(400, "InvalidParameter", f"The update cannot change {', '.join(unknown)}.")
            state, _, _ = self._view(item, now)
            running = item.job if item.job is not None and item.job.state(now) == "Started" else None
            if running is not None and running.scenario is not UPDATE_PROTECTED_ITEM:
                raise _not_allowed("Update", item, state, [])
            replication = item.replication
            job = self._new_job(item, UPDATE_PROTECTED_ITEM, now, self.durations.update_protected_item)
            item.replication = replication
            job.details = {
                "update": {key: copy.deepcopy(value) for key, value in custom.items() if value is not None}
            }
            job.details["update"].pop("instanceType", None)
            if phase_failed(state):
                provider = _guid(item.vault_id, "provider")
                job.errors = [
                    _job_error(
                        {
                            **UPDATE_REFUSED_ERROR,
                            "message": UPDATE_REFUSED_ERROR["message"].format(
                                name=item.name, provider=provider
                            ),
                        }
                    )
                ]
            echoed = {key: copy.deepcopy(custom.get(key)) for key in UPDATE_FIELDS}
            echoed["instanceType"] = item.instance_type
            answer = {
                "properties": {"customProperties": echoed},
                "id": item.id,
                "name": item.name,
                "type": ITEM_TYPE,
                "systemData": None,
            }
            return answer, job

    def delete(self, sub: str, rg: str, vault: str, name: str, force: bool) -> ItemJob | None:
        """
        ``DELETE``: start the disable-protection job; ``None`` when there is no such item (ARM: 204).

        Allowed when ``allowedJobs`` has ``DisableProtection``, or always with ``forceDelete=true``
        (a running job is then cancelled). A delete of an item being removed answers with the removal
        under way, as ARM's DELETE is idempotent.

        :param force: ``forceDelete=true``.
        """
        now = time.monotonic()
        with self._lock:
            self._advance(now)
            item = self._items.get(_key(sub, rg, vault, name))
            if item is None:
                self._check_vault(sub, rg, vault)
                return None
            state, allowed, _ = self._view(item, now)
            running = item.job if item.job is not None and item.job.state(now) == "Started" else None
            if running is not None and running.scenario is DISABLE_PROTECTION:
                return running
            if not force and "disableprotection" not in {job.lower() for job in allowed or []}:
                raise _not_allowed("DisableProtection", item, state, allowed)
            if running is not None:
                running.cancelled_at = now
                running.settled = True
            item.replication = None
            return self._new_job(item, DISABLE_PROTECTION, now, self.durations.disable_protection)

    def get(self, sub: str, rg: str, vault: str, name: str) -> dict[str, Any]:
        """``GET`` an item (raises ArmError 404 when there is none)."""
        now = time.monotonic()
        with self._lock:
            self._advance(now)
            return self._body(self._get(sub, rg, vault, name), now)

    def list_items(self, sub: str, rg: str, vault: str) -> list[dict[str, Any]]:
        """Return a vault's items, in the order they were created."""
        now = time.monotonic()
        with self._lock:
            self._advance(now)
            self._check_vault(sub, rg, vault)
            vault_key = (sub.lower(), rg.lower(), vault.lower())
            return [self._body(item, now) for key, item in self._items.items() if key[:3] == vault_key]

    def list_jobs(self, sub: str, rg: str, vault: str) -> list[dict[str, Any]]:
        """Return a vault's item jobs, newest first, as the service lists them (no tasks, errors, details)."""
        now = time.monotonic()
        with self._lock:
            self._advance(now)
            self._check_vault(sub, rg, vault)
            vault_key = (sub.lower(), rg.lower(), vault.lower())
            jobs = [job for job in self._jobs.values() if job.item_key[:3] == vault_key]
            jobs.sort(key=lambda job: (job.started, job.seq), reverse=True)
            return [job.body(now, self._wall, listed=True) for job in jobs]

    def job(self, sub: str, rg: str, vault: str, name: str) -> dict[str, Any] | None:
        """Return a job of an item action in this vault; ``None`` when there is none."""
        now = time.monotonic()
        with self._lock:
            self._advance(now)
            job = self._jobs.get(name.lower())
            if job is None or job.item_key[:3] != (sub.lower(), rg.lower(), vault.lower()):
                return None
            return job.body(now, self._wall)

    def operation(self, operation_id: str, resource_id: str) -> tuple[bool, dict[str, Any] | None]:
        """
        Return an item action's operation (``{jobGuid}_{vaultGuid}``): whether known, and its status.

        The status is ``None`` while the operation runs.

        :param operation_id: The operation id.
        :param resource_id: The operation's resource id (the URL's path).
        """
        job_name, _, suffix = operation_id.partition("_")
        now = time.monotonic()
        with self._lock:
            self._advance(now)
            job = self._jobs.get(job_name.lower())
            if job is None or suffix.lower() != vault_guid(job.vault_id):
                return False, None
            return True, job.operation_status(now, self._wall, resource_id)

    # -- scripting and inspection (the emulator's Python API) --------------------------------------

    def _find(self, name: str, sub: str | None, rg: str | None, vault: str | None) -> ProtectedItem | None:
        found = [
            item
            for key, item in self._items.items()
            if key[3] == name.lower()
            and (sub is None or key[0] == sub.lower())
            and (rg is None or key[1] == rg.lower())
            and (vault is None or key[2] == vault.lower())
        ]
        if len(found) > 1:
            raise ValueError(
                f"{len(found)} protected items are named {name!r}: name the vault and resource group"
            )
        return found[0] if found else None

    def add(
        self,
        sub: str,
        rg: str,
        vault: str,
        name: str,
        *,
        protection_state: str,
        instance_type: str,
        allowed_jobs: list[str] | None,
        properties: dict[str, Any] | None,
        replicating_for: float | None = None,
    ) -> dict[str, Any]:
        """Seed an item in any state (no job runs), or mid-replication for some seconds; return its body."""
        now = time.monotonic()
        if replicating_for is not None:
            protection_state = "InitialReplicationInProgress"
        overrides = copy.deepcopy(properties or {})
        custom = overrides.pop("customProperties", None) or {}
        request = {
            "policyName": overrides.pop("policyName", f"{vault}{instance_type.lower()}policy"),
            "replicationExtensionName": overrides.pop("replicationExtensionName", f"{vault}-extension"),
            "customProperties": {**_example_custom_properties(sub, rg, name, instance_type), **custom},
        }
        if allowed_jobs is None:
            allowed_jobs = copy.deepcopy(ALLOWED_JOBS.get(protection_state, []))
        # Read-only custom properties given (a percentage, the active location) win over computed ones.
        overrides["customProperties"] = custom
        item = ProtectedItem(
            sub, rg, vault, name, request, protection_state, allowed_jobs, overrides=overrides
        )
        item.progress = 0 if protection_state in _BEFORE_REPLICATION else 100
        if protection_state == "InitialReplicationFailed":
            item.health_errors = [
                _health_error(error, _iso(now + self._wall)) for error in DEFAULT_HEALTH_ERRORS
            ]
        if _RECOVERY_STATES.match(protection_state):
            item.last_failover_time = _iso(now + self._wall)
        if replicating_for is not None:
            item.progress, item.replication = 0, (now, now + replicating_for)
        if (sub.lower(), rg.lower(), vault.lower()) not in self._vaults:
            self.add_vault(sub, rg, vault)  # seeding an item seeds its vault
        with self._lock:
            self._advance(now)
            self._items[item.key] = item
            return self._body(item, now)

    def body_of(self, name: str, sub: str | None, rg: str | None, vault: str | None) -> dict[str, Any] | None:
        """Return an item's body now; ``None`` when there is none."""
        now = time.monotonic()
        with self._lock:
            self._advance(now)
            item = self._find(name, sub, rg, vault)
            return None if item is None else self._body(item, now)

    def jobs_of(self, name: str, rg: str | None, vault: str | None) -> list[dict[str, Any]]:
        """Every job run on items of that name (removed ones too), oldest first."""
        now = time.monotonic()
        with self._lock:
            self._advance(now)
            jobs = [
                job
                for job in self._jobs.values()
                if job.item_key[3] == name.lower()
                and (rg is None or job.item_key[1] == rg.lower())
                and (vault is None or job.item_key[2] == vault.lower())
            ]
            jobs.sort(key=lambda job: (job.started, job.seq))
            return [job.body(now, self._wall) for job in jobs]

    def fail_initial_replication(
        self, name: str, health_errors: list[dict[str, Any]], percent: int, rg: str | None, vault: str | None
    ) -> None:
        """Make the item's initial replication (or the next item of that name's) fail at ``percent``."""
        failure = ([dict(error) for error in health_errors], percent)
        now = time.monotonic()
        with self._lock:
            self._advance(now)
            item = self._find(name, None, rg, vault)
            if item is None:
                self._pending_replication_failures[name.lower()] = failure
                return
            state, _, done = self._view(item, now)
            if item.replication is not None and done >= percent:
                raise ValueError(f"the initial replication of {name!r} is already past {percent}%")
            if state not in ("UnprotectedStatesBegin", "EnablingProtection", "InitialReplicationInProgress"):
                raise ValueError(f"protected item {name!r} is {state}: its initial replication has ended")
            item.replication_failure = failure
            if item.replication is not None:
                begins, ends = item.replication
                item.replication = (begins, begins + (ends - begins) * percent / 100)

    def fail_planned_failover(
        self,
        name: str,
        errors: list[dict[str, Any]],
        task: str,
        rg: str | None,
        vault: str | None,
        seconds: float | None = None,
    ) -> None:
        """Make the item's running planned failover (or its next one, after ``seconds``) fail at ``task``."""
        if task not in PLANNED_FAILOVER.tasks:
            raise ValueError(f"task must be one of {PLANNED_FAILOVER.tasks}, not {task!r}")
        failure = ([dict(error) for error in errors], task, seconds)
        now = time.monotonic()
        with self._lock:
            self._advance(now)
            item = self._find(name, None, rg, vault)
            if item is None:
                self._pending_failover_failures[name.lower()] = failure
                return
            job = item.job
            if job is not None and job.scenario is PLANNED_FAILOVER and job.state(now) == "Started":
                job.errors, job.failed_task = [_job_error(error) for error in errors], task
            else:
                item.failover_failure = failure


def phase_failed(state: str) -> bool:
    """Whether a protection state is a failed one (its name ends in ``Failed``, or ``...FailedOn...``)."""
    return "failed" in state.lower()


def _not_allowed(action: str, item: ProtectedItem, state: str, allowed: list[str] | None) -> ArmError:
    return ArmError(
        409,
        "OperationNotAllowed",
        f"The operation '{action}' is not allowed on protected item '{item.name}' in protection state "
        f"'{state}' ({_sentence(state)}); allowed jobs: {allowed if allowed is not None else 'none'}.",
    )


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ArmError(
            400, "InvalidRequestContent", f"The request content is invalid: '{where}' must be an object."
        )
    return value


def _create_properties(body: Any) -> dict[str, Any]:
    properties = _object(_object(body, "$").get("properties"), "properties")
    for required in ("policyName", "replicationExtensionName"):
        if not isinstance(properties.get(required), str) or not properties[required]:
            raise ArmError(400, "InvalidParameter", f"The property 'properties.{required}' is required.")
    custom = _object(properties.get("customProperties"), "properties.customProperties")
    if custom.get("instanceType") not in INSTANCE_TYPES:
        raise ArmError(
            400,
            "InvalidParameter",
            f"The instance type '{custom.get('instanceType')}' is not supported; supported: "
            f"{', '.join(INSTANCE_TYPES)}.",
        )
    return {
        "policyName": properties["policyName"],
        "replicationExtensionName": properties["replicationExtensionName"],
        "customProperties": copy.deepcopy(custom),
    }


def _failover_properties(body: Any) -> dict[str, Any]:
    properties = _object(_object(body, "$").get("properties"), "properties")
    custom = _object(properties.get("customProperties"), "properties.customProperties")
    if not isinstance(custom.get("shutdownSourceVM"), bool):
        raise ArmError(
            400,
            "InvalidParameter",
            "The property 'properties.customProperties.shutdownSourceVM' must be a boolean.",
        )
    return custom


def _example_custom_properties(sub: str, rg: str, name: str, instance_type: str) -> dict[str, Any]:
    """Return what a real enable-replication request carries, for a seeded item."""
    group = f"/subscriptions/{sub}/resourceGroups/{rg}"
    cluster = f"{group}/providers/Microsoft.AzureStackHCI/clusters/hci-cluster-01"
    return {
        "instanceType": instance_type,
        "targetHciClusterId": cluster,
        "targetArcClusterCustomLocationId": (
            f"{group}/providers/Microsoft.ExtendedLocation/customLocations/hci-cl"
        ),
        "fabricDiscoveryMachineId": f"{group}/providers/Microsoft.OffAzure/HyperVSites/site1/machines/{name}",
        "disksToInclude": [],
        "nicsToInclude": [],
        "targetVmName": name.split("_")[0][:15] or name,
        "targetResourceGroupId": group,
        "storageContainerId": f"{group}/providers/Microsoft.AzureStackHCI/storageContainers/container1",
        "hyperVGeneration": "2",
        "runAsAccountId": f"{group}/providers/Microsoft.OffAzure/HyperVSites/site1/runAsAccounts/account1",
        "sourceFabricAgentName": "source-appliance",
        "targetFabricAgentName": "target-appliance",
        "customLocationRegion": "eastus",
    }
