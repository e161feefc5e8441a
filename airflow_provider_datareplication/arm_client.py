"""
The azure-core pipelines the hooks send through, and the few rules azure-core lacks.

Each client (:class:`ArmClient`, :class:`AsyncArmClient`) is azure-mgmt-core's ARM pipeline
client (``ARMPipelineClient``, ``AsyncARMPipelineClient``) with azure-core's standard chain: request
ids, ``Accept`` and this provider's user agent, proxy settings, content decoding, redirects (a
redirect to another host drops the token: ``SensitiveHeaderCleanupPolicy``), retries, ARM's
bearer-token policy (tokens refreshed before they expire, with the credential's ``refresh_on``
hint; continuous access evaluation's claims challenges answered; never a token over plain http),
distributed tracing, and HTTP logging with its redaction (azure-mgmt-core's
``ARMHttpLoggingPolicy``). Proxies come from the environment (``HTTPS_PROXY``, ``NO_PROXY``), as
requests and aiohttp (``trust_env``) read it.

As every Azure management client, it answers a 409 ``MissingSubscriptionRegistration`` by asking
to register the resource provider in the subscription (azure-mgmt-core's
``ARMAutoResourceProviderRegistrationPolicy``): an identity that may not register it (a reader)
gets ARM's 409 back at once.

What azure-core does not do, and this module adds through the chain's extension points:

- retry only the transient statuses (azure-core retries any status that carries ``Retry-After``,
  a 401 or 404 included), with jittered backoff; ``retry-after-ms`` / ``x-ms-retry-after-ms``
  win over ``Retry-After`` (ARM's precedence), and a ``Retry-After`` too long to sleep through
  inside one call is handed back to the caller instead (the configured retry policy);
- when ARM refuses a token (401: expired early, revoked), get a fresh one from a fresh credential
  and send once more (the bearer policy's ``on_challenge``);
- pace a read's retries at the door of its :class:`~airflow_provider_datareplication.pacing.Pacer`
  (the caller's, handed in with the call: its subscription and resource provider), and let the pacer
  learn from every answer (its ``Retry-After``, the throttling headers; a per-retry policy: after the
  bearer policy, the last that can wait before the transport);
- keep the HTTP logging policies' request and response headers, of the pipelines and of the
  credentials' own token requests, out of task logs unless the connection's ``http_logging`` asks
  for them (each policy is given a logger that is never enabled; no logger of the process changes);
- hand back an answer whose body is not what its content type says (a gateway's HTML page sent as
  JSON), which azure-core's ``ContentDecodePolicy`` turns into ``DecodeError``: the hooks judge every
  answer themselves, its status and ARM's error with the request ids.

Imported only when a client is built: it imports azure-core, azure-mgmt-core and aiohttp.
"""

from __future__ import annotations

import hashlib
import random
import threading
from typing import TYPE_CHECKING, Any, cast

from azure.core.configuration import Configuration
from azure.core.exceptions import AzureError, ClientAuthenticationError, DecodeError, IncompleteReadError
from azure.core.pipeline.policies import (
    AsyncHTTPPolicy,
    AsyncRedirectPolicy,
    AsyncRetryPolicy,
    CustomHookPolicy,
    HeadersPolicy,
    HTTPPolicy,
    NetworkTraceLoggingPolicy,
    ProxyPolicy,
    RedirectPolicy,
    RequestIdPolicy,
    RetryPolicy,
    UserAgentPolicy,
)
from azure.mgmt.core import ARMPipelineClient, AsyncARMPipelineClient
from azure.mgmt.core.policies import (
    ARMChallengeAuthenticationPolicy,
    ARMHttpLoggingPolicy,
    AsyncARMChallengeAuthenticationPolicy,
)

