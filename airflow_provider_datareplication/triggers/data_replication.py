"""Triggers that wait in the triggerer until a replication vault's operation, or job, has ended."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import TYPE_CHECKING, Any, ClassVar, cast

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_datareplication.connection import DEFAULT_CONN_ID
from airflow_provider_datareplication.identifiers import REQUIRED, JobOperation, ProtectedItem, VaultJob
from airflow_provider_datareplication.protected_item import check_until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationAsyncHook
    from airflow_provider_datareplication.identifiers import Status, Target
    from airflow_provider_datareplication.protected_item import ProtectedItemStatus
    from airflow_provider_datareplication.reads import Answer

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
#: A wait's first read comes at most this many seconds after it joined the reads of its target.
JOIN_SECONDS = 1.0
#: A target's state is logged at INFO when it changes, and again after this many seconds
#: unchanged; the reads in between log at DEBUG. A triggerer holding thousands of waits would
#: otherwise write a line per read, every one through the triggerer's supervisor (Airflow 3).
UNCHANGED_STATE_LOG_SECONDS = 600.0


class AzureDataReplicationWaitTrigger(BaseTrigger):
    """
    Read a target until it has ended, then fire one event: the one wait loop of the triggerer.

    The event is ``{"event": "terminal", "status": {...}, "target": "...", "portal_link": "..."}``
    with the service's body, the target as messages name it and its Azure portal link, or
    ``{"event": "error", "error_type": ..., "message": ...}``
    when reading fails for a reason that waiting will not mend. Transient failures are logged and
    polled through, waiting out any ``Retry-After``. The target's state is logged when it changes
    and every :data:`UNCHANGED_STATE_LOG_SECONDS` while it does not; every read, at DEBUG. At
    ``deadline`` (an absolute time, so a trigger rebuilt after a triggerer restart keeps it) the
    event is ``{"event": "timeout", "message": ...}``; Airflow's own deferral timeout bounds the
    wait as well.

    A kind of wait declares the class of its target (:attr:`target_class`): the parameters that
    name it are that class's, as its tasks take them. Parameters left out come from the connection
    when the trigger runs (so a task can start straight in the triggerer); they are checked when
    the trigger runs, after Airflow has rendered any templates in them. ``serialize()`` holds the
    identifiers and settings only, never a secret.

    :param azure_data_replication_conn_id: The Airflow connection.
    :param poll_interval: Seconds between reads.
    :param deadline: When to give up, in seconds since the epoch (``None``: never).
    :param not_before: No read before this time, in seconds since the epoch: a ``Retry-After``
        the task was given before it deferred (``None``: none).
    :param identifiers: The parameters that name the target (see the kind's tasks).
    """

    #: What the trigger waits on: its parameters are those that name it (``task_parameters()``).
    target_class: ClassVar[Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "target_class" in cls.__dict__:
            cls.parameters = {
                name: None if default is REQUIRED else default
                for name, default in cls.target_class.task_parameters().items()
            }

    #: The parameters that name the target, with their defaults (from :attr:`target_class`).
    parameters: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        *,
        azure_data_replication_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 30.0,
        deadline: float | None = None,
        not_before: float | None = None,
        **identifiers: Any,
    ) -> None:
        super().__init__()
        unknown = sorted(set(identifiers) - set(self.parameters))
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments {unknown}")
        # Plain attributes named as the tasks' template fields: Airflow 3.3 renders them in place
        # when a task starts straight in the triggerer.
        for name, default in self.parameters.items():
            setattr(self, name, identifiers.get(name, default))
        self.azure_data_replication_conn_id = azure_data_replication_conn_id
        if not float(poll_interval) > 0:
            raise ValueError(f"poll_interval must be a positive number of seconds, got {poll_interval!r}")
        self.poll_interval = float(poll_interval)
        self.deadline = deadline
        self.not_before = not_before

    def identifiers(self) -> dict[str, Any]:
        """Return the parameters that name the target, as given (or rendered)."""
        return {name: getattr(self, name) for name in self.parameters}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and what is needed to carry on the same wait (no secrets)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                **self.identifiers(),
                "azure_data_replication_conn_id": self.azure_data_replication_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "not_before": self.not_before,
            },
        )

    async def resolve(self, hook: AzureDataReplicationAsyncHook) -> Target:
        """Name the target, with the connection's defaults filled in and every rule checked."""
        return await hook.resolve(self.target_class, **self.identifiers())

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait for the target's answers until it has ended; yield exactly one event."""
        # Waits begun (or rebuilt after a triggerer restart) together first sleep a random part of
        # the poll interval, before doing any work, building the hook included: their work is
        # spread out. The reads are the process's (reads.py): this wait joins the group that reads
        # its target (alone, or in its vault's list) and judges each answer the group hands it.
        # The loop is written out here rather than in helper coroutines: each nested coroutine is
        # one more frame that thousands of sleeping triggers would each keep.
        deadline = float("inf") if self.deadline is None else time.monotonic() + self.deadline - time.time()
        spread = random.uniform(0.0, min(self.poll_interval, FIRST_POLL_SPREAD))
        await asyncio.sleep(max(min(spread, deadline - time.monotonic()), 0.0))

        from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationAsyncHook

        target: Target | None = None
        logged_state, logged_at = "", 0.0
        payload: dict[str, Any] | None = None
        async with AzureDataReplicationAsyncHook(self.azure_data_replication_conn_id) as hook:
            if time.monotonic() < deadline:
                target, payload = await self._resolve(hook)
            watch = None
            try:
                if target is not None:
                    if self.not_before is not None and self.not_before > time.time():
                        # A Retry-After the task was given before it deferred: every read waits it out.
                        (await hook.pacer(target.subscription_id)).hold(self.not_before - time.time())
                    # Waits that join within a second share their first round.
                    watch = await hook.watch(
                        target, interval=self.poll_interval, first_in=min(self.poll_interval, JOIN_SECONDS)
                    )
                while payload is None:
                    answer = await watch.next(deadline) if watch is not None else None
                    if answer is None:
                        payload = self._timeout_event(target)
                        break
                    assert target is not None and watch is not None
                    payload, (level, text) = await self._judge(hook, target, answer)
                    if payload is not None:
                        break
                    now = time.monotonic()
                    if level != logging.INFO:
                        logged_state = ""  # after a transient failure, the state is news again
                    elif text == logged_state and now - logged_at < UNCHANGED_STATE_LOG_SECONDS:
                        level = logging.DEBUG
                    else:
                        logged_state, logged_at = text, now
                    log.log(level, "%s; next read in about %.3g s", text, watch.seconds_to_next_answer())
            finally:
                if watch is not None:
                    watch.leave()
        # Yielded after the hook is closed, so nothing stays open whatever the triggerer does next.
        yield TriggerEvent(payload)

    async def _resolve(
        self, hook: AzureDataReplicationAsyncHook
    ) -> tuple[Target | None, dict[str, Any] | None]:
        """Fill in and check the identifiers: the target, or the error event when that fails."""
        try:
            return await self.resolve(hook), None
        except Exception as err:  # a missing or broken connection, a bad identifier: all final
            return None, self._error_event(err)

    def _error_event(self, err: BaseException) -> dict[str, Any]:
        return {
            "event": EVENT_ERROR,
            "error_type": type(err).__name__,
            "message": str(err),
            "deadline": self.deadline,
        }

    async def _judge(
        self, hook: AzureDataReplicationAsyncHook, target: Target, answer: Answer
    ) -> tuple[dict[str, Any] | None, tuple[int, str]]:
        """
        Judge one answer: the event when the wait is over (else ``None``), and what to log.

        A transient error is logged and waited through (a ``Retry-After`` holds the reads at the
        pacer's door); any other error ends the wait.
        """
        from airflow_provider_datareplication.exceptions import AzureDataReplicationTransientError

        if isinstance(answer.error, AzureDataReplicationTransientError):
            return None, (logging.WARNING, str(answer.error))
        if answer.error is not None:
            return self._error_event(answer.error), (logging.ERROR, str(answer.error))
        status = self.judge(answer.status)
        if status.is_terminal:
            from airflow_provider_datareplication.links.data_replication import portal_url

            event = {
                "event": EVENT_TERMINAL,
                "status": status.to_dict(),
                "target": target.describe(),
                "portal_link": portal_url(await hook.get_async_connection_settings(), target),
            }
            return event, (logging.INFO, "")
        return None, (logging.INFO, f"{target.describe()} is {status.state}")

    def judge(self, status: Any) -> Status:
        """
        Judge a target's status for this wait (a kind may wait for something of its own).

        :param status: The status model the read gave.
        """
        return cast("Status", status)

    def _timeout_event(self, target: Target | None) -> dict[str, Any]:
        what = target.describe() if target is not None else f"the wait ({self.identifiers()})"
        return {"event": EVENT_TIMEOUT, "message": f"{what} had not ended by the task's timeout"}


class AzureDataReplicationOperationTrigger(AzureDataReplicationWaitTrigger):
    """
    Wait for an operation (by its identifiers, or ``operation_url``) to be terminal; see the base.

    Takes the parameters of the operation sensor that name the operation: ``operation_id``,
    ``job_name``, ``vault_name``, ``resource_group_name``, ``subscription_id``, ``api_version``,
    or ``operation_url``.
    """

    target_class = JobOperation


class AzureDataReplicationJobTrigger(AzureDataReplicationWaitTrigger):
    """
    Wait for a job of a replication vault to end; see the base.

    Takes the parameters of the job sensor that name the job: ``job_name``, ``vault_name``,
    ``resource_group_name``, ``subscription_id``, ``api_version``.
    """

    target_class = VaultJob


class AzureDataReplicationProtectedItemTrigger(AzureDataReplicationWaitTrigger):
    """
    Wait until a protected item is where a wait wants it (ready to migrate, migrated, removed); see the base.

    Takes the parameters of the protected item sensor that name the item (``protected_item_name``,
    ``vault_name``, ``resource_group_name``, ``subscription_id``, ``api_version``) and ``until``.
    The item's body, as the service sent it (empty once removed), is the event's status.

    :param until: ``ready_to_migrate`` (default), ``migrated`` or ``removed``.
    """

    target_class = ProtectedItem

    def __init__(self, *, until: str = "ready_to_migrate", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.until = check_until(until)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and what is needed to carry on the same wait (no secrets)."""
        classpath, kwargs = super().serialize()
        return classpath, {**kwargs, "until": self.until}

    def judge(self, status: Any) -> Status:
        """Judge the item for ``until`` (an empty body: gone, its vault there)."""
        return cast("ProtectedItemStatus", status).waiting_until(self.until)
