"""Operator that reports a replication job operation's current status to XCom."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from airflow_provider_datareplication.connection import DEFAULT_CONN_ID
from airflow_provider_datareplication.job_operation import DEFAULT_API_VERSION
from airflow_provider_datareplication.links.data_replication import AzureDataReplicationJobLink
from airflow_provider_datareplication.operation_task import OPERATION_TEMPLATE_FIELDS, OperationTaskMixin
from airflow_provider_datareplication.version_compat import BaseOperator, conf


class AzureDataReplicationOperationStatusOperator(OperationTaskMixin, BaseOperator):
    """
    Push an operation's ``OperationStatus`` (the service's body) to XCom as ``return_value``.

    It reports and does not judge: a ``Failed`` operation is pushed, not raised. With
    ``wait_for_completion=True`` it first waits until the operation is terminal, polling from the
    worker or, with ``deferrable=True``, from the triggerer.

    :param operation_id: The operation id (templated).
    :param job_name: The job (workflow) name (templated).
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version (templated).
    :param azure_data_replication_conn_id: The Airflow connection (templated).
    :param wait_for_completion: Wait until the operation is terminal before reporting.
    :param poll_interval: Seconds between polls while waiting.
    :param wait_timeout: Seconds to wait at most; then the task fails.
    :param deferrable: Wait in the triggerer; defaults to ``[operators] default_deferrable``.
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
        wait_for_completion: bool = False,
        poll_interval: float = 30.0,
        wait_timeout: float = 7 * 24 * 3600.0,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
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
        self.wait_for_completion = wait_for_completion
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be a positive number of seconds, got {poll_interval!r}")
        if wait_timeout < 0:
            raise ValueError(f"wait_timeout must be a non-negative number of seconds, got {wait_timeout!r}")
        self.poll_interval = float(poll_interval)
        self.wait_timeout = float(wait_timeout)
        self.deferrable = deferrable

    def execute(self, context: Any) -> dict[str, Any]:
        """Read the status (waiting first when asked) and return its body for XCom."""
        from airflow_provider_datareplication.exceptions import AzureDataReplicationTransientError

        try:
            self.remember_portal_link(context, self.resolve_operation())
            deadline = time.monotonic() + self.wait_timeout
            while True:
                try:
                    status = self.hook.get_operation_status(**self.operation_kwargs())
                except AzureDataReplicationTransientError as err:
                    if not self.wait_for_completion:
                        raise
                    self.log.warning("%s; polling again", err)
                    self._sleep_until_next_poll(deadline, err.retry_after or 0.0)
                    continue
                self.log.info("%s is %s", self.resolve_operation().describe(), status.status)
                if status.is_terminal or not self.wait_for_completion:
                    return status.to_dict()
                if self.deferrable:
                    remaining = max(deadline - time.monotonic(), 0.0)
                    self.defer(
                        trigger=self.operation_trigger(poll_interval=self.poll_interval, timeout=remaining),
                        method_name="execute_complete",
                        timeout=timedelta(seconds=remaining),
                    )
                self._sleep_until_next_poll(deadline, 0.0)
        finally:
            self.close_hook()

    def _sleep_until_next_poll(self, deadline: float, retry_after: float) -> None:
        from airflow_provider_datareplication.version_compat import AirflowException

        left = deadline - time.monotonic()
        if left <= 0:
            raise AirflowException(
                f"{self.resolve_operation().describe()} was not terminal within {self.wait_timeout:g} s"
            )
        time.sleep(min(max(self.poll_interval, retry_after), left))

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return the terminal status the trigger found, for XCom."""
        from airflow_provider_datareplication.version_compat import AirflowException

        status, operation = self.status_from_event(event, timeout_error=AirflowException)
        self.log.info("%s is %s", operation.describe(), status.status)
        return status.to_dict()
