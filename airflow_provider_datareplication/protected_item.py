"""
A protected item (a replicated server) as "Protected Item - Get" answers it, and what a wait on it means.

Standard library only: DAG parsing imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_datareplication.resource import ResourceBody, describe_errors, text

#: What a wait on a protected item can wait for.
UNTIL = ("ready_to_migrate", "migrated", "removed")
#: ``allowedJobs`` entries that make an item ready to migrate (Azure's tools accept either).
FAILOVER_JOBS = ("PlannedFailover", "Restart")
#: ``allowedJobs`` entry that lets an item be removed.
REMOVAL_JOB = "DisableProtection"
#: The protection state after a planned failover (the migration's cut-over).
MIGRATED_STATE = "PlannedFailoverCompleted"
#: Job states of a job still running (ARM compares them case-insensitively).
RUNNING_JOB_STATES = frozenset({"pending", "started", "cancelling", "inprogress", "notstarted"})
#: Progress percentages in ``customProperties``, and how a log line names them.
_PROGRESS = (
    ("initialReplicationProgressPercentage", "initial replication"),
    ("resyncProgressPercentage", "resynchronization"),
    ("migrationProgressPercentage", "migration"),
)


def job_is_running(job: Any) -> bool:
    """
    Whether a job (``currentJob``, a job list entry's ``properties``) is still running.

    :param job: The job's fields (``state``).
    """
    return isinstance(job, dict) and str(job.get("state") or "").strip().lower() in RUNNING_JOB_STATES


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
    def failed(self) -> bool:
        """Whether the protection state is a failure (every one of them ends in ``Failed``)."""
        return (self.protection_state or "").lower().endswith("failed")

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
        for key in ("lastFailedPlannedFailoverJob", "lastFailedEnableProtectionJob"):
            job = self.properties.get(key)
            if isinstance(job, dict) and job.get("name"):
                parts.append(
                    f"last failed job: {job.get('displayName') or job.get('scenarioName') or 'job'} "
                    f"{job['name']!r} ({job.get('state') or 'Failed'})"
                )
                break
        return "; ".join(parts)

    def waiting_until(self, until: str) -> ProtectedItemWait:
        """
        Judge the item for a wait on ``until``.

        :param until: ``ready_to_migrate``, ``migrated`` or ``removed``.
        """
        return ProtectedItemWait(self, until)


def gone(not_found: Exception, until: str) -> ProtectedItemStatus:
    """
    Turn a 404 for an item into the item that is gone, when that is what a wait waits for; else raise it.

    :param not_found: The error reading the item answered.
    :param until: What the wait waits for.
    """
    if until != "removed":
        raise not_found
    return ProtectedItemStatus()


def check_until(until: Any) -> str:
    """Return ``until`` checked: one of :data:`UNTIL`."""
    if until not in UNTIL:
        raise ValueError(f"until must be one of {', '.join(UNTIL)}, got {until!r}")
    return str(until)


@dataclass(frozen=True)
class ProtectedItemWait:
    """
    A protected item judged for a wait: is it over, and did it end well.

    - ``ready_to_migrate``: over when ``allowedJobs`` has ``PlannedFailover`` (or ``Restart``),
      what Azure's tools check before a migration;
    - ``migrated``: over at ``PlannedFailoverCompleted``;
    - ``removed``: over when the item is gone (404); nothing else ends it, a failed state included
      (an item is removed from any state).

    For the first two, any protection state ending in ``Failed`` ends the wait in failure.

    :param item: The item (empty when gone).
    :param until: What the wait waits for.
    """

    item: ProtectedItemStatus
    until: str

    @classmethod
    def from_dict(cls, body: dict[str, Any], *, until: str) -> ProtectedItemWait:
        """
        Rebuild from the item's body (empty: gone).

        :param body: The item's body, as sent.
        :param until: What the wait waits for.
        """
        return cls(ProtectedItemStatus(body), until)

    @property
    def state(self) -> str | None:
        """The item's state and progress."""
        return self.item.state

    @property
    def succeeded(self) -> bool:
        """Whether the item is where the wait wanted it."""
        item = self.item
        if self.until == "removed":
            return not item.exists
        if not item.exists or item.failed:
            return False
        if self.until == "migrated":
            return (item.protection_state or "").lower() == MIGRATED_STATE.lower()
        return any(job in item.allowed_jobs for job in FAILOVER_JOBS)

    @property
    def is_terminal(self) -> bool:
        """Whether the wait is over (it got there, or the item failed)."""
        if self.until == "removed":
            return not self.item.exists
        return self.succeeded or self.item.failed

    def to_dict(self) -> dict[str, Any]:
        """Return the item's body as the service sent it (empty for an item that is gone)."""
        return self.item.to_dict()

    def failure_details(self) -> str:
        """Describe the item's failure."""
        return self.item.failure_details()

    def notes(self) -> list[str]:
        """Warnings for a wait that ended well: the item's health warnings."""
        if not self.item.exists:
            return []
        health = str(self.item.properties.get("replicationHealth") or "")
        return [f"replication health is {health}"] if health.lower() in ("warning", "critical") else []
