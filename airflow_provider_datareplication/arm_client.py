"""
The azure-core pipelines the hooks send through, and the few rules azure-core lacks.

azure-core already retries, sleeps on ``Retry-After``, refreshes bearer tokens before they
expire, refuses tokens over plain http and stamps request ids. What it does not do, and this
module adds, each as a module-level policy class:

- retry only the transient statuses (azure-core retries any status that carries ``Retry-After``,
  a 401 or 404 included), with jittered backoff; ``retry-after-ms`` / ``x-ms-retry-after-ms``
  win over ``Retry-After`` (ARM's precedence), and a ``Retry-After`` too long to sleep through
  inside one call is handed back to the caller instead;
- pace retries under the :class:`~airflow_provider_datareplication.pipeline.ReadPacer` of their
  subscription, let every reader of the subscription honour a ``Retry-After``, and let the pacer
  follow the reads ARM says are left in its bucket;
- when ARM refuses a token (401: expired early, revoked), get a fresh one and send once more.

Imported only when a client is built: it imports azure-core, azure-mgmt-core and aiohttp.
"""

from __future__ import annotations

import hashlib
import random
import threading
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.core.pipeline.policies import (
    AsyncHTTPPolicy,
    AsyncRetryPolicy,
    HeadersPolicy,
    HTTPPolicy,
    RequestIdPolicy,
    RetryPolicy,
    UserAgentPolicy,
)
from azure.mgmt.core import ARMPipelineClient, AsyncARMPipelineClient
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, AsyncARMChallengeAuthenticationPolicy

from airflow_provider_datareplication.exceptions import (
    TRANSIENT_STATUS_CODES,
    AzureDataReplicationAuthError,
    AzureDataReplicationError,
    AzureDataReplicationTransientError,
)
from airflow_provider_datareplication.pipeline import reads_left, retry_after_seconds

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from azure.core.credentials import AccessToken
    from azure.core.pipeline import PipelineRequest, PipelineResponse

    from airflow_provider_datareplication.pipeline import ReadPacer, ReadPacers, RequestSettings

#: How long an idle pooled connection is kept: past the default poll interval (30 s, +10 %), so a
#: few waits polling at their own pace reuse one connection instead of a TLS handshake per poll.
IDLE_CONNECTION_SECONDS = 60.0

#: Methods that only read: retried on any transient failure, and paced as reads.
_READS = frozenset({"GET", "HEAD"})

#: Marks a call whose refused token was already replaced once (kept across the call's retries).
_RENEWED = "datareplication_token_renewed"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class _RenewableBase:
    """
    The connection's azure-identity credential, replaced by a fresh one when ARM refuses its token.

    azure-identity caches a token until it nears its expiry and has no way to drop it: after ARM
    refuses one early (revoked, or expired by ARM's clock), asking the same credential again
    would hand back the same token. A fresh credential starts with an empty cache.
    Replaced credentials are closed with this one, not before: calls under way may still use them.
    """

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._credential = build()
        self._retired: list[Any] = []
        self._issued: str | None = None  # digest of the token the current credential last gave
        self._lock = threading.Lock()
        #: Whether a token has been issued through this credential (a replaced one included).
        self.has_issued = False

    def _issued_now(self, token: str) -> None:
        self._issued = _digest(token)
        self.has_issued = True

    def _replace(self, refused: str) -> bool:
        """Start a fresh credential unless another call already did for this token."""
        with self._lock:
            if self._issued is not None and self._issued != _digest(refused):
                return False
            self._retired.append(self._credential)
            self._credential = self._build()
            self._issued = None
            return True