from airflow_provider_datareplication.exceptions import (
    REQUEST_ID_HEADERS,
    TRANSIENT_STATUS_CODES,
    AzureDataReplicationAuthError,
    AzureDataReplicationError,
    AzureDataReplicationTransientError,
)
from airflow_provider_datareplication.pacing import REMAINING_HEADERS, THROTTLING_VERSION_HEADER
from airflow_provider_datareplication.pipeline import HTTP_LOGGING_OFF, retry_after_seconds

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
    from azure.core.pipeline import PipelineRequest, PipelineResponse
    from azure.core.rest import AsyncHttpResponse, HttpRequest, HttpResponse

    from airflow_provider_datareplication.pacing import Pacer
    from airflow_provider_datareplication.pipeline import RequestSettings

#: How long an idle pooled connection is kept: past the default poll interval (30 s, +10 %), so a
#: few waits polling at their own pace reuse one connection instead of a TLS handshake per poll.
IDLE_CONNECTION_SECONDS = 60.0

#: Methods that only read: retried on any transient failure, and paced as reads.
_READS = frozenset({"GET", "HEAD"})
#: A read sent as a ``POST``: a Resource Graph query (it changes nothing; paced and retried as a read).
_QUERY_PATH = "/providers/microsoft.resourcegraph/resources"


def _is_read(request: Any) -> bool:
    """Whether a request only reads: a ``GET``/``HEAD``, or a Resource Graph query."""
    from urllib.parse import urlsplit

    if request.method in _READS:
        return True
    return request.method == "POST" and urlsplit(request.url).path.rstrip("/").lower() == _QUERY_PATH


#: Marks a call whose refused token was already replaced once (kept across the call's retries).
_RENEWED = "datareplication_token_renewed"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class _RenewableBase:
    """
    The connection's azure-identity credential, replaced by a fresh one when ARM refuses its token.

    azure-identity caches a token until it nears its expiry (or its ``refresh_on``) and has no way
    to drop it: after ARM refuses one early (revoked, or expired by ARM's clock), asking the same
    credential again would hand back the same token. A fresh credential starts with an empty cache.
    Replaced credentials are closed with this one, not before: calls under way may still use them.

    :param build: Builds a fresh azure-identity credential.
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
        """
        Start a fresh credential, unless the refused token is not the current credential's latest.

        Calls refused together with one token replace the credential once: the others find it
        replaced already (and its first token not yet issued, or another one).
        """
        with self._lock:
            if self._issued != _digest(refused):
                return False
            self._retired.append(self._credential)
            self._credential = self._build()
            self._issued = None
            return True


class RenewableCredential(_RenewableBase):
    """A sync :class:`_RenewableBase` (``azure.identity`` credentials): a token credential with token info."""

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """
        Get a token from the current credential (cached by it).

        :param scopes: The scopes asked for.
        :param claims: Claims a challenge asked for.
        :param tenant_id: Another tenant to ask in.
        :param enable_cae: Ask for a token that supports continuous access evaluation.
        """
        token: AccessToken = self._credential.get_token(
            *scopes, claims=claims, tenant_id=tenant_id, enable_cae=enable_cae, **kwargs
        )
        self._issued_now(token.token)
        return token

    def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        """
        Get a token and its details from the current credential: its ``refresh_on`` hint included.

        :param scopes: The scopes asked for.
        :param options: azure-core's token request options (claims, tenant, CAE).
        """
        token: AccessTokenInfo = self._credential.get_token_info(*scopes, options=options)
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

    def __enter__(self) -> RenewableCredential:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self.close()


class AsyncRenewableCredential(_RenewableBase):
    """An asyncio :class:`_RenewableBase` (``azure.identity.aio`` credentials)."""

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """
        Get a token from the current credential (cached by it).

        :param scopes: The scopes asked for.
        :param claims: Claims a challenge asked for.
        :param tenant_id: Another tenant to ask in.
        :param enable_cae: Ask for a token that supports continuous access evaluation.
        """
        token: AccessToken = await self._credential.get_token(
            *scopes, claims=claims, tenant_id=tenant_id, enable_cae=enable_cae, **kwargs
        )
        self._issued_now(token.token)
        return token

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        """
        Get a token and its details from the current credential: its ``refresh_on`` hint included.

        :param scopes: The scopes asked for.
        :param options: azure-core's token request options (claims, tenant, CAE).
        """
        token: AccessTokenInfo = await self._credential.get_token_info(*scopes, options=options)
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


def _first_renewal(request: PipelineRequest[Any]) -> bool:
    """Whether this call may still replace its refused token (once per call, across its retries)."""
    if request.context.get(_RENEWED):
        return False
    request.context[_RENEWED] = True
    return True


def _unchallenged_401(response: PipelineResponse[Any, Any]) -> bool:
    """Tell a 401 without ``WWW-Authenticate``: azure-core's bearer policy calls no ``on_challenge``."""
    http_response = response.http_response
    return http_response.status_code == 401 and "WWW-Authenticate" not in http_response.headers


