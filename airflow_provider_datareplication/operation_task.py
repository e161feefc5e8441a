"""What the sensor and the operator share: the operation they address, their hook, their trigger."""

from __future__ import annotations

import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook
    from airflow_provider_datareplication.job_operation import JobOperation
    from airflow_provider_datareplication.operation_status import OperationStatus
    from airflow_provider_datareplication.triggers.data_replication import (
        AzureDataReplicationOperationTrigger,
    )

#: Every parameter that names the operation is templated.
OPERATION_TEMPLATE_FIELDS: tuple[str, ...] = (
    "operation_id",
    "job_name",
    "vault_name",
    "resource_group_name",
    "subscription_id",
    "api_version",
    "azure_data_replication_conn_id",
)


class OperationTaskMixin:
    """
    Mixed into a task that addresses one operation through ``azure_data_replication_conn_id``.

    The task sets the attributes named in :data:`OPERATION_TEMPLATE_FIELDS`; nothing here does
    I/O until a method is called at run time.
    """

    operation_id: str
    job_name: str
    vault_name: str | None
    resource_group_name: str | None
    subscription_id: str | None
    api_version: str
    azure_data_replication_conn_id: str

    @cached_property
    def hook(self) -> AzureDataReplicationHook:
        """The sync hook, one per task run (its credential and session are reused across pokes)."""
        from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook

        return AzureDataReplicationHook(self.azure_data_replication_conn_id)

    def operation_kwargs(self) -> dict[str, Any]:
        """Return the hook's keyword arguments, from the rendered template fields."""
        return {
            "operation_id": self.operation_id,
            "job_name": self.job_name,
            "vault_name": self.vault_name,
            "resource_group_name": self.resource_group_name,
            "subscription_id": self.subscription_id,
            "api_version": self.api_version,
        }

    def resolve_operation(self) -> JobOperation:
        """Return the operation with the connection's defaults filled in, validated."""
        return self.hook.resolve_operation(**self.operation_kwargs())

    def operation_trigger(
        self, poll_interval: float, timeout: float, not_before: float | None = None
    ) -> AzureDataReplicationOperationTrigger:
        """
        Build the trigger that waits for this task's operation.

        :param poll_interval: Seconds between polls.
        :param timeout: Seconds from now after which the trigger gives up.
        :param not_before: No read before this time (seconds since the epoch): a pending ``Retry-After``.
        """
        from airflow_provider_datareplication.triggers.data_replication import (
            AzureDataReplicationOperationTrigger,
        )

        return AzureDataReplicationOperationTrigger(
            **self.resolve_operation().to_dict(),
            azure_data_replication_conn_id=self.azure_data_replication_conn_id,
            poll_interval=poll_interval,
            deadline=time.time() + timeout,
            not_before=not_before,
        )

    @staticmethod
    def status_from_event(
        event: dict[str, Any] | None, timeout_error: type[Exception]
    ) -> tuple[OperationStatus, JobOperation]:
        """
        Return the final status a trigger event carries, and its operation; raise an error event's error.

        :param event: The trigger's event payload.
        :param timeout_error: What to raise for a timeout event.
        """
        from airflow_provider_datareplication import exceptions
        from airflow_provider_datareplication.job_operation import JobOperation
        from airflow_provider_datareplication.operation_status import OperationStatus
        from airflow_provider_datareplication.triggers.data_replication import EVENT_TERMINAL, EVENT_TIMEOUT

        if event and event.get("event") == EVENT_TERMINAL:
            return OperationStatus.from_dict(event["operation_status"]), JobOperation(**event["operation"])
        if event and event.get("event") == EVENT_TIMEOUT:
            raise timeout_error(event.get("message") or "The operation was not terminal in time")
        message = (event or {}).get("message") or f"Unexpected trigger event: {event!r}"
        error_class = getattr(exceptions, str((event or {}).get("error_type")), None)
        if not (
            isinstance(error_class, type) and issubclass(error_class, exceptions.AzureDataReplicationError)
        ):
            error_class = exceptions.AzureDataReplicationError
        # The message is already complete; the error's own fields are not needed again.
        raise error_class(message)

    def remember_portal_link(self, context: Any, operation: JobOperation) -> None:
        """
        Store the "Azure portal" link of the operation's job for this task instance.

        :param context: The task's context (nothing is stored without a task instance).
        :param operation: The resolved operation.
        """
        from airflow_provider_datareplication.links.data_replication import XCOM_KEY, job_portal_url

        ti = context.get("ti")
        if ti is not None:
            ti.xcom_push(key=XCOM_KEY, value=job_portal_url(self.hook.connection, operation))

    def close_hook(self) -> None:
        """Close the hook if this run opened one."""
        hook = self.__dict__.pop("hook", None)
        if hook is not None:
            hook.close()
