"""
What a wait reads, named and checked as Azure checks it: a job's operation, an operation by its URL, a job.

Each is a frozen object built once per task run (with the connection's defaults filled in) and
passed as it is to the hook, the trigger and the task's messages. Construction raises
:class:`ValueError` naming the parameter and the rule it breaks, so a bad value never reaches
the network. Standard library only: DAG parsing imports this module.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Protocol
from urllib.parse import parse_qs, quote, unquote, urlsplit

#: The only api-version that serves ``.../jobs/{job}/operations/{operation}``.
DEFAULT_API_VERSION = "2021-02-16-preview"
#: The first stable api-version: jobs, and operations by their URL (Azure's SDK 1.0.0, CLI, Az.Migrate).
JOB_API_VERSION = "2024-09-01"

#: The parameters that name an operation, with their defaults (the operation sensor, operator
#: and trigger all take these).
OPERATION_PARAMETERS: dict[str, Any] = {
    "operation_id": None,
    "job_name": None,
    "vault_name": None,
    "resource_group_name": None,
    "subscription_id": None,
    "api_version": DEFAULT_API_VERSION,
    "operation_url": None,
}
#: The parameters that name a job, with their defaults (the job sensor, operator and trigger).
JOB_PARAMETERS: dict[str, Any] = {
    "job_name": None,
    "vault_name": None,
    "resource_group_name": None,
    "subscription_id": None,
    "api_version": JOB_API_VERSION,
}

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
_PROVIDER = "/providers/microsoft.datareplication/"
#: Where a Data Replication operation URL may point: under the provider, at subscription or
#: resource group level (async-operation URLs are often ``/subscriptions/{sub}/providers/
#: Microsoft.DataReplication/locations/{location}/operationResults/{id}``).
_OPERATION_URL_PATH = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)(?:/resourceGroups/(?P<rg>[^/]+))?/providers/Microsoft\.DataReplication/"
    r"(?P<rest>.+)",
    re.IGNORECASE,
)
_VAULT_IN_PATH = re.compile(r"/replicationVaults/(?P<vault>[^/]+)", re.IGNORECASE)


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
    if value is None:
        raise ValueError(f"{name} is required")
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


def check_operation_url_form(value: Any) -> str:
    """
    Return an operation URL checked for what can be checked without the connection.

    https, no credentials or fragment, a path under ``/subscriptions/{uuid}[/resourceGroups/{rg}]
    /providers/Microsoft.DataReplication/``, and an ``api-version``. That it points at the
    connection's ARM endpoint is checked by :meth:`OperationUrl.on`.

    :param value: The URL a long-running call returned in ``Azure-AsyncOperation`` or ``Location``.
    """
    text = as_text("operation_url", value)
    parts = urlsplit(text)
    problem = None
    match = _OPERATION_URL_PATH.fullmatch(parts.path)
    if parts.scheme.lower() != "https" or not parts.hostname:
        problem = "an https:// URL (a bearer token is never sent over plain http)"
    elif parts.username is not None or parts.password is not None or parts.fragment:
        problem = "a URL without credentials or a fragment"
    elif match is None or not _UUID.fullmatch(unquote(match["sub"])):
        problem = (
            "under /subscriptions/{subscription}/providers/Microsoft.DataReplication/ or "
            "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.DataReplication/"
        )
    elif not parse_qs(parts.query).get("api-version", [""])[0]:
        problem = "a URL with its api-version"
    if problem:
        raise ValueError(
            f"operation_url must be {problem}: the Azure-AsyncOperation or Location URL a Data "
            f"Replication call returned, got {text!r}"
        )
    return text


class Target(Protocol):
    """What a wait reads: the request's URL, and how to name it in messages."""

    kind: ClassVar[str]

    @property
    def subscription_id(self) -> str: ...

    def url(self, resource_manager_url: str) -> str: ...

    def describe(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...

    def portal_resource_id(self) -> str | None: ...


def _resource_id(*segments: str) -> str:
    return "".join(f"/{_segment(segment)}" for segment in segments)


def job_resource_id(names: Any) -> str:
    """
    Return the ARM resource id of a job (each segment percent-encoded).

    :param names: Anything with ``subscription_id``, ``resource_group_name``, ``vault_name`` and
        ``job_name``.
    """
    return _resource_id(
        "subscriptions",
        names.subscription_id,
        "resourceGroups",
        names.resource_group_name,
        "providers",
        "Microsoft.DataReplication",
        "replicationVaults",
        names.vault_name,
        "jobs",
        names.job_name,
    )


@dataclass(frozen=True, slots=True)
class JobOperation:
    """
    One asynchronous operation of a job in a replication vault ("Workflow Operation Status - Get").

    Numbers are taken as their text.

    :param subscription_id: The subscription, a UUID (any case; sent as given).
    :param resource_group_name: The resource group (ARM's rule: 1 to 90 characters).
    :param vault_name: The replication vault (letters, digits, ``-``, ``_``, ``.``).
    :param job_name: The job, usually a GUID (letters, digits, ``-``, ``_``, ``.``).
    :param operation_id: The operation, non-empty (any characters; sent percent-encoded).
    :param api_version: The api-version query value.
    """

    kind: ClassVar[str] = "operation"

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
            f"{job_resource_id(self)}/operations/{_segment(self.operation_id)}"
            f"?api-version={_segment(self.api_version)}"
        )

    def url(self, resource_manager_url: str) -> str:
        """Return the request's URL on an ARM endpoint."""
        return f"{resource_manager_url}{self.path}"

    def describe(self) -> str:
        """Name the operation for messages: operation, job, vault and resource group."""
        return (
            f"operation {self.operation_id!r} of job {self.job_name!r} in vault {self.vault_name!r} "
            f"(resource group {self.resource_group_name!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the identifiers as keyword arguments (for a trigger's event)."""
        return asdict(self)

    def portal_resource_id(self) -> str | None:
        """Return the resource id the Azure portal shows for this operation: its job."""
        return job_resource_id(self)


@dataclass(frozen=True, slots=True)
class OperationUrl:
    """
    An operation by the URL a Data Replication long-running call returned, in any api-version.

    The ``Azure-AsyncOperation`` (or ``Location``) header of a call such as a planned failover;
    it answers the same ``OperationStatus``. Build it with :meth:`on`, which also checks that the
    URL points at the connection's ARM endpoint: a bearer token goes nowhere else.

    :param operation_url: The URL.
    """

    kind: ClassVar[str] = "operation"

    operation_url: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "operation_url", check_operation_url_form(self.operation_url))

    @classmethod
    def on(cls, operation_url: Any, resource_manager_url: str) -> OperationUrl:
        """
        Check an operation URL against the connection's ARM endpoint (scheme, host and port).

        :param operation_url: The URL.
        :param resource_manager_url: The connection's ARM endpoint.
        """
        target = cls(operation_url)
        given, arm = urlsplit(target.operation_url), urlsplit(resource_manager_url)
        if (given.scheme.lower(), given.hostname, given.port or 443) != (
            arm.scheme.lower(),
            arm.hostname,
            arm.port or 443,
        ):
            raise ValueError(
                f"operation_url must point at the connection's Azure Resource Manager endpoint "
                f"({resource_manager_url}): a bearer token is sent nowhere else; got {target.operation_url!r}"
            )
        return target

    @property
    def subscription_id(self) -> str:
        """The subscription the URL is under (for read pacing)."""
        match = _OPERATION_URL_PATH.fullmatch(urlsplit(self.operation_url).path)
        assert match is not None
        return unquote(match["sub"])

    def url(self, resource_manager_url: str) -> str:
        """Return the request's URL: the operation URL as it was given."""
        return self.operation_url

    def describe(self) -> str:
        """Name the operation for messages: its URL without the query."""
        parts = urlsplit(self.operation_url)
        return f"operation {parts.path.rsplit('/', 1)[-1]!r} ({parts.path})"

    def to_dict(self) -> dict[str, Any]:
        """Return the identifier as keyword arguments (for a trigger's event)."""
        return {"operation_url": self.operation_url}

    def portal_resource_id(self) -> str | None:
        """Return the vault the operation is in, when its URL names one."""
        path = urlsplit(self.operation_url).path
        match = _OPERATION_URL_PATH.fullmatch(path)
        vault = _VAULT_IN_PATH.search(path)
        if match is None or vault is None or match["rg"] is None:
            return None
        return _resource_id(
            "subscriptions",
            unquote(match["sub"]),
            "resourceGroups",
            unquote(match["rg"]),
            "providers",
            "Microsoft.DataReplication",
            "replicationVaults",
            unquote(vault["vault"]),
        )


