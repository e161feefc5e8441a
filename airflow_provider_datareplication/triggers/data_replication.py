"""Trigger that waits in the triggerer until a replication job operation is terminal."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_datareplication.connection import DEFAULT_CONN_ID
from airflow_provider_datareplication.job_operation import DEFAULT_API_VERSION, JobOperation

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

#: Event kinds, under the event's ``"event"`` key.
EVENT_TERMINAL = "terminal"
EVENT_ERROR = "error"
EVENT_TIMEOUT = "timeout"


class AzureDataReplicationOperationTrigger(BaseTrigger):
    """
    Poll an operation's status until it is terminal, then fire one event.

    The event is ``{"event": "terminal", "operation_status": {...}, "operation": {...}}`` with the
    service's body and the operation's identifiers, or
    ``{"event": "error", "error_type": ..., "message": ...}`` when reading the status fails for a
    reason that waiting will not mend. Transient failures are logged and polled through, waiting
    out any ``Retry-After``. At ``deadline`` (an absolute time, so a trigger rebuilt after a
    triggerer restart keeps it) the event is ``{"event": "timeout", "message": ...}``; Airflow's
    own deferral timeout bounds the wait as well.

    :param subscription_id: The subscription (UUID).
    :param resource_group_name: The resource group.
    :param vault_name: The replication vault.
    :param job_name: The job (workflow).
    :param operation_id: The operation.
    :param api_version: The api-version.
    :param azure_data_replication_conn_id: The Airflow connection.
    :param poll_interval: Seconds between polls.
    :param deadline: When to give up, in seconds since the epoch (``None``: never).
    """

    def __init__(
        self,
        *,
        subscription_id: str,
        resource_group_name: str,
        vault_name: str,
        job_name: str,
        operation_id: str,
        api_version: str = DEFAULT_API_VERSION,
        azure_data_replication_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 30.0,
        deadline: float | None = None,
    ) -> None:
        super().__init__()
        self.operation = JobOperation(
            subscription_id=subscription_id,
            resource_group_name=resource_group_name,
            vault_name=vault_name,
            job_name=job_name,
            operation_id=operation_id,
            api_version=api_version,
        )
        self.azure_data_replication_conn_id = azure_data_replication_conn_id
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be a positive number of seconds, got {poll_interval!r}")
        self.poll_interval = float(poll_interval)
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the identifiers needed to carry on the same wait (no secrets)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                **self.operation.to_dict(),
                "azure_data_replication_conn_id": self.azure_data_replication_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until terminal; yield exactly one event."""
        from airflow_provider_datareplication.exceptions import (
            AzureDataReplicationError,
            AzureDataReplicationTransientError,
        )
        from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationAsyncHook

        payload: dict[str, Any] | None = None
        async with AzureDataReplicationAsyncHook(self.azure_data_replication_conn_id) as hook:
            while True:
                delay = self.poll_interval
                try:
                    status = await hook.get_operation_status(**self.operation.to_dict())
                except AzureDataReplicationTransientError as err:
                    delay = max(delay, err.retry_after or 0.0)
                    self.log.warning("%s; polling again in %g s", err, delay)
                except (AzureDataReplicationError, ValueError) as err:
                    payload = {"event": EVENT_ERROR, "error_type": type(err).__name__, "message": str(err)}
                    break
                else:
                    if status.is_terminal:
                        payload = {
                            "event": EVENT_TERMINAL,
                            "operation_status": status.to_dict(),
                            "operation": self.operation.to_dict(),
                        }
                        break
                    self.log.info(
                        "%s is %s; polling again in %g s", self.operation.describe(), status.status, delay
                    )
                payload = await self._wait(delay)
                if payload is not None:
                    break
        # Yielded after the hook is closed, so nothing stays open whatever the triggerer does next.
        yield TriggerEvent(payload)

    async def _wait(self, delay: float) -> dict[str, Any] | None:
        """Sleep until the next poll; the timeout event when the deadline comes first."""
        if self.deadline is not None:
            left = self.deadline - time.time()
            if left < delay:
                await asyncio.sleep(max(left, 0.0))
                return {
                    "event": EVENT_TIMEOUT,
                    "message": f"{self.operation.describe()} was not terminal by the task's timeout",
                }
        await asyncio.sleep(delay)
        return None
