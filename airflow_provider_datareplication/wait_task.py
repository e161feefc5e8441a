"""
What every sensor and operator of this provider is: a wait on one thing in a replication vault.

A task names what it waits on once per run (its *target*: a job's operation, an operation by its
URL, or a job), reads it through the hook, and judges the answer with the target's status model
(running, succeeded, failed). In a worker it waits in Airflow's own sensor loop (poke or
reschedule); deferred, in the trigger of its kind. The status operators are the same wait: they
report instead of judging, and stop after their first read unless asked to wait.

:class:`AzureDataReplicationWait` holds all of that; :class:`OperationWait` and :class:`JobWait`
declare the parameters that name each kind of target; :class:`JudgingWait` (the sensors) and
:class:`ReportingWait` (the operators) decide what an answer does to the task.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_datareplication.connection import DEFAULT_CONN_ID
from airflow_provider_datareplication.identifiers import (
    DEFAULT_API_VERSION,
    JOB_API_VERSION,
    JOB_PARAMETERS,
    OPERATION_PARAMETERS,
    check_operation_choice,
    check_operation_url_form,
)
from airflow_provider_datareplication.links.data_replication import AzureDataReplicationJobLink
from airflow_provider_datareplication.version_compat import BaseSensorOperator, PokeReturnValue, conf

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook
    from airflow_provider_datareplication.identifiers import Target

_TRIGGERS = "airflow_provider_datareplication.triggers.data_replication"


def _templated(value: Any) -> bool:
    return isinstance(value, str) and any(mark in value for mark in ("{{", "{%", "{#"))


class AzureDataReplicationWait(BaseSensorOperator):
    """
    Wait on one thing in a replication vault, or read it once: the base of every task here.

    :param azure_data_replication_conn_id: The Airflow connection (``azure_data_replication`` or an
        existing ``azure`` one; templated).
    :param deferrable: Wait in the triggerer instead of a worker slot; defaults to
        ``[operators] default_deferrable``.
    """

    #: The parameters that name the target, with their defaults.
    parameters: ClassVar[dict[str, Any]] = {}
    #: The trigger this kind of wait defers to (named, not imported: it loads only when deferring).
    trigger_classpath: ClassVar[str] = ""
    operator_extra_links = (AzureDataReplicationJobLink(),)
    ui_color = "#0078d4"

    def __init__(
        self,
        *,
        azure_data_replication_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.azure_data_replication_conn_id = azure_data_replication_conn_id
        self.deferrable = deferrable

    # -- what it reads (the kinds: OperationWait, JobWait) --------------------------------------------

    def identifiers(self) -> dict[str, Any]:
        """Return the rendered parameters that name the target."""
        return {name: getattr(self, name) for name in self.parameters}

    def resolve(self, hook: AzureDataReplicationHook) -> Target:
        """Name the target, with the connection's defaults filled in and every rule checked."""
        raise NotImplementedError

    @staticmethod
    def target_from_event(identifiers: dict[str, Any]) -> Target:
        """Rebuild the target a trigger's event names."""
        raise NotImplementedError

    # -- what an answer does to the task (JudgingWait, ReportingWait) ---------------------------------

    @property
    def waits(self) -> bool:
        """Whether a running target keeps the task waiting (else the first answer ends it)."""
        return True

    def finish(self, status: Any, target: Target) -> Any:
        """Turn a final answer into the task's XCom value, or raise."""
        raise NotImplementedError

    # -- the wait ----------------------------------------------------------------------------------

    @cached_property
    def hook(self) -> AzureDataReplicationHook:
        """The sync hook, one per task run (its credential and session are reused across pokes)."""
        from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook

        return AzureDataReplicationHook(self.azure_data_replication_conn_id)

    @cached_property
    def target(self) -> Target:
        """What this run waits on, named once (rendered values, the connection's defaults)."""
        return self.resolve(self.hook)

    def poke(self, context: Any) -> bool | PokeReturnValue:
        """Read the target once; done when it has ended (or at once, for a task that does not wait)."""
        from airflow_provider_datareplication.exceptions import AzureDataReplicationTransientError

        target = self.target
        try:
            status = self.hook.get_status(target)
        except AzureDataReplicationTransientError as err:
            if not self.waits:
                raise
            self.log.warning("%s; reading again later", err)
            return False
        if self.waits and not status.is_terminal:
            self.log.info("%s is %s", target.describe(), status.state)
            return False
        return PokeReturnValue(is_done=True, xcom_value=self.finish(status, target))

    def execute(self, context: Any) -> Any:
        """Wait in the worker (poke, reschedule), or check once and defer to the triggerer."""
        try:
            self.remember_portal_link(context, self.target)
            if not (self.deferrable and self.waits):
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
            self._close_hook()

    def _defer(self, remaining: float) -> None:
        # A Retry-After the first check was given carries into the trigger: no read before it ends.
        held = self.hook.read_pacers.for_subscription(self.target.subscription_id).held_for()
        self.defer(
            trigger=self._build_trigger(
                {
                    **self.target.to_dict(),
                    "azure_data_replication_conn_id": self.azure_data_replication_conn_id,
                    "poll_interval": self.poke_interval,
                    "deadline": time.time() + remaining,
                    "not_before": time.time() + held if held else None,
                }
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=remaining),
        )

    def _build_trigger(self, kwargs: dict[str, Any]) -> Any:
        """Build this kind's trigger from keyword arguments."""
        import importlib

        module, _, name = self.trigger_classpath.rpartition(".")
        return getattr(importlib.import_module(module), name)(**kwargs)

    def _get_next_poke_interval(
        self,
        started_at: Any,
        run_duration: Callable[[], float],
        poke_count: int,
    ) -> float:
        # Never poke again before a Retry-After has elapsed (nor past the sensor's timeout); the
        # hook's pacer remembers it, in poke and reschedule mode alike (one hook per execute()).
        interval = super()._get_next_poke_interval(started_at, run_duration, poke_count)
        hold_off = self.hook.read_pacers.for_subscription(self.target.subscription_id).held_for()
        if hold_off > interval:
            interval = min(hold_off, max(self.timeout - run_duration(), interval))
        return interval

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

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        """Turn the trigger's event into the task's outcome, by the same rules as a poke's."""
        try:
            status, target = self._from_event(event)
            if self.start_from_trigger:  # execute() never ran: store the link now
                self.remember_portal_link(context, target)
            return self.finish(status, target)
        except Exception as err:
            self._on_poke_error(err)
        finally:
            self._close_hook()
        # silent_fail: the error is logged and the wait goes on, for what is left of the timeout.
        deadline = (event or {}).get("deadline")
        self._defer(max(deadline - time.time(), 0.0) if deadline else self.timeout)

    def _from_event(self, event: dict[str, Any] | None) -> tuple[Any, Target]:
        """Return the final status and target of a trigger event; raise an error event's error."""
        from airflow_provider_datareplication import exceptions
        from airflow_provider_datareplication.hooks.data_replication import STATUS_MODELS
        from airflow_provider_datareplication.triggers.data_replication import EVENT_TERMINAL, EVENT_TIMEOUT
        from airflow_provider_datareplication.version_compat import AirflowSensorTimeout

        if event and event.get("event") == EVENT_TERMINAL:
            target = self.target_from_event(event["target"])
            return STATUS_MODELS[target.kind].from_dict(event["status"]), target
        if event and event.get("event") == EVENT_TIMEOUT:
            raise AirflowSensorTimeout(event.get("message") or "The wait did not end in time")
        message = (event or {}).get("message") or f"Unexpected trigger event: {event!r}"
        error_class = getattr(exceptions, str((event or {}).get("error_type")), None)
        if not (
            isinstance(error_class, type) and issubclass(error_class, exceptions.AzureDataReplicationError)
        ):
            error_class = exceptions.AzureDataReplicationError
        # The message is already complete; the error's own fields are not needed again.
        raise error_class(message)

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

    def remember_portal_link(self, context: Any, target: Target) -> None:
        """
        Store the "Azure portal" link of what this run waits on (nothing without a task instance).

        :param context: The task's context.
        :param target: The target.
        """
        from airflow_provider_datareplication.links.data_replication import XCOM_KEY, portal_url

        ti = context.get("ti")
        url = portal_url(self.hook.connection, target)
        if ti is not None and url:
            ti.xcom_push(key=XCOM_KEY, value=url)

    def _close_hook(self) -> None:
        hook = self.__dict__.pop("hook", None)
        self.__dict__.pop("target", None)
        if hook is not None:
            hook.close()

    # -- straight into the triggerer (Airflow 3.3+) -------------------------------------------------

    def _start_from_trigger(self) -> None:
        """Let the scheduler hand this task straight to the triggerer, where Airflow supports it."""
        import warnings

        from airflow_provider_datareplication.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_3_PLUS

        kwargs = {**self.identifiers(), "azure_data_replication_conn_id": self.azure_data_replication_conn_id}
        if not AIRFLOW_V_3_3_PLUS and (AIRFLOW_V_3_0_PLUS or any(map(_templated, kwargs.values()))):
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
            trigger_cls=self.trigger_classpath,
            trigger_kwargs={**kwargs, "poll_interval": self.poke_interval},
            next_method="execute_complete",
            next_kwargs=None,
            timeout=timedelta(seconds=self.timeout),
        )


