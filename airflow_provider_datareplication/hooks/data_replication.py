"""
Hooks that read what a Data Replication wait waits on: a job's operation, an operation by its URL, a job.

Every read goes through :meth:`get_status` with a target named once (see
:mod:`airflow_provider_datareplication.identifiers`); ``get_operation_status`` and ``get_job`` name
the target from keyword arguments and read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

from airflow_provider_datareplication.actions import StartedWork
from airflow_provider_datareplication.connection import (
    CONN_TYPE,
    DEFAULT_CONN_ID,
    AzureDataReplicationConnection,
)
from airflow_provider_datareplication.exceptions import (
    TRANSIENT_STATUS_CODES,
    AzureDataReplicationError,
    AzureDataReplicationNotFoundError,
    AzureDataReplicationTransientError,
    error_for_response,
    parse_error_body,
    request_ids_from,
)
from airflow_provider_datareplication.identifiers import (
    DEFAULT_API_VERSION,
    JOB_API_VERSION,
    JobOperation,
    OperationUrl,
    ProtectedItem,
    ReplicationVault,
    Target,
    VaultJob,
    job_name_from_operation_url,
    vault_resource_id,
)
from airflow_provider_datareplication.pacing import DATA_REPLICATION, Pacer, Pacers, process_pacers
from airflow_provider_datareplication.pipeline import (
    RequestSettings,
    adaptive_read_pacing,
    retry_after_seconds,
)
from airflow_provider_datareplication.version_compat import BaseHook

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Iterator
    from types import TracebackType

    from azure.core import AsyncPipelineClient, PipelineClient
    from azure.core.rest import HttpRequest

    from airflow_provider_datareplication.actions import ItemAction
    from airflow_provider_datareplication.arm_client import RenewableCredential
    from airflow_provider_datareplication.client_pool import ClientLease
    from airflow_provider_datareplication.job import Job
    from airflow_provider_datareplication.operation_status import OperationStatus
    from airflow_provider_datareplication.protected_item import ProtectedItemStatus
    from airflow_provider_datareplication.reads import Watch

DEFAULT_REQUEST_SETTINGS = RequestSettings()

T = TypeVar("T")

#: api-version of "Subscriptions - Get", the request :meth:`test_connection` sends.
SUBSCRIPTIONS_API_VERSION = "2022-12-01"


def answer_error(
    status_code: int, headers: Any, body: bytes, *, what: str, doing: str = "read the status of"
) -> AzureDataReplicationError:
    """
    Build the typed error for an answer that is not a success, with its ``Retry-After`` when it passes.

    :param status_code: The HTTP status.
    :param headers: The response headers.
    :param body: The raw body.
    :param what: What the call was about, for the message.
    :param doing: What the call did, for the message.
    """
    return error_for_response(
        status_code,
        headers,
        body,
        what=what,
        doing=doing,
        retry_after=retry_after_seconds(headers) if status_code in TRANSIENT_STATUS_CODES else None,
    )


def json_object(body: bytes) -> dict[str, Any] | None:
    """
    Return a body's JSON object, or ``None`` when it is empty, not JSON or not an object.

    :param body: The raw body.
    """
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def read_status(status_code: int, headers: Any, body: bytes, target: Target) -> Any:
    """
    Turn the service's answer into the target's status model, or raise the typed error.

    HTTP 200 is success; for an operation, 202 (an operation-results URL while the operation
    runs) means running. A 200 whose body is not a JSON object is a transient error.

    :param status_code: The HTTP status.
    :param headers: The response headers.
    :param body: The raw body.
    :param target: What was read (its kind, and its name for messages).
    """
    running = status_code == 202 and target.running_on_202
    if status_code != 200 and not running:
        raise answer_error(status_code, headers, body, what=target.describe())
    parsed = json_object(body) if body.strip() or not running else {}
    if parsed is None:
        _, excerpt = parse_error_body(body)
        raise AzureDataReplicationTransientError(
            f"The status of {target.describe()} came back HTTP {status_code} without a JSON object",
            error_message=excerpt,
            request_ids=request_ids_from(headers),
        )
    if running:
        parsed.pop("status", None)  # still running, whatever a 202's body says
    return target.status_model.from_dict(parsed)


def read_page(status_code: int, headers: Any, body: bytes, what: str) -> dict[str, Any]:
    """
    Turn one page of a list into its JSON object (``value``, ``nextLink``), or raise the typed error.

    :param status_code: The HTTP status.
    :param headers: The response headers.
    :param body: The raw body.
    :param what: What was listed, for messages.
    """
    if status_code != 200:
        raise answer_error(status_code, headers, body, what=what, doing="list")
    page = json_object(body)
    if page is None:
        raise AzureDataReplicationTransientError(
            f"Listing {what} came back HTTP 200 without a JSON object", request_ids=request_ids_from(headers)
        )
    return page


def protected_items_of(vault: ReplicationVault) -> str:
    """Name a vault's protected item list, for messages."""
    return f"the protected items of {vault.describe()}"


def listed_items(entries: Iterable[dict[str, Any]]) -> list[ProtectedItemStatus]:
    """
    Return a protected item list's entries as items (an entry without ``properties`` is left out).

    :param entries: The list's entries, every page's.
    """
    from airflow_provider_datareplication.protected_item import ProtectedItemStatus

    return [
        ProtectedItemStatus.from_dict(entry) for entry in entries if isinstance(entry.get("properties"), dict)
    ]


#: ARM error codes of a 404 that says a parent of the resource is missing (in words), not the resource.
PARENT_NOT_FOUND_CODES = {
    "subscriptionnotfound": "subscription",
    "resourcegroupnotfound": "resource group",
    "parentresourcenotfound": "vault",
}


def _not_found_as(err: AzureDataReplicationError, reason: str) -> AzureDataReplicationNotFoundError:
    return AzureDataReplicationNotFoundError(
        reason,
        http_status=err.http_status,
        error_code=err.error_code,
        error_message=err.error_message,
        request_ids=err.request_ids,
    )


def missing_parent(
    item: ProtectedItem, not_found: AzureDataReplicationError
) -> AzureDataReplicationError | None:
    """
    Return the error to raise when a 404 for an item says its subscription, group or vault is missing.

    :param item: The item that was read.
    :param not_found: The 404's error.
    """
    missing = PARENT_NOT_FOUND_CODES.get((not_found.error_code or "").lower())
    if missing is None:
        return None
    return _not_found_as(
        not_found,
        f"Could not read {item.describe()}: its {missing} was not found (check subscription_id, "
        "resource_group_name and vault_name; an item counts as gone only in a vault that exists)",
    )


def check_vault_answer(item: ProtectedItem, status_code: int, headers: Any, body: bytes) -> None:
    """
    Judge the read of an item's vault after a 404 for the item: the vault exists, or raise naming it.

    :param item: The item whose vault was read.
    :param status_code: The vault read's HTTP status.
    :param headers: Its headers.
    :param body: Its body.
    """
    if status_code == 200:
        return
    what = f"vault {item.vault_name!r} (resource group {item.resource_group_name!r})"
    error = answer_error(status_code, headers, body, what=what, doing="read")
    if isinstance(error, AzureDataReplicationNotFoundError):
        raise _not_found_as(
            error,
            f"{what} was not found, so protected item {item.protected_item_name!r} cannot be said to be "
            "gone (check vault_name and resource_group_name)",
        )
    raise error


