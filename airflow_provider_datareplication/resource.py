"""An ARM resource as the service answered it: its body, kept exactly as sent (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self


def text(value: Any) -> str | None:
    """Return a field of a body as text, ``None`` when it is missing or empty."""
    return None if value in (None, "") else str(value)


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