class RenewableCredential(_RenewableBase):
    """A sync :class:`_RenewableBase` (``azure.identity`` credentials)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """Get a token from the current credential (cached by it)."""
        token: AccessToken = self._credential.get_token(*scopes, **kwargs)
        self._issued_now(token.token)
        return token

    def renew(self, refused: str) -> None:
        """
        Replace the credential after ARM refused ``refused``.

        :param refused: The bearer token ARM answered 401 to.
        """
        self._replace(refused)

    def close(self) -> None:
        """Close the credential and any it replaced."""
        for credential in [*self._retired, self._credential]:
            if hasattr(credential, "close"):
                credential.close()
        self._retired.clear()


class AsyncRenewableCredential(_RenewableBase):
    """An asyncio :class:`_RenewableBase` (``azure.identity.aio`` credentials)."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """Get a token from the current credential (cached by it)."""
        token: AccessToken = await self._credential.get_token(*scopes, **kwargs)
        self._issued_now(token.token)
        return token

    async def renew(self, refused: str) -> None:
        """
        Replace the credential after ARM refused ``refused``.

        :param refused: The bearer token ARM answered 401 to.
        """
        self._replace(refused)

    async def close(self) -> None:
        """Close the credential and any it replaced."""
        for credential in [*self._retired, self._credential]:
            await credential.close()
        self._retired.clear()

    async def __aenter__(self) -> AsyncRenewableCredential:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.close()


def _refused_token(request: PipelineRequest[Any]) -> str:
    header = str(request.http_request.headers.get("Authorization", ""))
    return header.partition(" ")[2]


class ArmAuthenticationPolicy(ARMChallengeAuthenticationPolicy):
    """ARM's bearer-token policy; a call whose token ARM refuses (401) is sent once more with a fresh one."""

    _credential: RenewableCredential

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Send; on a first 401 of this call, renew the credential and send once more."""
        response = super().send(request)
        if response.http_response.status_code == 401 and not request.context.get(_RENEWED):
            request.context[_RENEWED] = True
            self._credential.renew(_refused_token(request))
            self._token = None
            self.on_request(request)
            response = self.next.send(request)
        return response


class AsyncArmAuthenticationPolicy(AsyncARMChallengeAuthenticationPolicy):
    """The asyncio :class:`ArmAuthenticationPolicy`."""

    _credential: AsyncRenewableCredential

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Send; on a first 401 of this call, renew the credential and send once more."""
        response = await super().send(request)
        if response.http_response.status_code == 401 and not request.context.get(_RENEWED):
            request.context[_RENEWED] = True
            await self._credential.renew(_refused_token(request))
            self._token = None
            await self.on_request(request)
            response = await self.next.send(request)
        return response