def next_page(page: dict[str, Any], resource_manager_url: str) -> str | None:
    """
    Return a list page's ``nextLink``, checked to point at the connection's ARM endpoint (or ``None``).

    :param page: The page.
    :param resource_manager_url: The connection's ARM endpoint: a token is sent nowhere else.
    """
    link = page.get("nextLink")
    if not link:
        return None
    from urllib.parse import urlsplit

    given, arm = urlsplit(str(link)), urlsplit(resource_manager_url)
    if (given.scheme, given.hostname, given.port) != (arm.scheme, arm.hostname, arm.port):
        raise AzureDataReplicationTransientError(
            f"A list's nextLink points away from the connection's ARM endpoint: {given.scheme}://{given.netloc}"
        )
    return str(link)


def started_work(
    status_code: int,
    headers: Any,
    body: bytes,
    what: str,
    action: ItemAction,
    connection: AzureDataReplicationConnection,
) -> StartedWork:
    """
    Read a call's answer: the job it started (from its operation URL), or raise the typed error.

    :param status_code: The HTTP status.
    :param headers: The response headers.
    :param body: The raw body.
    :param what: The item, for messages.
    :param action: The call.
    :param connection: The connection (its ARM endpoint: an operation URL must point there).
    """
    if status_code not in (200, 201, 202, 204):
        raise answer_error(status_code, headers, body, what=what, doing=action.doing)
    operation_url = headers.get("Azure-AsyncOperation") or headers.get("Location") or None
    job_name = None
    if operation_url:
        OperationUrl.on(operation_url, connection.resource_manager_url)
        job_name = job_name_from_operation_url(operation_url)
    return StartedWork(status_code, operation_url, job_name, json_object(body))


@dataclass(frozen=True)
class Replication:
    """
    A discovered machine's replication as resolved: the ``properties`` to send and where.

    :param properties: The item's ``properties`` (``policyName``, ``replicationExtensionName``,
        ``customProperties``).
    :param subscription_id: The vault's subscription.
    :param resource_group_name: The vault's resource group (the Migrate project's).
    :param vault_name: The project's replication vault.
    :param protected_item_name: The item's name (the machine's, unless given).
    :param warnings: What the cmdlet warns of (VMware Tools, an OS type not identified).
    """

    properties: dict[str, Any]
    subscription_id: str
    resource_group_name: str
    vault_name: str
    protected_item_name: str
    warnings: list[str] = field(default_factory=list)


class _AzureDataReplicationHookBase(BaseHook):
    """What the sync and async hooks share: the connection, its defaults and the request."""

    conn_name_attr = "azure_data_replication_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "Azure Data Replication"

    def __init__(
        self,
        azure_data_replication_conn_id: str = DEFAULT_CONN_ID,
        *,
        request_settings: RequestSettings | None = None,
    ) -> None:
        super().__init__()
        self.azure_data_replication_conn_id = azure_data_replication_conn_id
        self.request_settings = request_settings or DEFAULT_REQUEST_SETTINGS
        self._connection: AzureDataReplicationConnection | None = None

    def _settings_for(self, connection: AzureDataReplicationConnection) -> RequestSettings:
        if connection.request_timeout is None:
            return self.request_settings
        return replace(self.request_settings, read_timeout=connection.request_timeout)

    @staticmethod
    def _pacers_of(connection: AzureDataReplicationConnection) -> Pacers:
        """Return the process's pacers of the connection's principal."""
        return process_pacers(
            connection.principal, connection.max_reads_per_second, adaptive=adaptive_read_pacing()
        )

    @staticmethod
    def _subscription_check_path(connection: AzureDataReplicationConnection) -> str:
        from urllib.parse import quote

        if connection.subscription_id:
            return (
                f"/subscriptions/{quote(connection.subscription_id, safe='')}"
                f"?api-version={SUBSCRIPTIONS_API_VERSION}"
            )
        return f"/subscriptions?api-version={SUBSCRIPTIONS_API_VERSION}"

    @staticmethod
    def _describe_check(
        connection: AzureDataReplicationConnection, status_code: int, headers: Any, body: bytes
    ) -> tuple[bool, str]:
        if status_code == 200:
            where = (
                f"subscription {connection.subscription_id}"
                if connection.subscription_id
                else "the subscription list"
            )
            return True, f"Connection works: signed in to {connection.resource_manager_url} and read {where}."
        code, message = parse_error_body(body)
        ids = "".join(f"; {name}={value}" for name, value in request_ids_from(headers).items())
        return False, f"HTTP {status_code} {code or 'error'}: {message or '(no message)'}{ids}"