@dataclass(frozen=True, slots=True)
class VaultJob:
    """
    One job of a replication vault ("Job - Get", stable api-versions).

    :param subscription_id: The subscription, a UUID (any case; sent as given).
    :param resource_group_name: The resource group (ARM's rule: 1 to 90 characters).
    :param vault_name: The replication vault (letters, digits, ``-``, ``_``, ``.``).
    :param job_name: The job, usually a GUID (letters, digits, ``-``, ``_``, ``.``).
    :param api_version: The api-version query value (``2024-09-01`` or later).
    """

    kind: ClassVar[str] = "job"

    subscription_id: str
    resource_group_name: str
    vault_name: str
    job_name: str
    api_version: str = JOB_API_VERSION

    def __post_init__(self) -> None:
        checked = {
            "subscription_id": check_subscription_id(self.subscription_id),
            "resource_group_name": check_resource_group_name(self.resource_group_name),
            "vault_name": check_name("vault_name", self.vault_name),
            "job_name": check_name("job_name", self.job_name),
            "api_version": check_api_version(self.api_version),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    @property
    def path(self) -> str:
        """The ARM path and query of "Job - Get", each segment percent-encoded."""
        return f"{job_resource_id(self)}?api-version={_segment(self.api_version)}"

    def url(self, resource_manager_url: str) -> str:
        """Return the request's URL on an ARM endpoint."""
        return f"{resource_manager_url}{self.path}"

    def describe(self) -> str:
        """Name the job for messages: job, vault and resource group."""
        return (
            f"job {self.job_name!r} in vault {self.vault_name!r} "
            f"(resource group {self.resource_group_name!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the identifiers as keyword arguments (for a trigger's event)."""
        return asdict(self)

    def portal_resource_id(self) -> str | None:
        """Return the resource id the Azure portal shows: the job."""
        return job_resource_id(self)


def _pick(name: str, value: Any, default: str | None, extra_key: str, conn_id: str) -> Any:
    if value is None:
        value = default
    if value is None:
        raise ValueError(
            f"{name} is required: pass it to the task or set {extra_key!r} in the extras of connection "
            f"{conn_id!r}"
        )
    return value


def resolve_operation(
    connection: Any,
    *,
    operation_id: Any = None,
    job_name: Any = None,
    vault_name: Any = None,
    resource_group_name: Any = None,
    subscription_id: Any = None,
    api_version: Any = DEFAULT_API_VERSION,
    operation_url: Any = None,
) -> JobOperation | OperationUrl:
    """
    Name an operation: by its identifiers (with the connection's defaults), or by its URL.

    :param connection: The connection's settings (its defaults and ARM endpoint).
    :param operation_id: The operation id (with ``job_name``).
    :param job_name: The job.
    :param vault_name: The replication vault (default: the connection's ``vault_name``).
    :param resource_group_name: Default: the connection's ``resource_group_name``.
    :param subscription_id: Default: the connection's ``subscriptionId``.
    :param api_version: The api-version.
    :param operation_url: The operation's URL instead of the identifiers.
    """
    check_operation_choice(operation_id=operation_id, job_name=job_name, operation_url=operation_url)
    if operation_url is not None:
        return OperationUrl.on(operation_url, connection.resource_manager_url)
    conn_id = connection.conn_id
    return JobOperation(
        subscription_id=_pick(
            "subscription_id", subscription_id, connection.subscription_id, "subscriptionId", conn_id
        ),
        resource_group_name=_pick(
            "resource_group_name",
            resource_group_name,
            connection.resource_group_name,
            "resource_group_name",
            conn_id,
        ),
        vault_name=_pick("vault_name", vault_name, connection.vault_name, "vault_name", conn_id),
        job_name=job_name,
        operation_id=operation_id,
        api_version=api_version,
    )


def check_operation_choice(*, operation_id: Any, job_name: Any, operation_url: Any) -> None:
    """
    Refuse an operation named both by identifiers and by URL, or neither.

    :param operation_id: The operation id, if given.
    :param job_name: The job, if given.
    :param operation_url: The operation URL, if given.
    """
    by_ids = operation_id is not None or job_name is not None
    if operation_url is not None and by_ids:
        raise ValueError("operation_url names the operation by itself: pass it, or operation_id and job_name")
    if operation_url is None and (operation_id is None or job_name is None):
        raise ValueError("name the operation: operation_id and job_name, or operation_url")


def resolve_job(
    connection: Any,
    *,
    job_name: Any,
    vault_name: Any = None,
    resource_group_name: Any = None,
    subscription_id: Any = None,
    api_version: Any = JOB_API_VERSION,
) -> VaultJob:
    """
    Name a job, with the connection's defaults.

    :param connection: The connection's settings (its defaults).
    :param job_name: The job.
    :param vault_name: The replication vault (default: the connection's ``vault_name``).
    :param resource_group_name: Default: the connection's ``resource_group_name``.
    :param subscription_id: Default: the connection's ``subscriptionId``.
    :param api_version: The api-version.
    """
    conn_id = connection.conn_id
    return VaultJob(
        subscription_id=_pick(
            "subscription_id", subscription_id, connection.subscription_id, "subscriptionId", conn_id
        ),
        resource_group_name=_pick(
            "resource_group_name",
            resource_group_name,
            connection.resource_group_name,
            "resource_group_name",
            conn_id,
        ),
        vault_name=_pick("vault_name", vault_name, connection.vault_name, "vault_name", conn_id),
        job_name=job_name,
        api_version=api_version,
    )
