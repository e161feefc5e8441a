"""A replication vault's job as "Job - Get" answers it (stable api-versions), and how its state is judged."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Job states, lower-cased, by what they mean for a wait. ARM compares them case-insensitively;
#: any other state, or none, means still running.
SUCCEEDED_STATES = frozenset({"succeeded", "completedwithinformation", "completedwithwarnings"})
FAILED_STATES = frozenset({"failed", "cancelled", "canceled", "completedwitherrors"})
WARNINGS_STATE = "completedwithwarnings"


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


@dataclass(frozen=True)
class Job:
    """
    One job of a replication vault: the service's body, kept exactly as it was sent.

    ``properties.state``: ``Pending``, ``Started`` and ``Cancelling`` are running; ``Succeeded``,
    ``CompletedWithInformation`` and ``CompletedWithWarnings`` succeed; ``Failed``, ``Cancelled``
    and ``CompletedWithErrors`` fail.

    :param body: The JSON object the service answered.
    """

    body: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Job:
        """Build from the service's JSON object."""
        return cls(body)

    def to_dict(self) -> dict[str, Any]:
        """Return the body exactly as the service sent it (what goes to XCom)."""
        return self.body

    @property
    def properties(self) -> dict[str, Any]:
        """``properties``, or an empty object when the body has none."""
        properties = self.body.get("properties")
        return properties if isinstance(properties, dict) else {}

    @property
    def state(self) -> str | None:
        """``properties.state`` as sent."""
        return _text(self.properties.get("state"))

    @property
    def display_name(self) -> str | None:
        """``properties.displayName`` (e.g. "Planned failover")."""
        return _text(self.properties.get("displayName"))

    @property
    def object_name(self) -> str | None:
        """``properties.objectName``: what the job acts on (a protected item, a VM)."""
        return _text(self.properties.get("objectName"))

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
        described = []
        for error in self.properties.get("errors") or []:
            if not isinstance(error, dict):
                continue
            text = f"{error.get('code') or 'error'}: {error.get('message') or '(no message)'}"
            if error.get("recommendation"):
                text += f" (recommendation: {error['recommendation']})"
            described.append(text)
        return described

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
