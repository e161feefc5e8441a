"""
What every task of this provider shares, whether it waits (a sensor) or acts (an operator).

:class:`AzureDataReplicationTaskMixin` holds the connection, the target the task names (resolved
once per run, with the connection's defaults), the hook, the "Azure portal" link, and the way to
wait in the triggerer: the same deferral and the same reading of the trigger's event for every
task, and the one judgement of a target's end (:meth:`AzureDataReplicationTaskMixin.judge`) that
the sensors and the operators that start work make (the status operators report, and do not
judge). The kind mixins (:class:`OperationTaskMixin`, :class:`JobTaskMixin`,
:class:`ProtectedItemTaskMixin`) declare the parameters that name each kind of target, as the
target classes of :mod:`~airflow_provider_datareplication.identifiers` name them (a test keeps the
two equal; the triggers and template fields take them from the target classes). As the AWS
provider's ``AwsBaseHookMixin`` serves both its operators and its sensors.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_datareplication.arguments import templated
from airflow_provider_datareplication.connection import DEFAULT_CONN_ID
from airflow_provider_datareplication.identifiers import (
    DEFAULT_API_VERSION,
    JOB_API_VERSION,
    JobOperation,
    ProtectedItem,
    VaultJob,
    check_operation_choice,
    check_operation_url_form,
)
from airflow_provider_datareplication.links.data_replication import AzureDataReplicationJobLink
from airflow_provider_datareplication.version_compat import BaseOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook
    from airflow_provider_datareplication.identifiers import Status, Target


class AzureDataReplicationTaskMixin(BaseOperator):
    """
    What every task of this provider shares: connection, target, hook, portal link, deferral.

    Not a task by itself: the sensors and operators derive from it and from a kind mixin.

    :param azure_data_replication_conn_id: The Airflow connection (``azure_data_replication`` or an
        existing ``azure`` one; templated).
    """

    #: What the task names with its parameters (their names and defaults: ``task_parameters()``).
    target_class: ClassVar[Any]
    operator_extra_links = (AzureDataReplicationJobLink(),)
    ui_color = "#0078d4"

    def __init__(self, *, azure_data_replication_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        self.azure_data_replication_conn_id = azure_data_replication_conn_id
        super().__init__(**kwargs)

    def target_names(self) -> dict[str, Any]:
        """Return the (rendered) parameters that name the target."""
        return {name: getattr(self, name) for name in self.target_class.task_parameters()}

    @cached_property
    def hook(self) -> AzureDataReplicationHook:
        """The sync hook, one per task run (its credential and session are reused across reads)."""
        from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook

        return AzureDataReplicationHook(self.azure_data_replication_conn_id)

    @cached_property
    def target(self) -> Target:
        """What this run names, resolved once (rendered values, the connection's defaults, every rule)."""
        return self.hook.resolve(self.target_class, **self.target_names())

    def remember_portal_link(self, context: Context, target: Target) -> None:
        """
        Store the "Azure portal" link of what this run acts on (nothing without a task instance).

        :param context: The task's context.
        :param target: The target.
        """
        from airflow_provider_datareplication.links.data_replication import portal_url

        self.store_portal_link(context, portal_url(self.hook.connection, target))

    @staticmethod
    def store_portal_link(context: Context, url: str | None) -> None:
        """
        Store an "Azure portal" link (drawn by :class:`AzureDataReplicationJobLink`).

        :param context: The task's context.
        :param url: The link, or ``None`` for none.
        """
        from airflow_provider_datareplication.links.data_replication import XCOM_KEY

        ti = context.get("ti")
        if ti is not None and url:
            ti.xcom_push(key=XCOM_KEY, value=url)

    def close_hook(self) -> None:
        """Close the run's hook (its HTTP session and credential) and forget the resolved target."""
        hook = self.__dict__.pop("hook", None)
        self.__dict__.pop("target", None)
        if hook is not None:
            hook.close()

    # -- waiting in the triggerer ------------------------------------------------------------------

    def defer_wait(
        self,
        target: Target,
        *,
        poll_interval: float,
        timeout: float,
        method_name: str = "execute_complete",
        not_before: float | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """
        Wait on a target in the triggerer, for at most ``timeout`` seconds (one trigger loop for all).

        :param target: What to wait on (resolved: the trigger reads it as it is).
        :param poll_interval: Seconds between reads.
        :param timeout: Seconds to wait at most; the trigger's deadline and Airflow's deferral timeout.
        :param method_name: The task's method the trigger's event comes back to.
        :param not_before: No read before this time (seconds since the epoch): a ``Retry-After``.
        :param settings: The trigger's own further arguments (what a wait waits for, ...).
        """
        import importlib

        module, _, name = target.trigger.rpartition(".")
        trigger = getattr(importlib.import_module(module), name)(
            **target.to_dict(),
            azure_data_replication_conn_id=self.azure_data_replication_conn_id,
            poll_interval=poll_interval,
            deadline=time.time() + timeout,
            not_before=not_before,
            **(settings or {}),
        )
        self.defer(trigger=trigger, method_name=method_name, timeout=timedelta(seconds=timeout))

    def wait_ended(self, context: Context, event: dict[str, Any] | None) -> tuple[Status, str]:
        """
        Read a trigger's event: the target's last status and its description, or raise its error.

        A timeout raises ``AzureDataReplicationWaitTimeout``; an error, the error the trigger met
        (by type). The "Azure portal" link the trigger drew is
        stored, for a task that started straight in the triggerer (its ``execute()`` never ran).

        :param context: The task's context.
        :param event: The trigger's event.
        """
        from airflow_provider_datareplication import exceptions
        from airflow_provider_datareplication.triggers.data_replication import EVENT_TERMINAL, EVENT_TIMEOUT

        kind = (event or {}).get("event")
        if event and kind == EVENT_TERMINAL:
            if getattr(self, "start_from_trigger", False):
                self.store_portal_link(context, event.get("portal_link"))
            return self.status_from_event(event["status"]), str(event.get("target") or "")
        message = (event or {}).get("message") or f"Unexpected trigger event: {event!r}"
        if kind == EVENT_TIMEOUT:
            raise exceptions.AzureDataReplicationWaitTimeout(message)
        error_class = getattr(exceptions, str((event or {}).get("error_type")), None)
        if not (
            isinstance(error_class, type) and issubclass(error_class, exceptions.AzureDataReplicationError)
        ):
            error_class = exceptions.AzureDataReplicationError
        # The message is already complete; the error's own fields are not needed again.
        raise error_class(message)

    def judge(
        self, status: Status, what: str, *, failure: str, raise_on_failure: bool = True
    ) -> dict[str, Any]:
        """
        Return an ended target's body for XCom (its warnings logged), or raise its failure.

        :param status: The final status.
        :param what: The target, described for messages.
        :param failure: The error a failure raises (its kind's ``failure_error``).
        :param raise_on_failure: Raise a failure (else hand it to XCom like a success).
        """
        from airflow_provider_datareplication.exceptions import failure_error

        for note in status.notes():
            self.log.warning("%s: %s", what, note)
        if status.succeeded or not raise_on_failure:
            self.log.info("%s ended %s", what, status.state)
            return status.to_dict()
        raise failure_error(failure, what, status)

    def status_from_event(self, body: dict[str, Any]) -> Status:
        """
        Rebuild the status of what the trigger waited on from the body its event carries.

        :param body: The service's body, as the trigger read it last.
        """
        return self.target_class.status_model.from_dict(body)


class InVaultTaskMixin(AzureDataReplicationTaskMixin):
    """
    The parameters that name a replication vault, for the kinds of target in one.

    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    """

    def __init__(
        self,
        *,
        vault_name: str | None = None,
        resource_group_name: str | None = None,
        subscription_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        # Set before the bases' __init__: a sensor that starts in the triggerer hands them on there.
        self.vault_name = vault_name
        self.resource_group_name = resource_group_name
        self.subscription_id = subscription_id
        super().__init__(**kwargs)


class OperationTaskMixin(InVaultTaskMixin):
    """
    Name an operation: by its identifiers (preview api-version), or by its URL (any).

    :param operation_id: The operation id (templated), with ``job_name``: "Workflow Operation
        Status - Get", which only ``2021-02-16-preview`` serves.
    :param job_name: The job (templated), usually a GUID.
    :param api_version: The api-version of the identifiers' call (templated).
    :param operation_url: Instead of the identifiers: the ``Azure-AsyncOperation`` (or
        operation-results) URL a long-running call returned, in any api-version (templated). It must
        be https, on the connection's ARM endpoint, under Microsoft.DataReplication.
    """

    target_class = JobOperation
    template_fields: tuple[str, ...] = (*JobOperation.task_parameters(), "azure_data_replication_conn_id")

    def __init__(
        self,
        *,
        operation_id: str | None = None,
        job_name: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        operation_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        # Refused when the task is built: both or neither; a literal URL that cannot be right.
        check_operation_choice(operation_id=operation_id, job_name=job_name, operation_url=operation_url)
        if operation_url is not None and not templated(operation_url):
            check_operation_url_form(operation_url)
        self.operation_id = operation_id
        self.job_name = job_name
        self.api_version = api_version
        self.operation_url = operation_url
        super().__init__(**kwargs)


class JobTaskMixin(InVaultTaskMixin):
    """
    Name a job of a replication vault (stable api-versions: ``2024-09-01`` on).

    :param job_name: The job (templated), usually a GUID.
    :param api_version: The api-version (templated): ``2024-09-01`` (default) or ``2026-05-01``.
    """

    target_class = VaultJob
    template_fields: tuple[str, ...] = (*VaultJob.task_parameters(), "azure_data_replication_conn_id")

    def __init__(self, *, job_name: str, api_version: str = JOB_API_VERSION, **kwargs: Any) -> None:
        self.job_name = job_name
        self.api_version = api_version
        super().__init__(**kwargs)


class ProtectedItemTaskMixin(InVaultTaskMixin):
    """
    Name a protected item (a replicated server) of a replication vault (stable api-versions).

    :param protected_item_name: The protected item (templated).
    :param api_version: The api-version (templated): ``2024-09-01`` (default) or ``2026-05-01``.
    """

    target_class = ProtectedItem
    template_fields: tuple[str, ...] = (*ProtectedItem.task_parameters(), "azure_data_replication_conn_id")

    def __init__(
        self, *, protected_item_name: str, api_version: str = JOB_API_VERSION, **kwargs: Any
    ) -> None:
        self.protected_item_name = protected_item_name
        self.api_version = api_version
        super().__init__(**kwargs)
