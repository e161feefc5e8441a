"""The service's ``OperationStatus``: what "Workflow Operation Status - Get" answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Terminal statuses, lower-cased. ARM compares them case-insensitively; job states elsewhere in
#: this API spell ``Cancelled`` with two Ls, so that spelling counts as ``Canceled``.
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELED = "canceled"
_SPELLINGS = {SUCCEEDED: SUCCEEDED, FAILED: FAILED, CANCELED: CANCELED, "cancelled": CANCELED}

_FIELDS = {"id": "id", "name": "name", "status": "status", "startTime": "start_time", "endTime": "end_time"}


@dataclass(frozen=True)
class OperationStatus:
    """
    The status of one asynchronous operation of a replication vault's job.

    Every field is an optional string, kept exactly as the service sent it (the times too: the
    service promises no date format). Fields beyond the five documented ones (``error``,
    ``percentComplete``, ``properties``, ...) are kept in :attr:`extra`.

    :param id: The operation's resource id.
    :param name: The operation's name.
    :param status: The status; terminal at ``Succeeded``, ``Failed`` or ``Canceled``.
    :param start_time: ``startTime`` as sent.
    :param end_time: ``endTime`` as sent.
    :param extra: Any other top-level fields of the body, by their wire names.
    """

    id: str | None = None
    name: str | None = None
    status: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> OperationStatus:
        """Build from the service's JSON object (its field names)."""
        known = {attr: None if body.get(wire) is None else str(body[wire]) for wire, attr in _FIELDS.items()}
        extra = {key: value for key, value in body.items() if key not in _FIELDS}
        return cls(**known, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        """Return the service's JSON shape: its field names and its extra fields (what goes to XCom)."""
        body: dict[str, Any] = {wire: getattr(self, attr) for wire, attr in _FIELDS.items()}
        body.update(self.extra)
        return body

    @property
    def terminal_status(self) -> str | None:
        """``succeeded``, ``failed`` or ``canceled`` when the operation has ended, else ``None``."""
        if self.status is None:
            return None
        return _SPELLINGS.get(self.status.strip().lower())

    @property
    def is_terminal(self) -> bool:
        """Whether the operation has ended (any other status, or none, means still running)."""
        return self.terminal_status is not None

    @property
    def succeeded(self) -> bool:
        """Whether the operation ended in ``Succeeded``."""
        return self.terminal_status == SUCCEEDED

    @property
    def state(self) -> str | None:
        """The status as the service spells it (what a log line names)."""
        return self.status

    def failure_details(self) -> str:
        """Describe a failure: ``error.code: error.message`` when the service says anything."""
        if self.error_code or self.error_message:
            return f"{self.error_code or 'error'}: {self.error_message or '(no message)'}"
        return ""

    def notes(self) -> list[str]:
        """Warnings the service attached to a success (an operation's status carries none)."""
        return []

    @property
    def error_code(self) -> str | None:
        """``error.code`` when the body carries an ARM error object."""
        error = self.extra.get("error")
        return str(error["code"]) if isinstance(error, dict) and error.get("code") else None

    @property
    def error_message(self) -> str | None:
        """``error.message`` when the body carries an ARM error object."""
        error = self.extra.get("error")
        return str(error["message"]) if isinstance(error, dict) and error.get("message") else None
