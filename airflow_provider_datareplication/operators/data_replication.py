"""Operators that report a replication vault's operation status, or job, to XCom."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_datareplication.mixins import (
    AzureDataReplicationTaskMixin,
    JobTaskMixin,
    OperationTaskMixin,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class AzureDataReplicationStatusOperator(AzureDataReplicationTaskMixin):
    """
    Read what the task names once and push the service's body to XCom: the status operators' base.

    It reports and does not judge: a failed operation or job is pushed, not raised. To wait until
    the end and report without judging, use the sensor with ``raise_on_failure=False``.
    """

    def execute(self, context: Context) -> dict[str, Any]:
        """Read once; the service's body is the ``return_value`` XCom."""
        try:
            target = self.target
            self.remember_portal_link(context, target)
            status = self.hook.get_status(target)
            self.log.info("%s is %s", target.describe(), status.state)
            return status.to_dict()
        finally:
            self.close_hook()


class AzureDataReplicationOperationStatusOperator(OperationTaskMixin, AzureDataReplicationStatusOperator):
    """
    Push an operation's ``OperationStatus`` (the service's body) to XCom as ``return_value``.

    One read, whatever the status: a ``Failed`` operation is pushed, not raised. An error reading
    it (403, 404, ...) fails the task, and Airflow's ``retries`` apply as to any operator.

    :param operation_id: The operation id (templated), with ``job_name``: "Workflow Operation
        Status - Get", which only ``2021-02-16-preview`` serves.
    :param job_name: The job (templated), usually a GUID.
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version of the identifiers' call (templated; default
        ``2021-02-16-preview``).
    :param operation_url: Instead of the identifiers: the ``Azure-AsyncOperation`` (or ``Location``)
        URL a long-running call returned, in any api-version (templated).
    :param azure_data_replication_conn_id: The Airflow connection (templated).
    """


class AzureDataReplicationJobStatusOperator(JobTaskMixin, AzureDataReplicationStatusOperator):
    """
    Push a job of a replication vault (its body, exactly as the service sent it) to XCom.

    One read, whatever state the job is in; a failed job is pushed, not raised.

    :param job_name: The job (templated), usually a GUID.
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version (templated): ``2024-09-01`` (default) or ``2026-05-01``.
    :param azure_data_replication_conn_id: The Airflow connection (templated).
    """
