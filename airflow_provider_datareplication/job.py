"""A replication vault's job as "Job - Get" answers it (stable api-versions), and how its state is judged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_datareplication.resource import ResourceBody, describe_errors, iso_time, text

if TYPE_CHECKING:
    from datetime import datetime

#: Job states, lower-cased, by what they mean for a wait. ARM compares them case-insensitively;
#: any other state, or none, means still running.
SUCCEEDED_STATES = frozenset({"succeeded", "completedwithinformation", "completedwithwarnings"})
FAILED_STATES = frozenset({"failed", "cancelled", "canceled", "completedwitherrors"})
WARNINGS_STATE = "completedwithwarnings"


@dataclass(frozen=True)
class Job(ResourceBody):
    """
    One job of a replication vault: the service's body, kept exactly as it was sent.

    ``properties.state``: ``Pending``, ``Started`` and ``Cancelling`` are running; ``Succeeded``,
    ``CompletedWithInformation`` and ``CompletedWithWarnings`` succeed; ``Failed``, ``Cancelled``
    and ``CompletedWithErrors`` fail.

    :param body: The JSON object the service answered.
    """

    @property
    def state(self) -> str | None:
        """``properties.state`` as sent."""
        return text(self.properties.get("state"))

    @property
    def display_name(self) -> str | None:
        """``properties.displayName`` (e.g. "Planned failover")."""
        return text(self.properties.get("displayName"))

    @property
    def started(self) -> datetime | None:
        """When the job began (``properties.startTime``), in UTC."""
        return iso_time(self.properties.get("startTime"))

    @property
    def object_name(self) -> str | None:
        """``properties.objectName``: what the job acts on (a protected item, a VM)."""
        return text(self.properties.get("objectName"))

    @property
    def vault_guid(self) -> str | None:
        """
        The vault's GUID, as the job's ``customProperties.affectedObjectDetails.VaultId`` gives it.

        The part after ``_`` of the job's operation id (``{job}_{vault}``), as the service's start
        answers name it (both seen in Azure PowerShell's recordings, 2025).
        """
        custom = self.properties.get("customProperties")
        details = custom.get("affectedObjectDetails") if isinstance(custom, dict) else None
        return text(details.get("VaultId")) if isinstance(details, dict) else None

    @property
    def _state_key(self) -> str:
        return (self.state or "").strip().lower()

    @property
    def is_terminal(self) -> bool:
        """Whether the job has ended."""
        return self._state_key in SUCCEEDED_STATES or self._state_key in FAILED_STATES

    @property
    def succeeded(self) -> bool:
        """Whether the job ended well (with information or warnings included)."""
        return self._state_key in SUCCEEDED_STATES

    def _errors(self) -> list[str]:
        return describe_errors(self.properties.get("errors"))

    def _failed_tasks(self) -> list[str]:
        return [
            str(task.get("taskName") or "(unnamed task)")
            for task in self.properties.get("tasks") or []
            if isinstance(task, dict) and str(task.get("state") or "").strip().lower() in FAILED_STATES
        ]

    def failure_details(self) -> str:
        """Describe a failure: the job's names, errors (code, message, recommendation), failed tasks."""
        parts = []
        names = ", ".join(
            f"{label} {value!r}"
            for label, value in (("display name", self.display_name), ("object", self.object_name))
            if value
        )
        if names:
            parts.append(names)
        if errors := self._errors():
            parts.append("errors: " + "; ".join(errors))
        if tasks := self._failed_tasks():
            parts.append("failed tasks: " + ", ".join(tasks))
        return "; ".join(parts)

    def notes(self) -> list[str]:
        """Return the warnings of a job that ended ``CompletedWithWarnings`` (logged, not raised)."""
        if self._state_key != WARNINGS_STATE:
            return []
        return self._errors() or ["the job reports warnings but lists none"]
