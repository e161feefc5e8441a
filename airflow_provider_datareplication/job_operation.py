"""Which operation to ask about: a job's operation in a replication vault, checked against the spec."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

#: The only api-version that serves ``.../jobs/{job}/operations/{operation}``.
DEFAULT_API_VERSION = "2021-02-16-preview"

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: Vault and job names as Azure accepts them: real job names are GUIDs (the spec's
#: ``^[a-zA-Z0-9]*$`` would refuse every one), so letters, digits, ``-``, ``_`` and ``.``,
#: starting with a letter or digit.
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
NAME_RULE = "one or more letters, digits, '-', '_' or '.', starting with a letter or digit"
#: ARM's rule for resource group names: 1 to 90 letters, digits, '_', '-', '.', '(' or ')',
#: not ending with '.'.
_RESOURCE_GROUP = re.compile(r"[-\w.()]{0,89}[-\w()]")
RESOURCE_GROUP_RULE = "1 to 90 letters, digits, '_', '-', '.', '(' or ')', not ending with '.'"
_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(-[a-zA-Z]+)?")


def _segment(value: str) -> str:
    # Azure's generated clients quote each path value with nothing left safe: "/" becomes "%2F".
    return quote(value, safe="")


def as_text(name: str, value: Any) -> str:
    """
    Return an identifier as text: a string as it is, a number as its digits.

    Airflow renders a templated ``"12345"`` as the number 12345 under
    ``render_template_as_native_obj=True``: that is still the name the user meant.

    :param name: The parameter, for the error.
    :param value: Its value.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"{name} must be a string, got {type(value).__name__} {value!r}")


def check_subscription_id(value: Any) -> str:
    """Return a subscription id checked as a UUID (any case; sent as given)."""
    text = as_text("subscription_id", value)
    if not _UUID.fullmatch(text):
        raise ValueError(f"subscription_id must be a UUID (8-4-4-4-12 hexadecimal digits), got {text!r}")
    return text


def check_resource_group_name(value: Any) -> str:
    """Return a resource group name checked against ARM's rule."""
    text = as_text("resource_group_name", value)
    if not _RESOURCE_GROUP.fullmatch(text):
        raise ValueError(f"resource_group_name must be {RESOURCE_GROUP_RULE}, got {text!r}")
    return text


def check_name(name: str, value: Any) -> str:
    """
    Return a vault or job name checked against what Azure accepts.

    :param name: The parameter (``vault_name``, ``job_name``).
    :param value: Its value.
    """
    text = as_text(name, value)
    if not _NAME.fullmatch(text):
        raise ValueError(f"{name} must be {NAME_RULE} (no spaces or '/'), got {text!r}")
    return text


def check_operation_id(value: Any) -> str:
    """Return an operation id: any non-empty text (sent percent-encoded), without surrounding spaces."""
    text = as_text("operation_id", value)
    if not text or text != text.strip() or any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ValueError(
            "operation_id must be non-empty text without leading or trailing whitespace or control "
            f"characters, got {text!r}"
        )
    return text


def check_api_version(value: Any) -> str:
    """Return an api-version checked for its form (``YYYY-MM-DD``, optionally ``-preview``)."""
    text = as_text("api_version", value)
    if not _API_VERSION.fullmatch(text):
        raise ValueError(f"api_version must look like 2024-09-01 or 2021-02-16-preview, got {text!r}")
    return text


@dataclass(frozen=True, slots=True)
class JobOperation:
    """
    One asynchronous operation of a job in a replication vault, with every identifier checked.

    Construction raises :class:`ValueError` naming the parameter and the rule it breaks, so a bad
    value never reaches the network. Numbers are taken as their text.

    :param subscription_id: The subscription, a UUID (any case; sent as given).
    :param resource_group_name: The resource group (ARM's rule: 1 to 90 characters).
    :param vault_name: The replication vault (letters, digits, ``-``, ``_``, ``.``).
    :param job_name: The job, usually a GUID (letters, digits, ``-``, ``_``, ``.``).
    :param operation_id: The operation, non-empty (any characters; sent percent-encoded).
    :param api_version: The api-version query value.
    """

    subscription_id: str
    resource_group_name: str
    vault_name: str
    job_name: str
    operation_id: str
    api_version: str = DEFAULT_API_VERSION

    def __post_init__(self) -> None:
        checked = {
            "subscription_id": check_subscription_id(self.subscription_id),
            "resource_group_name": check_resource_group_name(self.resource_group_name),
            "vault_name": check_name("vault_name", self.vault_name),
            "job_name": check_name("job_name", self.job_name),
            "operation_id": check_operation_id(self.operation_id),
            "api_version": check_api_version(self.api_version),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)

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