class ArmAuthenticationPolicy(ARMChallengeAuthenticationPolicy):
    """
    ARM's bearer-token policy; a call whose token ARM refuses (401) is sent once more with a fresh one.

    A claims challenge (continuous access evaluation) is answered by azure-mgmt-core's policy, with
    the same credential; any other 401 replaces the credential, once per call. A second 401 in a row
    is the call's answer.

    :param credential: The connection's credential.
    :param scopes: The scopes of ARM tokens.
    """

    def __init__(self, credential: RenewableCredential, *scopes: str, **kwargs: Any) -> None:
        super().__init__(credential, *scopes, **kwargs)
        self._renewable = credential
        self._renewal_scopes = scopes

    def on_challenge(self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]) -> bool:
        """
        Answer ARM's 401: a claims challenge as azure-mgmt-core does, else with a fresh credential's token.

        :param request: The request ARM refused.
        :param response: ARM's 401.
        :return: Whether to send the request again (it carries a new token).
        """
        if super().on_challenge(request, response):
            return True
        if not _first_renewal(request):
            return False
        self._renewable.renew(_refused_token(request))
        self.authorize_request(request, *self._renewal_scopes)
        return True

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Send as azure-core does; a 401 without a challenge header is answered as one with it."""
        response = super().send(request)
        if _unchallenged_401(response) and self.on_challenge(request, response):
            response = self.next.send(request)
        return response


class AsyncArmAuthenticationPolicy(AsyncARMChallengeAuthenticationPolicy):
    """
    The asyncio :class:`ArmAuthenticationPolicy`.

    :param credential: The connection's asyncio credential.
    :param scopes: The scopes of ARM tokens.
    """

    def __init__(self, credential: AsyncRenewableCredential, *scopes: str, **kwargs: Any) -> None:
        super().__init__(credential, *scopes, **kwargs)
        self._renewable = credential
        self._renewal_scopes = scopes

    async def on_challenge(self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]) -> bool:
        """
        Answer ARM's 401: a claims challenge as azure-mgmt-core does, else with a fresh credential's token.

        :param request: The request ARM refused.
        :param response: ARM's 401.
        :return: Whether to send the request again (it carries a new token).
        """
        if await super().on_challenge(request, response):
            return True
        if not _first_renewal(request):
            return False
        await self._renewable.renew(_refused_token(request))
        await self.authorize_request(request, *self._renewal_scopes)
        return True

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Send as azure-core does; a 401 without a challenge header is answered as one with it."""
        response = await super().send(request)
        if _unchallenged_401(response) and await self.on_challenge(request, response):
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
        if not _is_read(response.http_request) and status != 429:
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


#: The call option that hands a read's pacer to the pacing policy (``send_request(..., pacer=...)``).
PACER_OPTION = "datareplication_pacer"


def _pacer_of(request: PipelineRequest[Any]) -> Pacer | None:
    """Return the pacer the caller handed in with the call (kept in the context for its retries)."""
    context = request.context
    if PACER_OPTION in context.options:
        context[PACER_OPTION] = context.options.pop(PACER_OPTION)
    return context.get(PACER_OPTION)


