"""Errors of this provider, and how an ARM error answer becomes one."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from airflow_provider_datareplication.version_compat import AirflowException, AirflowFailException

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Response headers that Azure support asks for, in the order they go into a message.
REQUEST_ID_HEADERS = ("x-ms-request-id", "x-ms-correlation-request-id", "x-ms-routing-request-id")

#: HTTP statuses worth asking again for (timeouts, throttling, server faults).
TRANSIENT_STATUS_CODES = frozenset({408, 429, 500, 502, 503, 504})


class AzureDataReplicationError(AirflowException):
    """
    Reading an operation's status failed (this says nothing of the operation itself).

    :param reason: What went wrong, in words.
    :param http_status: The HTTP status, when an answer came.
    :param error_code: The ARM error code, when the body has one.
    :param error_message: The ARM error message, when the body has one.
    :param request_ids: ``x-ms-request-id`` and friends, by header name.
    :param retry_after: Seconds the service asked us to wait before asking again.
    """

    def __init__(
        self,
        reason: str,
        *,
        http_status: int | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        request_ids: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.reason = reason
        self.http_status = http_status
        self.error_code = error_code
        self.error_message = error_message
        self.request_ids = dict(request_ids or {})
        self.retry_after = retry_after
        super().__init__(self._compose())

    def _compose(self) -> str:
        parts = [self.reason]
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.error_code or self.error_message:
            parts.append(f"{self.error_code or 'error'}: {self.error_message or '(no message)'}")
        parts.extend(f"{name}={value}" for name, value in self.request_ids.items())
        if self.retry_after is not None:
            parts.append(f"retry after {self.retry_after:g} s")
        return "; ".join(parts)


class AzureDataReplicationTransientError(AzureDataReplicationError):
    """A failure worth trying again: 408, 429, 5xx, a reset or timed-out connection, a garbled answer."""


class AzureDataReplicationClientError(AzureDataReplicationError):
    """The request itself is wrong (4xx): asking again will not help."""


class AzureDataReplicationAuthError(AzureDataReplicationClientError):
    """Authentication (401, or no token could be had) or authorization (403) failed."""


class AzureDataReplicationNotFoundError(AzureDataReplicationClientError):
    """The subscription, resource group, vault, job or operation does not exist (404)."""


class AzureDataReplicationWaitTimeout(AzureDataReplicationError):
    """A wait did not see its target end within its timeout (the work may go on in Azure)."""


class AzureDataReplicationActionRefusedError(AzureDataReplicationClientError):
    """An action the item does not allow now: refused before anything is sent, as the service would."""


class AzureDataReplicationOperationFailedError(AirflowFailException):
    """The operation ended ``Failed`` or ``Canceled``: final, so the task is not retried."""


class AzureDataReplicationJobFailedError(AirflowFailException):
    """The job ended ``Failed``, ``Cancelled`` or ``CompletedWithErrors``: final, not retried."""


class AzureDataReplicationProtectedItemFailedError(AirflowFailException):
    """A protected item is in a failed protection state (``...Failed``): final, not retried."""


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def parse_error_body(body: bytes) -> tuple[str | None, str | None]:
    """
    Return ``(code, message)`` from an ARM error body, whatever its shape.

    Handles the standard ``{"error": {"code", "message"}}``, a bare ``{"code", "message"}``,
    an empty body, HTML from a gateway and malformed JSON (the last three give no code and a
    short excerpt of the text, if any, as the message).
    """
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return None, None
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error")
        source = error if isinstance(error, dict) else parsed
        code, message = _text(source.get("code")), _text(source.get("message"))
        if isinstance(error, str) and code is None:
            code = error
        if code or message:
            return code, message
    excerpt = " ".join(text.split())
    return None, excerpt[:200] + ("..." if len(excerpt) > 200 else "")


def request_ids_from(headers: Mapping[str, str]) -> dict[str, str]:
    """Pick the Azure request-id headers that are present (case-insensitively)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    return {name: lowered[name] for name in REQUEST_ID_HEADERS if lowered.get(name)}


def error_for_response(
    status_code: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    what: str,
    retry_after: float | None = None,
    doing: str = "read the status of",
) -> AzureDataReplicationError:
    """
    Build the typed error for an answer that is not a success.

    :param status_code: The HTTP status.
    :param headers: The response headers.
    :param body: The raw response body.
    :param what: What the call was about, for the message.
    :param retry_after: Seconds from the answer's Retry-After headers, if any.
    :param doing: What the call did, for the message ("read the status of", "start a planned failover of").
    """
    code, message = parse_error_body(body)
    kwargs: dict[str, Any] = {
        "http_status": status_code,
        "error_code": code,
        "error_message": message,
        "request_ids": request_ids_from(headers),
    }
    reason = f"Could not {doing} {what}"
    if status_code in TRANSIENT_STATUS_CODES:
        return AzureDataReplicationTransientError(reason, retry_after=retry_after, **kwargs)
    if status_code == 404:
        return AzureDataReplicationNotFoundError(reason, **kwargs)
    if status_code in (401, 403):
        return AzureDataReplicationAuthError(reason, **kwargs)
    if 400 <= status_code < 500:
        return AzureDataReplicationClientError(reason, **kwargs)
    # Anything else (other 5xx, an unexpected 2xx/3xx) is not a success: treat it as passing.
    return AzureDataReplicationTransientError(reason, retry_after=retry_after, **kwargs)


def failure_error(error: str, what: str, status: Any) -> AirflowFailException:
    """
    Build the error of a target that ended in failure: final, so the task is not retried.

    :param error: The error's class, by name (the target kind's ``failure_error``).
    :param what: The target, described for messages.
    :param status: Its final status (its state, and what the service says of the failure).
    """
    message = f"{what} ended {status.state}"
    if details := status.failure_details():
        message += f": {details}"
    return cast("type[AirflowFailException]", globals()[error])(message)
