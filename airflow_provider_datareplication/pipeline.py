"""
The azure-core pipelines the hooks send through, and the few rules azure-core lacks.

azure-core already retries, sleeps on ``Retry-After``, refreshes bearer tokens, refuses tokens
over plain http and stamps request ids. What it does not do, and this module adds:

- retry only the transient statuses (azure-core retries any status that carries ``Retry-After``,
  a 401 or 404 included), with jittered backoff;
- let ``retry-after-ms`` / ``x-ms-retry-after-ms`` win over ``Retry-After`` (ARM's precedence);
- a :class:`ReadPacer` per (principal, subscription) that spaces reads under a rate and
  remembers a ``Retry-After`` past the end of the call, so the next call (the sensor's next
  poke, any trigger's next poll) sends nothing before it has elapsed;
- hand a ``Retry-After`` too long to sleep through inside one call back to the caller instead.

Every azure-core import happens inside the builders: this module is imported at DAG-parse time.
"""

from __future__ import annotations

import random
import re
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from airflow_provider_datareplication.exceptions import (
    TRANSIENT_STATUS_CODES,
    AzureDataReplicationTransientError,
)

if TYPE_CHECKING:
    from azure.core import AsyncPipelineClient, PipelineClient
    from azure.core.credentials import TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.core.pipeline import PipelineResponse

_RETRY_AFTER_MS_HEADERS = ("retry-after-ms", "x-ms-retry-after-ms")


