"""Sensors that wait on a replication vault: an operation or a job until it has ended, a protected item."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from airflow_provider_datareplication.arguments import as_bool, check_wait, templated
from airflow_provider_datareplication.mixins import (
    AzureDataReplicationTaskMixin,
    JobTaskMixin,
    OperationTaskMixin,
    ProtectedItemTaskMixin,
)
from airflow_provider_datareplication.protected_item import check_until
from airflow_provider_datareplication.version_compat import BaseSensorOperator, PokeReturnValue, conf

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_datareplication.identifiers import ProtectedItem, Status, Target


class AzureDataReplicationBaseSensor(AzureDataReplicationTaskMixin, BaseSensorOperator):
    """
    Wait until what a task names has ended, and judge how: the base of this provider's sensors.

    In a worker it waits in Airflow's own sensor loop (poke or reschedule); deferred, in the
    trigger of its kind. Errors end the task by Airflow's rules for a poke wherever they are met.

    :param deferrable: Check once, then wait in the triggerer instead of a worker slot; defaults to
        ``[operators] default_deferrable``.
    :param raise_on_failure: Fail the task when the target ends in failure; ``False`` hands any
        final answer to XCom instead, for a downstream task to decide.
    :param start_from_trigger: Start straight in the triggerer, without a worker at all (Airflow
        3.3+; on 2.x only without templates in the task's parameters; ignored with a warning where
        unsupported). Implies ``deferrable``; ``dag.test()`` still runs ``execute()``.
    """

    def __init__(
        self,
        *,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        raise_on_failure: bool = True,
        start_from_trigger: bool = False,
        **kwargs: Any,
    ) -> None:
        # A deferred wait needs a finite deadline; one that ends before its first read waits for nothing.
        interval, timeout = (
            value.total_seconds() if isinstance(value, timedelta) else value
            for value in (kwargs.get("poke_interval", 60), kwargs.get("timeout", 7 * 24 * 3600))
        )
        check_wait("poke_interval", interval, "timeout", timeout)
        super().__init__(**kwargs)
        start_from_trigger = as_bool("start_from_trigger", start_from_trigger)
        self.deferrable = as_bool("deferrable", deferrable) or start_from_trigger
        self.raise_on_failure = as_bool("raise_on_failure", raise_on_failure)
        if start_from_trigger:
            self._start_from_trigger()

    def read(self, target: Target) -> Status:
        """Read the target once (what each poke does)."""
        return self.hook.get_status(target)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Read the target once; done when it has ended."""
        from airflow_provider_datareplication.exceptions import AzureDataReplicationTransientError

        target = self.target
        try:
            status = self.read(target)
        except AzureDataReplicationTransientError as err:
            self.log.warning("%s; reading again later", err)
            return False
        if not status.is_terminal:
            self.log.info("%s is %s", target.describe(), status.state)
            return False
        return PokeReturnValue(is_done=True, xcom_value=self.judge_end(status, target.describe()))

    def judge_end(self, status: Status, what: str) -> dict[str, Any]:
        """Judge the target's end by the sensor's ``raise_on_failure``."""
        return self.judge(
            status, what, failure=self.target_class.failure_error, raise_on_failure=self.raise_on_failure
        )

    def execute(self, context: Context) -> Any:
        """Wait in the worker (poke, reschedule), or check once and defer to the triggerer."""
        try:
            self.remember_portal_link(context, self.target)
            if not self.deferrable:
                return super().execute(context)
            started = time.monotonic()
            try:
                result = self.poke(context)
            except Exception as err:
                self._on_poke_error(err)
                result = False
            if result:
                assert isinstance(result, PokeReturnValue)
                return result.xcom_value
            self._defer(max(self.timeout - (time.monotonic() - started), 0.0))
        finally:
            self.close_hook()

    def _defer(self, remaining: float) -> None:
        # A Retry-After the first check was given carries into the trigger: no read before it ends.
        target = self.target
        held = self.hook.pacer(target.subscription_id).held_for()
        self.defer_wait(
            target,
            poll_interval=self.poke_interval,
            timeout=remaining,
            not_before=time.time() + held if held else None,
            settings=self.trigger_settings(),
        )

    def _get_next_poke_interval(
        self,
        started_at: Any,
        run_duration: Callable[[], float],
        poke_count: int,
    ) -> float:
        # Never poke again before a Retry-After has elapsed (nor past the sensor's timeout); the
        # hook's pacer remembers it, in poke and reschedule mode alike (one hook per execute()).
        interval = super()._get_next_poke_interval(started_at, run_duration, poke_count)
        hold_off = self.hook.pacer(self.target.subscription_id).held_for()
        if hold_off > interval:
            interval = min(hold_off, max(self.timeout - run_duration(), interval))
        return float(interval)

    def _on_poke_error(self, err: BaseException) -> None:
        """
        Apply Airflow's rules for a poke's error (``BaseSensorOperator.execute``) to one met elsewhere.

        Timeouts and failures skip under ``soft_fail`` or ``never_fail``; any other error skips
        under ``never_fail``, is logged and waited through under ``silent_fail``, and fails the
        task otherwise. So an error ends the task the same way whether a poke, the first check
        before deferring, or the trigger met it. Returns only to keep waiting.
        """
        from airflow_provider_datareplication.version_compat import (
            AirflowFailException,
            AirflowSensorTimeout,
            AirflowSkipException,
        )

        if isinstance(err, AirflowSkipException):
            raise err
        never_fail = getattr(self, "never_fail", False)
        if isinstance(err, AirflowSensorTimeout | AirflowFailException):
            if self.soft_fail or never_fail:
                reason = "soft_fail" if self.soft_fail else "never_fail"
                raise AirflowSkipException(f"Skipping ({reason}): {err}") from err
            raise err
        if getattr(self, "silent_fail", False):
            self.log.error("Sensor poke failed (silent_fail: waiting on): %s", err)
            return
        if never_fail:
            raise AirflowSkipException(f"Skipping (never_fail): {err}") from err
        raise err

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Turn the trigger's event into the task's outcome, by the same rules as a poke's."""
        from airflow_provider_datareplication.exceptions import AzureDataReplicationWaitTimeout
        from airflow_provider_datareplication.version_compat import AirflowSensorTimeout

        try:
            try:
                status, what = self.wait_ended(context, event)
            except AzureDataReplicationWaitTimeout as timeout:
                raise AirflowSensorTimeout(str(timeout)) from None
            return self.judge_end(status, what)
        except Exception as err:
            self._on_poke_error(err)
        finally:
            self.close_hook()
        # silent_fail: the error is logged and the wait goes on, for what is left of the timeout.
        deadline = (event or {}).get("deadline")
        try:
            self._defer(max(deadline - time.time(), 0.0) if deadline else self.timeout)
        finally:
            self.close_hook()

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """
        Resume after the trigger fired, keeping a poke's rule for ``soft_fail``.

        Airflow skips any error of a resumed sensor under ``soft_fail``, where a poke's error is
        skipped only when it is a timeout or a failure: an error reading the status (403, 404, ...)
        fails the task in both.
        """
        from airflow_provider_datareplication.exceptions import AzureDataReplicationError
        from airflow_provider_datareplication.version_compat import AirflowSkipException

        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except AirflowSkipException as skip:
            cause = skip.__cause__
            if self.soft_fail and isinstance(cause, AzureDataReplicationError):
                raise cause from None
            raise

    def _start_from_trigger(self) -> None:
        """Let the scheduler hand this task straight to the triggerer, where Airflow supports it."""
        import warnings

        from airflow_provider_datareplication.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_3_PLUS

        kwargs = {
            **self.target_names(),
            "azure_data_replication_conn_id": self.azure_data_replication_conn_id,
        }
        if not AIRFLOW_V_3_3_PLUS and (AIRFLOW_V_3_0_PLUS or any(map(templated, kwargs.values()))):
            warnings.warn(
                "start_from_trigger needs Airflow 3.3+ (or, on Airflow 2, no templates in the task's "
                "parameters); the task defers from the worker instead.",
                UserWarning,
                stacklevel=4,
            )
            return
        from airflow.triggers.base import StartTriggerArgs

        self.start_from_trigger = True
        self.start_trigger_args = StartTriggerArgs(
            trigger_cls=self.target_class.trigger,
            trigger_kwargs={**kwargs, **self.trigger_settings(), "poll_interval": self.poke_interval},
            next_method="execute_complete",
            next_kwargs=None,
            timeout=timedelta(seconds=self.timeout),
        )

    def trigger_settings(self) -> dict[str, Any]:
        """Trigger arguments beyond the target's identifiers (a kind's own, e.g. what to wait for)."""
        return {}