class ReadPacingPolicy(HTTPPolicy):
    """
    Paces a read's retries at its pacer's door, and lets the pacer learn from every answer.

    A per-retry policy: after the retry and bearer policies, the last that waits before the wire
    (only logging, tracing and the sensitive-header clean-up follow, none of which waits). A call's
    first attempt is paced by the hook before it enters the pipeline, so a paced wait holds no
    request open. Writes pass (ARM, and Microsoft.DataReplication, count writes apart: the recorded
    answers carry the same header with a count of their own).
    """

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Wait for this retry's turn, send, and learn from the answer."""
        pacer = _pacer_of(request)
        if not _is_read(request.http_request):
            pacer = None
        if pacer is not None and request.context.get("retry_count"):
            pacer.wait()
        response = self.next.send(request)
        if pacer is not None:
            pacer.observe(response.http_response.status_code, response.http_response.headers)
        return response


class AsyncReadPacingPolicy(AsyncHTTPPolicy):
    """The asyncio :class:`ReadPacingPolicy`."""

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Wait for this retry's turn, send, and learn from the answer."""
        pacer = _pacer_of(request)
        if not _is_read(request.http_request):
            pacer = None
        if pacer is not None and request.context.get("retry_count"):
            await pacer.go()
        response = await self.next.send(request)
        if pacer is not None:
            pacer.observe(response.http_response.status_code, response.http_response.headers)
        return response


def _user_agent() -> str:
    from airflow_provider_datareplication import __version__

    return f"airflow-provider-datareplication/{__version__}"


def _undecoded(err: DecodeError) -> Any:
    """Return the answer azure-core's ``ContentDecodePolicy`` could not decode; re-raise anything else."""
    if isinstance(err, IncompleteReadError) or err.response is None:
        raise err
    return err.response


class ArmClient(ARMPipelineClient["HttpRequest", "HttpResponse"]):
    """
    azure-mgmt-core's ARM pipeline client, handing back every answer as it came.

    The standard chain's ``ContentDecodePolicy`` raises ``DecodeError`` for a body its content type
    does not describe (a gateway's HTML page sent as JSON, or with no content type at all). The
    hooks judge every answer themselves (its status, ARM's error, the request ids), so that answer
    is handed back as any other.
    """

    def send_request(self, request: HttpRequest, *, stream: bool = False, **kwargs: Any) -> HttpResponse:
        """
        Send a request through the pipeline; return its answer, whatever its body.

        :param request: The request.
        :param stream: Leave the body unread.
        """
        try:
            return super().send_request(request, stream=stream, **kwargs)
        except DecodeError as err:
            return cast("HttpResponse", _undecoded(err))


class AsyncArmClient(AsyncARMPipelineClient["HttpRequest", "AsyncHttpResponse"]):
    """The asyncio :class:`ArmClient`."""

    async def send_request(
        self, request: HttpRequest, *, stream: bool = False, **kwargs: Any
    ) -> AsyncHttpResponse:
        """
        Send a request through the pipeline; return its answer, whatever its body.

        :param request: The request.
        :param stream: Leave the body unread.
        """
        try:
            return await super().send_request(request, stream=stream, **kwargs)
        except DecodeError as err:
            return cast("AsyncHttpResponse", _undecoded(err))


def _arm_configuration(
    *, authentication: Any, retry: Any, redirect: Any, http_logging: bool
) -> Configuration[Any, Any]:
    """
    azure-core's standard policies, configured as azure-mgmt-core configures an ARM client.

    The pipeline client places them: request id, headers, user agent, proxy, content decoding,
    (per-call policies: the ARM client's resource provider registration), redirect, retry,
    authentication, custom hook, (per-retry policies: the read pacing), network trace logging,
    distributed tracing, sensitive-header clean-up, HTTP logging.
    """
    config: Configuration[Any, Any] = Configuration()
    config.request_id_policy = RequestIdPolicy()
    config.headers_policy = HeadersPolicy({"Accept": "application/json"})
    config.user_agent_policy = UserAgentPolicy(base_user_agent=_user_agent())
    config.proxy_policy = ProxyPolicy()
    config.redirect_policy = redirect
    config.retry_policy = retry
    config.authentication_policy = authentication
    config.custom_hook_policy = CustomHookPolicy()
    config.logging_policy = NetworkTraceLoggingPolicy()
    config.http_logging_policy = _http_logging_policy(http_logging)
    return config