@dataclass(frozen=True)
class RequestSettings:
    """
    Timeouts and retry budget of one call.

    :param connect_timeout: Seconds to open a connection.
    :param read_timeout: Seconds to wait for the answer once sent.
    :param retries: Transient failures retried inside one call.
    :param backoff_factor: Base of the exponential backoff, in seconds.
    :param backoff_max: Cap of one backoff, in seconds.
    :param max_retry_after: The longest ``Retry-After`` slept through inside a call; a longer one
        ends the call with a transient error carrying it, for the caller to wait out.
    :param call_timeout: Seconds one call may take, retries and waits included.
    :param max_connections: Most connections one asyncio client keeps open (its pool size; paced
        reads need few, and each TLS connection holds a 256 KiB buffer).
    """

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    retries: int = 3
    backoff_factor: float = 0.8
    backoff_max: float = 30.0
    max_retry_after: float = 60.0
    call_timeout: float = 120.0
    max_connections: int = 16

    def transport_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for an azure-core transport or azure-identity credential."""
        return {"connection_timeout": self.connect_timeout, "read_timeout": self.read_timeout}


class ReadPacer:
    """
    Pace the reads of one (principal, subscription): at most ``rate`` per second, evenly spaced.

    None goes out before a ``Retry-After`` the service gave has elapsed. Every client that reads
    through the same pacer shares both, so a 429 answered to one slows them all. The spacing is
    counted from the moment each read was let go, so readers woken late by a busy event loop do
    not go out in a bunch. One event loop, or one thread, per pacer.

    :param rate: Most reads per second.
    :param clock: A monotonic clock (for tests).
    :param sleep: A blocking sleep (for tests).
    """

    #: Slack in the spacing, so a request delayed on its way (a TLS handshake, a busy loop) never
    #: lets the server see more than ``rate`` reads in one second.
    MARGIN = 0.1

    def __init__(self, rate: float, clock: Any = time.monotonic, sleep: Any = time.sleep) -> None:
        self.interval = (1.0 + self.MARGIN) / rate
        self._clock = clock
        self._sleep = sleep
        self._last_read = float("-inf")
        self._hold_until = 0.0
        self._lock: Any = None

    def _wait(self) -> float:
        """Seconds until the next read may go; 0 means it goes now (and is counted)."""
        now = self._clock()
        wait = max(self._last_read + self.interval, self._hold_until) - now
        if wait <= 0:
            self._last_read = now
            return 0.0
        return wait

    def wait_turn(self) -> None:
        """Block until this read may go."""
        while (wait := self._wait()) > 0:
            self._sleep(wait)

    async def turn(self) -> None:
        """Wait, first come first served, until this read may go."""
        import asyncio

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while (wait := self._wait()) > 0:
                await asyncio.sleep(wait)

    def hold_off(self, seconds: float) -> None:
        """Send nothing for ``seconds`` from now (never shortens an earlier hold)."""
        self._hold_until = max(self._hold_until, self._clock() + seconds)

    def held_for(self) -> float:
        """Seconds until a ``Retry-After`` has elapsed, 0 when none is pending."""
        return max(0.0, self._hold_until - self._clock())

    def check(self) -> None:
        """Raise a transient error carrying the wait while a ``Retry-After`` runs (nothing is sent)."""
        held = self.held_for()
        if held > 0:
            raise AzureDataReplicationTransientError(
                "Not sent: the service asked to wait (Retry-After) and that time has not elapsed",
                retry_after=round(held, 3),
            )


_SUBSCRIPTION = re.compile(r"/subscriptions/([^/?#]+)", re.IGNORECASE)


class ReadPacers:
    """
    One :class:`ReadPacer` per subscription, for one principal.

    :param rate: Most reads per second, per subscription.
    """

    def __init__(self, rate: float) -> None:
        if not rate > 0:
            raise ValueError(f"max_reads_per_second must be positive, got {rate!r}")
        self.rate = rate
        self._pacers: dict[str, ReadPacer] = {}

    def for_subscription(self, subscription_id: str) -> ReadPacer:
        """Return the pacer of one subscription (any case)."""
        key = subscription_id.lower()
        pacer = self._pacers.get(key)
        if pacer is None:
            pacer = self._pacers[key] = ReadPacer(self.rate)
        return pacer

    def for_url(self, url: str) -> ReadPacer:
        """Return the pacer of the subscription a request URL is under (one shared for the rest)."""
        match = _SUBSCRIPTION.search(url)
        return self.for_subscription(unquote(match.group(1)) if match else "")


_SHARED_PACERS: weakref.WeakValueDictionary[tuple[Any, ...], ReadPacers] = weakref.WeakValueDictionary()


def shared_read_pacers(principal: tuple[Any, ...], rate: float) -> ReadPacers:
    """
    Return the process's pacers for one principal (kept while some client holds them).

    :param principal: Who signs in (see ``AzureDataReplicationConnection.principal``).
    :param rate: Most reads per second, per subscription.
    """
    key = (*principal, rate)
    pacers = _SHARED_PACERS.get(key)
    if pacers is None:
        pacers = ReadPacers(rate)
        _SHARED_PACERS[key] = pacers
    return pacers


def retry_after_seconds(headers: Any) -> float | None:
    """
    Seconds to wait from an answer's headers, ``retry-after-ms`` first, then ``Retry-After``.

    :param headers: The response headers (case-insensitive mapping).
    """
    from azure.core.pipeline.policies._utils import parse_retry_after

    for name in _RETRY_AFTER_MS_HEADERS:
        value = headers.get(name)
        if value:
            try:
                return parse_retry_after(value) / 1000.0
            except (ValueError, TypeError):
                continue
    value = headers.get("retry-after")
    if value:
        try:
            return parse_retry_after(value)
        except (ValueError, TypeError):
            return None
    return None


class _RetryRules:
    """The retry rules azure-core lacks, mixed into its sync and async retry policies."""

    max_retry_after: float

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        return retry_after_seconds(response.http_response.headers)

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        status = response.http_response.status_code
        if status not in TRANSIENT_STATUS_CODES or not settings["total"]:
            return False
        retry_after = self.get_retry_after(response)
        # Too long to sleep through here: the caller waits it out (the pacer remembers it).
        return retry_after is None or retry_after <= self.max_retry_after

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        backoff = super().get_backoff_time(settings)  # type: ignore[misc]
        # Jitter, so clients that failed together do not come back together.
        return float(backoff) * random.uniform(0.5, 1.0)


def _retry_kwargs(settings: RequestSettings) -> dict[str, Any]:
    return {
        "retry_total": settings.retries,
        "retry_connect": settings.retries,
        "retry_read": settings.retries,
        "retry_status": settings.retries,
        "retry_backoff_factor": settings.backoff_factor,
        "retry_backoff_max": settings.backoff_max,
        "timeout": settings.call_timeout,
    }


def _user_agent() -> str:
    from airflow_provider_datareplication import __version__

    return f"airflow-provider-datareplication/{__version__}"


def _observe(pacer: ReadPacer, response: PipelineResponse[Any, Any]) -> None:
    if response.http_response.status_code in TRANSIENT_STATUS_CODES:
        retry_after = retry_after_seconds(response.http_response.headers)
        if retry_after:
            pacer.hold_off(retry_after)


def build_client(
    *,
    base_url: str,
    credential: TokenCredential,
    token_scope: str,
    settings: RequestSettings,
    pacers: ReadPacers,
    ca_bundle: str | None = None,
) -> PipelineClient:
    """
    Build the sync ARM client: requests transport, retries, bearer token, request ids, pacing.

    :param base_url: The ARM endpoint.
    :param credential: The azure-identity credential (reused, so its token is cached).
    :param token_scope: The scope of ARM tokens.
    :param settings: Timeouts and retry budget.
    :param pacers: Read pacing and ``Retry-After`` memory, per subscription.
    :param ca_bundle: CA certificates to trust instead of the system's.
    """
    from azure.core import PipelineClient
    from azure.core.pipeline.policies import (
        HeadersPolicy,
        HTTPPolicy,
        RequestIdPolicy,
        RetryPolicy,
        UserAgentPolicy,
    )
    from azure.core.pipeline.transport import RequestsTransport
    from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

    class _Retry(_RetryRules, RetryPolicy):
        pass

    class _Pacing(HTTPPolicy):
        # Last before the wire. The hook paces a call's first attempt before entering the
        # pipeline (a paced wait then holds no request); retries are paced here.
        def send(self, request: Any) -> Any:
            pacer = pacers.for_url(request.http_request.url)
            if request.context.get("retry_count"):
                pacer.wait_turn()
            response = self.next.send(request)
            _observe(pacer, response)
            return response

    retry = _Retry(**_retry_kwargs(settings))
    retry.max_retry_after = settings.max_retry_after
    policies = [
        RequestIdPolicy(),
        HeadersPolicy({"Accept": "application/json"}),
        UserAgentPolicy(base_user_agent=_user_agent()),
        retry,
        ARMChallengeAuthenticationPolicy(credential, token_scope),
        _Pacing(),
    ]
    transport = RequestsTransport(connection_verify=ca_bundle or True, **settings.transport_kwargs())
    return PipelineClient(base_url, policies=policies, transport=transport)


#: How long an idle pooled connection is kept: past the default poll interval (30 s, +10 %), so a
#: few waits polling at their own pace reuse one connection instead of a TLS handshake per poll.
IDLE_CONNECTION_SECONDS = 60.0


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
    credential: AsyncTokenCredential,
    token_scope: str,
    settings: RequestSettings,
    pacers: ReadPacers,
    ca_bundle: str | None = None,
) -> AsyncPipelineClient:
    """
    Build the asyncio ARM client: aiohttp transport, retries, bearer token, request ids, pacing.

    One client serves every trigger of a connection in a triggerer: its bearer-token policy asks
    for one token for all of them, its aiohttp session is their one connection pool.

    :param base_url: The ARM endpoint.
    :param credential: The azure-identity aio credential (reused, so its token is cached).
    :param token_scope: The scope of ARM tokens.
    :param settings: Timeouts and retry budget.
    :param pacers: Read pacing and ``Retry-After`` memory, per subscription.
    :param ca_bundle: CA certificates to trust instead of the system's.
    """
    from azure.core import AsyncPipelineClient
    from azure.core.pipeline.policies import (
        AsyncHTTPPolicy,
        AsyncRetryPolicy,
        HeadersPolicy,
        RequestIdPolicy,
        UserAgentPolicy,
    )
    from azure.core.pipeline.transport import AioHttpTransport
    from azure.mgmt.core.policies import AsyncARMChallengeAuthenticationPolicy

    class _AsyncRetry(_RetryRules, AsyncRetryPolicy):
        pass

    class _AsyncPacing(AsyncHTTPPolicy):
        async def send(self, request: Any) -> Any:
            pacer = pacers.for_url(request.http_request.url)
            if request.context.get("retry_count"):
                await pacer.turn()
            response = await self.next.send(request)
            _observe(pacer, response)
            return response

    retry = _AsyncRetry(**_retry_kwargs(settings))
    retry.max_retry_after = settings.max_retry_after
    policies = [
        RequestIdPolicy(),
        HeadersPolicy({"Accept": "application/json"}),
        UserAgentPolicy(base_user_agent=_user_agent()),
        retry,
        AsyncARMChallengeAuthenticationPolicy(credential, token_scope),
        _AsyncPacing(),
    ]
    transport = AioHttpTransport(
        session=new_aiohttp_session(ca_bundle, limit=settings.max_connections),
        session_owner=True,
        **settings.transport_kwargs(),
    )
    return AsyncPipelineClient(base_url, policies=policies, transport=transport)