class AzureDataReplicationOperationSensor(OperationTaskMixin, AzureDataReplicationBaseSensor):
    """
    Wait until an operation of a replication vault is ``Succeeded``, ``Failed`` or ``Canceled``.

    Name it by its identifiers ("Workflow Operation Status - Get", the preview api-version) or by
    the URL a long-running call returned (``operation_url``, any api-version). On ``Succeeded``
    the task succeeds and the service's status body is its ``return_value`` XCom. On ``Failed`` or
    ``Canceled`` (``Cancelled`` too) it fails without retrying, naming the operation and the
    service's error, unless ``raise_on_failure=False``. Transient errors (throttling, 5xx,
    timeouts, a garbled answer) never end the wait; a ``Retry-After`` is waited out before the next
    read. Airflow's sensor parameters apply (``poke_interval``, ``timeout``, ``mode``,
    ``soft_fail``, ``never_fail``, ``silent_fail``, ``exponential_backoff``, ...).

    :param operation_id: The operation id (templated), with ``job_name``: "Workflow Operation
        Status - Get", which only ``2021-02-16-preview`` serves.
    :param job_name: The job (templated), usually a GUID.
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version of the identifiers' call (templated; default
        ``2021-02-16-preview``).
    :param operation_url: Instead of the identifiers: the ``Azure-AsyncOperation`` (or ``Location``)
        URL a long-running call returned, in any api-version (templated). It must be https, on the
        connection's ARM endpoint, under Microsoft.DataReplication.
    :param azure_data_replication_conn_id: The Airflow connection (``azure_data_replication`` or an
        existing ``azure`` one; templated).
    :param deferrable: Check once, then wait in the triggerer instead of a worker slot, for at most
        the sensor's remaining ``timeout``; defaults to ``[operators] default_deferrable``.
    :param raise_on_failure: Fail the task when the operation ends ``Failed`` or ``Canceled``;
        ``False`` hands any final answer to XCom instead.
    :param start_from_trigger: Start straight in the triggerer, without a worker (Airflow 3.3+);
        implies ``deferrable``.
    """


