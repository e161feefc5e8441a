"""
What every ARM call of this provider shares, without importing any Azure SDK.

Its timeouts and retry budget, ``Retry-After`` read in all its forms, and the provider's settings
of the HTTP exchange. Imported at DAG-parse time, so standard library only. The read pacing is in
:mod:`airflow_provider_datareplication.pacing`; the azure-core pipeline that uses both lives in
:mod:`airflow_provider_datareplication.arm_client`, imported when a client is built.
"""

from __future__ import annotations

import email.utils
import logging
import time
from dataclasses import dataclass
from typing import Any

_RETRY_AFTER_MS_HEADERS = ("retry-after-ms", "x-ms-retry-after-ms")

#: The logger that azure-core's HTTP logging policy of this provider's clients and credentials is
#: given while ``http_logging`` is off: made outside logging's hierarchy (no parent, no handler,
#: out of reach of any logging configuration) and enabled for no level. Those policies then log
#: nothing, and no logger the process shares changes.
HTTP_LOGGING_OFF = logging.Logger("airflow_provider_datareplication.http_logging_off", logging.CRITICAL + 1)


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
    :param call_timeout: Seconds one call may take, its turn under the read pacing, retries and
        waits included.
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


def _seconds(value: str, *, scale: float = 1.0) -> float | None:
    try:
        return max(0.0, float(value) / scale)
    except ValueError:
        pass
    if scale != 1.0:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - time.time())


def retry_after_seconds(headers: Any) -> float | None:
    """
    Seconds to wait from an answer's headers (``None`` when it gives none).

    ``retry-after-ms`` / ``x-ms-retry-after-ms`` first (ARM's precedence), then ``Retry-After``
    (seconds or an HTTP-date).

    :param headers: The response headers (case-insensitive mapping).
    """
    for name in _RETRY_AFTER_MS_HEADERS:
        value = headers.get(name)
        if value and (seconds := _seconds(str(value), scale=1000.0)) is not None:
            return seconds
    value = headers.get("retry-after")
    return _seconds(str(value)) if value else None


def adaptive_read_pacing() -> bool:
    """Whether ``[azure_data_replication] adaptive_read_pacing`` is on (the default)."""
    from airflow_provider_datareplication.get_provider_info import CONFIG_SECTION
    from airflow_provider_datareplication.version_compat import conf

    return conf.getboolean(CONFIG_SECTION, "adaptive_read_pacing", fallback=True)


def vault_lists() -> bool:
    """Whether ``[azure_data_replication] vault_lists`` is on (the default): waits share vaults' lists."""
    from airflow_provider_datareplication.get_provider_info import CONFIG_SECTION
    from airflow_provider_datareplication.version_compat import conf

    return conf.getboolean(CONFIG_SECTION, "vault_lists", fallback=True)


def http_logging_configured() -> bool:
    """Whether ``[azure_data_replication] http_logging`` is on (off by default)."""
    from airflow_provider_datareplication.get_provider_info import CONFIG_SECTION
    from airflow_provider_datareplication.version_compat import conf

    return conf.getboolean(CONFIG_SECTION, "http_logging", fallback=False)
