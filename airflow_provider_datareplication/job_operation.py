"""Which operation to ask about: a job's operation in a replication vault, checked against the spec."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

#: The only api-version that serves ``.../jobs/{job}/operations/{operation}``.
DEFAULT_API_VERSION = "2021-02-16-preview"

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NAME = re.compile(r"[a-zA-Z0-9]+")


def _segment(value: str) -> str:
    # Azure's generated clients quote each path value with nothing left safe: "/" becomes "%2F".
    return quote(value, safe="")


@dataclass(frozen=True, slots=True)
class JobOperation:
    """
    One asynchronous operation of a job in a replication vault, with every identifier checked.

    Construction raises :class:`ValueError` naming the parameter and the rule it breaks, so a bad
    value never reaches the network.

    :param subscription_id: The subscription, a UUID (any case; sent as given).
    :param resource_group_name: The resource group, 1 to 90 characters.
    :param vault_name: The replication vault, ``[a-zA-Z0-9]+``.
    :param job_name: The job (workflow), ``[a-zA-Z0-9]+``.
    :param operation_id: The operation, non-empty.
    :param api_version: The api-version query value, non-empty.
    """

    subscription_id: str
    resource_group_name: str
    vault_name: str
    job_name: str
    operation_id: str
    api_version: str = DEFAULT_API_VERSION

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, str):
                raise ValueError(f"{name} must be a string, got {type(value).__name__}")
        if not _UUID.fullmatch(self.subscription_id):
            raise ValueError(
                "subscription_id must be a UUID (8-4-4-4-12 hexadecimal digits), "
                f"got {self.subscription_id!r}"
            )
        if not 1 <= len(self.resource_group_name) <= 90:
            raise ValueError(
                "resource_group_name must be 1 to 90 characters long, "
                f"got {len(self.resource_group_name)} characters"
            )
        for name in ("vault_name", "job_name"):
            value = getattr(self, name)
            if not _NAME.fullmatch(value):
                raise ValueError(f"{name} must be non-empty and match ^[a-zA-Z0-9]+$, got {value!r}")
        for name in ("operation_id", "api_version"):
            if not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string")

    @property
    def path(self) -> str:
        """The ARM path and query of "Workflow Operation Status - Get", each segment percent-encoded."""
        return (
            f"/subscriptions/{_segment(self.subscription_id)}"
            f"/resourceGroups/{_segment(self.resource_group_name)}"
            f"/providers/Microsoft.DataReplication/replicationVaults/{_segment(self.vault_name)}"
            f"/jobs/{_segment(self.job_name)}/operations/{_segment(self.operation_id)}"
            f"?api-version={_segment(self.api_version)}"
        )

    def describe(self) -> str:
        """Name the operation for messages: operation, job, vault and resource group."""
        return (
            f"operation {self.operation_id!r} of job {self.job_name!r} in vault {self.vault_name!r} "
            f"(resource group {self.resource_group_name!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the identifiers as keyword arguments (for a trigger's ``serialize()``)."""
        return asdict(self)
