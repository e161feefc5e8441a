"""Operators that report a replication vault's operation status, or job, to XCom."""

from __future__ import annotations

from airflow_provider_datareplication.wait_task import JobWait, OperationWait, ReportingWait


class AzureDataReplicationOperationStatusOperator(ReportingWait, OperationWait):
    """
    Push an operation's ``OperationStatus`` (the service's body) to XCom as ``return_value``.

    It reports and does not judge: a ``Failed`` operation is pushed, not raised. With
    ``wait_for_completion=True`` it first waits until the operation has ended, in the worker or,
    with ``deferrable=True``, in the triggerer: the same wait as the sensor's.

    Parameters: those of :class:`~airflow_provider_datareplication.wait_task.OperationWait` (by
    identifiers or ``operation_url``), :class:`~airflow_provider_datareplication.wait_task.ReportingWait`
    (``wait_for_completion``, ``poll_interval``, ``wait_timeout``) and
    :class:`~airflow_provider_datareplication.wait_task.AzureDataReplicationWait` (the connection,
    ``deferrable``).
    """


class AzureDataReplicationJobStatusOperator(ReportingWait, JobWait):
    """
    Push a job of a replication vault (its body, exactly as the service sent it) to XCom.

    It reads once and reports whatever state the job is in; with ``wait_for_completion=True`` it
    first waits until the job has ended, as the job sensor does, without judging the end.

    Parameters: those of :class:`~airflow_provider_datareplication.wait_task.JobWait`,
    :class:`~airflow_provider_datareplication.wait_task.ReportingWait` and
    :class:`~airflow_provider_datareplication.wait_task.AzureDataReplicationWait`.
    """
