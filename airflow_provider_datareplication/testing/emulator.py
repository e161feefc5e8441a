"""
A local Azure Data Replication emulator: an HTTPS server on loopback that speaks the service's wire contract.

It serves what this provider talks to, so DAGs can run and be tested offline:

- ARM, each resource type at the api-versions Azure serves it (another answers 400
  ``NoRegisteredProviderFound``, as ARM does), validated as Azure validates it and answered with
  Azure's status codes and error bodies:

  - a job's operation, ``.../replicationVaults/{vault}/jobs/{job}/operations/{op}``
    (``2021-02-16-preview`` only);
  - a job, ``.../replicationVaults/{vault}/jobs/{job}`` (``2021-02-16-preview``, ``2024-09-01``,
    ``2026-05-01``), with the service's job body;
  - an operation's results, ``/subscriptions/{sub}[/resourceGroups/{rg}]/providers/
    Microsoft.DataReplication[/locations/{location}]/operationResults/{op}`` (the stable
    versions: what a long-running call's ``Azure-AsyncOperation`` header points at);
  - protected items (``2024-09-01``, ``2026-05-01``): ``GET``/``PUT``/``PATCH``/``DELETE``
    ``.../replicationVaults/{vault}/protectedItems/{item}`` (``DELETE`` takes ``forceDelete``; a
    ``PATCH`` answers 202 with the update echoed and runs an "Update protected item" job),
    ``POST .../protectedItems/{item}/plannedFailover``, and the vault's lists ``.../protectedItems``
    and ``.../jobs`` (pages of :attr:`~DataReplicationEmulator.page_size`, or the request's
    ``pageSize``, with an absolute ``nextLink`` carrying a ``continuationToken``; jobs newest first,
    their ``tasks``, ``errors`` and ``customProperties`` null as the service lists them). Items live
    the service's lifecycle (see :mod:`~airflow_provider_datareplication.testing.protected_items`):
    ``PUT`` answers 201 with the item, ``plannedFailover`` and ``DELETE`` 202 with no body, each with
    ``Azure-AsyncOperation`` and ``Location`` both set to
    ``.../resourceGroups/{rg}/providers/Microsoft.DataReplication/operationResults/{jobGuid}_{vaultGuid}``
    (the DELETE's keeps its ``forceDelete``) and ``Retry-After``; that URL answers 202 with no body
    while the job runs, then the ``OperationStatus``; the job is at ``.../jobs/{jobGuid}`` at once.
    Jobs are as the real service sends them: GUID names, ``provisioningState`` ``Canceled`` on every
    one, ``customProperties.instanceType`` ``JobDetails`` or ``FailoverJobDetails``, ``systemData``
    null. An action ``allowedJobs`` does not allow answers 409 ``OperationNotAllowed``; a ``PUT`` on
    an existing item answers 200 (ARM's create-or-replace, no new job); a ``DELETE`` of a missing
    item 204;
  - ``GET /subscriptions`` and ``GET /subscriptions/{sub}`` (what a connection test reads).

  Microsoft.DataReplication counts its requests as the real service does (``throttling="v1"``, the
  default): every answer carries ``x-ms-throttling-version: v1`` and
  ``x-ms-ratelimit-remaining-subscription-resource-requests``, from a quota per principal and
  subscription over a fixed window (``rp_quota=(1100, 3600)``: the count the recorded answers show,
  over the hour ARM's documentation gives; writes count in a quota of their own, 800, as the
  recorded writes report), and a request past it is answered 429 with ``Retry-After`` to the
  window's end; no ARM reads header. With ``throttling="v2"`` it answers as other providers do
  (ARM's token bucket, below), for tests of those rules. The emulator's other routes always answer
  as ARM does (``v2``): ``x-ms-ratelimit-remaining-subscription-reads`` and
  ``...-global-reads``, from ARM-style token buckets shared by every client of the emulator (one
  per principal and subscription, one per subscription for all principals at 15 times its size;
  throttled only with ``arm_read_limit``). Writes need a valid token too and meet injected faults
  like reads;
- Microsoft Entra ID, as azure-identity's ``ClientSecretCredential`` needs it:
  ``GET /{tenant}/v2.0/.well-known/openid-configuration`` and ``POST /{tenant}/oauth2/v2.0/token``;
- the managed identity endpoint (IMDS), over plain http on a port of its own as Azure's is:
  ``GET /metadata/identity/oauth2/token`` (azure-identity finds it through
  ``AZURE_POD_IDENTITY_AUTHORITY_HOST``, see :meth:`DataReplicationEmulator.environment`).

Operations and jobs are scripted (a sequence of statuses or states, or a time-based progression),
faults are injected on demand, and counters record what clients did. Scripts, faults and counters
are also reachable over HTTP under ``/_emulator/`` for tests that run the emulator in another process.

Protected items, from Python:

- ``DataReplicationEmulator(item_durations=ItemDurations(...), retry_after=1, page_size=2)``, and
  :meth:`~DataReplicationEmulator.item_durations` (``enable_protection``, ``initial_replication``,
  ``planned_failover``, ``disable_protection``, in seconds, ``0`` for at once);
- :meth:`~DataReplicationEmulator.add_protected_item` seeds an item in any state;
  :meth:`~DataReplicationEmulator.protected_item` and :meth:`~DataReplicationEmulator.jobs_of` read
  an item's body and its jobs as a ``GET`` would; :meth:`~DataReplicationEmulator.requests_for_item`
  gives the requests about it (each :class:`RequestRecord` with its parsed ``query`` and the
  JSON ``body`` of a write, to compare with what Azure's SDK sends);
- :meth:`~DataReplicationEmulator.fail_initial_replication` (the item ends
  ``InitialReplicationFailed`` with health errors) and
  :meth:`~DataReplicationEmulator.fail_planned_failover` (the job ends ``Failed`` with errors, the
  item ``PlannedFailoverFailed``) script failures, for an item or the next one of that name;
- ``Fault.drop(method="POST", protected_item=name)`` hits one item's writes before anything is
  applied; with ``applied=True``, after (the write is made, its answer lost).

And over HTTP (``/_emulator/``): ``POST item-durations`` (``GET`` reads them), ``POST settings``
(``retry_after``, ``page_size``), ``POST protected-items/{name}`` (seed; the body is
:meth:`~DataReplicationEmulator.add_protected_item`'s keyword arguments),
``POST protected-items/{name}/fail-initial-replication`` and ``.../fail-planned-failover`` (their
keyword arguments), ``POST local-migration`` (the Migrate project of
:func:`~airflow_provider_datareplication.testing.local_migration.seed_local_migration`: its keyword
arguments, ``states`` an object of ``LocalMigrationStates``' fields; answers the machines' inputs),
``GET protected-items/{name}`` and ``GET protected-items/{name}/jobs``
(``?vault_name=&resource_group_name=`` to tell apart items of one name); ``POST faults`` takes the
new ``method``, ``protected_item`` and ``applied`` fields.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import datetime
import email.utils
import json
import math
import re
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit

from airflow_provider_datareplication.testing.protected_items import (
    DEFAULT_FAILED_TASK,
    DEFAULT_FAILOVER_ERRORS,
    DEFAULT_HEALTH_ERRORS,
    DEFAULT_RESOURCE_GROUP,
    DEFAULT_VAULT,
    ArmError,
    ItemDurations,
    ProtectedItemStore,
)

#: The api-versions that serve each resource type.
OPERATION_API_VERSIONS = ("2021-02-16-preview",)
JOB_API_VERSIONS = ("2021-02-16-preview", "2024-09-01", "2026-05-01")
OPERATION_RESULT_API_VERSIONS = ("2024-09-01", "2026-05-01")
PROTECTED_ITEM_API_VERSIONS = ("2024-09-01", "2026-05-01")
KNOWN_API_VERSIONS = ("2021-02-16-preview", "2024-09-01", "2026-05-01")
SUBSCRIPTIONS_API_VERSIONS = ("2020-01-01", "2021-01-01", "2022-12-01")
#: ARM's read limit: a bucket per principal and subscription, and a global one per subscription.
ARM_READ_BUCKET = (250.0, 25.0)
GLOBAL_READ_FACTOR = 15
#: ARM's write limit (counted apart from reads, never throttled here): bucket and refill per second.
ARM_WRITE_BUCKET = (200.0, 10.0)
#: Microsoft.DataReplication's own quota per principal and subscription: requests per window (the
#: count its answers reported in November 2025) and the window, seconds (ARM's documented hour).
RP_QUOTA = (1100, 3600.0)
#: Its writes' quota (the recorded writes report 799 left after one).
RP_WRITE_QUOTA = 800
DEFAULT_TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
DEFAULT_CLIENT_ID = "5b8e7c3a-emulator-client"
DEFAULT_SUBSCRIPTION_ID = "930CEC23-4430-4513-B855-DBA237E2F3BF"
TERMINAL = {"succeeded", "failed", "canceled", "cancelled"}
JOB_TERMINAL = {
    "succeeded",
    "failed",
    "cancelled",
    "completedwithinformation",
    "completedwithwarnings",
    "completedwitherrors",
}

_OPERATION_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]*)/resourceGroups/(?P<rg>[^/]*)"
    r"/providers/Microsoft\.DataReplication/replicationVaults/(?P<vault>[^/]*)"
    r"/jobs/(?P<job>[^/]*)/operations/(?P<op>[^/]*)$",
    re.IGNORECASE,
)
_JOB_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]*)/resourceGroups/(?P<rg>[^/]*)"
    r"/providers/Microsoft\.DataReplication/replicationVaults/(?P<vault>[^/]*)/jobs/(?P<job>[^/]*)$",
    re.IGNORECASE,
)
_OPERATION_RESULT_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]*)(?:/resourceGroups/(?P<rg>[^/]*))?"
    r"/providers/Microsoft\.DataReplication(?:/locations/(?P<location>[^/]*))?/operationResults/(?P<op>[^/]*)$",
    re.IGNORECASE,
)
_VAULT = (
    r"^/subscriptions/(?P<sub>[^/]*)/resourceGroups/(?P<rg>[^/]*)"
    r"/providers/Microsoft\.DataReplication/replicationVaults/(?P<vault>[^/]*)"
)
_ITEM_PATH = re.compile(_VAULT + r"/protectedItems/(?P<item>[^/]*)$", re.IGNORECASE)
_PLANNED_FAILOVER_PATH = re.compile(
    _VAULT + r"/protectedItems/(?P<item>[^/]*)/plannedFailover$", re.IGNORECASE
)
_ITEMS_PATH = re.compile(_VAULT + r"/protectedItems$", re.IGNORECASE)
_VAULT_PATH = re.compile(_VAULT + "$", re.IGNORECASE)
#: A VM a planned failover brought up on Azure Local (an Arc machine), by its resource id.
_MACHINE_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]*)/resourceGroups/(?P<rg>[^/]*)/providers/Microsoft\.HybridCompute"
    r"/machines/(?P<machine>[^/]*)$",
    re.IGNORECASE,
)
MACHINE_API_VERSIONS = ("2024-07-10", "2025-01-13")
#: Any other ARM resource (served when :meth:`DataReplicationEmulator.add_resource` seeded it).
_RESOURCE_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)(?:/resourceGroups/(?P<rg>[^/]+))?/providers/(?P<provider>[^/]+)"
    r"/(?P<rest>(?P<type>[^/]+)(?:/.+)?)$",
    re.IGNORECASE,
)
_JOBS_PATH = re.compile(_VAULT + r"/jobs$", re.IGNORECASE)
_SUBSCRIPTION_PATH = re.compile(r"^/subscriptions(?:/(?P<sub>[^/]+))?$", re.IGNORECASE)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
#: What Azure accepts for vault and job names (real job names are GUIDs).
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
#: ARM's resource group rule.
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
DEFAULT_MANAGED_IDENTITY_CLIENT_ID = "7e6e1c4b-0c2f-4d5a-9a51-5b1b2f3c4d5e"


def _now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Fault:
    """
    One injected fault: what the next matching request(s) get instead of the normal answer.

    :param kind: ``http`` (a status, headers and body), ``malformed`` (200 with a body that is not
        JSON), ``slow`` (the normal answer after ``delay`` seconds), ``drop`` (the connection is
        closed with no answer), ``revoke`` (the bearer token the request carries is revoked, and
        the answer is ARM's 401 for it: asking again with the same token gets 401 too).
    :param status: HTTP status for ``http``.
    :param headers: Extra response headers.
    :param body: Response body: a dict is sent as JSON, a string as is.
    :param delay: Seconds to wait before answering (``slow``).
    :param times: How many matching requests it hits; ``-1`` for all.
    :param operation_id: Only requests for this operation; ``None`` for every ARM request.
    :param target: ``arm`` (operation requests), ``token`` (the token endpoint) or ``imds`` (the
        managed identity endpoint).
    :param after: How many matching requests to answer normally first (to hit a waiting client).
    :param job_name: Only reads of this job (a job, not its operations).
    :param retry_after_date: Send ``Retry-After`` as an HTTP-date this many seconds after the
        moment of answering.
    :param seconds: Hit every matching request for this many seconds from the first one it hits
        (instead of ``times``): an outage.
    :param then: A fault to inject when this one first hits (one fault leading to another, e.g. a
        revoked token, then the identity endpoint unreachable while a new one is fetched).
    :param method: Only ARM requests of this HTTP method (``PUT``, ``POST``, ``DELETE``, ``GET``).
    :param protected_item: Only ARM requests about this protected item (its reads and writes, and
        the reads of its jobs; by name, case-insensitively).
    :param applied: On a write, hit after the write was processed (applied, or refused): the change
        is made but the client gets the fault (e.g. a drop: the answer was lost). ``False``: hit
        before, nothing applied.
    :param path: Only ARM requests whose path ends with this (``/protectedItems``: a vault's list).
    """

    kind: str = "http"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    times: int = 1
    operation_id: str | None = None
    target: str = "arm"
    after: int = 0
    job_name: str | None = None
    retry_after_date: float | None = None
    seconds: float | None = None
    then: Fault | None = None
    method: str | None = None
    protected_item: str | None = None
    applied: bool = False
    path: str | None = None
    _ends_at: float | None = field(default=None, init=False, repr=False)

    @classmethod
    def throttle(cls, retry_after: str = "1", *, header: str = "Retry-After", **kwargs: Any) -> Fault:
        """429 TooManyRequests with a Retry-After (seconds, HTTP-date, or ms with ``retry-after-ms``)."""
        body = {"error": {"code": "TooManyRequests", "message": "The request is being throttled."}}
        return cls("http", 429, {header: retry_after}, body, **kwargs)

    @classmethod
    def throttle_until(cls, seconds: float, **kwargs: Any) -> Fault:
        """429 with ``Retry-After`` as an HTTP-date ``seconds`` after the answer is sent."""
        fault = cls.throttle("0", **kwargs)
        fault.headers = {}
        fault.retry_after_date = seconds
        return fault

    @classmethod
    def server_error(cls, status: int = 500, *, body: str = "json", **kwargs: Any) -> Fault:
        """Build a 5xx with a standard (``json``), ``bare``, ``empty`` or ``html`` body."""
        bodies: dict[str, Any] = {
            "json": {
                "error": {"code": "InternalServerError", "message": "Encountered an internal server error."}
            },
            "bare": {"code": "ServiceUnavailable", "message": "The service is temporarily unavailable."},
            "empty": "",
            "html": f"<html><body><h1>{status} Gateway</h1></body></html>",
        }
        headers = {"Content-Type": "text/html"} if body == "html" else {}
        return cls("http", status, headers, bodies[body], **kwargs)

    @classmethod
    def malformed_json(cls, **kwargs: Any) -> Fault:
        """200 whose body is not JSON."""
        return cls("malformed", 200, {}, '{"id": "x", "status": ', **kwargs)

    @classmethod
    def slow(cls, seconds: float, **kwargs: Any) -> Fault:
        """Delay the normal answer by ``seconds`` (past a client's read timeout if long enough)."""
        return cls("slow", 200, {}, None, seconds, **kwargs)

    @classmethod
    def drop(cls, **kwargs: Any) -> Fault:
        """Close the connection without answering (a reset)."""
        return cls("drop", 0, {}, None, **kwargs)

    @classmethod
    def arm_error(cls, status: int, code: str, message: str, **kwargs: Any) -> Fault:
        """Any ARM error answer in the standard shape."""
        return cls("http", status, {}, {"error": {"code": code, "message": message}}, **kwargs)

    @classmethod
    def expired_token(cls, **kwargs: Any) -> Fault:
        """401 ExpiredAuthenticationToken, with ARM's ``WWW-Authenticate`` challenge."""
        fault = cls.arm_error(
            401,
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
            **kwargs,
        )
        fault.headers = {"WWW-Authenticate": _challenge("The access token has expired.")}
        return fault

    @classmethod
    def revoked_token(cls, **kwargs: Any) -> Fault:
        """Revoke the request's token: 401 InvalidAuthenticationToken, now and for that token later."""
        return cls("revoke", 401, {}, None, **kwargs)

    @classmethod
    def identity_unreachable(cls, seconds: float | None = None, **kwargs: Any) -> Fault:
        """Drop every connection at the managed identity endpoint, for ``seconds`` (a blip at IMDS)."""
        return cls("drop", 0, {}, None, target="imds", seconds=seconds, **kwargs)

    @classmethod
    def forbidden(cls, **kwargs: Any) -> Fault:
        """403 AuthorizationFailed."""
        return cls.arm_error(
            403,
            "AuthorizationFailed",
            "The client does not have authorization to perform action "
            "'Microsoft.DataReplication/replicationVaults/jobs/operations/read'.",
            **kwargs,
        )

    @classmethod
    def not_found(cls, **kwargs: Any) -> Fault:
        """404 ResourceNotFound."""
        return cls.arm_error(404, "ResourceNotFound", "The Resource was not found.", **kwargs)

    @classmethod
    def bad_request(cls, **kwargs: Any) -> Fault:
        """400 InvalidParameter."""
        return cls.arm_error(400, "InvalidParameter", "The request is invalid.", **kwargs)

    @classmethod
    def token_failure(cls, status: int = 500, **kwargs: Any) -> Fault:
        """Fail the token endpoint (500 by default; 400 gives Entra ID's invalid_client answer)."""
        if status == 400:
            body: Any = _aad_error("invalid_client", "AADSTS7000215: Invalid client secret provided.")
        else:
            body = _aad_error("temporarily_unavailable", "AADSTS90033: A transient error has occurred.")
        return cls("http", status, {}, body, target="token", **kwargs)


def _challenge(description: str) -> str:
    """ARM's ``WWW-Authenticate`` on a 401."""
    return (
        'Bearer authorization_uri="https://login.windows.net/", error="invalid_token", '
        f'error_description="{description}"'
    )


def _aad_error(error: str, description: str) -> dict[str, Any]:
    return {
        "error": error,
        "error_description": f"{description} Trace ID: {uuid.uuid4()} Correlation ID: {uuid.uuid4()}",
        "error_codes": [int(code)] if (code := description[6:].split(":")[0]).isdigit() else [],
        "trace_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
    }


@dataclass
class RequestRecord:
    """
    One request the emulator answered.

    :param at: ``time.monotonic()`` when it arrived.
    :param method: HTTP method.
    :param path: Path without the query.
    :param status: Status answered (0 when the connection was dropped).
    :param operation_id: The operation asked about, for operation requests.
    :param job_name: The job asked about, for job reads.
    :param kind: ``arm``, ``token``, ``discovery``, ``subscription`` or ``admin``.
    :param wall: ``time.time()`` when it arrived (to compare with Airflow's timestamps).
    :param query: The query, parsed (``{"api-version": "2024-09-01", "forceDelete": "true"}``).
    :param body: The JSON body of an ARM write, decoded (its text when it is not JSON; ``None`` for
        reads and for requests to the token endpoint).
    :param protected_item: The protected item the request is about, for item requests.
    """

    at: float
    method: str
    path: str
    status: int
    operation_id: str | None = None
    kind: str = "arm"
    wall: float = field(default_factory=time.time)
    job_name: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    protected_item: str | None = None


@dataclass
class _Script:
    statuses: list[Any]
    extra: dict[str, Any]
    seconds: list[float] | None = None
    started_at: float | None = None
    polls: int = 0
    start_time: str | None = None


class DataReplicationEmulator:
    """
    The emulator server; use as a context manager, or call :meth:`start` and :meth:`stop`.

    :param tenant_id: The tenant that issues tokens.
    :param client_id: The service principal's client id.
    :param client_secret: Its secret (a fresh random one by default).
    :param subscription_id: Subscription put in connection settings by :meth:`connection`.
    :param token_lifetime: ``expires_in`` of issued tokens, in seconds (azure-identity asks again
        for a token that has less than 5 minutes left, so a short one makes every read ask).
    :param managed_identity_client_id: The client id of the managed identity the IMDS endpoint
        signs in (also accepted when a request names none).
    :param unknown_operations: Status every GET of an unscripted operation answers; ``None``
        (default) answers 404 ResourceNotFound, as Azure does.
    :param auto_progress: When set, an unscripted operation answers ``InProgress`` (an unscripted
        job ``Started``, a protected item no one created ``InitialReplicationInProgress``) until this
        many seconds after its first read, then ``Succeeded`` (the item ``Protected``: ready to
        migrate), for load tests with many waits.
    :param arm_read_limit: ``(bucket, refill per second)``: throttle reads as ARM does, per
        principal and subscription, and globally per subscription at 15 times that (a 429 with
        ``Retry-After`` once a bucket is empty); ``None`` for no throttling (the buckets still
        count, at ARM's 250 and 25 per second, for the headers every answer carries).
    :param throttling: How Microsoft.DataReplication counts its requests: ``v1`` (the real
        service's quota, :data:`RP_QUOTA`) or ``v2`` (ARM's read bucket, as other providers).
    :param rp_quota: ``(requests, window seconds)`` of that quota, per principal and subscription,
        in fixed windows from the emulator's start (``None``: counted, never throttled).
    :param item_durations: How long a protected item's enable-protection job, initial replication,
        planned failover and disable-protection job take, in seconds (see :meth:`item_durations`).
    :param retry_after: ``Retry-After`` (seconds) of the answers that start work on a protected item,
        and of their operation while it runs (the real service says 15).
    :param page_size: Entries per page of a vault's job and protected item lists, when the request
        names no ``pageSize`` (small, so tests cross pages).
    :param port: Port to bind on 127.0.0.1 (0: any free one).
    """

    def __init__(
        self,
        *,
        tenant_id: str = DEFAULT_TENANT_ID,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str | None = None,
        subscription_id: str = DEFAULT_SUBSCRIPTION_ID,
        token_lifetime: int = 3599,
        managed_identity_client_id: str = DEFAULT_MANAGED_IDENTITY_CLIENT_ID,
        unknown_operations: str | None = None,
        auto_progress: float | None = None,
        arm_read_limit: tuple[float, float] | None = None,
        throttling: str = "v1",
        rp_quota: tuple[int, float] | None = RP_QUOTA,
        item_durations: ItemDurations | None = None,
        retry_after: int = 1,
        page_size: int = 2,
        port: int = 0,
    ) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret or f"emu-secret-{secrets.token_urlsafe(18)}"
        self.subscription_id = subscription_id
        self.token_lifetime = token_lifetime
        self.managed_identity_client_id = managed_identity_client_id
        self.unknown_operations = unknown_operations
        self.auto_progress = auto_progress
        self.arm_read_limit = arm_read_limit
        if throttling not in ("v1", "v2"):
            raise ValueError(f"throttling must be v1 or v2, not {throttling!r}")
        self.throttling = throttling
        self.rp_quota = rp_quota
        self.retry_after = retry_after
        self.page_size = page_size
        # What reset() goes back to.
        self._settings = {
            "token_lifetime": token_lifetime,
            "unknown_operations": unknown_operations,
            "auto_progress": auto_progress,
            "arm_read_limit": arm_read_limit,
            "throttling": throttling,
            "rp_quota": rp_quota,
            "retry_after": retry_after,
            "page_size": page_size,
        }
        self._item_durations = item_durations
        #: The protected items and the jobs their actions run.
        self.items = self._new_store()
        self._buckets: dict[tuple[str, ...], tuple[float, float]] = {}
        self._quota_counts: dict[tuple[str, ...], int] = {}
        self._started_at = time.monotonic()
        #: Answers of Microsoft.DataReplication's quota: (monotonic time, remaining, status).
        self.quota_answers: list[tuple[float, int, int]] = []
        self._port = port
        self._lock = threading.Lock()
        self._scripts: dict[str, _Script] = {}
        self._job_scripts: dict[str, _Script] = {}
        self._item_scripts: dict[str, _Script] = {}  # items that exist only by auto_progress
        self._faults: list[Fault] = []
        self._tokens: dict[str, tuple[float, str]] = {}  # token: (expiry, principal)
        self.issued_tokens: list[str] = []
        self.requests: list[RequestRecord] = []
        self.token_requests = 0
        self.open_connections = 0
        self._sockets: set[Any] = set()  # the connections open now (closed by reset())
        self.max_open_connections = 0
        self.connections_accepted = 0
        self._server: ThreadingHTTPServer | None = None
        self._imds: ThreadingHTTPServer | None = None
        self._dir: str | None = None
        self.ca_file = ""

    def _new_store(self) -> ProtectedItemStore:
        """Return a fresh store of protected items, with the default vault."""
        store = ProtectedItemStore(self._item_durations)
        store.add_vault(self.subscription_id, DEFAULT_RESOURCE_GROUP, DEFAULT_VAULT)
        return store

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> DataReplicationEmulator:
        """Make the certificates, bind 127.0.0.1 (HTTPS, and plain http for IMDS) and serve in threads."""
        from airflow_provider_datareplication.testing.tls import make_tls_files

        self._dir = tempfile.mkdtemp(prefix="datareplication-emulator-")
        tls = make_tls_files(self._dir)
        self.ca_file = tls.ca_file
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.cert_file, tls.key_file)

        class Handler(_Handler):
            emulator = self

        class ImdsHandler(_ImdsHandler):
            emulator = self

        server = _TlsServer(("127.0.0.1", self._port), Handler)
        server.tls_context = context
        self._server = server
        self._imds = _PlainServer(("127.0.0.1", 0), ImdsHandler)
        for target, name in ((server, "datareplication-emulator"), (self._imds, "datareplication-imds")):
            # A short poll, so stop() returns at once (serve_forever checks for it every 0.5 s by default).
            threading.Thread(
                target=target.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
            ).start()
        return self

    def stop(self) -> None:
        """Stop serving and remove the certificates."""
        for server in (self._server, self._imds):
            if server is not None:
                server.shutdown()
                server.server_close()
        self._server = self._imds = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> DataReplicationEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._server is not None, "the emulator is not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL of both ARM and the token authority."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def imds_url(self) -> str:
        """The managed identity endpoint (plain http, as Azure's IMDS is)."""
        assert self._imds is not None, "the emulator is not started"
        return f"http://127.0.0.1:{self._imds.server_address[1]}"

    def environment(self) -> dict[str, str]:
        """
        Environment variables for clients of the emulator.

        ``REQUESTS_CA_BUNDLE`` and ``SSL_CERT_FILE`` make requests and aiohttp trust its CA;
        ``AZURE_POD_IDENTITY_AUTHORITY_HOST`` sends azure-identity's managed identity credential to
        its IMDS endpoint instead of 169.254.169.254.
        """
        return {
            "REQUESTS_CA_BUNDLE": self.ca_file,
            "SSL_CERT_FILE": self.ca_file,
            "AZURE_POD_IDENTITY_AUTHORITY_HOST": self.imds_url,
        }

    def connection(
        self,
        *,
        resource_group_name: str | None = "rgrecoveryservicesdatareplication",
        vault_name: str | None = None,
        client_secret: str | None = None,
        conn_type: str = "azure_data_replication",
        managed_identity: bool = False,
    ) -> dict[str, Any]:
        """
        Return an Airflow connection (``AIRFLOW_CONN_<ID>`` JSON form) that points at this emulator.

        :param resource_group_name: Default resource group in the extras.
        :param vault_name: Default vault in the extras.
        :param client_secret: The secret to put in (the right one by default).
        :param conn_type: ``azure_data_replication``, or ``azure`` for an azure-provider connection.
        :param managed_identity: Sign in as the emulator's user-assigned managed identity (no login
            or password; the process needs ``AZURE_POD_IDENTITY_AUTHORITY_HOST`` from
            :meth:`environment`).
        """
        extra: dict[str, Any] = {
            "tenantId": self.tenant_id,
            "subscriptionId": self.subscription_id,
            "resource_manager_url": self.url,
            "authority_host": self.url,
            "disable_instance_discovery": True,
            "ca_bundle": self.ca_file,
        }
        if resource_group_name:
            extra["resource_group_name"] = resource_group_name
        if vault_name:
            extra["vault_name"] = vault_name
        if managed_identity:
            extra["managed_identity_client_id"] = self.managed_identity_client_id
            return {"conn_type": conn_type, "extra": extra}
        return {
            "conn_type": conn_type,
            "login": self.client_id,
            "password": client_secret if client_secret is not None else self.client_secret,
            "extra": extra,
        }

    # -- scripting ------------------------------------------------------------------------------

    def script_operation(
        self, operation_id: str, statuses: list[Any], *, extra: dict[str, Any] | None = None
    ) -> None:
        """
        Script an operation: each GET answers the next status; the last one repeats.

        :param operation_id: The operation id (as the client sends it, decoded).
        :param statuses: Status strings, ``None`` (no status), or dicts of body fields to send.
        :param extra: Fields added to every answer (``error``, ``percentComplete``, ...).
        """
        if not statuses:
            raise ValueError("statuses must not be empty")
        with self._lock:
            self._scripts[operation_id] = _Script(list(statuses), dict(extra or {}))

    def progress_operation(
        self,
        operation_id: str,
        steps: list[tuple[float, Any]],
        *,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """
        Script an operation by time: ``[(0, "InProgress"), (5, "Succeeded")]`` from the first GET on.

        :param operation_id: The operation id.
        :param steps: ``(seconds after the first GET, status)`` pairs, in order.
        :param extra: Fields added to every answer.
        """
        if not steps:
            raise ValueError("steps must not be empty")
        with self._lock:
            self._scripts[operation_id] = _Script(
                [status for _, status in steps], dict(extra or {}), [float(at) for at, _ in steps]
            )

    def script_job(self, job_name: str, states: list[Any], *, extra: dict[str, Any] | None = None) -> None:
        """
        Script a job: each GET answers the next state; the last one repeats.

        :param job_name: The job's name (a GUID, as Azure names them).
        :param states: ``properties.state`` strings, ``None`` (no state), or dicts of
            ``properties`` fields to send (``{"state": "Failed", "errors": [...]}``).
        :param extra: ``properties`` fields added to every answer.
        """
        if not states:
            raise ValueError("states must not be empty")
        with self._lock:
            self._job_scripts[job_name] = _Script(list(states), dict(extra or {}))

    def progress_job(
        self, job_name: str, steps: list[tuple[float, Any]], *, extra: dict[str, Any] | None = None
    ) -> None:
        """
        Script a job by time: ``[(0, "Started"), (5, "Succeeded")]`` from the first GET on.

        :param job_name: The job's name.
        :param steps: ``(seconds after the first GET, state)`` pairs, in order.
        :param extra: ``properties`` fields added to every answer.
        """
        if not steps:
            raise ValueError("steps must not be empty")
        with self._lock:
            self._job_scripts[job_name] = _Script(
                [state for _, state in steps], dict(extra or {}), [float(at) for at, _ in steps]
            )

    def operation_url(
        self,
        operation_id: str,
        *,
        location: str = "eastus",
        resource_group_name: str | None = None,
        api_version: str = "2024-09-01",
    ) -> str:
        """
        Return the ``Azure-AsyncOperation`` URL a long-running call would have returned for an operation.

        :param operation_id: The operation (script it with :meth:`script_operation`).
        :param location: The region in the URL.
        :param resource_group_name: Put the URL under this resource group (default: subscription level).
        :param api_version: Its api-version.
        """
        group = f"/resourceGroups/{resource_group_name}" if resource_group_name else ""
        return (
            f"{self.url}/subscriptions/{self.subscription_id}{group}/providers/Microsoft.DataReplication"
            f"/locations/{location}/operationResults/{operation_id}?api-version={api_version}"
        )

    # -- protected items ----------------------------------------------------------------------------

    def item_durations(
        self,
        *,
        enable_protection: float | None = None,
        initial_replication: float | None = None,
        planned_failover: float | None = None,
        disable_protection: float | None = None,
        update_protected_item: float | None = None,
    ) -> ItemDurations:
        """
        Set how long each part of a protected item's lifecycle takes (for what starts from now on).

        Every argument is in seconds; ``0`` makes it happen at once; ``None`` leaves it as it is.
        Return the durations in force.

        :param enable_protection: The enable-protection job a ``PUT`` starts.
        :param initial_replication: Initial replication, from that job's end to ``Protected``.
        :param planned_failover: The job a ``plannedFailover`` starts.
        :param disable_protection: The job a ``DELETE`` starts, after which the item is gone.
        :param update_protected_item: The job a ``PATCH`` starts.
        """
        durations = self.items.durations
        for name, value in (
            ("enable_protection", enable_protection),
            ("initial_replication", initial_replication),
            ("planned_failover", planned_failover),
            ("disable_protection", disable_protection),
            ("update_protected_item", update_protected_item),
        ):
            if value is not None:
                if value < 0:
                    raise ValueError(f"{name} must be 0 or more seconds, not {value}")
                setattr(durations, name, float(value))
        return durations

    def add_protected_item(
        self,
        name: str,
        *,
        protection_state: str = "Protected",
        instance_type: str = "HyperVToAzStackHCI",
        allowed_jobs: list[str] | None = None,
        properties: dict[str, Any] | None = None,
        vault_name: str = "vault1",
        resource_group_name: str = "rgrecoveryservicesdatareplication",
        subscription_id: str | None = None,
        replicating_for: float | None = None,
    ) -> dict[str, Any]:
        """
        Seed a protected item in any state, as if its jobs had run; return its body.

        The defaults put it where :meth:`connection` (resource group) and the pytest fixture (vault
        ``vault1``) point.

        :param name: Its name (real ones look like ``100-69-177-104-<guid>_<guid>``).
        :param protection_state: Any ``protectionState`` of the service (``Protected``,
            ``InitialReplicationInProgress``, ``PlannedFailoverCompleted``, ...).
        :param instance_type: ``customProperties.instanceType``: ``HyperVToAzStackHCI`` or
            ``VMwareToAzStackHCI``.
        :param allowed_jobs: ``allowedJobs`` (default: what the service allows in that state).
        :param properties: ``properties`` fields that override the generated ones (``policyName``,
            ``healthErrors``, ``customProperties`` fields such as ``initialReplicationProgressPercentage``).
        :param vault_name: Its vault.
        :param resource_group_name: The vault's resource group.
        :param subscription_id: The subscription (default: the emulator's).
        :param replicating_for: Seed it in initial replication, ``Protected`` (ready to migrate) after
            this many seconds (``protection_state`` is then ``InitialReplicationInProgress``).
        """
        return self.items.add(
            subscription_id or self.subscription_id,
            resource_group_name,
            vault_name,
            name,
            protection_state=protection_state,
            instance_type=instance_type,
            allowed_jobs=allowed_jobs,
            properties=properties,
            replicating_for=replicating_for,
        )

    def add_resource(
        self, resource_id: str, body: dict[str, Any], *, api_versions: tuple[str, ...]
    ) -> dict[str, Any]:
        """
        Serve any other ARM resource at its id: a discovered machine, a site, a storage path...

        ``GET {resource_id}?api-version=...`` answers the body (its ``id`` set to ``resource_id`` when
        it has none) at the api-versions given (another answers 400 as ARM does), with ARM's read
        limits and faults; a missing one 404 ``ResourceNotFound``. Ids are matched case-insensitively.
        Adding it again replaces it (a state changed); :meth:`remove_resource` takes it away.

        :param resource_id: Its ARM id (``/subscriptions/.../providers/...``).
        :param body: Its body, as ARM answers it.
        :param api_versions: The api-versions its resource type is served at.
        """
        body = copy.deepcopy(body) if "value" in body else {"id": resource_id, **copy.deepcopy(body)}
        self.items.resources[resource_id.rstrip("/").lower()] = (body, tuple(api_versions))
        return body

    def remove_resource(self, resource_id: str) -> None:
        """
        Take away a resource :meth:`add_resource` served (its reads answer 404 from then on).

        :param resource_id: Its ARM id.
        """
        self.items.resources.pop(resource_id.rstrip("/").lower(), None)

    def add_vault(
        self,
        name: str,
        *,
        resource_group_name: str = DEFAULT_RESOURCE_GROUP,
        subscription_id: str | None = None,
        provisioning_state: str = "Succeeded",
    ) -> dict[str, Any]:
        """
        Make a replication vault exist (and its resource group); return its body as ``GET`` answers it.

        The emulator starts with ``vault1`` in ``rgrecoveryservicesdatareplication`` (where
        :meth:`connection` and the pytest fixture point); seeding an item seeds its vault. Elsewhere
        an item's, a list's or the vault's read answers 404 (``ResourceGroupNotFound`` for a group
        with no vault), as Azure answers for a mistyped vault or group.

        :param name: The vault's name.
        :param resource_group_name: Its resource group.
        :param subscription_id: The subscription (default: the emulator's).
        :param provisioning_state: Its ``provisioningState``.
        """
        return self.items.add_vault(
            subscription_id or self.subscription_id,
            resource_group_name,
            name,
            provisioning_state=provisioning_state,
        )

    def protected_item(
        self, name: str, *, vault_name: str | None = None, resource_group_name: str | None = None
    ) -> dict[str, Any] | None:
        """
        Return a protected item's body as a ``GET`` would answer it now (``None``: there is none).

        :param name: Its name (case-insensitive).
        :param vault_name: Its vault, when items of that name live in several.
        :param resource_group_name: Its resource group, likewise.
        """
        return self.items.body_of(name, None, resource_group_name, vault_name)

    def jobs_of(
        self, name: str, *, vault_name: str | None = None, resource_group_name: str | None = None
    ) -> list[dict[str, Any]]:
        """
        Return the jobs actions on a protected item ran (a removed one's too), oldest first, as sent.

        :param name: The item's name (case-insensitive).
        :param vault_name: Its vault, to tell apart items of one name in several.
        :param resource_group_name: Its resource group, likewise.
        """
        return self.items.jobs_of(name, resource_group_name, vault_name)

    def fail_initial_replication(
        self,
        name: str,
        health_errors: list[dict[str, Any]] | None = None,
        *,
        percent: int = 50,
        vault_name: str | None = None,
        resource_group_name: str | None = None,
    ) -> None:
        """
        Make a protected item's initial replication fail (the next one of that name, if none exists yet).

        It stops at ``percent``: the item ends ``InitialReplicationFailed`` with these
        ``healthErrors``, ``replicationHealth`` ``Critical``, and ``lastFailedEnableProtectionJob``
        naming the failed "Complete initial replication" job (which carries them as its ``errors``).

        :param name: The item's name.
        :param health_errors: ``healthErrors`` entries (``code``, ``message``, ``causes``,
            ``recommendation``, ...; the other fields are filled in); a realistic one by default.
        :param percent: The initial replication percentage it fails at.
        :param vault_name: Its vault, to tell apart items of one name in several.
        :param resource_group_name: Its resource group, likewise.
        """
        if not 0 <= percent < 100:
            raise ValueError(f"percent must be 0 to 99, not {percent}")
        self.items.fail_initial_replication(
            name, health_errors or DEFAULT_HEALTH_ERRORS, percent, resource_group_name, vault_name
        )

    def fail_planned_failover(
        self,
        name: str,
        errors: list[dict[str, Any]] | None = None,
        *,
        task: str = DEFAULT_FAILED_TASK,
        vault_name: str | None = None,
        resource_group_name: str | None = None,
        seconds: float | None = None,
    ) -> None:
        """
        Make a protected item's running planned failover fail, or its next one.

        The "Planned failover" job ends ``Failed`` with these ``errors``, ``task`` ``Failed`` (the
        ones after it ``Skipped``); the item ends ``PlannedFailoverFailed`` with
        ``lastFailedPlannedFailoverJob`` set and ``allowedJobs`` ``["Restart", "DisableProtection"]``.

        :param name: The item's name.
        :param errors: The job's ``errors`` (``code``, ``message``, ``causes``, ``recommendation``, ...);
            a realistic one by default.
        :param task: The task that fails (one of the job's five task names).
        :param vault_name: Its vault, to tell apart items of one name in several.
        :param resource_group_name: Its resource group, likewise.
        :param seconds: How long the next failover runs before it fails (default: the planned
            failover's duration); ``0`` fails it at once.
        """
        self.items.fail_planned_failover(
            name, errors or DEFAULT_FAILOVER_ERRORS, task, resource_group_name, vault_name, seconds
        )

    def add_fault(self, fault: Fault) -> Fault:
        """
        Inject a fault; faults are matched in the order added.

        :param fault: The fault.
        """
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every pending fault."""
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """
        Go back to the state of a fresh emulator: no scripts, faults, items, counters; full read buckets.

        Settings changed since it was built go back to what it was built with; the server, its port,
        its certificates and its secret stay (tokens already issued stay valid). One emulator can so
        serve a whole test session, reset between tests. Connections clients left open are closed
        (as a fresh server would have none), so connection counts start from zero.
        """
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 2.0
        while self.open_connections and time.monotonic() < deadline:
            time.sleep(0.005)
        with self._lock:
            for name, value in self._settings.items():
                setattr(self, name, value)
            self.items = self._new_store()
            self._scripts.clear()
            self._job_scripts.clear()
            self._item_scripts.clear()
            self._faults.clear()
            self._buckets.clear()
            self._quota_counts.clear()
            self._started_at = time.monotonic()
            self.quota_answers.clear()
        self.reset_counters()

    def reset_counters(self) -> None:
        """Forget recorded requests and counters (tokens stay valid)."""
        with self._lock:
            self.requests.clear()
            self.token_requests = 0
            self.max_open_connections = self.open_connections
            self.connections_accepted = 0

    # -- counters -------------------------------------------------------------------------------

    def requests_for(self, operation_id: str) -> list[RequestRecord]:
        """Operation requests for one operation (by identifiers or by URL), in order."""
        with self._lock:
            return [r for r in self.requests if r.kind == "arm" and r.operation_id == operation_id]

    def requests_for_job(self, job_name: str) -> list[RequestRecord]:
        """Return the reads of one job, in order."""
        with self._lock:
            return [r for r in self.requests if r.kind == "arm" and r.job_name == job_name]

    def requests_for_item(self, name: str) -> list[RequestRecord]:
        """Return the ARM requests about one protected item (reads and writes), in order."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.kind == "arm"
                and r.protected_item is not None
                and r.protected_item.lower() == name.lower()
            ]

    def requests_per_path(self) -> Counter[str]:
        """How many requests each path got."""
        with self._lock:
            return Counter(r.path for r in self.requests)

    def stats(self, *, with_requests: bool = True) -> dict[str, Any]:
        """
        Every counter, as JSON-ready data.

        :param with_requests: Include the request log (long under load).
        """
        with self._lock:
            return {
                "now": time.monotonic(),
                "token_requests": self.token_requests,
                "open_connections": self.open_connections,
                "max_open_connections": self.max_open_connections,
                "connections_accepted": self.connections_accepted,
                "requests_per_path": dict(Counter(r.path for r in self.requests)),
                "requests": [asdict(r) for r in self.requests] if with_requests else [],
            }

    # -- behaviour (called from handler threads) ------------------------------------------------

    def _take_fault(
        self,
        target: str,
        operation_id: str | None,
        job_name: str | None = None,
        *,
        method: str | None = None,
        protected_item: str | None = None,
        path: str = "",
    ) -> Fault | None:
        with self._lock:
            for fault in list(self._faults):
                if fault.path is not None and not path.lower().endswith(fault.path.lower()):
                    continue
                if fault.target != target:
                    continue
                if fault.operation_id is not None and fault.operation_id != operation_id:
                    continue
                if fault.job_name is not None and fault.job_name != job_name:
                    continue
                if fault.method is not None and fault.method.upper() != (method or "").upper():
                    continue
                if fault.protected_item is not None and fault.protected_item.lower() != (
                    (protected_item or "").lower()
                ):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    return None
                if fault.then is not None:
                    self._faults.append(fault.then)
                    fault.then = None
                if fault.seconds is not None:
                    now = time.monotonic()
                    if fault._ends_at is None:
                        fault._ends_at = now + fault.seconds
                    if now < fault._ends_at:
                        return fault
                    self._faults.remove(fault)
                    continue
                if fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                return fault
        return None

    def _take_quota(
        self, principal: str, subscription_id: str, *, write: bool = False
    ) -> tuple[float | None, int]:
        """
        Count a request in Microsoft.DataReplication's quota: the wait to the window's end, what is left.

        Fixed windows from the emulator's start; reads and writes in quotas of their own.
        """
        quota, window = self.rp_quota or (RP_QUOTA[0], float("inf"))
        if write:
            quota = RP_WRITE_QUOTA
        now = time.monotonic()
        index = int((now - self._started_at) // window) if window != float("inf") else 0
        key = ("writes" if write else "reads", principal, subscription_id.lower(), str(index))
        with self._lock:
            count = self._quota_counts.get(key, 0)
            if count >= quota and self.rp_quota is not None:
                ends = self._started_at + (index + 1) * window
                self.quota_answers.append((now, 0, 429))
                return ends - now, 0
            self._quota_counts[key] = count + 1
            if not write:
                self.quota_answers.append((now, quota - count - 1, 200))
            return None, quota - count - 1

    def _take_request(
        self, principal: str, subscription_id: str, *, write: bool = False
    ) -> tuple[float | None, int, int]:
        """
        Count a read (or a write) in ARM's buckets: this principal's on this subscription, and the global.

        Return the seconds to wait when throttled (``None`` otherwise) and what is left in each.
        Writes have buckets of their own (ARM counts them apart) and are never throttled here.
        """
        size, refill = ARM_WRITE_BUCKET if write else (self.arm_read_limit or ARM_READ_BUCKET)
        now = time.monotonic()
        kind = "writes" if write else "reads"
        keys = ((kind, principal, subscription_id.lower()), (kind, "*", subscription_id.lower()))
        limits = ((size, refill), (size * GLOBAL_READ_FACTOR, refill * GLOBAL_READ_FACTOR))
        with self._lock:
            levels = []
            for key, (bucket, rate) in zip(keys, limits, strict=True):
                tokens, last = self._buckets.get(key, (bucket, now))
                levels.append(min(bucket, tokens + (now - last) * rate))
            waits = [
                (1 - tokens) / rate for tokens, (_, rate) in zip(levels, limits, strict=True) if tokens < 1
            ]
            throttled = not write and self.arm_read_limit is not None and bool(waits)
            for key, tokens in zip(keys, levels, strict=True):
                self._buckets[key] = (tokens if throttled else max(tokens - 1, 0.0), now)
            left = [int(self._buckets[key][0]) for key in keys]
        return (max(waits) if throttled else None), left[0], left[1]

    def _issue_token(self, principal: str) -> str:
        token = f"emu-token-{secrets.token_urlsafe(24)}"
        with self._lock:
            self._tokens[token] = (time.time() + self.token_lifetime, principal)
            self.issued_tokens.append(token)
        return token

    def _principal(self, authorization: str | None) -> str:
        with self._lock:
            entry = self._tokens.get((authorization or "")[7:])
        return entry[1] if entry else "?"

    def _revoke(self, authorization: str | None) -> None:
        if authorization and authorization.startswith("Bearer "):
            with self._lock:
                self._tokens.pop(authorization[7:], None)

    def _token_state(self, authorization: str | None) -> str:
        if not authorization or not authorization.startswith("Bearer "):
            return "missing"
        with self._lock:
            entry = self._tokens.get(authorization[7:])
        if entry is None:
            return "invalid"
        return "expired" if entry[0] < time.time() else "valid"

    def _next_entry(
        self, scripts: dict[str, _Script], key: str, running: str
    ) -> tuple[Any, dict[str, Any], str | None, int] | None:
        """Return the next scripted entry for ``key`` (its extras, start time, reads), or ``None``."""
        with self._lock:
            script = scripts.get(key)
            if script is None:
                if self.auto_progress is not None:
                    script = _Script([running, "Succeeded"], {}, [0.0, self.auto_progress])
                elif self.unknown_operations is not None and scripts is self._scripts:
                    script = _Script([self.unknown_operations], {})
                else:
                    return None
                scripts[key] = script
            now = time.monotonic()
            if script.started_at is None:
                script.started_at = now
                script.start_time = _now_iso()
            if script.seconds is None:
                entry = script.statuses[min(script.polls, len(script.statuses) - 1)]
            else:
                elapsed = now - script.started_at
                index = max(i for i, at in enumerate(script.seconds) if at <= elapsed or i == 0)
                entry = script.statuses[index]
            script.polls += 1
            return entry, dict(script.extra), script.start_time, script.polls

    def _is_scripted(self, operation_id: str | None = None, job_name: str | None = None) -> bool:
        """Whether an operation or job is scripted (a script wins over an item action's of that name)."""
        with self._lock:
            return (operation_id is not None and operation_id in self._scripts) or (
                job_name is not None and job_name in self._job_scripts
            )

    def _auto_item(self, sub: str, rg: str, vault: str, name: str) -> dict[str, Any] | None:
        """
        With ``auto_progress``: an item no one created replicates until that long after its first read.

        Then it is ready to migrate (``Protected``). ``None`` for every other item (and without
        ``auto_progress``).
        """
        key = f"{sub}/{rg}/{vault}/{name}".lower()
        if self.auto_progress is None or (
            key not in self._item_scripts and self.items.body_of(name, sub, rg, vault)
        ):
            return None
        found = self._next_entry(self._item_scripts, key, "InitialReplicationInProgress")
        assert found is not None
        state = "Protected" if found[0] == "Succeeded" else str(found[0])
        return self.items.add(
            sub,
            rg,
            vault,
            name,
            protection_state=state,
            instance_type="HyperVToAzStackHCI",
            allowed_jobs=None,
            properties=None,
        )

    def _operation_body(self, resource_id: str, op: str) -> dict[str, Any] | None:
        found = self._next_entry(self._scripts, op, "InProgress")
        if found is None:
            return None
        entry, extra, start_time, _ = found
        body: dict[str, Any] = {
            "id": resource_id,
            "name": op,
            "status": None,
            "startTime": start_time,
            "endTime": None,
        }
        if isinstance(entry, dict):
            body.update(entry)
        else:
            body["status"] = entry
        if isinstance(body["status"], str) and body["status"].lower() in TERMINAL and not body["endTime"]:
            body["endTime"] = _now_iso()
        body.update(extra)
        return body

    def _job_body(self, sub: str, rg: str, vault: str, job: str) -> dict[str, Any] | None:
        found = self._next_entry(self._job_scripts, job, "Started")
        if found is None:
            return None
        entry, extra, start_time, _ = found
        overrides = dict(entry) if isinstance(entry, dict) else {"state": entry}
        state = overrides.get("state")
        ended = isinstance(state, str) and state.lower() in JOB_TERMINAL
        failed = isinstance(state, str) and state.lower() in {"failed", "completedwitherrors", "cancelled"}
        group_id = f"/subscriptions/{sub}/resourceGroups/{rg}"
        vault_id = f"{group_id}/providers/Microsoft.DataReplication/replicationVaults/{vault}"
        item = f"{vault_id}/protectedItems/vm-web-01"
        task_state = "Failed" if failed else ("Succeeded" if ended else "Started")
        properties: dict[str, Any] = {
            "displayName": "Planned failover",
            "state": state,
            "startTime": start_time,
            "endTime": _now_iso() if ended else None,
            "objectId": item,
            "objectName": "vm-web-01",
            "objectInternalId": str(uuid.uuid5(uuid.NAMESPACE_URL, item)),
            "objectInternalName": "vm-web-01",
            "objectType": "ProtectedItem",
            "replicationProviderId": str(uuid.uuid5(uuid.NAMESPACE_URL, vault_id + "/provider")),
            "sourceFabricProviderId": str(uuid.uuid5(uuid.NAMESPACE_URL, vault_id + "/source")),
            "targetFabricProviderId": str(uuid.uuid5(uuid.NAMESPACE_URL, vault_id + "/target")),
            "allowedActions": [] if ended else ["Cancel"],
            "activityId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{vault_id}/jobs/{job}")),
            "tasks": [
                {
                    "taskName": "Prerequisites check for planned failover",
                    "state": "Succeeded",
                    "startTime": start_time,
                    "endTime": start_time,
                    "customProperties": {"instanceType": "TaskModelCustomProperties"},
                    "childrenJobs": [],
                },
                {
                    "taskName": "Shut down the virtual machine and fail over",
                    "state": task_state,
                    "startTime": start_time,
                    "endTime": _now_iso() if ended else None,
                    "customProperties": {"instanceType": "TaskModelCustomProperties"},
                    "childrenJobs": [],
                },
            ],
            "errors": [],
            "customProperties": {
                "instanceType": "FailoverJobDetails",
                "affectedObjectDetails": {"description": "vm-web-01", "type": "object"},
                "protectedItemDetails": [],
            },
            # What the real service sends on every job, running or not (judge by ``state``).
            "provisioningState": "Canceled",
        }
        properties.update(extra)
        properties.update(overrides)
        return {
            "id": f"{vault_id}/jobs/{job}",
            "name": job,
            "type": "Microsoft.DataReplication/replicationVaults/jobs",
            "systemData": None,
            "properties": properties,
        }


class _TlsServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    tls_context: ssl.SSLContext

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        # The handshake runs in the handler thread, so one slow client cannot stall accept().
        return self.tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address


class _PlainServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


_ADMIN_ITEMS = "/_emulator/protected-items/"


def _arm_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _name_problem(sub: str, rg: str | None, names: dict[str, str], op: str | None) -> tuple[str, str] | None:
    """Return what Azure says of the first name it refuses (``(code, message)``), or ``None``."""
    problems = []
    if not _UUID.match(sub):
        problems.append(
            ("InvalidSubscriptionId", f"The provided subscription identifier '{sub}' is malformed.")
        )
    if rg is not None and not _RESOURCE_GROUP.match(rg):
        problems.append(
            (
                "InvalidResourceGroupName",
                f"Resource group name '{rg}' is invalid: 1 to 90 letters, digits, '_', '-', '.', "
                "'(' or ')', not ending with '.'.",
            )
        )
    for label, value in names.items():
        if not _NAME.match(value):
            problems.append(
                (
                    "InvalidParameter",
                    f"The {label} name '{value}' must be letters, digits, '-', '_' or '.', "
                    "starting with a letter or digit.",
                )
            )
    if op == "":
        problems.append(("InvalidParameter", "The operation id must not be empty."))
    return problems[0] if problems else None


def _token_of(skip: int) -> str:
    """Return an opaque continuation token (URL-safe: Azure's clients quote nextLink values again)."""
    return base64.urlsafe_b64encode(json.dumps({"skip": skip}).encode()).decode().rstrip("=")


def _skip_of(token: str) -> int:
    try:
        skip = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["skip"]
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise ValueError(token) from error
    if not isinstance(skip, int) or skip < 0:
        raise ValueError(token)
    return skip


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DataReplicationEmulator/1.0"
    emulator: DataReplicationEmulator
    #: ARM's headers for the answer under way (the read limits left).
    _arm_headers: dict[str, str] = {}
    #: The request under way, for its record: its query, its JSON body (ARM writes), its item.
    _query: dict[str, str] = {}
    _json_body: Any = None
    _item_name: str | None = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.request.settimeout(120)
        with self.emulator._lock:
            self.emulator._sockets.add(self.request)
            self.emulator.open_connections += 1
            self.emulator.connections_accepted += 1
            self.emulator.max_open_connections = max(
                self.emulator.max_open_connections, self.emulator.open_connections
            )

    def handle(self) -> None:
        try:
            self.request.do_handshake()
            super().handle()
        except (OSError, ssl.SSLError):
            pass

    def finish(self) -> None:
        with self.emulator._lock:
            self.emulator._sockets.discard(self.request)
            self.emulator.open_connections -= 1
        with contextlib.suppress(OSError):
            super().finish()

    # -- plumbing -------------------------------------------------------------------------------

    def _record(
        self, status: int, kind: str, operation_id: str | None = None, job_name: str | None = None
    ) -> None:
        record = RequestRecord(
            time.monotonic(),
            self.command,
            urlsplit(self.path).path,
            status,
            operation_id,
            kind,
            job_name=job_name,
            query=dict(self._query),
            body=self._json_body if kind == "arm" else None,
            protected_item=self._item_name,
        )
        with self.emulator._lock:
            self.emulator.requests.append(record)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        content_type: dict[str, str] = {}
        if isinstance(body, (dict, list)):
            payload = json.dumps(body).encode()
            content_type["Content-Type"] = "application/json; charset=utf-8"
        else:
            payload = (body or "").encode()
            if body is not None:
                content_type["Content-Type"] = "text/plain; charset=utf-8"
        self.send_response(status)
        merged = {**content_type, **(headers or {})}
        for name, value in merged.items():
            self.send_header(name, value)
        for name, value in self._arm_headers.items():
            self.send_header(name, value)
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        self.send_header("x-ms-correlation-request-id", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.request.shutdown(2)

    def _apply_fault(
        self, fault: Fault, kind: str, operation_id: str | None, job_name: str | None = None
    ) -> bool:
        """Answer with the fault; ``False`` when the normal answer should follow (slow)."""
        if fault.kind == "drop":
            self._record(0, kind, operation_id, job_name)
            self._drop()
            return True
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return False
        if fault.kind == "revoke":
            self.emulator._revoke(self.headers.get("Authorization"))
            self._record(401, kind, operation_id, job_name)
            self._send(
                401,
                _arm_error("InvalidAuthenticationToken", "The access token is invalid."),
                {"WWW-Authenticate": _challenge("The access token is invalid.")},
            )
            return True
        headers = dict(fault.headers)
        if fault.retry_after_date is not None:
            headers["Retry-After"] = email.utils.formatdate(time.time() + fault.retry_after_date, usegmt=True)
        self._record(fault.status, kind, operation_id, job_name)
        self._send(fault.status, fault.body, headers)
        return True

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # -- routes ---------------------------------------------------------------------------------

    def _begin(self) -> tuple[str, dict[str, list[str]]]:
        """Start answering a request: its path and query; the per-request state reset."""
        parts = urlsplit(self.path)
        self._arm_headers = {}
        self._query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self._json_body = None
        self._item_name = None
        return parts.path, parse_qs(parts.query, keep_blank_values=True)

    def do_GET(self) -> None:
        path, query = self._begin()
        try:
            if path.startswith("/_emulator/"):
                self._admin_get(path, query)
            elif path.endswith("/v2.0/.well-known/openid-configuration"):
                self._openid_configuration(path)
            elif match := _OPERATION_PATH.match(path):
                self._operation(match, query)
            elif match := _JOB_PATH.match(path):
                self._job(match, query)
            elif match := _JOBS_PATH.match(path):
                self._list(match, query, "jobs")
            elif match := _ITEM_PATH.match(path):
                self._item_read(match, query)
            elif match := _ITEMS_PATH.match(path):
                self._list(match, query, "protectedItems")
            elif match := _VAULT_PATH.match(path):
                self._vault(match, query)
            elif match := _MACHINE_PATH.match(path):
                self._machine(match, query)
            elif match := _OPERATION_RESULT_PATH.match(path):
                self._operation_result(match, query)
            elif match := _SUBSCRIPTION_PATH.match(path):
                self._subscription(match, query)
            elif match := _RESOURCE_PATH.match(path):
                self._resource(match, query)
            else:
                self._record(404, "arm")
                self._send(404, _arm_error("InvalidResourceType", f"No route for {path}"))
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    def _resource(self, match: re.Match[str], query: dict[str, list[str]]) -> None:
        """``GET`` a resource :meth:`DataReplicationEmulator.add_resource` serves."""
        path = unquote(urlsplit(self.path).path).rstrip("/")
        seeded = self.emulator.items.resources.get(path.lower())
        provider = match.group("provider")
        # A resource not seeded is missing at whatever api-version is asked.
        versions = seeded[1] if seeded else tuple(query.get("api-version") or ())
        kind = match.group("type") or provider
        if not self._arm_read(
            sub=unquote(match.group("sub")),
            query=query,
            versions=versions,
            resource_type=kind,
            provider=provider,
        ):
            return
        if seeded is None:
            self._not_found(
                f"{provider}/{match.group('rest')}", unquote(match.group("rg") or "") or None, None, None
            )
            return
        self._record(200, "arm")
        self._send(200, seeded[0])

    def _resource_graph(self, query: dict[str, list[str]], raw: bytes) -> None:
        """
        Answer a Resource Graph query: the rows seeded for the cluster its ``HCIClusterID`` names.

        The Arc resource bridge query the cmdlet sends (assumed answer shape: ``{"data": [rows]}``,
        ``resultFormat`` ``objectArray``); any other query answers no rows.
        """
        try:
            self._json_body = json.loads(raw)
        except ValueError:
            self._json_body = raw.decode(errors="replace")
        request = self._json_body if isinstance(self._json_body, dict) else {}
        subscriptions = request.get("subscriptions") or [""]
        if not self._arm_read(
            sub=str(subscriptions[0]),
            query=query,
            versions=("2021-03-01", "2022-10-01", "2024-04-01"),
            resource_type="resources",
            provider="Microsoft.ResourceGraph",
        ):
            return
        found = re.search(r"\['HCIClusterID'\] =~ '([^']*)'", str(request.get("query") or ""))
        rows = self.emulator.items.bridges.get(found.group(1).lower(), []) if found else []
        self._record(200, "arm")
        self._send(
            200,
            {
                "totalRecords": len(rows),
                "count": len(rows),
                "data": rows,
                "facets": [],
                "resultTruncated": "false",
            },
        )

    def do_POST(self) -> None:
        path, query = self._begin()
        body = self._read_body()
        try:
            if path.startswith("/_emulator/"):
                self._admin_post(path, body)
            elif path.endswith("/oauth2/v2.0/token"):
                self._token(path, body)
            elif match := _PLANNED_FAILOVER_PATH.match(path):
                self._item_write(match, query, body)
            elif path.lower() == "/providers/microsoft.resourcegraph/resources":
                self._resource_graph(query, body)
            else:
                self._record(404, "arm")
                self._send(404, _arm_error("InvalidResourceType", f"No route for {path}"))
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    def do_PUT(self) -> None:
        self._write()

    def do_DELETE(self) -> None:
        self._write()

    def do_PATCH(self) -> None:
        self._write()

    def _write(self) -> None:
        path, query = self._begin()
        body = self._read_body()
        try:
            if match := _ITEM_PATH.match(path):
                self._item_write(match, query, body)
            else:
                self._record(404, "arm")
                self._send(404, _arm_error("InvalidResourceType", f"No route for {path}"))
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    def _openid_configuration(self, path: str) -> None:
        tenant = path.split("/")[1]
        base = f"{self.emulator.url}/{tenant}"
        self._record(200, "discovery")
        self._send(
            200,
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "issuer": f"{base}/v2.0",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "response_types_supported": ["code", "id_token", "token"],
                "tenant_region_scope": "NA",
            },
        )

    def _token(self, path: str, raw: bytes) -> None:
        emulator = self.emulator
        with emulator._lock:
            emulator.token_requests += 1
        fault = emulator._take_fault("token", None)
        if fault is not None and self._apply_fault(fault, "token", None):
            return
        form = {key: values[0] for key, values in parse_qs(raw.decode()).items()}
        tenant = path.split("/")[1]
        if tenant != emulator.tenant_id:
            self._record(400, "token")
            self._send(400, _aad_error("invalid_request", f"AADSTS90002: Tenant '{tenant}' not found."))
            return
        if form.get("grant_type") != "client_credentials":
            self._record(400, "token")
            self._send(
                400, _aad_error("unsupported_grant_type", "AADSTS70003: The grant type is not supported.")
            )
            return
        if form.get("client_id") != emulator.client_id:
            self._record(400, "token")
            self._send(
                400,
                _aad_error(
                    "unauthorized_client",
                    f"AADSTS700016: Application with identifier '{form.get('client_id')}' was not found.",
                ),
            )
            return
        if form.get("client_secret") != emulator.client_secret:
            self._record(401, "token")
            self._send(
                401,
                _aad_error(
                    "invalid_client",
                    "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
                    f"request is the client secret value, not the client secret ID, for a secret added "
                    f"to app '{emulator.client_id}'.",
                ),
            )
            return
        self._record(200, "token")
        self._send(
            200,
            {
                "token_type": "Bearer",
                "expires_in": emulator.token_lifetime,
                "ext_expires_in": emulator.token_lifetime,
                "access_token": emulator._issue_token(emulator.client_id),
            },
        )

    def _authorized(self, kind: str, operation_id: str | None = None, job_name: str | None = None) -> bool:
        state = self.emulator._token_state(self.headers.get("Authorization"))
        if state == "valid":
            return True
        errors = {
            "missing": (
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            ),
            "invalid": ("InvalidAuthenticationToken", "The access token is invalid."),
            "expired": (
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.",
            ),
        }
        code, message = errors[state]
        self._record(401, kind, operation_id, job_name)
        self._send(401, _arm_error(code, message), {"WWW-Authenticate": _challenge(message)})
        return False

    def _api_version_ok(
        self,
        query: dict[str, list[str]],
        known: tuple[str, ...],
        kind: str,
        op: str | None,
        job: str | None = None,
        resource_type: str | None = None,
    ) -> bool:
        versions = query.get("api-version")
        if not versions or not versions[0]:
            self._record(400, kind, op, job)
            self._send(
                400,
                _arm_error(
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                ),
            )
            return False
        version = versions[0]
        if version in known:
            return True
        self._record(400, kind, op, job)
        if resource_type is not None and version in KNOWN_API_VERSIONS:
            # An api-version the provider has, but not for this resource type.
            self._send(
                400,
                _arm_error(
                    "NoRegisteredProviderFound",
                    f"No registered resource provider found for location 'eastus' and API version "
                    f"'{version}' for type '{resource_type}'. The supported api-versions are "
                    f"'{', '.join(known)}'.",
                ),
            )
        else:
            self._send(
                400,
                _arm_error(
                    "InvalidApiVersionParameter",
                    f"The api-version '{version}' is invalid. "
                    f"The supported versions are '{','.join(known)}'.",
                ),
            )
        return False

    def _arm_read(
        self,
        *,
        sub: str,
        query: dict[str, list[str]],
        versions: tuple[str, ...],
        resource_type: str,
        op: str | None = None,
        job: str | None = None,
        item: str | None = None,
        provider: str = "Microsoft.DataReplication",
    ) -> bool:
        """ARM's part of a read: the token, the read limits, injected faults, the api-version."""
        emulator = self.emulator
        if not self._authorized("arm", op, job):
            return False
        principal = emulator._principal(self.headers.get("Authorization"))
        if provider == "Microsoft.DataReplication" and emulator.throttling == "v1":
            wait, left = emulator._take_quota(principal, sub)
            self._arm_headers = {
                "x-ms-throttling-version": "v1",
                "x-ms-ratelimit-remaining-subscription-resource-requests": str(left),
            }
        else:
            wait, left, global_left = emulator._take_request(principal, sub)
            self._arm_headers = {
                "x-ms-throttling-version": "v2",
                "x-ms-ratelimit-remaining-subscription-reads": str(left),
                "x-ms-ratelimit-remaining-subscription-global-reads": str(global_left),
            }
        if wait is not None:
            self._record(429, "arm", op, job)
            self._send(
                429,
                _arm_error(
                    "TooManyRequests", "The request is being throttled as the limit has been reached."
                ),
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
            return False
        path = urlsplit(self.path).path
        fault = emulator._take_fault("arm", op, job, method=self.command, protected_item=item, path=path)
        if fault is not None and self._apply_fault(fault, "arm", op, job):
            return False
        return self._api_version_ok(query, versions, "arm", op, job, resource_type)

    def _arm_write(self, *, sub: str, query: dict[str, list[str]], item: str) -> tuple[bool, Fault | None]:
        """
        ARM's part of a write: the token, the write count, faults, the api-version.

        Return whether to go on, and a fault to answer with once the write is processed.
        """
        emulator = self.emulator
        if not self._authorized("arm"):
            return False, None
        principal = emulator._principal(self.headers.get("Authorization"))
        if emulator.throttling == "v1":
            # Recorded: a write's answer reports the provider's own count of writes, under the same name.
            _, left = emulator._take_quota(principal, sub, write=True)
            self._arm_headers = {
                "x-ms-throttling-version": "v1",
                "x-ms-ratelimit-remaining-subscription-resource-requests": str(left),
            }
        else:
            _, left, global_left = emulator._take_request(principal, sub, write=True)
            self._arm_headers = {
                "x-ms-ratelimit-remaining-subscription-writes": str(left),
                "x-ms-ratelimit-remaining-subscription-global-writes": str(global_left),
            }
        fault = emulator._take_fault("arm", None, None, method=self.command, protected_item=item)
        if fault is not None and not fault.applied and self._apply_fault(fault, "arm", None):
            return False, None
        ok = self._api_version_ok(
            query, PROTECTED_ITEM_API_VERSIONS, "arm", None, None, "replicationVaults/protectedItems"
        )
        return ok, fault if fault is not None and fault.applied else None

    def _names_ok(
        self, sub: str, rg: str | None, names: dict[str, str], op: str | None, job: str | None
    ) -> bool:
        problem = _name_problem(sub, rg, names, op)
        if problem is not None:
            self._record(400, "arm", op, job)
            self._send(400, _arm_error(*problem))
            return False
        return True

    def _not_found(self, what: str, rg: str | None, op: str | None, job: str | None) -> None:
        self._record(404, "arm", op, job)
        where = f" under resource group '{rg}'" if rg else ""
        self._send(404, _arm_error("ResourceNotFound", f"The Resource '{what}'{where} was not found."))

    def _operation(self, match: re.Match[str], query: dict[str, list[str]]) -> None:
        sub, rg, vault, job, op = (unquote(match.group(name)) for name in ("sub", "rg", "vault", "job", "op"))
        if not self._arm_read(
            sub=sub,
            query=query,
            versions=OPERATION_API_VERSIONS,
            resource_type="replicationVaults/jobs/operations",
            op=op,
        ):
            return
        if not self._names_ok(sub, rg, {"vault": vault, "job": job}, op, None):
            return
        body = self.emulator._operation_body(unquote(urlsplit(self.path).path), op)
        if body is None:
            what = f"Microsoft.DataReplication/replicationVaults/{vault}/jobs/{job}/operations/{op}"
            self._not_found(what, rg, op, None)
            return
        self._record(200, "arm", op)
        self._send(200, body)

    def _operation_result(self, match: re.Match[str], query: dict[str, list[str]]) -> None:
        sub, op = unquote(match.group("sub")), unquote(match.group("op"))
        rg = unquote(match.group("rg")) if match.group("rg") else None
        if not self._arm_read(
            sub=sub,
            query=query,
            versions=OPERATION_RESULT_API_VERSIONS,
            resource_type="operationResults",
            op=op,
        ):
            return
        if not self._names_ok(sub, rg, {}, op, None):
            return
        emulator = self.emulator
        resource_id = unquote(urlsplit(self.path).path)
        if not emulator._is_scripted(operation_id=op):
            known, status = emulator.items.operation(op, resource_id)
            if known and status is None:
                # ARM's answer while an operation runs: 202, no body.
                self._record(202, "arm", op)
                self._send(202, None, {"Retry-After": str(emulator.retry_after)})
                return
            if known:
                self._record(200, "arm", op)
                self._send(200, status)
                return
        body = emulator._operation_body(resource_id, op)
        if body is None:
            self._not_found(f"Microsoft.DataReplication/operationResults/{op}", rg, op, None)
            return
        self._record(200, "arm", op)
        self._send(200, body)

    def _job(self, match: re.Match[str], query: dict[str, list[str]]) -> None:
        sub, rg, vault, job = (unquote(match.group(name)) for name in ("sub", "rg", "vault", "job"))
        if not self._arm_read(
            sub=sub,
            query=query,
            versions=JOB_API_VERSIONS,
            resource_type="replicationVaults/jobs",
            job=job,
            item=self.emulator.items.job_item_name(job),
        ):
            return
        if not self._names_ok(sub, rg, {"vault": vault, "job": job}, None, job):
            return
        body = None
        if not self.emulator._is_scripted(job_name=job):
            body = self.emulator.items.job(sub, rg, vault, job)
        if body is None:
            body = self.emulator._job_body(sub, rg, vault, job)
        if body is None:
            what = f"Microsoft.DataReplication/replicationVaults/{vault}/jobs/{job}"
            self._not_found(what, rg, None, job)
            return
        self._record(200, "arm", None, job)
        self._send(200, body)

    # -- protected items -------------------------------------------------------------------------

    def _item_read(self, match: re.Match[str], query: dict[str, list[str]]) -> None:
        sub, rg, vault, item = (unquote(match.group(name)) for name in ("sub", "rg", "vault", "item"))
        self._item_name = item
        if not self._arm_read(
            sub=sub,
            query=query,
            versions=PROTECTED_ITEM_API_VERSIONS,
            resource_type="replicationVaults/protectedItems",
            item=item,
        ):
            return
        if not self._names_ok(sub, rg, {"vault": vault, "protected item": item}, None, None):
            return
        try:
            body = self.emulator._auto_item(sub, rg, vault, item) or self.emulator.items.get(
                sub, rg, vault, item
            )
        except ArmError as error:
            self._record(error.status, "arm")
            self._send(error.status, _arm_error(error.code, error.message))
            return
        self._record(200, "arm")
        self._send(200, body)

    def _machine(self, match: re.Match[str], query: dict[str, list[str]]) -> None:
        sub, name = unquote(match.group("sub")), unquote(match.group("machine"))
        if not self._arm_read(
            sub=sub,
            query=query,
            versions=MACHINE_API_VERSIONS,
            resource_type="machines",
            provider="Microsoft.HybridCompute",
        ):
            return
        body = self.emulator.items.target_vm(unquote(urlsplit(self.path).path))
        if body is None:
            self._not_found(
                f"Microsoft.HybridCompute/machines/{name}", unquote(match.group("rg")), None, None
            )
            return
        self._record(200, "arm")
        self._send(200, body)

    def _vault(self, match: re.Match[str], query: dict[str, list[str]]) -> None:
        sub, rg, vault = (unquote(match.group(name)) for name in ("sub", "rg", "vault"))
        if not self._arm_read(
            sub=sub, query=query, versions=PROTECTED_ITEM_API_VERSIONS, resource_type="replicationVaults"
        ):
            return
        if not self._names_ok(sub, rg, {"vault": vault}, None, None):
            return
        try:
            body = self.emulator.items.vault(sub, rg, vault)
        except ArmError as error:
            self._record(error.status, "arm")
            self._send(error.status, _arm_error(error.code, error.message))
            return
        self._record(200, "arm")
        self._send(200, body)

    def _item_write(self, match: re.Match[str], query: dict[str, list[str]], raw: bytes) -> None:
        """``PUT`` / ``PATCH`` / ``DELETE`` a protected item, or ``POST`` its ``plannedFailover``."""
        sub, rg, vault, item = (unquote(match.group(name)) for name in ("sub", "rg", "vault", "item"))
        self._item_name = item
        if raw:
            try:
                self._json_body = json.loads(raw)
            except ValueError:
                self._json_body = raw.decode(errors="replace")
        go_on, after = self._arm_write(sub=sub, query=query, item=item)
        if not go_on:
            return
        emulator = self.emulator
        status: int
        body: Any = None
        headers: dict[str, str] = {}
        try:
            problem = _name_problem(sub, rg, {"vault": vault, "protected item": item}, None)
            if problem is not None:
                raise ArmError(400, *problem)
            if raw and isinstance(self._json_body, str):
                raise ArmError(
                    400,
                    "InvalidRequestContent",
                    "The request content was invalid and could not be deserialized.",
                )
            job = None
            if self.command == "PUT":
                status, body, job = emulator.items.create_or_update(sub, rg, vault, item, self._json_body)
            elif self.command == "PATCH":
                body, job = emulator.items.update(sub, rg, vault, item, self._json_body)
                status = 202
            elif self.command == "POST":
                status, job = 202, emulator.items.planned_failover(sub, rg, vault, item, self._json_body)
            else:
                force = self._query.get("forceDelete")
                if force is not None and force.lower() not in ("true", "false"):
                    raise ArmError(
                        400, "InvalidParameter", f"The value '{force}' of 'forceDelete' is not a boolean."
                    )
                job = emulator.items.delete(
                    sub, rg, vault, item, force is not None and force.lower() == "true"
                )
                status = 204 if job is None else 202
            if job is not None:
                headers = self._start_headers(match, job.operation_id)
        except ArmError as error:
            status, body, headers = error.status, _arm_error(error.code, error.message), {}
        if after is not None and self._apply_fault(after, "arm", None):
            return
        self._record(status, "arm")
        self._send(status, body, headers)

    def _start_headers(self, match: re.Match[str], operation_id: str) -> dict[str, str]:
        """Return the ``Azure-AsyncOperation``, ``Location`` (one URL) and ``Retry-After`` of a start."""
        query = {"api-version": self._query.get("api-version", "")}
        if "forceDelete" in self._query:
            query["forceDelete"] = self._query["forceDelete"]
        url = (
            f"{self.emulator.url}/subscriptions/{match.group('sub')}/resourceGroups/{match.group('rg')}"
            f"/providers/Microsoft.DataReplication/operationResults/{operation_id}?{urlencode(query)}"
        )
        return {"Azure-AsyncOperation": url, "Location": url, "Retry-After": str(self.emulator.retry_after)}

    def _list(self, match: re.Match[str], query: dict[str, list[str]], what: str) -> None:
        """Answer a vault's jobs or protected items, a page at a time (``nextLink`` while more are left)."""
        sub, rg, vault = (unquote(match.group(name)) for name in ("sub", "rg", "vault"))
        if not self._arm_read(
            sub=sub,
            query=query,
            versions=PROTECTED_ITEM_API_VERSIONS,
            resource_type=f"replicationVaults/{what}",
        ):
            return
        if not self._names_ok(sub, rg, {"vault": vault}, None, None):
            return
        items = self.emulator.items
        try:
            entries = items.list_jobs(sub, rg, vault) if what == "jobs" else items.list_items(sub, rg, vault)
        except ArmError as error:
            self._record(error.status, "arm")
            self._send(error.status, _arm_error(error.code, error.message))
            return
        size_text = self._query.get("pageSize")
        token = self._query.get("continuationToken")
        try:
            size = self.emulator.page_size if size_text is None else int(size_text)
            start = _skip_of(token) if token else 0
            if size < 1:
                raise ValueError
        except ValueError:
            self._record(400, "arm")
            self._send(400, _arm_error("InvalidParameter", "The pageSize or continuationToken is invalid."))
            return
        body: dict[str, Any] = {"value": entries[start : start + size]}
        if start + size < len(entries):
            next_query = {
                "api-version": self._query["api-version"],
                "continuationToken": _token_of(start + size),
            }
            if size_text is not None:
                next_query["pageSize"] = size_text
            body["nextLink"] = f"{self.emulator.url}{urlsplit(self.path).path}?{urlencode(next_query)}"
        self._record(200, "arm")
        self._send(200, body)

    def _subscription(self, match: re.Match[str], query: dict[str, list[str]]) -> None:
        if not self._authorized("subscription"):
            return
        if not self._api_version_ok(query, SUBSCRIPTIONS_API_VERSIONS, "subscription", None):
            return
        emulator = self.emulator
        entry = {
            "id": f"/subscriptions/{emulator.subscription_id}",
            "subscriptionId": emulator.subscription_id,
            "tenantId": emulator.tenant_id,
            "displayName": "Data Replication emulator",
            "state": "Enabled",
        }
        sub = match.group("sub")
        if sub is None:
            self._record(200, "subscription")
            self._send(200, {"value": [entry]})
        elif sub.lower() == emulator.subscription_id.lower():
            self._record(200, "subscription")
            self._send(200, entry)
        else:
            self._record(404, "subscription")
            self._send(
                404, _arm_error("SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
            )

    # -- admin (for tests that run the emulator in another process) ----------------------------

    def _admin_get(self, path: str, query: dict[str, list[str]]) -> None:
        emulator = self.emulator
        where = {key: query[key][0] for key in ("vault_name", "resource_group_name") if key in query}
        if path == "/_emulator/stats":
            self._send(200, emulator.stats())
        elif path == "/_emulator/info":
            self._send(200, {"url": emulator.url, "ca_file": emulator.ca_file})
        elif path == "/_emulator/item-durations":
            self._send(200, asdict(emulator.item_durations()))
        elif path.startswith(_ADMIN_ITEMS) and path.endswith("/jobs"):
            self._send(200, emulator.jobs_of(unquote(path[len(_ADMIN_ITEMS) : -len("/jobs")]), **where))
        elif path.startswith(_ADMIN_ITEMS):
            body = emulator.protected_item(unquote(path[len(_ADMIN_ITEMS) :]), **where)
            if body is None:
                self._send(404, _arm_error("NotFound", path))
            else:
                self._send(200, body)
        else:
            self._send(404, _arm_error("NotFound", path))

    def _admin_post(self, path: str, raw: bytes) -> None:
        data = json.loads(raw or b"{}")
        emulator = self.emulator
        if path.startswith("/_emulator/operations/"):
            operation_id = unquote(path[len("/_emulator/operations/") :])
            if "steps" in data:
                emulator.progress_operation(
                    operation_id, [tuple(step) for step in data["steps"]], extra=data.get("extra")
                )
            else:
                emulator.script_operation(operation_id, data["statuses"], extra=data.get("extra"))
        elif path == "/_emulator/faults":
            then = data.pop("then", None)
            emulator.add_fault(Fault(**data, then=Fault(**then) if then else None))
        elif path == "/_emulator/reset":
            emulator.clear_faults()
            emulator.reset_counters()
        elif path == "/_emulator/item-durations":
            self._send(200, asdict(emulator.item_durations(**data)))
            return
        elif path == "/_emulator/local-migration":
            from airflow_provider_datareplication.testing.local_migration import (
                LocalMigrationStates,
                seed_local_migration,
            )

            try:
                states = LocalMigrationStates(**data.pop("states", {}))
                self._send(200, seed_local_migration(emulator, states=states, **data))
            except (TypeError, ValueError) as error:
                self._send(400, _arm_error("InvalidRequest", str(error)))
            return
        elif path == "/_emulator/settings":
            emulator.retry_after = int(data.get("retry_after", emulator.retry_after))
            emulator.page_size = int(data.get("page_size", emulator.page_size))
            if "rp_quota" in data:
                quota = data["rp_quota"]
                emulator.rp_quota = (int(quota[0]), float(quota[1])) if quota else None
            emulator.throttling = str(data.get("throttling", emulator.throttling))
        elif path.startswith(_ADMIN_ITEMS):
            name, _, action = unquote(path[len(_ADMIN_ITEMS) :]).partition("/")
            try:
                if action == "fail-initial-replication":
                    emulator.fail_initial_replication(name, **data)
                elif action == "fail-planned-failover":
                    emulator.fail_planned_failover(name, **data)
                elif not action:
                    self._send(200, emulator.add_protected_item(name, **data))
                    return
                else:
                    self._send(404, _arm_error("NotFound", path))
                    return
            except (TypeError, ValueError) as error:
                self._send(400, _arm_error("InvalidRequest", str(error)))
                return
        else:
            self._send(404, _arm_error("NotFound", path))
            return
        self._send(200, {"ok": True})


class _ImdsHandler(_Handler):
    """The managed identity endpoint (Azure's IMDS, 2018-02-01), over plain http."""

    def setup(self) -> None:
        BaseHTTPRequestHandler.setup(self)
        self.request.settimeout(120)

    def handle(self) -> None:
        with contextlib.suppress(OSError):
            BaseHTTPRequestHandler.handle(self)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            BaseHTTPRequestHandler.finish(self)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        emulator = self.emulator
        try:
            if parts.path != "/metadata/identity/oauth2/token":
                self._record(404, "imds")
                self._send(404, {"error": "not_found", "error_description": f"No route for {parts.path}"})
                return
            with emulator._lock:
                emulator.token_requests += 1
            fault = emulator._take_fault("imds", None)
            if fault is not None and self._apply_fault(fault, "imds", None):
                return
            if self.headers.get("Metadata") != "true":
                self._record(400, "imds")
                self._send(400, {"error": "invalid_request", "error_description": "Required metadata header"})
                return
            client_id = query.get("client_id")
            if client_id not in (None, emulator.managed_identity_client_id):
                self._record(400, "imds")
                self._send(
                    400,
                    {"error": "invalid_request", "error_description": "Identity not found"},
                )
                return
            now = int(time.time())
            self._record(200, "imds")
            self._send(
                200,
                {
                    "access_token": emulator._issue_token(emulator.managed_identity_client_id),
                    "client_id": emulator.managed_identity_client_id,
                    "expires_in": str(emulator.token_lifetime),
                    "expires_on": str(now + emulator.token_lifetime),
                    "ext_expires_in": str(emulator.token_lifetime),
                    "not_before": str(now),
                    "resource": query.get("resource", ""),
                    "token_type": "Bearer",
                },
            )
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
