"""
The azure-core pipelines the hooks send through, and the few rules azure-core lacks.

azure-core already retries, sleeps on ``Retry-After``, refreshes bearer tokens, refuses tokens
over plain http and stamps request ids. What it does not do, and this module adds:

- retry only the transient statuses (azure-core retries any status that carries ``Retry-After``,
  a 401 or 404 included), with jittered backoff;
- let ``retry-after-ms`` / ``x-ms-retry-after-ms`` win over ``Retry-After`` (ARM's precedence);
- a :class:`ThrottleGate` that remembers a ``Retry-After`` past the end of the call, so the next
  call (the sensor's next poke, the trigger's next poll) sends nothing before it has elapsed;
- hand a ``Retry-After`` too long to sleep through inside one call back to the caller instead.

Every azure-core import happens inside the builders: this module is imported at DAG-parse time.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
    """

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    retries: int = 3
    backoff_factor: float = 0.8
    backoff_max: float = 30.0
    max_retry_after: float = 60.0
    call_timeout: float = 120.0

    def transport_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for an azure-core transport or azure-identity credential."""
        return {"connection_timeout": self.connect_timeout, "read_timeout": self.read_timeout}


class ThrottleGate:
    """
    When the service next allows a request, remembered across calls.

    :param clock: A monotonic clock (for tests).
    """

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._not_before = 0.0

    def hold_off(self, seconds: float) -> None:
        """Send nothing for ``seconds`` from now (never shortens an earlier hold)."""
        self._not_before = max(self._not_before, self._clock() + seconds)

    def remaining(self) -> float:
        """Seconds still to wait before sending, 0 when open."""
        return max(0.0, self._not_before - self._clock())

    def check(self) -> None:
        """Raise a transient error carrying the wait when the gate is closed; nothing is sent."""
        remaining = self.remaining()
        if remaining > 0:
            raise AzureDataReplicationTransientError(
                "Not sent: the service asked to wait (Retry-After) and that time has not elapsed",
                retry_after=round(remaining, 3),
            )


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
    gate: ThrottleGate

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        return retry_after_seconds(response.http_response.headers)

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        status = response.http_response.status_code
        if status not in TRANSIENT_STATUS_CODES or not settings["total"]:
            return False
        retry_after = self.get_retry_after(response)
        if retry_after is not None:
            self.gate.hold_off(retry_after)
            # Too long to sleep through here: the caller waits it out (the gate remembers it).
            return retry_after <= self.max_retry_after
        return True

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


def build_client(
    *,
    base_url: str,
    credential: TokenCredential,
    token_scope: str,
    settings: RequestSettings,
    gate: ThrottleGate,
    ca_bundle: str | None = None,
) -> PipelineClient:
    """
    Build the sync ARM client: requests transport, retries, bearer token, request ids.

    :param base_url: The ARM endpoint.
    :param credential: The azure-identity credential (reused, so its token is cached).
    :param token_scope: The scope of ARM tokens.
    :param settings: Timeouts and retry budget.
    :param gate: Where a ``Retry-After`` is remembered.
    :param ca_bundle: CA certificates to trust instead of the system's.
    """
    from azure.core import PipelineClient
    from azure.core.pipeline.policies import (
        HeadersPolicy,
        RequestIdPolicy,
        RetryPolicy,
        UserAgentPolicy,
    )
    from azure.core.pipeline.transport import RequestsTransport
    from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

    class _Retry(_RetryRules, RetryPolicy):
        pass

    retry = _Retry(**_retry_kwargs(settings))
    retry.max_retry_after, retry.gate = settings.max_retry_after, gate
    policies = [
        RequestIdPolicy(),
        HeadersPolicy({"Accept": "application/json"}),
        UserAgentPolicy(base_user_agent=_user_agent()),
        retry,
        ARMChallengeAuthenticationPolicy(credential, token_scope),
    ]
    transport = RequestsTransport(connection_verify=ca_bundle or True, **settings.transport_kwargs())
    return PipelineClient(base_url, policies=policies, transport=transport)


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
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context, limit=limit), trust_env=True)


def build_async_client(
    *,
    base_url: str,
    credential: AsyncTokenCredential,
    token_scope: str,
    settings: RequestSettings,
    gate: ThrottleGate,
    ca_bundle: str | None = None,
    session: Any = None,
) -> AsyncPipelineClient:
    """
    Build the asyncio ARM client: aiohttp transport, retries, bearer token, request ids.

    :param base_url: The ARM endpoint.
    :param credential: The azure-identity aio credential (reused, so its token is cached).
    :param token_scope: The scope of ARM tokens.
    :param settings: Timeouts and retry budget.
    :param gate: Where a ``Retry-After`` is remembered.
    :param ca_bundle: CA certificates to trust instead of the system's.
    :param session: An ``aiohttp.ClientSession`` to share (not closed by the client), or ``None``
        for one of its own.
    """
    from azure.core import AsyncPipelineClient
    from azure.core.pipeline.policies import (
        AsyncRetryPolicy,
        HeadersPolicy,
        RequestIdPolicy,
        UserAgentPolicy,
    )
    from azure.core.pipeline.transport import AioHttpTransport
    from azure.mgmt.core.policies import AsyncARMChallengeAuthenticationPolicy

    class _AsyncRetry(_RetryRules, AsyncRetryPolicy):
        pass

    retry = _AsyncRetry(**_retry_kwargs(settings))
    retry.max_retry_after, retry.gate = settings.max_retry_after, gate
    policies = [
        RequestIdPolicy(),
        HeadersPolicy({"Accept": "application/json"}),
        UserAgentPolicy(base_user_agent=_user_agent()),
        retry,
        AsyncARMChallengeAuthenticationPolicy(credential, token_scope),
    ]
    owner = session is None
    if session is None:
        session = new_aiohttp_session(ca_bundle)
    transport = AioHttpTransport(session=session, session_owner=owner, **settings.transport_kwargs())
    return AsyncPipelineClient(base_url, policies=policies, transport=transport)
