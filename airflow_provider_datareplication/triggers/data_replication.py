"""Trigger that waits in the triggerer until a replication job operation is terminal."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_datareplication.connection import DEFAULT_CONN_ID
from airflow_provider_datareplication.job_operation import DEFAULT_API_VERSION

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationAsyncHook
    from airflow_provider_datareplication.job_operation import JobOperation

# One module logger rather than a logger per trigger instance: a triggerer holds thousands of
# waits, and the triggerer routes records to each task's log by context, whichever logger wrote them.
log = logging.getLogger(__name__)

#: Event kinds, under the event's ``"event"`` key.
EVENT_TERMINAL = "terminal"
EVENT_ERROR = "error"
EVENT_TIMEOUT = "timeout"

#: The first poll comes within this many seconds (spread at random, so waits begun together,
#: or rebuilt together after a triggerer restart, do not poll in lock-step).
FIRST_POLL_SPREAD = 10.0
#: Each later poll interval varies by this fraction either way, for the same reason.
POLL_JITTER = 0.1


class AzureDataReplicationOperationTrigger(BaseTrigger):
    """
    Poll an operation's status until it is terminal, then fire one event.

    The event is ``{"event": "terminal", "operation_status": {...}, "operation": {...}}`` with the
    service's body and the operation's identifiers, or ``{"event": "error", "error_type": ...,
    "message": ...}`` when reading the status fails for a reason that waiting will not mend.
    Transient failures are logged and polled through, waiting out any ``Retry-After``. At
    ``deadline`` (an absolute time, so a trigger rebuilt after a triggerer restart keeps it) the
    event is ``{"event": "timeout", "message": ...}``; Airflow's own deferral timeout bounds the
    wait as well.

    Vault, resource group and subscription may be left out: they then come from the connection
    when the trigger runs (so a task can start straight in the triggerer). The identifiers are
    checked when the trigger runs, after Airflow has rendered any templates in them.

    :param operation_id: The operation.
    :param job_name: The job (workflow).
    :param vault_name: The replication vault (default: the connection's).
    :param resource_group_name: The resource group (default: the connection's).
    :param subscription_id: The subscription (default: the connection's).
    :param api_version: The api-version.
    :param azure_data_replication_conn_id: The Airflow connection.
    :param poll_interval: Seconds between polls.
    :param deadline: When to give up, in seconds since the epoch (``None``: never).
    """

    def __init__(
        self,
        *,
        operation_id: str,
        job_name: str,
        vault_name: str | None = None,
        resource_group_name: str | None = None,
        subscription_id: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        azure_data_replication_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 30.0,
        deadline: float | None = None,
    ) -> None:
        super().__init__()
        # Plain attributes named as the tasks' template fields: Airflow 3.3 renders them in place
        # when a task starts straight in the triggerer.
        self.operation_id = operation_id
        self.job_name = job_name
        self.vault_name = vault_name
        self.resource_group_name = resource_group_name
        self.subscription_id = subscription_id
        self.api_version = api_version
        self.azure_data_replication_conn_id = azure_data_replication_conn_id
        if not float(poll_interval) > 0:
            raise ValueError(f"poll_interval must be a positive number of seconds, got {poll_interval!r}")
        self.poll_interval = float(poll_interval)
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the identifiers needed to carry on the same wait (no secrets)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "operation_id": self.operation_id,
                "job_name": self.job_name,
                "vault_name": self.vault_name,
                "resource_group_name": self.resource_group_name,
                "subscription_id": self.subscription_id,
                "api_version": self.api_version,
                "azure_data_replication_conn_id": self.azure_data_replication_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until terminal; yield exactly one event."""
        from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationAsyncHook

        # Waits begun (or rebuilt after a triggerer restart) together first sleep a random part of
        # the poll interval, before doing any work: their polls, and their work, are spread out.
        # The loop is written out here rather than in helper coroutines: each nested coroutine is
        # one more frame that thousands of sleeping triggers would each keep.
        delay = random.uniform(0.0, min(self.poll_interval, FIRST_POLL_SPREAD))
        operation: JobOperation | None = None
        payload: dict[str, Any] | None = None
        async with AzureDataReplicationAsyncHook(self.azure_data_replication_conn_id) as hook:
            while payload is None:
                left = None if self.deadline is None else self.deadline - time.time()
                if left is not None and left < delay:
                    await asyncio.sleep(max(left, 0.0))
                    payload = self._timeout_event(operation)
                    break
                await asyncio.sleep(delay)
                if operation is None:
                    operation, payload = await self._resolve(hook)
                    delay = 0.0
                    continue
                delay = self.poll_interval * random.uniform(1 - POLL_JITTER, 1 + POLL_JITTER)
                payload, retry_after = await self._poll(hook, operation, delay)
                delay = max(delay, retry_after)
        # Yielded after the hook is closed, so nothing stays open whatever the triggerer does next.
        yield TriggerEvent(payload)

    async def _resolve(
        self, hook: AzureDataReplicationAsyncHook
    ) -> tuple[JobOperation | None, dict[str, Any] | None]:
        """Fill in and check the identifiers: the operation, or the error event when that fails."""
        try:
            operation = await hook.resolve_operation(
                operation_id=self.operation_id,
                job_name=self.job_name,
                vault_name=self.vault_name,
                resource_group_name=self.resource_group_name,
                subscription_id=self.subscription_id,
                api_version=self.api_version,
            )
        except Exception as err:  # a missing or broken connection, a bad identifier: all final
            return None, {"event": EVENT_ERROR, "error_type": type(err).__name__, "message": str(err)}
        return operation, None

    async def _poll(
        self, hook: AzureDataReplicationAsyncHook, operation: JobOperation, delay: float
    ) -> tuple[dict[str, Any] | None, float]:
        """
        Read the status once: the event when the wait is over, else the ``Retry-After`` to honour.

        A method of its own so the status read goes out of scope before the trigger sleeps:
        thousands of waiting triggers should not each hold their last answer.
        """
        from airflow_provider_datareplication.exceptions import (
            AzureDataReplicationError,
            AzureDataReplicationTransientError,
        )

        try:
            status = await hook.get_status(operation)
        except AzureDataReplicationTransientError as err:
            log.warning("%s; polling again in %.3g s", err, max(delay, err.retry_after or 0.0))
            return None, err.retry_after or 0.0
        except (AzureDataReplicationError, ValueError) as err:
            return {"event": EVENT_ERROR, "error_type": type(err).__name__, "message": str(err)}, 0.0
        if status.is_terminal:
            event = {
                "event": EVENT_TERMINAL,
                "operation_status": status.to_dict(),
                "operation": operation.to_dict(),
            }
            return event, 0.0
        log.info("%s is %s; polling again in %.3g s", operation.describe(), status.status, delay)
        return None, 0.0

    def _timeout_event(self, operation: JobOperation | None) -> dict[str, Any]:
        what = operation.describe() if operation is not None else f"operation {self.operation_id!r}"
        return {"event": EVENT_TIMEOUT, "message": f"{what} was not terminal by the task's timeout"}
