"""An ARM resource as the service answered it: its body, kept exactly as sent (standard library only)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self


def text(value: Any) -> str | None:
    """Return a field of a body as text, ``None`` when it is missing or empty."""
    return None if value in (None, "") else str(value)


_ISO_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?")


def iso_time(value: Any) -> datetime | None:
    """
    Return a time the service wrote (ISO 8601, seven decimals at most), in UTC; ``None`` if it is none.

    :param value: The field's value (``"2025-02-19T21:56:25.0553463Z"``).
    """
    match = _ISO_TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    base, fraction, zone = match.groups()
    # datetime takes six decimals; no zone is UTC, as the service means it.
    when = datetime.fromisoformat(base + (fraction or "")[:7] + ("+00:00" if zone in (None, "Z") else zone))
    return when.astimezone(UTC)


def describe_errors(errors: Any) -> list[str]:
    """
    Describe the service's errors (a job's ``errors``, an item's ``healthErrors``) as it words them.

    Each as ``code: message``, with its causes, its recommendation and its child errors (described
    the same way) when it gives them.

    :param errors: The list the body holds (anything else describes nothing).
    """
    described = []
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        code = error.get("code") or error.get("errorCode") or "error"
        line = f"{code}: {error.get('message') or '(no message)'}"
        if error.get("causes"):
            line += f" (causes: {error['causes']})"
        if error.get("recommendation"):
            line += f" (recommendation: {error['recommendation']})"
        if children := describe_errors(error.get("childErrors")):
            line += f" (child errors: {'; '.join(children)})"
        described.append(line)
    return described


@dataclass(frozen=True)
class ResourceBody:
    """
    A resource's JSON body, exactly as the service sent it: what goes to XCom, extra fields included.

    :param body: The JSON object the service answered.
    """

    body: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Self:
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
