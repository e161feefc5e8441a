"""
A protected item (a replicated server) as "Protected Item - Get" answers it, and what a wait on it means.

Standard library only: DAG parsing imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from airflow_provider_datareplication.resource import ResourceBody, describe_errors, iso_time, text

if TYPE_CHECKING:
    from datetime import datetime

#: What a wait on a protected item can wait for.
UNTIL = ("ready_to_migrate", "migrated", "removed")
#: ``allowedJobs`` entries that make an item ready to migrate (Azure's tools accept either).
FAILOVER_JOBS = ("PlannedFailover", "Restart")
#: ``allowedJobs`` entry that lets an item be removed.
REMOVAL_JOB = "DisableProtection"
#: ``allowedJobs`` entry of an item failed over (its migration is to be completed).
COMMIT_JOB = "CommitFailover"
#: Job states of a job still running (ARM compares them case-insensitively).
RUNNING_JOB_STATES = frozenset({"pending", "started", "cancelling", "inprogress", "notstarted"})
#: Progress percentages in ``customProperties``, and how a log line names them.
_PROGRESS = (
    ("initialReplicationProgressPercentage", "initial replication"),
    ("resyncProgressPercentage", "resynchronization"),
    ("migrationProgressPercentage", "migration"),
)

#: The item's references to the last job of a kind (the SDK's names), for its latest job.
_LAST_JOBS = ("lastFailedEnableProtectionJob", "lastFailedPlannedFailoverJob", "lastTestFailoverJob")

# Where an item stands, by its protection state (the phases of :data:`PROTECTION_STATES`).
ENABLING = "enabling protection"
REPLICATING = "replicating (initial replication)"
PROTECTED = "protected"
FAILING_OVER = "failing over"
FAILED_OVER = "failed over"
CANCELLING_FAILOVER = "cancelling a failover"
REMOVING = "being removed"
FAILED = "failed"
#: A 404 for the item, once its vault is known to exist.
GONE = "gone"

#: Every ``protectionState`` of the stable API (``ProtectionState`` of Azure's SDK 1.0.0, the
#: ``...StatesBegin`` / ``...StatesEnd`` markers included), by where the item stands. A test keeps
#: the keys equal to the SDK's values, so a new state cannot be missed silently. A state not
#: listed here (a newer api-version's) counts as failed when it ends in ``Failed``, else as running.
PROTECTION_STATES: dict[str, str] = {
    "UnprotectedStatesBegin": ENABLING,
    "EnablingProtection": ENABLING,
    "UnprotectedStatesEnd": ENABLING,
    "InitialReplicationStatesBegin": REPLICATING,
    "InitialReplicationInProgress": REPLICATING,
    "InitialReplicationCompletedOnPrimary": REPLICATING,
    "InitialReplicationCompletedOnRecovery": REPLICATING,
    "InitialReplicationStatesEnd": REPLICATING,
    "ProtectedStatesBegin": PROTECTED,
    "Protected": PROTECTED,
    "ProtectedStatesEnd": PROTECTED,
    "PlannedFailoverTransitionStatesBegin": FAILING_OVER,
    "PlannedFailoverInitiated": FAILING_OVER,
    "PlannedFailoverCompleting": FAILING_OVER,
    "UnplannedFailoverTransitionStatesBegin": FAILING_OVER,
    "UnplannedFailoverInitiated": FAILING_OVER,
    "UnplannedFailoverCompleting": FAILING_OVER,
    "PlannedFailoverCompleted": FAILED_OVER,
    "PlannedFailoverTransitionStatesEnd": FAILED_OVER,
    "UnplannedFailoverCompleted": FAILED_OVER,
    "UnplannedFailoverTransitionStatesEnd": FAILED_OVER,
    "CommitFailoverStatesBegin": FAILED_OVER,
    "CommitFailoverInProgressOnPrimary": FAILED_OVER,
    "CommitFailoverInProgressOnRecovery": FAILED_OVER,
    "CommitFailoverCompleted": FAILED_OVER,
    "CommitFailoverStatesEnd": FAILED_OVER,
    "ChangeRecoveryPointStatesBegin": FAILED_OVER,
    "ChangeRecoveryPointInitiated": FAILED_OVER,
    "ChangeRecoveryPointCompleted": FAILED_OVER,
    "ChangeRecoveryPointStatesEnd": FAILED_OVER,
    "ReprotectStatesBegin": FAILED_OVER,
    "ReprotectInitiated": FAILED_OVER,
    "ReprotectStatesEnd": FAILED_OVER,
    # A cancelled failover goes back to replicating: the item can be failed over again.
    "CancelFailoverStatesBegin": CANCELLING_FAILOVER,
    "CancelFailoverInProgressOnPrimary": CANCELLING_FAILOVER,
    "CancelFailoverInProgressOnRecovery": CANCELLING_FAILOVER,
    "CancelFailoverStatesEnd": CANCELLING_FAILOVER,
    "DisablingProtection": REMOVING,
    "MarkedForDeletion": REMOVING,
    "EnablingFailed": FAILED,
    "DisablingFailed": FAILED,
    "InitialReplicationFailed": FAILED,
    "PlannedFailoverFailed": FAILED,
    "PlannedFailoverCompletionFailed": FAILED,
    "UnplannedFailoverFailed": FAILED,
    "UnplannedFailoverCompletionFailed": FAILED,
    "CommitFailoverFailedOnPrimary": FAILED,
    "CommitFailoverFailedOnRecovery": FAILED,
    "CancelFailoverFailedOnPrimary": FAILED,
    "CancelFailoverFailedOnRecovery": FAILED,
    "ChangeRecoveryPointFailed": FAILED,
    "ReprotectFailed": FAILED,
}
_PHASES = {state.lower(): phase for state, phase in PROTECTION_STATES.items()}


def phase_of(protection_state: str | None) -> str | None:
    """
    Return where an item in this protection state stands (a phase of :data:`PROTECTION_STATES`).

    :param protection_state: ``properties.protectionState`` (compared case-insensitively); ``None``
        for a state not known here that does not end in ``Failed``.
    """
    key = (protection_state or "").strip().lower()
    return _PHASES.get(key) or (FAILED if key.endswith("failed") else None)


@dataclass(frozen=True)
class UntilRule:
    """
    What a wait on a protected item waits for, as data: where it ends well, where it fails.

    :param goal: What the item is to become, in words ("ready to migrate").
    :param done: The phase that ends the wait well (``None``: the ``allowedJobs`` test).
    :param out_of_reach: Phases from which the goal can no longer be reached: the wait fails at once.
    :param failed_states: Protection states that fail the wait (``None``: every failed one).
    """

    goal: str
    done: str | None
    out_of_reach: frozenset[str]
    failed_states: frozenset[str] | None = None


#: Each ``until``'s rule. Ready to migrate cannot come back once a cut-over has begun or the item is
#: being removed; migrated cannot come once it is being removed or gone; an item is removed from any
#: state, so only a failed removal fails that wait.
UNTIL_RULES: dict[str, UntilRule] = {
    "ready_to_migrate": UntilRule(
        "ready to migrate", None, frozenset({FAILING_OVER, FAILED_OVER, REMOVING, GONE})
    ),
    "migrated": UntilRule("migrated", FAILED_OVER, frozenset({REMOVING, GONE})),
    "removed": UntilRule("removed", GONE, frozenset(), frozenset({"disablingfailed"})),
}


def job_is_running(job: Any) -> bool:
    """
    Whether a job (``currentJob``, a job list entry's ``properties``) is still running.

    :param job: The job's fields (``state``).
    """
    return isinstance(job, dict) and str(job.get("state") or "").strip().lower() in RUNNING_JOB_STATES


def job_started(job: Any) -> datetime | None:
    """
    Return when a job began (its ``startTime``, in UTC), or ``None`` when not said.

    :param job: The job's fields (a job's ``properties``, a job reference).
    """
    return iso_time(job.get("startTime")) if isinstance(job, dict) else None


def _words(text: Any) -> str:
    return "".join(str(text or "").split()).lower()


@dataclass(frozen=True)
class Scenario:
    """
    A kind of work on a protected item, and how the service names its jobs.

    The item's job references (``lastFailed...Job``) carry ``scenarioName``; the vault's job list
    carries only ``displayName`` and ``objectId`` (the item's id, or the action's under it), as
    Azure PowerShell's recordings show (2025): "Create or update protected item", "Planned
    failover" (``.../protectedItems/{item}/plannedFailover``), "Delete protected item".

    :param name: Its ``scenarioName``.
    :param words: What it is, for messages ("planned failover").
    :param display_names: The ``displayName`` of its jobs.
    :param running_phase: Where the item stands while its job runs.
    :param last_failed: The item's property naming its last failed job, if the service keeps one.
    """

    name: str
    words: str
    display_names: tuple[str, ...]
    running_phase: str
    last_failed: str | None = None

    def runs(self, job: Any) -> bool:
        """
        Whether a job (a reference with ``scenarioName``, or a job's ``properties``) is one of these.

        :param job: The job's fields.
        """
        if not isinstance(job, dict):
            return False
        if job.get("scenarioName"):
            return _words(job["scenarioName"]) == _words(self.name)
        return _words(job.get("displayName")) in {_words(name) for name in self.display_names}


ENABLE_PROTECTION = Scenario(
    "EnableProtection",
    "enable replication",
    ("Create or update protected item",),
    ENABLING,
    "lastFailedEnableProtectionJob",
)
PLANNED_FAILOVER = Scenario(
    "PlannedFailover", "planned failover", ("Planned failover",), FAILING_OVER, "lastFailedPlannedFailoverJob"
)
DISABLE_PROTECTION = Scenario("DisableProtection", "removal", ("Delete protected item",), REMOVING)
#: Recorded: the job of a ``PATCH`` is "Update protected item"; the item's state does not change
#: while it runs (no phase is this one). Its ``scenarioName`` is assumed.
UPDATE_PROTECTED_ITEM = Scenario("UpdateProtectedItem", "update", ("Update protected item",), "updating")


def job_is_on_item(job: Any, item_id: str, item_name: str) -> bool:
    """
    Whether a job list entry's ``properties`` say it acts on the item (``objectId``, else ``objectName``).

    :param job: The entry's ``properties``.
    :param item_id: The item's resource id.
    :param item_name: The item's name.
    """
    if not isinstance(job, dict):
        return False
    object_id = unquote(str(job.get("objectId") or "")).rstrip("/").lower()
    own = unquote(item_id).lower()
    if object_id:
        return object_id == own or object_id.startswith(own + "/")
    return str(job.get("objectName") or "").lower() == item_name.lower()


@dataclass(frozen=True)
class ProtectedItemStatus(ResourceBody):
    """
    One protected item of a replication vault: the service's body, kept exactly as it was sent.

    Judged by :meth:`waiting_until` for a wait; on its own it is simply the item.

    :param body: The JSON object the service answered (empty for an item that is gone).
    """

    @property
    def custom_properties(self) -> dict[str, Any]:
        """``properties.customProperties``, or an empty object."""
        custom = self.properties.get("customProperties")
        return custom if isinstance(custom, dict) else {}

    @property
    def exists(self) -> bool:
        """Whether the item exists (an item that is gone has an empty body)."""
        return bool(self.body)

    @property
    def name(self) -> str | None:
        """The item's name."""
        return text(self.body.get("name"))

    @property
    def protection_state(self) -> str | None:
        """``properties.protectionState`` as sent."""
        return text(self.properties.get("protectionState"))

    @property
    def state(self) -> str | None:
        """The protection state, and the progress the service reports, as a log line names them."""
        if not self.exists:
            return "gone"
        progress = ", ".join(
            f"{label} {value}%"
            for key, label in _PROGRESS
            if (value := self.custom_properties.get(key)) not in (None, "")
        )
        state = self.protection_state or "(no protection state)"
        return f"{state} ({progress})" if progress else state

    @property
    def allowed_jobs(self) -> list[str]:
        """``properties.allowedJobs`` (``null`` is none)."""
        allowed = self.properties.get("allowedJobs")
        return [str(job) for job in allowed] if isinstance(allowed, list) else []

    @property
    def instance_type(self) -> str | None:
        """``customProperties.instanceType``: the replication scenario (``HyperVToAzStackHCI``, ...)."""
        return text(self.custom_properties.get("instanceType"))

    @property
    def phase(self) -> str | None:
        """Where the item stands (a phase of :data:`PROTECTION_STATES`; :data:`GONE` once removed)."""
        return phase_of(self.protection_state) if self.exists else GONE

    @property
    def failed(self) -> bool:
        """Whether the protection state is a failure (:data:`PROTECTION_STATES`)."""
        return self.phase == FAILED

    @property
    def failed_over(self) -> bool:
        """Whether the item has been failed over (the server runs on the target: migrated)."""
        return self.phase == FAILED_OVER

    @property
    def current_job(self) -> dict[str, Any] | None:
        """``properties.currentJob``: the job the item's last action runs (or ran)."""
        job = self.properties.get("currentJob")
        return job if isinstance(job, dict) and job.get("name") else None

    @property
    def running_job(self) -> dict[str, Any] | None:
        """The job running on the item now (its ``currentJob``, while it runs), if any."""
        job = self.current_job
        return job if job_is_running(job) else None

    @property
    def last_failed_job(self) -> dict[str, Any] | None:
        """The last failed job the item names (its ``lastFailed...Job``), if any."""
        for key in ("lastFailedPlannedFailoverJob", "lastFailedEnableProtectionJob"):
            job = self.properties.get(key)
            if isinstance(job, dict) and job.get("name"):
                return job
        return None

    @property
    def source_name(self) -> str | None:
        """The replicated server's own name (``fabricObjectName``, or the source VM's)."""
        return text(self.properties.get("fabricObjectName")) or text(
            self.custom_properties.get("sourceVmName")
        )

    def describe_state(self) -> str:
        """Describe the state: the service's ``protectionStateDescription`` and the allowed jobs."""
        state = f"{self.protection_state or '(no protection state)'}"
        if description := text(self.properties.get("protectionStateDescription")):
            state += f" ({description})"
        return f"{state}; allowed jobs: {', '.join(self.allowed_jobs) or 'none'}"

    def failure_details(self) -> str:
        """Describe a failure: the server, the state, each health error, the last failed job."""
        parts = []
        if source := self.source_name:
            parts.append(f"source server {source!r}")
        if description := text(self.properties.get("protectionStateDescription")):
            parts.append(description)
        if errors := describe_errors(self.properties.get("healthErrors")):
            parts.append("health errors: " + "; ".join(errors))
        if job := self.last_failed_job:
            parts.append(
                f"last failed job: {job.get('displayName') or job.get('scenarioName') or 'job'} "
                f"{job['name']!r} ({job.get('state') or 'Failed'})"
            )
        return "; ".join(parts)

    @property
    def replication_progress(self) -> Any:
        """The replication's progress in percent: a resync's while one runs, else the first one's."""
        custom = self.custom_properties
        resync = custom.get("resyncProgressPercentage")
        return resync if resync not in (None, "") else custom.get("initialReplicationProgressPercentage")

    @property
    def latest_job(self) -> dict[str, Any] | None:
        """The item's current job, else the newest of the last jobs it names (``lastFailed...Job``, ...)."""
        if (job := self.current_job) is not None:
            return job
        named = [
            job for key in _LAST_JOBS if isinstance(job := self.properties.get(key), dict) and job.get("name")
        ]
        return max(named, key=lambda job: str(job.get("startTime") or ""), default=None)

    def row(self) -> dict[str, Any]:
        """
        Return the item as one row of its vault's table: what a person checks of each server of a wave.

        The keys are :data:`ROW_COLUMNS`'; values as the service sent them (``None`` where it sent none).
        """
        errors = describe_errors(self.properties.get("healthErrors"))
        job = self.latest_job or {}
        return {
            "protected_item_name": self.name,
            "source_vm_name": text(self.custom_properties.get("sourceVmName"))
            or text(self.properties.get("fabricObjectName")),
            "protection_state": self.protection_state,
            "replication_progress_percentage": self.replication_progress,
            "replication_health": text(self.properties.get("replicationHealth")),
            "first_health_error": errors[0] if errors else None,
            "allowed_jobs": self.allowed_jobs,
            "job": text(job.get("displayName")) or text(job.get("scenarioName")),
            "job_name": text(job.get("name")),
            "job_state": text(job.get("state")),
        }

    def waiting_until(self, until: str) -> ProtectedItemWait:
        """
        Judge the item for a wait on ``until``.

        :param until: ``ready_to_migrate``, ``migrated`` or ``removed``.
        """
        return ProtectedItemWait(self, until)


#: The columns of a vault's table (:meth:`ProtectedItemStatus.row`), and their headings.
ROW_COLUMNS = {
    "protected_item_name": "item",
    "source_vm_name": "source VM",
    "protection_state": "protectionState",
    "replication_progress_percentage": "progress %",
    "replication_health": "health",
    "first_health_error": "first health error",
    "allowed_jobs": "allowed jobs",
    "job": "job",
    "job_state": "job state",
}
#: Cells longer than this are cut (with "...") in a logged table, so a row stays on one line.
_CELL_WIDTH = 60


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    cell = ", ".join(str(entry) for entry in value) if isinstance(value, list) else str(value)
    return cell if len(cell) <= _CELL_WIDTH else cell[: _CELL_WIDTH - 3] + "..."


def format_table(rows: list[dict[str, Any]]) -> str:
    """
    Lay rows of :meth:`ProtectedItemStatus.row` out as a text table, one line per server.

    :param rows: The rows.
    """
    cells = [list(ROW_COLUMNS.values())] + [[_cell(row.get(key)) for key in ROW_COLUMNS] for row in rows]
    widths = [max(len(line[column]) for line in cells) for column in range(len(ROW_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def check_until(until: Any) -> str:
    """Return ``until`` checked: one of :data:`UNTIL`."""
    if until not in UNTIL:
        raise ValueError(f"until must be one of {', '.join(UNTIL)}, got {until!r}")
    return str(until)


@dataclass(frozen=True)
class ProtectedItemWait:
    """
    A protected item judged for a wait: is it over, and did it end well (:data:`UNTIL_RULES`).

    - ``ready_to_migrate``: over when ``allowedJobs`` has ``PlannedFailover`` (or ``Restart``),
      what Azure's tools check before a migration;
    - ``migrated``: over once the item has been failed over (``PlannedFailoverCompleted``, or a
      commit of it);
    - ``removed``: over when the item is gone (404, its vault there).

    Each fails at once in a state from which its goal can no longer be reached (ready to migrate,
    once a cut-over has begun; migrated, once the item is being removed or gone), and in a failed
    state (every failed one; for ``removed``, ``DisablingFailed``: an item is removed from any other).

    :param item: The item (empty when gone).
    :param until: What the wait waits for.
    :param failed_job: The item's last failed job, read for its errors (when the wait failed).
    """

    item: ProtectedItemStatus
    until: str
    failed_job: Any = None

    @classmethod
    def from_dict(cls, body: dict[str, Any], *, until: str) -> ProtectedItemWait:
        """
        Rebuild from the item's body (empty: gone).

        :param body: The item's body, as sent.
        :param until: What the wait waits for.
        """
        return cls(ProtectedItemStatus(body), until)

    @property
    def rule(self) -> UntilRule:
        """What the wait waits for, as data."""
        return UNTIL_RULES[self.until]

    @property
    def state(self) -> str | None:
        """The item's state and progress."""
        return self.item.state

    @property
    def succeeded(self) -> bool:
        """Whether the item is where the wait wanted it."""
        item, rule = self.item, self.rule
        if rule.done is not None:
            return item.phase == rule.done
        return (
            not self.failed
            and not self.out_of_reach
            and any(job in item.allowed_jobs for job in FAILOVER_JOBS)
        )

    @property
    def failed(self) -> bool:
        """Whether the item is in a state that fails this wait."""
        item, failed_states = self.item, self.rule.failed_states
        if failed_states is None:
            return item.failed
        return (item.protection_state or "").lower() in failed_states

    @property
    def out_of_reach(self) -> bool:
        """Whether the item stands where the wait's goal can no longer be reached."""
        return self.item.phase in self.rule.out_of_reach

    @property
    def is_terminal(self) -> bool:
        """Whether the wait is over (it got there, the item failed, or it can no longer get there)."""
        return self.succeeded or self.failed or self.out_of_reach

    def to_dict(self) -> dict[str, Any]:
        """Return the item's body as the service sent it (empty for an item that is gone)."""
        return self.item.to_dict()

    def failure_details(self) -> str:
        """Describe why the wait failed: the goal out of reach, or the item's failure (its job's errors)."""
        parts = []
        if self.out_of_reach and not self.failed:
            parts.append(f"it can no longer be {self.rule.goal} (it is {self.item.phase})")
        if details := self.item.failure_details():
            parts.append(details)
        if self.failed_job is not None and (job_details := self.failed_job.failure_details()):
            parts.append(f"the job's {job_details}")
        return "; ".join(parts)

    def notes(self) -> list[str]:
        """Warnings for a wait that ended well: the item's health warnings."""
        if not self.item.exists:
            return []
        health = str(self.item.properties.get("replicationHealth") or "")
        return [f"replication health is {health}"] if health.lower() in ("warning", "critical") else []