class AzureDataReplicationJobSensor(JobTaskMixin, AzureDataReplicationBaseSensor):
    """
    Wait until a job of a replication vault has ended (stable api-versions, ``2024-09-01`` on).

    ``Succeeded`` and ``CompletedWithInformation`` succeed; ``CompletedWithWarnings`` succeeds with
    the warnings logged; ``Failed``, ``Cancelled`` and ``CompletedWithErrors`` fail the task without
    retrying, naming the job (display name, object), the state, each error (code, message,
    recommendation) and the failed tasks, unless ``raise_on_failure=False``. ``Pending``,
    ``Started``, ``Cancelling`` and any other state are running. The job's body, exactly as the
    service sent it, is the task's ``return_value`` XCom. Airflow's sensor parameters apply.

    :param job_name: The job (templated), usually a GUID.
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version (templated): ``2024-09-01`` (default) or ``2026-05-01``.
    :param azure_data_replication_conn_id: The Airflow connection (templated).
    :param deferrable: Check once, then wait in the triggerer instead of a worker slot; defaults to
        ``[operators] default_deferrable``.
    :param raise_on_failure: Fail the task when the job ends in failure; ``False`` hands any final
        answer to XCom instead.
    :param start_from_trigger: Start straight in the triggerer, without a worker (Airflow 3.3+);
        implies ``deferrable``.
    """


