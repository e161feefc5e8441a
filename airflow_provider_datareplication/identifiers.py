"""
What a wait reads, named and checked as Azure checks it: a job's operation, an operation by its URL, a job.

Each is a frozen object built once per task run (with the connection's defaults filled in) and
passed as it is to the hook, the trigger and the task's messages. Construction raises
:class:`ValueError` naming the parameter and the rule it breaks, so a bad value never reaches
the network. Standard library only: DAG parsing imports this module.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import MISSING, asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast
from urllib.parse import parse_qs, quote, unquote, urlsplit

from airflow_provider_datareplication.job import Job
from airflow_provider_datareplication.operation_status import OperationStatus
from airflow_provider_datareplication.protected_item import ProtectedItemStatus
from airflow_provider_datareplication.resource import ResourceBody

if TYPE_CHECKING:
    from collections.abc import Callable

#: The only api-version that serves ``.../jobs/{job}/operations/{operation}``.
DEFAULT_API_VERSION = "2021-02-16-preview"
#: The first stable api-version: jobs, and operations by their URL (Azure's SDK 1.0.0, CLI, Az.Migrate).
JOB_API_VERSION = "2024-09-01"

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


#: How each identifier is checked, by its parameter name.
CHECKS: dict[str, Callable[[Any], str]] = {
    "subscription_id": check_subscription_id,
    "resource_group_name": check_resource_group_name,
    "vault_name": lambda value: check_name("vault_name", value),
    "job_name": lambda value: check_name("job_name", value),
    "protected_item_name": lambda value: check_name("protected_item_name", value),
    "operation_id": check_operation_id,
    "api_version": check_api_version,
}
#: Identifiers a task may leave out, filled in from the connection's extras (by extra key).
FROM_CONNECTION = {
    "subscription_id": "subscriptionId",
    "resource_group_name": "resource_group_name",
    "vault_name": "vault_name",
}
#: The default of a parameter a task must give.
REQUIRED: Any = inspect.Parameter.empty


class Status(Protocol):
    """What a wait asks of an answer: where it stands, and the service's body for XCom."""

    @property
    def state(self) -> str | None:
        """Return the state (or status) as the service spells it."""

    @property
    def is_terminal(self) -> bool:
        """Return whether the wait is over."""

    @property
    def succeeded(self) -> bool:
        """Return whether it ended well."""

    def to_dict(self) -> dict[str, Any]:
        """Return the service's body, as sent (what goes to XCom)."""

    def failure_details(self) -> str:
        """Describe a failure as the service does (empty when it says nothing)."""

    def notes(self) -> list[str]:
        """Return the warnings attached to a success (logged, not raised)."""


#: Where the triggers are (each kind of target names its own).
_TRIGGERS = "airflow_provider_datareplication.triggers.data_replication."