class AzureDataReplicationHook(_AzureDataReplicationHookBase):
    """
    Read a replication job operation's status from Azure (sync, for workers).

    One instance keeps one credential and one HTTP session, so N calls cost one token request
    while the token is valid. Use it as a context manager, or call :meth:`close`.

    :param azure_data_replication_conn_id: The Airflow connection (``azure_data_replication`` or
        an existing ``azure`` one).
    :param request_settings: Timeouts and retry budget of each call.
    """

    def __init__(
        self,
        azure_data_replication_conn_id: str = DEFAULT_CONN_ID,
        *,
        request_settings: RequestSettings | None = None,
    ) -> None:
        super().__init__(azure_data_replication_conn_id, request_settings=request_settings)
        self._client: PipelineClient | None = None
        self._credential: RenewableCredential | None = None

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Return the connection form's extra fields (Airflow before 3.2; later reads provider info)."""
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, StringField

        from airflow_provider_datareplication.get_provider_info import CONN_FIELDS

        widgets: dict[str, Any] = {}
        for name, spec in CONN_FIELDS.items():
            if spec["schema"]["type"] == ["boolean", "null"]:
                widgets[name] = BooleanField(lazy_gettext(spec["label"]))
            else:
                widgets[name] = StringField(lazy_gettext(spec["label"]), widget=BS3TextFieldWidget())
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Return the connection form's relabelled and hidden fields (Airflow before 3.2)."""
        from airflow_provider_datareplication.get_provider_info import UI_FIELD_BEHAVIOUR

        return {
            "hidden_fields": UI_FIELD_BEHAVIOUR["hidden-fields"],
            "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
            "placeholders": UI_FIELD_BEHAVIOUR["placeholders"],
        }

    @property
    def connection(self) -> AzureDataReplicationConnection:
        """The connection's settings, read once."""
        if self._connection is None:
            conn = self.get_connection(self.azure_data_replication_conn_id)
            self._connection = AzureDataReplicationConnection.from_connection(conn)
        return self._connection

    def pacer(self, subscription_id: str, provider: str = DATA_REPLICATION) -> Pacer:
        """
        Return the process's read pacer of a subscription and provider, for this connection's principal.

        It remembers a ``Retry-After`` across calls and pokes.

        :param subscription_id: The subscription.
        :param provider: The resource provider.
        """
        return self._pacers_of(self.connection).get(subscription_id, provider)

    def get_conn(self) -> PipelineClient:
        """Return the ARM client (built once: credential, session and retry policy are reused)."""
        if self._client is None:
            from airflow_provider_datareplication.arm_client import RenewableCredential, build_client

            connection = self.connection
            settings = self._settings_for(connection)
            self._credential = RenewableCredential(
                lambda: connection.credential(**settings.transport_kwargs())
            )
            self._client = build_client(
                base_url=connection.resource_manager_url,
                credential=self._credential,
                token_scope=connection.token_scope,
                settings=settings,
                ca_bundle=connection.ca_bundle,
                http_logging=connection.http_logging,
            )
        return self._client

    def resolve(self, target_class: type[T], **names: Any) -> T:
        """
        Name a target: the identifiers given, the connection's defaults for the rest, every rule checked.

        :param target_class: What to name (``JobOperation``, ``VaultJob``, ... of
            :mod:`~airflow_provider_datareplication.identifiers`).
        :param names: Its identifiers, as its ``task_parameters()`` name them.
        :raises ValueError: An identifier breaks Azure's rules, or one is missing (nothing is sent).
        """
        return cast("T", target_class.resolve(self.connection, **names))  # type: ignore[attr-defined]

    def _send(
        self,
        url: str,
        what: str,
        subscription_id: str,
        provider: str = DATA_REPLICATION,
        *,
        query: dict[str, Any] | None = None,
    ) -> tuple[int, Any, bytes]:
        """
        Read ``url`` at this process's pace for its subscription and provider.

        :param url: The URL.
        :param what: What it reads, for messages.
        :param subscription_id: The subscription the read is counted under.
        :param provider: The resource provider that answers it.
        :param query: A read sent as a ``POST`` with this JSON body (a Resource Graph query).
        """
        import time

        from azure.core.rest import HttpRequest

        from airflow_provider_datareplication.arm_client import PACER_OPTION

        settings = self._settings_for(self.connection)
        pacer = self.pacer(subscription_id, provider)
        pacer.check(settings.max_retry_after)
        started = time.monotonic()
        pacer.wait(timeout=settings.call_timeout)
        # The time spent waiting for the turn counts against the call's timeout.
        timeout = max(settings.call_timeout - (time.monotonic() - started), 1.0)
        paced: dict[str, Any] = {PACER_OPTION: pacer}
        request = HttpRequest("GET", url) if query is None else HttpRequest("POST", url, json=query)
        return self._call(request, what, timeout=timeout, **paced)

    def _call(
        self, request: HttpRequest, what: str, *, timeout: float, doing: str = "read", **options: Any
    ) -> tuple[int, Any, bytes]:
        """
        Send one request through the pipeline; azure-core's and azure-identity's errors become typed.

        :param request: The request.
        :param what: What it is about, for messages.
        :param timeout: Seconds for the whole call, retries included.
        :param doing: What it does, for messages.
        :param options: azure-core's per-call options (``retry_read``, ...).
        """
        from azure.core.exceptions import AzureError

        from airflow_provider_datareplication.arm_client import translate_azure_error

        client = self.get_conn()
        try:
            response = client.send_request(request, timeout=timeout, **options)
        except AzureError as err:
            had_token = self._credential is not None and self._credential.has_issued
            raise translate_azure_error(err, what, had_token=had_token, doing=doing) from None
        return response.status_code, response.headers, response.content

    def get_status(self, target: Target) -> Any:
        """
        Read a target once: its status model, transient failures retried inside the call.

        :param target: What to read (from :meth:`resolve`).
        :raises AzureDataReplicationError: Reading failed (typed by cause).
        """
        status_code, headers, body = self._send(
            target.url(self.connection.resource_manager_url), target.describe(), target.subscription_id
        )
        return read_status(status_code, headers, body, target)

    def get_operation_status(
        self,
        *,
        operation_id: str | None = None,
        job_name: str | None = None,
        vault_name: str | None = None,
        resource_group_name: str | None = None,
        subscription_id: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        operation_url: str | None = None,
    ) -> OperationStatus:
        """
        Get an operation's status: one GET, transient failures retried inside the call.

        :param operation_id: The operation id (with ``job_name``; "Workflow Operation Status - Get",
            the preview api-version).
        :param job_name: The job, usually a GUID.
        :param vault_name: The replication vault; defaults to the connection's ``vault_name``.
        :param resource_group_name: Defaults to the connection's ``resource_group_name``.
        :param subscription_id: Defaults to the connection's ``subscriptionId``.
        :param api_version: The api-version.
        :param operation_url: Instead of the identifiers: the ``Azure-AsyncOperation`` (or
            operation-results) URL a long-running call returned, in any api-version; it must point
            at the connection's ARM endpoint.
        :raises ValueError: A parameter breaks Azure's rules (nothing is sent).
        :raises AzureDataReplicationError: Reading the status failed (typed by cause).
        """
        return cast(
            "OperationStatus",
            self.get_status(
                self.resolve(
                    JobOperation,
                    operation_id=operation_id,
                    job_name=job_name,
                    vault_name=vault_name,
                    resource_group_name=resource_group_name,
                    subscription_id=subscription_id,
                    api_version=api_version,
                    operation_url=operation_url,
                )
            ),
        )

    def get_job(
        self,
        *,
        job_name: str,
        vault_name: str | None = None,
        resource_group_name: str | None = None,
        subscription_id: str | None = None,
        api_version: str = JOB_API_VERSION,
    ) -> Job:
        """
        Get a job of a replication vault ("Job - Get", stable api-versions): one GET.

        :param job_name: The job, usually a GUID.
        :param vault_name: The replication vault; defaults to the connection's ``vault_name``.
        :param resource_group_name: Defaults to the connection's ``resource_group_name``.
        :param subscription_id: Defaults to the connection's ``subscriptionId``.
        :param api_version: The api-version (``2024-09-01``, ``2026-05-01``).
        :raises ValueError: A parameter breaks Azure's rules (nothing is sent).
        :raises AzureDataReplicationError: Reading the job failed (typed by cause).
        """
        return cast(
            "Job",
            self.get_status(
                self.resolve(
                    VaultJob,
                    job_name=job_name,
                    vault_name=vault_name,
                    resource_group_name=resource_group_name,
                    subscription_id=subscription_id,
                    api_version=api_version,
                )
            ),
        )

    def get_protected_item(
        self,
        *,
        protected_item_name: str,
        vault_name: str | None = None,
        resource_group_name: str | None = None,
        subscription_id: str | None = None,
        api_version: str = JOB_API_VERSION,
    ) -> ProtectedItemStatus:
        """
        Get a protected item (a replicated server) of a replication vault: one GET.

        :param protected_item_name: The protected item.
        :param vault_name: The replication vault; defaults to the connection's ``vault_name``.
        :param resource_group_name: Defaults to the connection's ``resource_group_name``.
        :param subscription_id: Defaults to the connection's ``subscriptionId``.
        :param api_version: The api-version (``2024-09-01``, ``2026-05-01``).
        :raises ValueError: A parameter breaks Azure's rules (nothing is sent).
        :raises AzureDataReplicationNotFoundError: There is no such item.
        :raises AzureDataReplicationError: Reading the item failed (typed by cause).
        """
        return cast(
            "ProtectedItemStatus",
            self.get_status(
                self.resolve(
                    ProtectedItem,
                    protected_item_name=protected_item_name,
                    vault_name=vault_name,
                    resource_group_name=resource_group_name,
                    subscription_id=subscription_id,
                    api_version=api_version,
                )
            ),
        )

    def find_protected_item(self, item: ProtectedItem) -> ProtectedItemStatus | None:
        """
        Read a protected item: the item, or ``None`` when it is gone (a 404, its vault there).

        A 404 counts as gone only once the vault is known to exist: ARM's error code where it says a
        parent is missing, else one read of the vault. A missing vault, resource group or
        subscription raises naming it.

        :param item: The item.
        :raises AzureDataReplicationNotFoundError: The item's vault (or group, subscription) is missing.
        """
        try:
            return cast("ProtectedItemStatus", self.get_status(item))
        except AzureDataReplicationNotFoundError as err:
            if (missing := missing_parent(item, err)) is not None:
                raise missing from None
        url = item.vault_url(self.connection.resource_manager_url)
        check_vault_answer(item, *self._send(url, f"vault {item.vault_name!r}", item.subscription_id))
        return None

    def get_resource(self, resource_id: str, *, api_version: str) -> dict[str, Any] | None:
        """
        Read any ARM resource by its id: its body, or ``None`` when there is none (404). A paced read.

        :param resource_id: The resource id (``/subscriptions/.../providers/...``).
        :param api_version: The api-version of its resource type.
        :raises ValueError: The id is not an ARM resource id (nothing is sent).
        :raises AzureDataReplicationError: Reading it failed (typed by cause).
        """
        from urllib.parse import quote

        parts = resource_id.split("/") if isinstance(resource_id, str) else []
        if len(parts) < 3 or parts[1].lower() != "subscriptions" or not parts[2]:
            raise ValueError(f"resource_id must be an ARM resource id (/subscriptions/...): {resource_id!r}")
        lowered = [part.lower() for part in parts]
        provider = (
            parts[lowered.index("providers") + 1] if "providers" in lowered[:-1] else "Microsoft.Resources"
        )
        url = f"{self.connection.resource_manager_url}{quote(resource_id)}?api-version={quote(api_version)}"
        status_code, headers, body = self._send(url, resource_id, parts[2], provider)
        if status_code == 404:
            return None
        if status_code != 200:
            raise answer_error(status_code, headers, body, what=resource_id, doing="read")
        parsed = json_object(body)
        if parsed is None:
            raise AzureDataReplicationTransientError(
                f"Reading {resource_id} came back HTTP 200 without a JSON object",
                request_ids=request_ids_from(headers),
            )
        return parsed

    def list_resources(self, collection_id: str, *, api_version: str) -> list[dict[str, Any]]:
        """
        Read every entry of an ARM collection by its id (``.../replicationFabrics``...), every page.

        :param collection_id: The collection's id (``/subscriptions/.../providers/...``).
        :param api_version: The api-version of its resource type.
        :raises AzureDataReplicationError: Reading it failed (typed by cause; a missing parent is not found).
        """
        from urllib.parse import quote

        parts = collection_id.split("/")
        lowered = [part.lower() for part in parts]
        provider = (
            parts[lowered.index("providers") + 1] if "providers" in lowered[:-1] else "Microsoft.Resources"
        )
        url = f"{self.connection.resource_manager_url}{quote(collection_id)}?api-version={quote(api_version)}"
        return list(self._entries(url, collection_id, parts[2], provider))

    def resource_graph(self, query: str, *, subscriptions: list[str]) -> list[dict[str, Any]]:
        """
        Run a Resource Graph query (``POST /providers/Microsoft.ResourceGraph/resources``): its rows.

        A paced read, as ``Search-AzGraph`` sends it (the rows as objects).

        :param query: The query (Kusto).
        :param subscriptions: The subscriptions it runs over.
        """
        from airflow_provider_datareplication.azure_local import RESOURCE_GRAPH_API_VERSION

        url = (
            f"{self.connection.resource_manager_url}/providers/Microsoft.ResourceGraph/resources"
            f"?api-version={RESOURCE_GRAPH_API_VERSION}"
        )
        what = "the Resource Graph query for the Arc resource bridge"
        body = {"subscriptions": subscriptions, "query": query, "options": {"resultFormat": "objectArray"}}
        status_code, headers, raw = self._send(
            url, what, subscriptions[0], "Microsoft.ResourceGraph", query=body
        )
        if status_code != 200:
            raise answer_error(status_code, headers, raw, what=what, doing="run")
        rows = (json_object(raw) or {}).get("data")
        return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []

    def replication_properties(self, *, machine_id: str, **inputs: Any) -> dict[str, Any]:
        """
        Return the ``properties`` the create operator would send for a discovered machine (the cmdlet's).

        The reads and checks of :meth:`resolve_replication` (the same inputs); nothing is written.

        :param machine_id: The discovered machine's id.
        :param inputs: The create operator's other machine inputs.
        """
        return self.resolve_replication(machine_id=machine_id, **inputs).properties

    def resolve_replication(
        self,
        *,
        machine_id: str,
        target_storage_path_id: str,
        target_resource_group_id: str,
        target_vm_name: str,
        source_appliance_name: str,
        target_appliance_name: str,
        target_virtual_switch_id: str | None = None,
        os_disk_id: str | None = None,
        target_test_virtual_switch_id: str | None = None,
        target_vm_cpu_cores: int | None = None,
        target_vm_ram_mb: int | None = None,
        is_dynamic_memory_enabled: bool | None = None,
        disks: list[dict[str, Any]] | None = None,
        nics: list[dict[str, Any]] | None = None,
        protected_item_name: str | None = None,
        vault_name: str | None = None,
        resource_group_name: str | None = None,
        subscription_id: str | None = None,
        api_version: str = JOB_API_VERSION,
    ) -> Replication:
        """
        Resolve a machine's replication as ``New-AzMigrateLocalServerReplication`` does: read, check, build.

        Reads (each paced, ARM's errors typed): the machine and its site (OffAzure), the Migrate
        project's Data Replication solution (its vault) and discovery solution (its appliances), the
        vault, the resource group's replication fabrics and each appliance's fabric agents, the
        policy and the replication extension, Resource Graph for the target cluster's Arc resource
        bridge, the site's run-as accounts, the storage path and the vault's protected items (is
        the machine replicating already). Every check the cmdlet makes raises :class:`ValueError`
        with its message before anything is written.

        :param machine_id: The discovered machine (``.../Microsoft.OffAzure/{HyperVSites|VMwareSites}/...``).
        :param target_storage_path_id: The Azure Local storage path (``storageContainers``).
        :param target_resource_group_id: The resource group the VM lands in.
        :param target_vm_name: The VM's name on Azure Local.
        :param source_appliance_name: The discovery appliance.
        :param target_appliance_name: The Azure Local appliance.
        :param target_virtual_switch_id: The logical network every NIC goes to (default mapping).
        :param os_disk_id: The OS disk (default mapping).
        :param target_test_virtual_switch_id: The test failover's network (default: the target one).
        :param target_vm_cpu_cores: CPU cores (default: the machine's).
        :param target_vm_ram_mb: Memory in MB (default: the machine's, at least 1 GB).
        :param is_dynamic_memory_enabled: Dynamic memory (default: the machine's; VMware: off).
        :param disks: The power-user mapping's disks (with ``nics``), instead of ``os_disk_id``.
        :param nics: The power-user mapping's NICs, instead of ``target_virtual_switch_id``.
        :param protected_item_name: The item it will be (default: the machine's name).
        :param vault_name: The vault: the Migrate project's (another is refused; default: the project's).
        :param resource_group_name: The vault's resource group: the project's (another is refused).
        :param subscription_id: The vault's subscription (default: the connection's, else the machine's).
        :param api_version: The api-version of the Data Replication reads (vault, fabrics, agents,
            policy, extension, protected items).
        """
        from airflow_provider_datareplication import azure_local as local

        asked_vault, asked_group = vault_name, resource_group_name
        machine_ref = local.DiscoveredMachine.parse(machine_id)
        instance_type = machine_ref.instance_type
        power_user = disks is not None or nics is not None
        if power_user and (os_disk_id is not None or target_virtual_switch_id is not None):
            raise ValueError(
                "give disks and nics (the power-user mapping) or os_disk_id and target_virtual_switch_id"
            )
        if not power_user and not (os_disk_id and target_virtual_switch_id):
            raise ValueError("os_disk_id and target_virtual_switch_id are required (or disks and nics)")
        local.check_target_vm_name(target_vm_name)
        if target_vm_cpu_cores is not None:
            target_vm_cpu_cores = local.check_cpu_cores(target_vm_cpu_cores)
        rg, offazure = machine_ref.resource_group_name, "2020-01-01"

        def read(resource_id: str, api_version: str, missing: str) -> dict[str, Any]:
            body = self.get_resource(resource_id, api_version=api_version)
            if body is None:
                raise ValueError(missing)
            return body

        machine = read(
            machine_id,
            offazure,
            f"Machine '{machine_ref.machine_name}' not found in resource group '{rg}' and site "
            f"'{machine_ref.parts[8]}'.",
        )
        site = read(
            machine_ref.site_id,
            offazure,
            f"Machine site '{machine_ref.parts[8]}' with Type '{machine_ref.site_type}' not found.",
        )
        warnings = local.check_machine(machine, instance_type)
        project_id = str((site.get("properties") or {}).get("discoverySolutionId") or "")
        project_parts = project_id.split("/")
        if len(project_parts) < 9:
            raise ValueError(
                f"Machine site '{machine_ref.parts[8]}' names no Migrate project (discoverySolutionId)"
            )
        project = "/".join(project_parts[:9])
        solution = read(
            f"{project}/solutions/{local.DATA_REPLICATION_SOLUTION}",
            local.MIGRATE_API_VERSION,
            f"No Data Replication Service Solution '{local.DATA_REPLICATION_SOLUTION}' found in resource "
            "group "
            f"'{rg}' and project '{project_parts[8]}'. Please verify your appliance setup.",
        )
        details = ((solution.get("properties") or {}).get("details") or {}).get("extendedDetails") or {}
        vault_parts = str(details.get("vaultId") or "").split("/")
        vault_name = vault_parts[8] if len(vault_parts) > 8 else ""
        if not vault_name:
            raise ValueError("No Replication Vault found. Please verify your Azure Migrate project setup.")
        for name, mine, expected in (
            ("vault_name", asked_vault, vault_name),
            ("resource_group_name", asked_group, rg),
        ):
            if mine is not None and str(mine).lower() != str(expected).lower():
                raise ValueError(
                    f"{name} {mine!r} is not the Migrate project's ({expected!r}): a machine replicates to "
                    "its project's vault (leave it out)"
                )
        subscription = subscription_id or self.connection.subscription_id or machine_ref.subscription_id
        vault = ReplicationVault.resolve(
            self.connection,
            vault_name=vault_name,
            resource_group_name=rg,
            subscription_id=subscription,
            api_version=api_version,
        )
        vault_id = vault_resource_id(vault)
        vault_body = read(
            vault_id,
            api_version,
            f"No Replication Vault '{vault_name}' found in Resource Group '{rg}'. Please verify your Azure "
            "Migrate project setup.",
        )
        state = (vault_body.get("properties") or {}).get("provisioningState")
        if state != "Succeeded":
            raise ValueError(
                f"The Replication Vault '{vault_name}' is not in a valid state. The provisioning state is "
                f"'{state}'. Please verify your Azure Migrate project setup."
            )
        discovery = read(
            f"{project}/solutions/{local.DISCOVERY_SOLUTION}",
            local.MIGRATE_API_VERSION,
            f"Server Discovery Solution '{local.DISCOVERY_SOLUTION}' not found.",
        )
        local.check_appliances(local.appliance_sites(discovery), source_appliance_name, target_appliance_name)
        group = f"/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.DataReplication"
        fabrics = [
            fabric
            for fabric in self.list_resources(f"{group}/replicationFabrics", api_version=api_version)
            if (fabric.get("properties") or {}).get("provisioningState") == "Succeeded"
            and str(
                ((fabric.get("properties") or {}).get("customProperties") or {}).get("migrationSolutionId")
            ).lower()
            == str(solution.get("id")).lower()
        ]

        def fabric_of(kind: str, appliance: str, missing: str) -> dict[str, Any]:
            for fabric in fabrics:
                custom = (fabric.get("properties") or {}).get("customProperties") or {}
                if custom.get("instanceType") == kind and str(fabric.get("name")).lower().startswith(
                    appliance.lower()
                ):
                    return fabric
            raise ValueError(missing)

        def agent_of(fabric: dict[str, Any], kind: str, appliance: str, where: str) -> dict[str, Any]:
            disconnected = (
                f"The {where} appliance '{appliance}' is in a disconnected state. Ensure that the {where} "
                "appliance is running and has connectivity before proceeding."
            )
            for agent in self.list_resources(
                f"{group}/replicationFabrics/{fabric['name']}/fabricAgents",
                api_version=api_version,
            ):
                properties = agent.get("properties") or {}
                if (
                    str(properties.get("machineName")).lower() == appliance.lower()
                    and str((properties.get("customProperties") or {}).get("instanceType")).lower()
                    == kind.lower()
                    and properties.get("isResponsive") is True
                ):
                    return agent
            raise ValueError(disconnected)

        source_kind = local.SOURCE_FABRIC_TYPES[instance_type]
        source_fabric = fabric_of(
            source_kind,
            source_appliance_name,
            f"Couldn't find connected source appliance with the name '{source_appliance_name}'. Deploy a "
            "source appliance by completing the Discover step of migration for your on-premises environment.",
        )
        source_agent = agent_of(source_fabric, source_kind, source_appliance_name, "source")
        target_fabric = fabric_of(
            local.TARGET_FABRIC_TYPE,
            target_appliance_name,
            f"Couldn't find connected target appliance with the name '{target_appliance_name}'. Deploy a "
            "target appliance by completing the Configuration step of migration for your Azure Local "
            "environment.",
        )
        # The cmdlet takes the first agent of the target fabric unfiltered: the filtered one is meant.
        target_agent = agent_of(target_fabric, local.TARGET_FABRIC_TYPE, target_appliance_name, "target")
        infrastructure = "Run the Initialize-AzMigrateLocalReplicationInfrastructure command."
        policy_name = f"{vault_name}{instance_type}policy"
        fabric_names = [str(fabric["id"]).split("/")[-1] for fabric in (source_fabric, target_fabric)]
        extension_name = f"{fabric_names[0]}-{fabric_names[1]}-MigReplicationExtn"
        for kind, name, collection in (
            ("policy", policy_name, "replicationPolicies"),
            ("extension", extension_name, "replicationExtensions"),
        ):
            body = read(
                f"{vault_id}/{collection}/{name}",
                api_version,
                f"The replication {kind} '{name}' not found. The replication infrastructure is not "
                f"initialized. {infrastructure}",
            )
            state = (body.get("properties") or {}).get("provisioningState")
            if state != "Succeeded":
                raise ValueError(
                    f"The replication {kind} '{name}' is not in a valid state. The provisioning state is "
                    f"'{state}'. Re-{infrastructure[0].lower()}{infrastructure[1:]}"
                )
        cluster_id = str(
            (
                ((target_fabric.get("properties") or {}).get("customProperties") or {}).get("cluster") or {}
            ).get("resourceName")
            or ""
        )
        cluster_parts = cluster_id.split("/")
        if len(cluster_parts) < 3:
            raise ValueError(f"The target appliance's fabric names no Azure Local cluster: {cluster_id!r}")
        rows = self.resource_graph(
            local.arc_resource_bridge_query(cluster_id), subscriptions=[cluster_parts[2]]
        )
        if not rows:
            raise ValueError(f"{local.NO_CLUSTERS}. Validate target cluster with id '{cluster_id}' exists.")
        bridge = rows[0]
        if bridge.get("statusOfTheBridge") != "Running":
            raise ValueError(
                f"{local.BRIDGE_NOT_RUNNING}. Make sure the Arc Resource Bridge is online before retrying."
            )
        credential_type = local.RUN_AS_CREDENTIAL_TYPES[instance_type]
        run_as = next(
            (
                account
                for account in self.list_resources(
                    f"{machine_ref.site_id}/runAsAccounts", api_version=offazure
                )
                if (account.get("properties") or {}).get("credentialType") == credential_type
            ),
            None,
        )
        if run_as is None:
            raise ValueError(
                f"No run as account found for site '{machine_ref.parts[8]}' ({credential_type})."
            )
        storage = read(
            target_storage_path_id,
            local.AZURE_STACK_HCI_API_VERSION,
            f"The storage path '{target_storage_path_id}' was not found (target_storage_path_id).",
        )
        state = (storage.get("properties") or {}).get("provisioningState")
        if state != "Succeeded":
            raise ValueError(
                f"The storage path '{target_storage_path_id}' is not provisioned: its provisioningState "
                f"is '{state}'."
            )
        item_name = protected_item_name or machine_ref.machine_name
        for item in self.list_protected_items(**vault.to_dict()):
            replicated = str(item.custom_properties.get("fabricDiscoveryMachineId") or "").lower()
            if replicated == machine_id.lower() and str(item.name).lower() != item_name.lower():
                raise ValueError(f"{local.ALREADY_IN_REPLICATION} (protected item {item.name!r})")
        properties = machine.get("properties") or {}
        if instance_type == "HyperVToAzStackHCI":
            generation = str(properties.get("generation"))
            source_dynamic = properties.get("isDynamicMemoryEnabled") is True
        else:
            generation = "1" if str(properties.get("firmware")).lower() == "bios" else "2"
            source_dynamic = False
        if target_vm_ram_mb is not None:
            memory = local.check_ram_mb(target_vm_ram_mb, generation)
        else:
            memory = int(max(float(properties.get("allocatedMemoryInMB") or 0), local.MIN_TARGET_MEMORY_MB))
        if power_user:
            disk_inputs = local.check_disks(disks, machine, instance_type, generation)
            nic_inputs = local.check_nics(nics)
            known = {str(nic.get("nicId")).lower() for nic in properties.get("networkAdapters") or []}
            for nic in nic_inputs:
                if str(nic["nicId"]).lower() not in known:
                    raise ValueError(f"The Nic id '{nic['nicId']}' is not found.")
        else:
            disk_inputs = local.default_disks(machine, instance_type, str(os_disk_id))
            nic_inputs = local.default_nics(
                machine, str(target_virtual_switch_id), target_test_virtual_switch_id
            )
        custom = {
            "instanceType": instance_type,
            "targetHciClusterId": cluster_id,
            "targetArcClusterCustomLocationId": bridge.get("CustomLocation"),
            "storageContainerId": target_storage_path_id,
            "targetResourceGroupId": target_resource_group_id,
            "customLocationRegion": bridge.get("customLocationRegion"),
            "disksToInclude": disk_inputs,
            "nicsToInclude": nic_inputs,
            "targetVmName": target_vm_name,
            "hyperVGeneration": generation,
            "targetCpuCores": target_vm_cpu_cores
            if target_vm_cpu_cores is not None
            else properties.get("numberOfProcessorCore"),
            "isDynamicRam": is_dynamic_memory_enabled
            if is_dynamic_memory_enabled is not None
            else source_dynamic,
            "dynamicMemoryConfig": {
                "maximumMemoryInMegaBytes": max(memory, local.DEFAULT_MAX_DYNAMIC_MEMORY_MB),
                "minimumMemoryInMegaBytes": min(memory, local.DEFAULT_MIN_DYNAMIC_MEMORY_MB),
                "targetMemoryBufferPercentage": local.DEFAULT_MEMORY_BUFFER_PERCENTAGE,
            },
            "targetMemoryInMegaBytes": memory,
            "fabricDiscoveryMachineId": machine.get("id") or machine_id,
            "runAsAccountId": run_as.get("id"),
            "sourceFabricAgentName": source_agent.get("name"),
            "targetFabricAgentName": target_agent.get("name"),
        }
        return Replication(
            properties={
                "policyName": policy_name,
                "replicationExtensionName": extension_name,
                "customProperties": custom,
            },
            subscription_id=subscription,
            resource_group_name=rg,
            vault_name=vault_name,
            protected_item_name=item_name,
            warnings=warnings,
        )

    def list_jobs(self, item: ProtectedItem) -> list[dict[str, Any]]:
        """
        Read the jobs of an item's vault, every page (``nextLink``), as the service lists them.

        The list's entries carry no ``tasks``, ``errors`` or ``customProperties`` (read the job for
        them). Each page is a paced read.

        :param item: Whose vault (its api-version too).
        """
        return list(self.iter_jobs(item))

    def iter_jobs(self, item: ProtectedItem) -> Iterator[dict[str, Any]]:
        """
        Yield the jobs of an item's vault as :meth:`list_jobs` reads them, a page read only when needed.

        :param item: Whose vault (its api-version too).
        """
        url = item.jobs_url(self.connection.resource_manager_url)
        yield from self._entries(url, f"the jobs of vault {item.vault_name!r}", item.subscription_id)

    def _entries(
        self, url: str, what: str, subscription_id: str, provider: str = DATA_REPLICATION
    ) -> Iterator[dict[str, Any]]:
        """
        Yield the entries of a list, page after page (``nextLink``), each page a paced read.

        :param url: The first page's URL.
        :param what: What is listed, for messages.
        :param subscription_id: The subscription its reads are counted under.
        :param provider: The resource provider that answers it.
        """
        resource_manager_url = self.connection.resource_manager_url
        page_url: str | None = url
        while page_url:
            page = read_page(*self._send(page_url, what, subscription_id, provider), what)
            yield from (entry for entry in page.get("value") or [] if isinstance(entry, dict))
            page_url = next_page(page, resource_manager_url)

    def list_protected_items(
        self,
        *,
        vault_name: str | None = None,
        resource_group_name: str | None = None,
        subscription_id: str | None = None,
        api_version: str = JOB_API_VERSION,
    ) -> list[ProtectedItemStatus]:
        """
        Read every protected item of a vault ("Protected Item - List"), every page; each page a paced read.

        :param vault_name: The replication vault; defaults to the connection's ``vault_name``.
        :param resource_group_name: Defaults to the connection's ``resource_group_name``.
        :param subscription_id: Defaults to the connection's ``subscriptionId``.
        :param api_version: The api-version (``2024-09-01``, ``2026-05-01``).
        :raises ValueError: A parameter breaks Azure's rules (nothing is sent).
        :raises AzureDataReplicationError: Reading the list failed (typed by cause; a missing vault
            is not found).
        """
        vault = self.resolve(
            ReplicationVault,
            vault_name=vault_name,
            resource_group_name=resource_group_name,
            subscription_id=subscription_id,
            api_version=api_version,
        )
        url = vault.protected_items_url(self.connection.resource_manager_url)
        return listed_items(self._entries(url, protected_items_of(vault), vault.subscription_id))

    def start(self, item: ProtectedItem, action: ItemAction) -> StartedWork:
        """
        Send a call that starts work on a protected item, once: no retry after a timeout or a lost answer.

        A call whose answer was lost may or may not have started the work: the caller reads the item
        again before deciding to send it again. Only a 429 (the call was not taken) is sent again,
        after its ``Retry-After``, within the call. Writes count against ARM's write limits, not the
        read pacing.

        :param item: The item.
        :param action: The call (:func:`create_item`, :func:`planned_failover`, :func:`delete_item`).
        :raises AzureDataReplicationError: The call failed (typed by cause; a refusal is a client error).
        """
        from azure.core.rest import HttpRequest

        connection = self.connection
        url = item.action_url(connection.resource_manager_url, action.path, **action.query)
        what = item.describe()
        status_code, headers, body = self._call(
            HttpRequest(action.method, url, json=action.body),
            what,
            timeout=self._settings_for(connection).call_timeout,
            doing=action.doing,
            retry_read=0,
        )
        return started_work(status_code, headers, body, what, action, connection)

    def wait_for(
        self, target: Target, *, check_interval: float = 60.0, timeout: float = 7 * 24 * 3600.0
    ) -> Any:
        """
        Read a target until it has ended, in the worker: the wait of the operators that start work.

        Transient failures are logged and read through (a ``Retry-After`` is waited out); any other
        error is raised. The airflow provider for Data Factory waits the same way in its hook.

        :param target: What to wait on (a job).
        :param check_interval: Seconds between reads.
        :param timeout: Seconds to wait at most.
        :raises AzureDataReplicationWaitTimeout: It had not ended within ``timeout``.
        """
        import time

        from airflow_provider_datareplication.exceptions import AzureDataReplicationWaitTimeout

        deadline = time.monotonic() + timeout
        while True:
            retry_after = 0.0
            try:
                status = self.get_status(target)
            except AzureDataReplicationTransientError as err:
                self.log.warning("%s; reading again later", err)
                retry_after = err.retry_after or 0.0
            else:
                if status.is_terminal:
                    return status
                self.log.info(
                    "%s is %s; reading again in %g s", target.describe(), status.state, check_interval
                )
            pause = max(check_interval, retry_after)
            if time.monotonic() + pause > deadline:
                raise AzureDataReplicationWaitTimeout(
                    f"{target.describe()} had not ended after {timeout:g} s (it goes on in Azure)"
                )
            time.sleep(pause)

    def test_connection(self) -> tuple[bool, str]:
        """Sign in and read the connection's subscription (or the subscription list) from ARM; close after."""
        try:
            connection = self.connection
            status_code, headers, body = self._send(
                connection.resource_manager_url + self._subscription_check_path(connection),
                "the subscription",
                connection.subscription_id or "",
                "Microsoft.Resources",
            )
        except (AzureDataReplicationError, ValueError) as err:
            return False, str(err)
        finally:
            self.close()
        return self._describe_check(connection, status_code, headers, body)

    def close(self) -> None:
        """Close the HTTP session and the credential."""
        client, credential = self._client, self._credential
        self._client = self._credential = None
        if client is not None:
            client.close()
        if credential is not None and hasattr(credential, "close"):
            credential.close()

    def __enter__(self) -> AzureDataReplicationHook:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AzureDataReplicationAsyncHook(_AzureDataReplicationHookBase):
    """
    Read a replication job operation's status from Azure with asyncio (for triggers).

    An async context manager. Hooks on the same connection in one event loop share one client
    (one credential and token, one connection pool, the principal's read pacing); leaving the
    context lets go of it, and the last hook to leave closes its HTTP session and credential.
    The connection is read with Airflow's async API, so nothing blocks the triggerer's loop.

    :param azure_data_replication_conn_id: The Airflow connection.
    :param request_settings: Timeouts and retry budget of each call.
    """

    def __init__(
        self,
        azure_data_replication_conn_id: str = DEFAULT_CONN_ID,
        *,
        request_settings: RequestSettings | None = None,
    ) -> None:
        super().__init__(azure_data_replication_conn_id, request_settings=request_settings)
        self._lease: ClientLease | None = None

    async def get_async_connection_settings(self) -> AzureDataReplicationConnection:
        """Read the connection's settings once, with Airflow's async connection API."""
        if self._connection is None:
            from airflow_provider_datareplication.client_pool import read_connection

            self._connection = await read_connection(self.azure_data_replication_conn_id, type(self))
        return self._connection

    async def _get_lease(self) -> ClientLease:
        if self._lease is None:
            from airflow_provider_datareplication.client_pool import CLIENT_POOL

            connection = await self.get_async_connection_settings()
            self._lease = await CLIENT_POOL.acquire(connection, self._settings_for(connection))
            self._connection = self._lease.connection
        return self._lease

    async def get_async_conn(self) -> AsyncPipelineClient:
        """Return the asyncio ARM client: shared by every hook on this connection in this event loop."""
        return (await self._get_lease()).client

    async def pacer(self, subscription_id: str, provider: str = DATA_REPLICATION) -> Pacer:
        """
        Return the process's read pacer of a subscription and provider, for this connection's principal.

        :param subscription_id: The subscription.
        :param provider: The resource provider.
        """
        return (await self._get_lease()).pacers.get(subscription_id, provider)

    async def _send(
        self, url: str, what: str, subscription_id: str, provider: str = DATA_REPLICATION
    ) -> tuple[int, Any, bytes]:
        import time

        from azure.core.exceptions import AzureError
        from azure.core.rest import HttpRequest

        from airflow_provider_datareplication.arm_client import PACER_OPTION, translate_azure_error

        connection = await self.get_async_connection_settings()
        lease = await self._get_lease()
        settings = self._settings_for(connection)
        pacer = lease.pacers.get(subscription_id, provider)
        pacer.check(settings.max_retry_after)
        started = time.monotonic()
        await pacer.go(timeout=settings.call_timeout)
        try:
            # The time spent waiting for the turn counts against the call's timeout.
            timeout = max(settings.call_timeout - (time.monotonic() - started), 1.0)
            paced: dict[str, Any] = {PACER_OPTION: pacer}
            response = await lease.client.send_request(HttpRequest("GET", url), timeout=timeout, **paced)
        except AzureError as err:
            raise translate_azure_error(err, what, had_token=lease.credential.has_issued) from None
        return response.status_code, response.headers, response.content

    async def watch(self, target: Target, *, interval: float, first_in: float) -> Watch:
        """
        Join the reads this process's waits share (:mod:`~airflow_provider_datareplication.reads`).

        Leave with :meth:`Watch.leave`.

        :param target: What the wait waits on (from :meth:`resolve`).
        :param interval: The wait's poll interval.
        :param first_in: Seconds until its first answer at the latest.
        """
        return (await self._get_lease()).reads.watch(target, interval, first_in)

    async def list_pages(self, url: str, what: str, subscription_id: str) -> AsyncIterator[dict[str, Any]]:
        """
        Yield the pages of a list (``value``, ``nextLink``), each read only when the one before is used up.

        :param url: The first page's URL.
        :param what: What is listed, for messages.
        :param subscription_id: The subscription its reads are counted under.
        """
        connection = await self.get_async_connection_settings()
        page_url: str | None = url
        while page_url:
            page = read_page(*await self._send(page_url, what, subscription_id), what)
            yield page
            page_url = next_page(page, connection.resource_manager_url)

    async def list_protected_items(
        self,
        *,
        vault_name: str | None = None,
        resource_group_name: str | None = None,
        subscription_id: str | None = None,
        api_version: str = JOB_API_VERSION,
    ) -> list[ProtectedItemStatus]:
        """Read every protected item of a vault, every page, as the sync hook's, awaited."""
        vault = await self.resolve(
            ReplicationVault,
            vault_name=vault_name,
            resource_group_name=resource_group_name,
            subscription_id=subscription_id,
            api_version=api_version,
        )
        connection = await self.get_async_connection_settings()
        url, what = vault.protected_items_url(connection.resource_manager_url), protected_items_of(vault)
        entries: list[dict[str, Any]] = []
        async for page in self.list_pages(url, what, vault.subscription_id):
            entries.extend(entry for entry in page.get("value") or [] if isinstance(entry, dict))
        return listed_items(entries)

    async def resolve(self, target_class: type[T], **names: Any) -> T:
        """Name a target, as the sync hook's; the connection is read with Airflow's async API."""
        connection = await self.get_async_connection_settings()
        return cast("T", target_class.resolve(connection, **names))  # type: ignore[attr-defined]

    async def get_status(self, target: Target) -> Any:
        """
        Read a target once, as the sync hook's, awaited.

        :param target: What to read (from :meth:`resolve`).
        """
        connection = await self.get_async_connection_settings()
        url = target.url(connection.resource_manager_url)
        status_code, headers, body = await self._send(url, target.describe(), target.subscription_id)
        return read_status(status_code, headers, body, target)

    async def get_operation_status(
        self,
        *,
        operation_id: str | None = None,
        job_name: str | None = None,
        vault_name: str | None = None,
        resource_group_name: str | None = None,
        subscription_id: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        operation_url: str | None = None,
    ) -> OperationStatus:
        """Get an operation's status, as the sync hook's, awaited."""
        target = await self.resolve(
            JobOperation,
            operation_id=operation_id,
            job_name=job_name,
            vault_name=vault_name,
            resource_group_name=resource_group_name,
            subscription_id=subscription_id,
            api_version=api_version,
            operation_url=operation_url,
        )
        return cast("OperationStatus", await self.get_status(target))

    async def get_job(
        self,
        *,
        job_name: str,
        vault_name: str | None = None,
        resource_group_name: str | None = None,
        subscription_id: str | None = None,
        api_version: str = JOB_API_VERSION,
    ) -> Job:
        """Get a job of a replication vault, as the sync hook's, awaited."""
        target = await self.resolve(
            VaultJob,
            job_name=job_name,
            vault_name=vault_name,
            resource_group_name=resource_group_name,
            subscription_id=subscription_id,
            api_version=api_version,
        )
        return cast("Job", await self.get_status(target))

    async def get_protected_item(
        self,
        *,
        protected_item_name: str,
        vault_name: str | None = None,
        resource_group_name: str | None = None,
        subscription_id: str | None = None,
        api_version: str = JOB_API_VERSION,
    ) -> ProtectedItemStatus:
        """Get a protected item of a replication vault, as the sync hook's, awaited."""
        target = await self.resolve(
            ProtectedItem,
            protected_item_name=protected_item_name,
            vault_name=vault_name,
            resource_group_name=resource_group_name,
            subscription_id=subscription_id,
            api_version=api_version,
        )
        return cast("ProtectedItemStatus", await self.get_status(target))

    async def find_protected_item(
        self, item: ProtectedItem, *, vault_known: bool = False
    ) -> ProtectedItemStatus | None:
        """
        Read a protected item: the item, or ``None`` when it is gone; as the sync hook's, awaited.

        :param item: The item.
        :param vault_known: The vault is known to exist (its list was just read): a 404 is gone.
        """
        try:
            return cast("ProtectedItemStatus", await self.get_status(item))
        except AzureDataReplicationNotFoundError as err:
            if (missing := missing_parent(item, err)) is not None:
                raise missing from None
        if not vault_known:
            connection = await self.get_async_connection_settings()
            url = item.vault_url(connection.resource_manager_url)
            check_vault_answer(
                item, *await self._send(url, f"vault {item.vault_name!r}", item.subscription_id)
            )
        return None

    async def close(self) -> None:
        """Let go of the shared client; the last hook to leave closes its HTTP session and credential."""
        lease, self._lease = self._lease, None
        if lease is not None:
            from airflow_provider_datareplication.client_pool import CLIENT_POOL

            await CLIENT_POOL.release(lease)

    async def __aenter__(self) -> AzureDataReplicationAsyncHook:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