class AzureDataReplicationProtectedItemSensor(ProtectedItemTaskMixin, AzureDataReplicationBaseSensor):
    """
    Wait until a protected item (a replicated server) is ready to migrate, migrated, or removed.

    - ``until="ready_to_migrate"`` (default): done when the item's ``allowedJobs`` has
      ``PlannedFailover`` (or ``Restart``), as Azure's tools check before a migration: initial
      replication (hours to days) has finished;
    - ``until="migrated"``: done at ``PlannedFailoverCompleted``;
    - ``until="removed"``: done when the item is gone (404); nothing else ends or fails it.

    A ``protectionState`` ending in ``Failed`` (``InitialReplicationFailed``, ``PlannedFailoverFailed``,
    ...) fails the task without retrying, naming the item, its source server, the state and its
    description, each health error (code, message, recommendation) and the last failed job, unless
    ``raise_on_failure=False``. Replication progress (initial replication, resynchronization,
    migration percentages) is logged with the state. The item's body, as the service sent it, is the
    task's ``return_value`` XCom (empty once removed). Airflow's sensor parameters apply
    (``poke_interval``, ``timeout``, ``mode``, ``soft_fail``, ...).

    :param protected_item_name: The protected item (templated).
    :param until: What to wait for: ``ready_to_migrate``, ``migrated`` or ``removed``.
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version (templated): ``2024-09-01`` (default) or ``2026-05-01``.
    :param azure_data_replication_conn_id: The Airflow connection (templated).
    :param deferrable: Check once, then wait in the triggerer instead of a worker slot; defaults to
        ``[operators] default_deferrable``.
    :param raise_on_failure: Fail the task when the item is in a failed state; ``False`` hands the
        item to XCom instead.
    :param start_from_trigger: Start straight in the triggerer, without a worker (Airflow 3.3+);
        implies ``deferrable``.
    """

    def __init__(self, *, until: str = "ready_to_migrate", **kwargs: Any) -> None:
        self.until = check_until(until)  # before the bases: a task that starts in the triggerer takes it
        super().__init__(**kwargs)

    def read(self, target: Target) -> Status:
        """Read the item and judge it for ``until`` (gone only once its vault is known to exist)."""
        from airflow_provider_datareplication.protected_item import ProtectedItemStatus

        item = self.hook.find_protected_item(cast("ProtectedItem", target)) or ProtectedItemStatus()
        return item.waiting_until(self.until)

    def judge_end(self, status: Status, what: str) -> dict[str, Any]:
        """Judge the item's end; a failure names its last failed job's errors (read once for them)."""
        from dataclasses import replace

        from airflow_provider_datareplication.protected_item import ProtectedItemWait

        if isinstance(status, ProtectedItemWait) and status.failed and self.raise_on_failure:
            status = replace(status, failed_job=self._last_failed_job(status))
        return super().judge_end(status, what)

    def _last_failed_job(self, wait: Any) -> Any:
        """Read the job the failed item names (``lastFailed...Job``), if any; ``None`` if unreadable."""
        from airflow_provider_datareplication.exceptions import AzureDataReplicationError

        job = wait.item.last_failed_job
        if job is None:
            return None
        try:
            return self.hook.get_status(cast("ProtectedItem", self.target).job(str(job["name"])))
        except (AzureDataReplicationError, ValueError) as err:
            self.log.warning("Could not read the failed job %s for its errors: %s", job["name"], err)
            return None

    def status_from_event(self, body: dict[str, Any]) -> Status:
        """Judge the item the trigger read last for ``until``."""
        from airflow_provider_datareplication.protected_item import ProtectedItemWait

        return ProtectedItemWait.from_dict(body, until=self.until)

    def trigger_settings(self) -> dict[str, Any]:
        """Hand ``until`` to the trigger: it waits for the same."""
        return {"until": self.until}