class Target(Protocol):
    """What a task reads: the request's URL, how to name it in messages, its status model."""

    kind: ClassVar[str]
    status_model: ClassVar[type[Any]]
    listing: ClassVar[Listing | None]
    gone_on_404: ClassVar[bool]
    running_on_202: ClassVar[bool]
    trigger: ClassVar[str]
    failure_error: ClassVar[str]

    @property
    def subscription_id(self) -> str: ...

    def url(self, resource_manager_url: str) -> str: ...

    def describe(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...

    def portal_resource_id(self) -> str | None: ...


def _resource_id(*segments: str) -> str:
    return "".join(f"/{_segment(segment)}" for segment in segments)


def vault_resource_id(names: Any) -> str:
    """
    Return the ARM resource id of a replication vault (each segment percent-encoded).

    :param names: Anything with ``subscription_id``, ``resource_group_name`` and ``vault_name``.
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
    )


def job_resource_id(names: Any) -> str:
    """
    Return the ARM resource id of a job (each segment percent-encoded).

    :param names: Anything with ``subscription_id``, ``resource_group_name``, ``vault_name`` and
        ``job_name``.
    """
    return f"{vault_resource_id(names)}/jobs/{_segment(names.job_name)}"


@dataclass(frozen=True)
class Listing:
    """
    How a kind of target is read in its vault's list, where waits on many of them share the list.

    :param segment: The list's path segment under the vault (``protectedItems``, ``jobs``).
    :param name_field: The target's field its list entry's ``name`` equals.
    :param newest_first: The list comes newest first (jobs: every recording shows it, the API does
        not promise it): it is read only back to the oldest job waited on while that holds.
    :param complete_when_running: An entry serves only while its job runs (a list leaves an ended
        job's ``tasks`` and ``errors`` null: it is read alone); else every entry serves.
    """

    segment: str
    name_field: str
    newest_first: bool = False
    complete_when_running: bool = False

    def name_of(self, target: Any) -> str:
        """Return the name of the target's list entry."""
        return str(getattr(target, self.name_field))

    def group_of(self, target: Any) -> tuple[str, str, str]:
        """Return what one list serves: the vault (lower-cased id), the segment, the api-version."""
        return (vault_resource_id(target).lower(), self.segment, target.api_version)

    def url(self, target: Any, resource_manager_url: str) -> str:
        """Return the URL of the list's first page."""
        return (
            f"{resource_manager_url}{vault_resource_id(target)}/{self.segment}"
            f"?api-version={_segment(target.api_version)}"
        )

    def describe(self, target: Any) -> str:
        """Name the list for messages."""
        return f"the {self.segment} of vault {target.vault_name!r} ({target.resource_group_name!r})"

    def status_of(self, target_class: Any, entry: dict[str, Any]) -> Any:
        """Return a list entry's status model (``None`` for an entry not of that shape)."""
        return (
            target_class.status_model.from_dict(entry) if isinstance(entry.get("properties"), dict) else None
        )

    def complete(self, status: Any) -> bool:
        """Whether a list entry's status serves a wait by itself."""
        return not self.complete_when_running or not status.is_terminal


def _parameters(cls: Any) -> dict[str, Any]:
    return {
        item.name: None
        if item.name in FROM_CONNECTION
        else (REQUIRED if item.default is MISSING else item.default)
        for item in fields(cls)
    }


def _named(cls: Any, connection: Any, names: dict[str, Any]) -> Any:
    unknown = sorted(set(names) - set(cls.task_parameters()))
    if unknown:
        raise TypeError(f"unexpected identifiers for {cls.__name__}: {unknown}")
    values = {}
    for item in fields(cls):
        value = names.get(item.name)
        if value is None and item.name in FROM_CONNECTION:
            value = getattr(connection, item.name)
            if value is None:
                raise ValueError(
                    f"{item.name} is required: pass it to the task or set "
                    f"{FROM_CONNECTION[item.name]!r} in the extras of connection {connection.conn_id!r}"
                )
        elif value is None and item.default is not MISSING:
            value = item.default
        values[item.name] = value
    return cls(**values)


@dataclass(frozen=True, slots=True)
class _InVault:
    """
    Something in a replication vault, named by identifiers, each checked by its rule when built.

    The fields are the parameters that name it: tasks and triggers take the same (see
    :meth:`task_parameters`), and :meth:`resolve` fills in what the connection holds.
    """

    kind: ClassVar[str] = ""
    #: How waits on many of this kind share their vault's list (``None``: each is read alone).
    listing: ClassVar[Listing | None] = None
    #: A 404 means the target is gone (an empty status), once its vault is known to exist.
    gone_on_404: ClassVar[bool] = False
    #: An HTTP 202 answer means it is still running (an operation-results URL while it runs).
    running_on_202: ClassVar[bool] = False
    #: The trigger that waits on this kind (named, not imported: it loads only when deferring).
    trigger: ClassVar[str] = ""
    #: The error a failure raises (a class of :mod:`~airflow_provider_datareplication.exceptions`).
    failure_error: ClassVar[str] = "AzureDataReplicationOperationFailedError"

    subscription_id: str
    resource_group_name: str
    vault_name: str

    def __post_init__(self) -> None:
        for item in fields(self):
            object.__setattr__(self, item.name, CHECKS[item.name](getattr(self, item.name)))

    @classmethod
    def task_parameters(cls) -> dict[str, Any]:
        """
        Return the parameters a task names this with, and their defaults (:data:`REQUIRED` if none).

        Those the connection can fill in default to ``None``.
        """
        return _parameters(cls)

    @classmethod
    def resolve(cls, connection: Any, **names: Any) -> Any:
        """
        Name it: the identifiers given, the connection's defaults for those left out, every rule checked.

        :param connection: The connection's settings (its default subscription, group and vault).
        :param names: The identifiers, as :meth:`task_parameters` names them.
        """
        return _named(cls, connection, names)

    def url(self, resource_manager_url: str) -> str:
        """Return the request's URL on an ARM endpoint."""
        return f"{resource_manager_url}{self.path}"

    def in_vault(self) -> str:
        """Say where it is, for messages: its vault and resource group."""
        return f"in vault {self.vault_name!r} (resource group {self.resource_group_name!r})"

    @property
    def path(self) -> str:
        """The ARM path and query of the read, each segment percent-encoded."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """Return the identifiers as keyword arguments (a trigger's, or :meth:`resolve`'s)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class JobOperation(_InVault):
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
    status_model: ClassVar[type[Any]] = OperationStatus
    running_on_202: ClassVar[bool] = True
    trigger: ClassVar[str] = _TRIGGERS + "AzureDataReplicationOperationTrigger"

    job_name: str
    operation_id: str
    api_version: str = DEFAULT_API_VERSION

    @classmethod
    def task_parameters(cls) -> dict[str, Any]:
        """Return the operation's parameters: ``operation_id`` and ``job_name``, or ``operation_url``."""
        return {
            **_parameters(cls),
            "job_name": None,
            "operation_id": None,
            "operation_url": None,
        }

    @classmethod
    def resolve(cls, connection: Any, **names: Any) -> JobOperation | OperationUrl:
        """
        Name an operation: by its identifiers (with the connection's defaults), or by its URL.

        :param connection: The connection's settings (its defaults and ARM endpoint).
        :param names: ``operation_id`` and ``job_name`` (with the vault's identifiers), or
            ``operation_url``.
        """
        operation_url = names.pop("operation_url", None)
        check_operation_choice(
            operation_id=names.get("operation_id"),
            job_name=names.get("job_name"),
            operation_url=operation_url,
        )
        if operation_url is not None:
            return OperationUrl.on(operation_url, connection.resource_manager_url)
        return cast("JobOperation", _named(cls, connection, names))

    @property
    def path(self) -> str:
        """The ARM path and query of "Workflow Operation Status - Get", each segment percent-encoded."""
        return (
            f"{job_resource_id(self)}/operations/{_segment(self.operation_id)}"
            f"?api-version={_segment(self.api_version)}"
        )

    def describe(self) -> str:
        """Name the operation for messages: operation, job, vault and resource group."""
        return f"operation {self.operation_id!r} of job {self.job_name!r} {self.in_vault()}"

    def portal_resource_id(self) -> str | None:
        """Return the resource id the Azure portal shows for this operation: its job."""
        return job_resource_id(self)


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


@dataclass(frozen=True, slots=True)
class OperationUrl:
    """
    An operation by the URL a Data Replication long-running call returned, in any api-version.

    The ``Azure-AsyncOperation`` (or ``Location``) header of a call such as a planned failover;
    it answers the same ``OperationStatus`` (202 with no body while the operation runs). Build it
    with :meth:`on`, which also checks that the URL points at the connection's ARM endpoint: a
    bearer token goes nowhere else.

    :param operation_url: The URL.
    """

    kind: ClassVar[str] = "operation"
    status_model: ClassVar[type[Any]] = OperationStatus
    listing: ClassVar[Listing | None] = None
    gone_on_404: ClassVar[bool] = False
    running_on_202: ClassVar[bool] = True
    trigger: ClassVar[str] = _TRIGGERS + "AzureDataReplicationOperationTrigger"
    failure_error: ClassVar[str] = "AzureDataReplicationOperationFailedError"

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

    @property
    def operation_id(self) -> str:
        """The operation id: the URL's last path segment (``<job GUID>_<suffix>`` for a job's)."""
        return unquote(urlsplit(self.operation_url).path.rsplit("/", 1)[-1])

    def url(self, resource_manager_url: str) -> str:
        """Return the request's URL: the operation URL as it was given."""
        return self.operation_url

    def describe(self) -> str:
        """Name the operation for messages: its URL without the query."""
        parts = urlsplit(self.operation_url)
        return f"operation {parts.path.rsplit('/', 1)[-1]!r} ({parts.path})"

    def to_dict(self) -> dict[str, Any]:
        """Return the identifier as keyword arguments (a trigger's)."""
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
class VaultJob(_InVault):
    """
    One job of a replication vault ("Job - Get", stable api-versions).

    :param subscription_id: The subscription, a UUID (any case; sent as given).
    :param resource_group_name: The resource group (ARM's rule: 1 to 90 characters).
    :param vault_name: The replication vault (letters, digits, ``-``, ``_``, ``.``).
    :param job_name: The job, usually a GUID (letters, digits, ``-``, ``_``, ``.``).
    :param api_version: The api-version query value (``2024-09-01`` or later).
    """

    kind: ClassVar[str] = "job"
    status_model: ClassVar[type[Any]] = Job
    trigger: ClassVar[str] = _TRIGGERS + "AzureDataReplicationJobTrigger"
    failure_error: ClassVar[str] = "AzureDataReplicationJobFailedError"
    listing: ClassVar[Listing | None] = Listing(
        "jobs", "job_name", newest_first=True, complete_when_running=True
    )

    job_name: str
    api_version: str = JOB_API_VERSION

    @property
    def path(self) -> str:
        """The ARM path and query of "Job - Get", each segment percent-encoded."""
        return f"{job_resource_id(self)}?api-version={_segment(self.api_version)}"

    def describe(self) -> str:
        """Name the job for messages: job, vault and resource group."""
        return f"job {self.job_name!r} {self.in_vault()}"

    def portal_resource_id(self) -> str | None:
        """Return the resource id the Azure portal shows: the job."""
        return job_resource_id(self)


@dataclass(frozen=True, slots=True)
class ProtectedItem(_InVault):
    """
    One protected item (a replicated server) of a replication vault (stable api-versions).

    :param subscription_id: The subscription, a UUID (any case; sent as given).
    :param resource_group_name: The resource group (ARM's rule: 1 to 90 characters).
    :param vault_name: The replication vault (letters, digits, ``-``, ``_``, ``.``).
    :param protected_item_name: The protected item (letters, digits, ``-``, ``_``, ``.``; real ones
        look like ``100-69-177-104-<guid>_<guid>``).
    :param api_version: The api-version query value (``2024-09-01`` or later).
    """

    kind: ClassVar[str] = "protected_item"
    status_model: ClassVar[type[Any]] = ProtectedItemStatus
    trigger: ClassVar[str] = _TRIGGERS + "AzureDataReplicationProtectedItemTrigger"
    failure_error: ClassVar[str] = "AzureDataReplicationProtectedItemFailedError"
    listing: ClassVar[Listing | None] = Listing("protectedItems", "protected_item_name")
    gone_on_404: ClassVar[bool] = True

    protected_item_name: str
    api_version: str = JOB_API_VERSION

    @property
    def resource_id(self) -> str:
        """The item's ARM resource id (each segment percent-encoded)."""
        return f"{vault_resource_id(self)}/protectedItems/{_segment(self.protected_item_name)}"

    @property
    def path(self) -> str:
        """The ARM path and query of "Protected Item - Get", each segment percent-encoded."""
        return f"{self.resource_id}?api-version={_segment(self.api_version)}"

    def action_url(self, resource_manager_url: str, action: str = "", **query: str) -> str:
        """
        Return the URL of a call on the item: itself (``PUT``, ``DELETE``), or an action under it.

        :param resource_manager_url: The ARM endpoint.
        :param action: The action's path segment (``plannedFailover``), or none.
        :param query: More query parameters (``forceDelete``), after the api-version.
        """
        suffix = f"/{_segment(action)}" if action else ""
        extra = "".join(f"&{_segment(name)}={_segment(value)}" for name, value in query.items())
        version = _segment(self.api_version)
        return f"{resource_manager_url}{self.resource_id}{suffix}?api-version={version}{extra}"

    def jobs_url(self, resource_manager_url: str) -> str:
        """Return the URL of the vault's job list (the first page)."""
        return (
            f"{resource_manager_url}{vault_resource_id(self)}/jobs?api-version={_segment(self.api_version)}"
        )

    def vault_url(self, resource_manager_url: str) -> str:
        """Return the URL of the item's vault ("Vault - Get")."""
        return f"{resource_manager_url}{vault_resource_id(self)}?api-version={_segment(self.api_version)}"

    def operation_results_url(self, resource_manager_url: str, job_name: str, vault_guid: str) -> str:
        """
        Return the operation-results URL of a job an action on the item started, as the service names it.

        ``.../resourceGroups/{rg}/providers/Microsoft.DataReplication/operationResults/{job}_{vault}``:
        what a start answers in ``Azure-AsyncOperation`` and ``Location``, the vault's part being the
        ``VaultId`` a job's ``customProperties.affectedObjectDetails`` carries (as recorded by Azure
        PowerShell's tests).

        :param resource_manager_url: The ARM endpoint.
        :param job_name: The job.
        :param vault_guid: The vault's GUID.
        """
        group = _resource_id(
            "subscriptions", self.subscription_id, "resourceGroups", self.resource_group_name
        )
        return (
            f"{resource_manager_url}{group}/providers/Microsoft.DataReplication/operationResults/"
            f"{_segment(f'{job_name}_{vault_guid}')}?api-version={_segment(self.api_version)}"
        )

    def job(self, job_name: str) -> VaultJob:
        """
        Return a job of the item's vault (a job its actions started).

        :param job_name: The job.
        """
        return VaultJob(
            self.subscription_id, self.resource_group_name, self.vault_name, job_name, self.api_version
        )

    def describe(self) -> str:
        """Name the item for messages: item, vault and resource group."""
        return f"protected item {self.protected_item_name!r} {self.in_vault()}"

    def portal_resource_id(self) -> str | None:
        """Return the resource id the Azure portal shows: the item."""
        return self.resource_id


@dataclass(frozen=True, slots=True)
class ReplicationVault(_InVault):
    """
    A replication vault, for what is read of it as a whole: its protected items' list.

    :param subscription_id: The subscription, a UUID (any case; sent as given).
    :param resource_group_name: The resource group (ARM's rule: 1 to 90 characters).
    :param vault_name: The replication vault (letters, digits, ``-``, ``_``, ``.``).
    :param api_version: The api-version query value (``2024-09-01`` or later).
    """

    kind: ClassVar[str] = "vault"
    status_model: ClassVar[type[Any]] = ResourceBody

    api_version: str = JOB_API_VERSION

    @property
    def path(self) -> str:
        """The ARM path and query of "Vault - Get", each segment percent-encoded."""
        return f"{vault_resource_id(self)}?api-version={_segment(self.api_version)}"

    def protected_items_url(self, resource_manager_url: str) -> str:
        """Return the URL of the first page of the vault's protected items ("Protected Item - List")."""
        return cast("Listing", ProtectedItem.listing).url(self, resource_manager_url)

    def describe(self) -> str:
        """Name the vault for messages: vault and resource group."""
        return f"vault {self.vault_name!r} (resource group {self.resource_group_name!r})"

    def portal_resource_id(self) -> str | None:
        """Return the resource id the Azure portal shows: the vault."""
        return vault_resource_id(self)


def job_name_from_operation_url(operation_url: str) -> str:
    """
    Return the job a long-running call started, from the operation URL it answered with.

    The URL's last path segment is ``<job GUID>_<vault GUID>`` (``.../operationResults/{id}``);
    the job is the part before ``_``, as Azure's Az.Migrate cmdlets take it.

    :param operation_url: The ``Azure-AsyncOperation`` (or ``Location``) URL.
    """
    operation = unquote(urlsplit(operation_url).path.rstrip("/").rsplit("/", 1)[-1])
    return check_name("job_name", operation.split("_", 1)[0])