class OperationWait(AzureDataReplicationWait):
    """
    Wait on an operation: by its identifiers (preview api-version), or by its URL (any).

    :param operation_id: The operation id (templated), with ``job_name``: "Workflow Operation
        Status - Get", which only ``2021-02-16-preview`` serves.
    :param job_name: The job (templated), usually a GUID.
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version of the identifiers' call (templated).
    :param operation_url: Instead of the identifiers: the ``Azure-AsyncOperation`` (or
        operation-results) URL a long-running call returned, in any api-version (templated). It must
        be https, on the connection's ARM endpoint, under Microsoft.DataReplication.
    """

    parameters = OPERATION_PARAMETERS
    template_fields: tuple[str, ...] = (*OPERATION_PARAMETERS, "azure_data_replication_conn_id")
    trigger_classpath = f"{_TRIGGERS}.AzureDataReplicationOperationTrigger"

    def __init__(
        self,
        *,
        operation_id: str | None = None,
        job_name: str | None = None,
        vault_name: str | None = None,
        resource_group_name: str | None = None,
        subscription_id: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        operation_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Refused when the task is built: both or neither; a literal URL that cannot be right.
        check_operation_choice(operation_id=operation_id, job_name=job_name, operation_url=operation_url)
        if operation_url is not None and not _templated(operation_url):
            check_operation_url_form(operation_url)
        self.operation_id = operation_id
        self.job_name = job_name
        self.vault_name = vault_name
        self.resource_group_name = resource_group_name
        self.subscription_id = subscription_id
        self.api_version = api_version
        self.operation_url = operation_url

    def resolve(self, hook: AzureDataReplicationHook) -> Target:
        """Name the operation, with the connection's defaults filled in and every rule checked."""
        return hook.resolve_operation(**self.identifiers())

    @staticmethod
    def target_from_event(identifiers: dict[str, Any]) -> Target:
        """Rebuild the operation a trigger's event names."""
        from airflow_provider_datareplication.identifiers import JobOperation, OperationUrl

        if "operation_url" in identifiers:
            return OperationUrl(**identifiers)
        return JobOperation(**identifiers)


class JobWait(AzureDataReplicationWait):
    """
    Wait on a job of a replication vault (stable api-versions: ``2024-09-01`` on).

    :param job_name: The job (templated), usually a GUID.
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version (templated): ``2024-09-01`` (default) or ``2026-05-01``.
    """

    parameters = JOB_PARAMETERS
    template_fields: tuple[str, ...] = (*JOB_PARAMETERS, "azure_data_replication_conn_id")
    trigger_classpath = f"{_TRIGGERS}.AzureDataReplicationJobTrigger"

    def __init__(
        self,
        *,
        job_name: str,
        vault_name: str | None = None,
        resource_group_name: str | None = None,
        subscription_id: str | None = None,
        api_version: str = JOB_API_VERSION,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name
        self.vault_name = vault_name
        self.resource_group_name = resource_group_name
        self.subscription_id = subscription_id
        self.api_version = api_version

    def resolve(self, hook: AzureDataReplicationHook) -> Target:
        """Name the job, with the connection's defaults filled in and every rule checked."""
        return hook.resolve_job(**self.identifiers())

    @staticmethod
    def target_from_event(identifiers: dict[str, Any]) -> Target:
        """Rebuild the job a trigger's event names."""
        from airflow_provider_datareplication.identifiers import VaultJob

        return VaultJob(**identifiers)


class JudgingWait(AzureDataReplicationWait):
    """
    The sensors' side of a wait: a failure fails the task.

    :param raise_on_failure: Fail the task when the target ends in failure (``Failed``,
        ``Canceled``; for a job also ``Cancelled`` and ``CompletedWithErrors``); ``False`` hands any
        final answer to XCom instead, for a downstream task to decide.
    :param start_from_trigger: Start straight in the triggerer, without a worker at all (Airflow
        3.3+; on 2.x only without templates in the task's parameters; ignored with a warning where
        unsupported). Implies ``deferrable``; ``dag.test()`` still runs ``execute()``.
    """

    def __init__(
        self, *, raise_on_failure: bool = True, start_from_trigger: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.raise_on_failure = raise_on_failure
        self.deferrable = self.deferrable or start_from_trigger
        if start_from_trigger:
            self._start_from_trigger()

    def finish(self, status: Any, target: Target) -> Any:
        """Succeeded: the service's body for XCom (a job's warnings logged); failed: the error."""
        from airflow_provider_datareplication.exceptions import (
            AzureDataReplicationJobFailedError,
            AzureDataReplicationOperationFailedError,
        )

        for note in status.notes():
            self.log.warning("%s: %s", target.describe(), note)
        if status.succeeded or not self.raise_on_failure:
            self.log.info("%s ended %s", target.describe(), status.state)
            return status.to_dict()
        message = f"{target.describe()} ended {status.state}"
        if details := status.failure_details():
            message += f": {details}"
        error = (
            AzureDataReplicationJobFailedError
            if target.kind == "job"
            else AzureDataReplicationOperationFailedError
        )
        raise error(message)


class ReportingWait(AzureDataReplicationWait):
    """
    The status operators' side of a wait: report, do not judge (a failure is pushed, not raised).

    :param wait_for_completion: Wait until the target has ended before reporting (else report the
        first answer).
    :param poll_interval: Seconds between reads while waiting.
    :param wait_timeout: Seconds to wait at most; then the task fails.
    """

    def __init__(
        self,
        *,
        wait_for_completion: bool = False,
        poll_interval: float = 30.0,
        wait_timeout: float = 7 * 24 * 3600.0,
        **kwargs: Any,
    ) -> None:
        if not poll_interval > 0:
            raise ValueError(f"poll_interval must be a positive number of seconds, got {poll_interval!r}")
        if wait_timeout < 0:
            raise ValueError(f"wait_timeout must be a non-negative number of seconds, got {wait_timeout!r}")
        super().__init__(poke_interval=float(poll_interval), timeout=float(wait_timeout), **kwargs)
        self.wait_for_completion = wait_for_completion
        self.poll_interval = float(poll_interval)
        self.wait_timeout = float(wait_timeout)

    @property
    def waits(self) -> bool:
        """Whether the operator waits for the end (``wait_for_completion``)."""
        return self.wait_for_completion

    def finish(self, status: Any, target: Target) -> Any:
        """Return the service's body for XCom, whatever it says."""
        self.log.info("%s is %s", target.describe(), status.state)
        return status.to_dict()