class _RetryRules:
    """The retry rules azure-core lacks, for its sync and async retry policies alike."""

    def __init__(self, *, max_retry_after: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_retry_after = max_retry_after

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        return retry_after_seconds(response.http_response.headers)

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        status = response.http_response.status_code
        if status not in TRANSIENT_STATUS_CODES or not settings["total"]:
            return False
        if response.http_request.method not in _READS and status != 429:
            # A write answered 5xx may have been taken: the caller reads the item before any resend.
            return False
        retry_after = self.get_retry_after(response)
        # Too long to sleep through here: the caller waits it out (the pacer remembers it).
        return retry_after is None or retry_after <= self.max_retry_after

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        backoff = super().get_backoff_time(settings)  # type: ignore[misc]
        # Jitter, so clients that failed together do not come back together.
        return float(backoff) * random.uniform(0.5, 1.0)


class ArmRetryPolicy(_RetryRules, RetryPolicy):
    """azure-core's retry policy with :class:`_RetryRules`."""


class AsyncArmRetryPolicy(_RetryRules, AsyncRetryPolicy):
    """azure-core's asyncio retry policy with :class:`_RetryRules`."""


def _retry_kwargs(settings: RequestSettings) -> dict[str, Any]:
    return {
        "retry_total": settings.retries,
        "retry_connect": settings.retries,
        "retry_read": settings.retries,
        "retry_status": settings.retries,
        "retry_backoff_factor": settings.backoff_factor,
        "retry_backoff_max": settings.backoff_max,
        "timeout": settings.call_timeout,
        "max_retry_after": settings.max_retry_after,
    }


def _observe(pacer: ReadPacer, response: PipelineResponse[Any, Any]) -> None:
    status, headers = response.http_response.status_code, response.http_response.headers
    if status in TRANSIENT_STATUS_CODES:
        retry_after = retry_after_seconds(headers)
        if retry_after:
            pacer.hold_off(retry_after)
    pacer.observe(*reads_left(headers), throttled=status == 429)


class ReadPacingPolicy(HTTPPolicy):
    """
    Last before the wire: paces a call's retries, and holds every reader back on a ``Retry-After``.

    A call's first attempt is paced by the hook before it enters the pipeline, so a paced wait
    holds no request open.

    :param pacers: The read pacers of the connection's principal.
    """

    def __init__(self, pacers: ReadPacers) -> None:
        super().__init__()
        self._pacers = pacers

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Wait for this retry's turn, send, and remember a ``Retry-After``."""
        if request.http_request.method not in _READS:
            return self.next.send(request)  # writes count against ARM's write limits, not the reads
        pacer = self._pacers.for_url(request.http_request.url)
        if request.context.get("retry_count"):
            pacer.wait_turn()
        response = self.next.send(request)
        _observe(pacer, response)
        return response


class AsyncReadPacingPolicy(AsyncHTTPPolicy):
    """The asyncio :class:`ReadPacingPolicy`."""

    def __init__(self, pacers: ReadPacers) -> None:
        super().__init__()
        self._pacers = pacers

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Wait for this retry's turn, send, and remember a ``Retry-After``."""
        pacer = self._pacers.for_url(request.http_request.url)
        if request.context.get("retry_count"):
            await pacer.turn()
        response = await self.next.send(request)
        _observe(pacer, response)
        return response


def _user_agent() -> str:
    from airflow_provider_datareplication import __version__

    return f"airflow-provider-datareplication/{__version__}"


def _common_policies() -> list[Any]:
    return [
        RequestIdPolicy(),
        HeadersPolicy({"Accept": "application/json"}),
        UserAgentPolicy(base_user_agent=_user_agent()),
    ]


def build_client(
    *,
    base_url: str,
    credential: RenewableCredential,
    token_scope: str,
    settings: RequestSettings,
    pacers: ReadPacers,
    ca_bundle: str | None = None,
) -> ARMPipelineClient[Any, Any]:
    """
    Build the sync ARM client: requests transport, retries, bearer token, request ids, pacing.

    :param base_url: The ARM endpoint.
    :param credential: The connection's credential (reused, so its token is cached).
    :param token_scope: The scope of ARM tokens.
    :param settings: Timeouts and retry budget.
    :param pacers: Read pacing and ``Retry-After`` memory, per subscription.
    :param ca_bundle: CA certificates to trust instead of the system's.
    """
    from azure.core.pipeline.transport import RequestsTransport

    policies = [
        *_common_policies(),
        ArmRetryPolicy(**_retry_kwargs(settings)),
        ArmAuthenticationPolicy(credential, token_scope),
        ReadPacingPolicy(pacers),
    ]
    transport = RequestsTransport(connection_verify=ca_bundle or True, **settings.transport_kwargs())
    return ARMPipelineClient(base_url, policies=policies, transport=transport)


def new_aiohttp_session(ca_bundle: str | None = None, *, limit: int = 100) -> Any:
    """
    Open an ``aiohttp.ClientSession`` whose pool trusts ``ca_bundle`` (or the system's CAs).

    The trust goes on the connector, built once: azure-core's ``connection_verify=<path>`` would
    build an SSL context per request, and with it a new connection each time.

    :param ca_bundle: CA certificates to trust instead of the system's.
    :param limit: Most connections open at once.
    """
    import ssl

    import aiohttp

    context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
    connector = aiohttp.TCPConnector(ssl=context, limit=limit, keepalive_timeout=IDLE_CONNECTION_SECONDS)
    return aiohttp.ClientSession(connector=connector, trust_env=True)


def build_async_client(
    *,
    base_url: str,
    credential: AsyncRenewableCredential,
    token_scope: str,
    settings: RequestSettings,
    pacers: ReadPacers,
    ca_bundle: str | None = None,
) -> AsyncARMPipelineClient[Any, Any]:
    """
    Build the asyncio ARM client: aiohttp transport, retries, bearer token, request ids, pacing.

    One client serves every trigger of a connection in a triggerer: its bearer-token policy asks
    for one token for all of them, its aiohttp session is their one connection pool.

    :param base_url: The ARM endpoint.
    :param credential: The connection's asyncio credential (reused, so its token is cached).
    :param token_scope: The scope of ARM tokens.
    :param settings: Timeouts and retry budget.
    :param pacers: Read pacing and ``Retry-After`` memory, per subscription.
    :param ca_bundle: CA certificates to trust instead of the system's.
    """
    from azure.core.pipeline.transport import AioHttpTransport

    policies = [
        *_common_policies(),
        AsyncArmRetryPolicy(**_retry_kwargs(settings)),
        AsyncArmAuthenticationPolicy(credential, token_scope),
        AsyncReadPacingPolicy(pacers),
    ]
    transport = AioHttpTransport(
        session=new_aiohttp_session(ca_bundle, limit=settings.max_connections),
        session_owner=True,
        **settings.transport_kwargs(),
    )
    return AsyncARMPipelineClient(base_url, policies=policies, transport=transport)


def translate_azure_error(
    err: AzureError, what: str, *, had_token: bool, doing: str = "read"
) -> AzureDataReplicationError:
    """
    Map an azure-core / azure-identity exception to this provider's typed errors.

    A failure to get a token is final, with azure-identity's message, until the credential has
    been issued one: a misconfigured identity fails at once. After that, a
    failure without a definite refusal passes, as any transient failure does: a network blip at
    the managed identity endpoint (``CredentialUnavailableError``), say. A refusal stays final: a
    4xx answer, or Entra ID's own error (``AADSTS...``: a revoked or expired secret).

    :param err: What azure-core or azure-identity raised.
    :param what: What was being read, for the message.
    :param had_token: Whether the credential has been issued a token before.
    :param doing: What the call did, for the message ("read", "start a planned failover of").
    """
    if isinstance(err, ClientAuthenticationError):
        response = getattr(err, "response", None)
        status = getattr(response, "status_code", None)
        refused = (status is not None and 400 <= status < 500) or "AADSTS" in str(err.message)
        passing = status in TRANSIENT_STATUS_CODES or (had_token and not refused)
        cls = AzureDataReplicationTransientError if passing else AzureDataReplicationAuthError
        return cls(f"Could not get an Azure token to {doing} {what}: {err.message}", http_status=status)
    message = getattr(err, "message", None) or str(err) or type(err).__name__
    return AzureDataReplicationTransientError(f"Could not reach Azure to {doing} {what}: {message}")
