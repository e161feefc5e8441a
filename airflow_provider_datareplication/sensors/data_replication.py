"""Sensor that waits until a replication job operation is terminal."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_datareplication.connection import DEFAULT_CONN_ID
from airflow_provider_datareplication.job_operation import DEFAULT_API_VERSION
from airflow_provider_datareplication.links.data_replication import AzureDataReplicationJobLink
from airflow_provider_datareplication.operation_task import OPERATION_TEMPLATE_FIELDS, OperationTaskMixin
from airflow_provider_datareplication.version_compat import BaseSensorOperator, PokeReturnValue, conf

#: Named, not imported: the trigger module is only loaded when a task defers.
TRIGGER_CLASSPATH = (
    "airflow_provider_datareplication.triggers.data_replication.AzureDataReplicationOperationTrigger"
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_datareplication.job_operation import JobOperation
    from airflow_provider_datareplication.operation_status import OperationStatus


class AzureDataReplicationOperationSensor(OperationTaskMixin, BaseSensorOperator):
    """
    Wait until an operation of a replication vault's job is ``Succeeded``, ``Failed`` or ``Canceled``.

    On ``Succeeded`` the task succeeds and the service's status body is its ``return_value``
    XCom. On ``Failed`` or ``Canceled`` it fails, naming the operation and the service's error,
    unless ``raise_on_failure=False``, when any terminal status completes it and goes to XCom.
    Transient errors (throttling, 5xx, timeouts, a garbled answer) never end the wait; a
    ``Retry-After`` is waited out before the next poke.

    :param operation_id: The operation id (templated).
    :param job_name: The job (workflow) name (templated).
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version (templated).
    :param azure_data_replication_conn_id: The Airflow connection (templated).
    :param raise_on_failure: Fail the task when the operation ends ``Failed`` or ``Canceled``.
    :param deferrable: Wait in the triggerer instead of a worker slot; defaults to
        ``[operators] default_deferrable``.
    :param start_from_trigger: Start straight in the triggerer, without a worker at all (Airflow
        3.3+; on 2.x only without templates in the operation's parameters; ignored with a warning
        where unsupported). Implies ``deferrable``; ``dag.test()`` still runs ``execute()``.
    """

    template_fields = OPERATION_TEMPLATE_FIELDS
    operator_extra_links = (AzureDataReplicationJobLink(),)
    ui_color = "#0078d4"

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
        raise_on_failure: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        start_from_trigger: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.operation_id = operation_id
        self.job_name = job_name
        self.vault_name = vault_name
        self.resource_group_name = resource_group_name
        self.subscription_id = subscription_id
        self.api_version = api_version
        self.azure_data_replication_conn_id = azure_data_replication_conn_id
        self.raise_on_failure = raise_on_failure
        self.deferrable = deferrable or start_from_trigger
        if start_from_trigger:
            self._start_from_trigger()

    def _start_from_trigger(self) -> None:
        """Let the scheduler hand this task straight to the triggerer, where Airflow supports it."""
        import warnings

        from airflow_provider_datareplication.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_3_PLUS

        kwargs = {name: getattr(self, name) for name in OPERATION_TEMPLATE_FIELDS}
        templated = any(
            isinstance(value, str) and any(mark in value for mark in ("{{", "{%", "{#"))
            for value in kwargs.values()
        )
        if not AIRFLOW_V_3_3_PLUS and (AIRFLOW_V_3_0_PLUS or templated):
            warnings.warn(
                "start_from_trigger needs Airflow 3.3+ (or, on Airflow 2, no templates in the operation's "
                "parameters); the task defers from the worker instead.",
                UserWarning,
                stacklevel=3,
            )
            return
        from airflow.triggers.base import StartTriggerArgs

        self.start_from_trigger = True
        self.start_trigger_args = StartTriggerArgs(
            trigger_cls=TRIGGER_CLASSPATH,
            trigger_kwargs={**kwargs, "poll_interval": self.poke_interval},
            next_method="execute_complete",
            next_kwargs=None,
            timeout=timedelta(seconds=self.timeout),
        )

    def finish(self, status: OperationStatus, operation: JobOperation) -> dict[str, Any]:
        """
        Judge a terminal status: the XCom value, or the error of a failed or canceled operation.

        :param status: A terminal status.
        :param operation: The operation it is the status of.
        """
        from airflow_provider_datareplication.exceptions import AzureDataReplicationOperationFailedError

        if status.succeeded or not self.raise_on_failure:
            self.log.info("%s ended %s", operation.describe(), status.status)
            return status.to_dict()
        message = f"{operation.describe()} ended {status.status}"
        if status.error_code or status.error_message:
            message += f": {status.error_code or 'error'}: {status.error_message or '(no message)'}"
        raise AzureDataReplicationOperationFailedError(message)

    def poke(self, context: Any) -> bool | PokeReturnValue:
        """Read the status once; done when terminal."""
        from airflow_provider_datareplication.exceptions import AzureDataReplicationTransientError

        operation = self.resolve_operation()
        try:
            status = self.hook.get_operation_status(**operation.to_dict())
        except AzureDataReplicationTransientError as err:
            self.log.warning("%s; poking again later", err)
            return False
        if not status.is_terminal:
            self.log.info("%s is %s", operation.describe(), status.status)
            return False
        return PokeReturnValue(is_done=True, xcom_value=self.finish(status, operation))

    def _get_next_poke_interval(
        self,
        started_at: Any,
        run_duration: Callable[[], float],
        poke_count: int,
    ) -> float:
        # Never poke again before a Retry-After has elapsed (nor past the sensor's timeout); the
        # hook's pacer remembers it, in poke and reschedule mode alike (one hook per execute()).
        interval = super()._get_next_poke_interval(started_at, run_duration, poke_count)
        subscription_id = self.resolve_operation().subscription_id
        hold_off = self.hook.read_pacers.for_subscription(subscription_id).held_for()
        if hold_off > interval:
            interval = min(hold_off, max(self.timeout - run_duration(), interval))
        return interval

    def execute(self, context: Any) -> Any:
        """Poke, reschedule, or check once and defer to the triggerer until terminal."""
        try:
            self.remember_portal_link(context, self.resolve_operation())
            if not self.deferrable:
                return super().execute(context)
            return self._execute_deferrable(context)
        finally:
            self.close_hook()

    def _execute_deferrable(self, context: Any) -> Any:
        started = time.monotonic()
        try:
            result = self.poke(context)
        except Exception as err:
            self._on_poke_error(err)
            result = False
        if result:
            assert isinstance(result, PokeReturnValue)
            return result.xcom_value
        remaining = max(self.timeout - (time.monotonic() - started), 0.0)
        self._defer(remaining)

    def _defer(self, remaining: float) -> None:
        # A Retry-After the first check was given carries into the trigger: no read before it ends.
        held = self.hook.read_pacers.for_subscription(self.resolve_operation().subscription_id).held_for()
        self.defer(
            trigger=self.operation_trigger(
                poll_interval=self.poke_interval,
                timeout=remaining,
                not_before=time.time() + held if held else None,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=remaining),
        )

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
                raise AirflowSkipException(
                    f"Skipping ({'soft_fail' if self.soft_fail else 'never_fail'}): {err}"
                ) from err
            raise err
        if getattr(self, "silent_fail", False):
            self.log.error("Sensor poke failed (silent_fail: waiting on): %s", err)
            return
        if never_fail:
            raise AirflowSkipException(f"Skipping (never_fail): {err}") from err
        raise err

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        """Turn the trigger's event into the task's outcome, by the same rules as a poke's."""
        from airflow_provider_datareplication.version_compat import AirflowSensorTimeout

        try:
            status, operation = self.status_from_event(event, timeout_error=AirflowSensorTimeout)
            if self.start_from_trigger:  # execute() never ran: store the link now
                self.remember_portal_link(context, operation)
            return self.finish(status, operation)
        except Exception as err:
            self._on_poke_error(err)
        # silent_fail: the error is logged and the wait goes on, for what is left of the timeout.
        deadline = (event or {}).get("deadline")
        self._defer(max(deadline - time.time(), 0.0) if deadline else self.timeout)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any) -> Any:
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