def _http_logging_policy(enabled: bool) -> ARMHttpLoggingPolicy:
    """azure-mgmt-core's HTTP logging policy; off, it is given a logger that is never enabled."""
    policy = ARMHttpLoggingPolicy(logger=None if enabled else HTTP_LOGGING_OFF)
    # What support asks for and what paces the reads, shown rather than redacted (none is a secret);
    # the api-version too (older azure-core redacts every query parameter it does not list).
    policy.allowed_header_names.update(
        {
            *REQUEST_ID_HEADERS,
            *REMAINING_HEADERS,
            THROTTLING_VERSION_HEADER,
            "retry-after-ms",
            "x-ms-retry-after-ms",
        }
    )
    policy.allowed_query_params.update({"api-version", "forceDelete", "pageSize"})
    return policy


def build_client(
    *,
    base_url: str,
    credential: RenewableCredential,
    token_scope: str,
    settings: RequestSettings,
    ca_bundle: str | None = None,
    http_logging: bool = False,
) -> ArmClient:
    """
    Build the sync ARM client: requests transport, azure-core's standard chain, ARM's policies, pacing.

    :param base_url: The ARM endpoint.
    :param credential: The connection's credential (reused, so its token is cached).
    :param token_scope: The scope of ARM tokens.
    :param settings: Timeouts and retry budget.
    :param ca_bundle: CA certificates to trust instead of the system's.
    :param http_logging: Log each request's and answer's headers (azure-core's HTTP logging policy,
        at INFO; ``Authorization`` redacted).
    """
    from azure.core.pipeline.transport import RequestsTransport

    config = _arm_configuration(
        authentication=ArmAuthenticationPolicy(credential, token_scope),
        retry=ArmRetryPolicy(**_retry_kwargs(settings)),
        redirect=RedirectPolicy(),
        http_logging=http_logging,
    )
    transport = RequestsTransport(connection_verify=ca_bundle or True, **settings.transport_kwargs())
    pacing = [ReadPacingPolicy()]
    return ArmClient(base_url, config=config, per_retry_policies=pacing, transport=transport)


def new_aiohttp_session(ca_bundle: str | None = None, *, limit: int = 100) -> Any:
    """
    Open an ``aiohttp.ClientSession`` whose pool trusts ``ca_bundle`` (or the system's CAs).

    The trust goes on the connector, built once: azure-core's ``connection_verify=<path>`` would
    build an SSL context per request, and with it a new connection each time. The session reads
    proxies from the environment (``trust_env``), as requests does.

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
    ca_bundle: str | None = None,
    http_logging: bool = False,
) -> AsyncArmClient:
    """
    Build the asyncio ARM client: aiohttp transport, azure-core's standard chain, ARM's policies, pacing.

    One client serves every trigger of a connection in a triggerer: its bearer-token policy asks
    for one token for all of them, its aiohttp session is their one connection pool.

    :param base_url: The ARM endpoint.
    :param credential: The connection's asyncio credential (reused, so its token is cached).
    :param token_scope: The scope of ARM tokens.
    :param settings: Timeouts and retry budget.
    :param ca_bundle: CA certificates to trust instead of the system's.
    :param http_logging: Log each request's and answer's headers (azure-core's HTTP logging policy,
        at INFO; ``Authorization`` redacted).
    """
    from azure.core.pipeline.transport import AioHttpTransport

    config = _arm_configuration(
        authentication=AsyncArmAuthenticationPolicy(credential, token_scope),
        retry=AsyncArmRetryPolicy(**_retry_kwargs(settings)),
        redirect=AsyncRedirectPolicy(),
        http_logging=http_logging,
    )
    transport = AioHttpTransport(
        session=new_aiohttp_session(ca_bundle, limit=settings.max_connections),
        session_owner=True,
        **settings.transport_kwargs(),
    )
    pacing = [AsyncReadPacingPolicy()]
    return AsyncArmClient(base_url, config=config, per_retry_policies=pacing, transport=transport)


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
