"""Sensors that wait until a replication vault's operation, or job, has ended."""

from __future__ import annotations

from airflow_provider_datareplication.wait_task import JobWait, JudgingWait, OperationWait


class AzureDataReplicationOperationSensor(JudgingWait, OperationWait):
    """
    Wait until an operation of a replication vault is ``Succeeded``, ``Failed`` or ``Canceled``.

    Name it by its identifiers ("Workflow Operation Status - Get", the preview api-version) or by
    the URL a long-running call returned (``operation_url``, any api-version). On ``Succeeded``
    the task succeeds and the service's status body is its ``return_value`` XCom. On ``Failed`` or
    ``Canceled`` it fails, naming the operation and the service's error, unless
    ``raise_on_failure=False``. Transient errors (throttling, 5xx, timeouts, a garbled answer)
    never end the wait; a ``Retry-After`` is waited out before the next read.

    Parameters: those of :class:`~airflow_provider_datareplication.wait_task.OperationWait` (what to
    wait on), :class:`~airflow_provider_datareplication.wait_task.JudgingWait` (``raise_on_failure``,
    ``start_from_trigger``) and
    :class:`~airflow_provider_datareplication.wait_task.AzureDataReplicationWait` (the connection,
    ``deferrable``), and Airflow's sensor parameters (``poke_interval``, ``timeout``, ``mode``,
    ``soft_fail``, ...).
    """


class AzureDataReplicationJobSensor(JudgingWait, JobWait):
    """
    Wait until a job of a replication vault has ended (stable api-versions, ``2024-09-01`` on).

    ``Succeeded`` and ``CompletedWithInformation`` succeed; ``CompletedWithWarnings`` succeeds with
    the warnings logged; ``Failed``, ``Cancelled`` and ``CompletedWithErrors`` fail the task, naming
    the job (display name, object), the state, each error (code, message, recommendation) and the
    failed tasks, unless ``raise_on_failure=False``. ``Pending``, ``Started``, ``Cancelling`` and
    any other state are running. The job's body, exactly as the service sent it, is the task's
    ``return_value`` XCom.

    Parameters: those of :class:`~airflow_provider_datareplication.wait_task.JobWait` (which job),
    :class:`~airflow_provider_datareplication.wait_task.JudgingWait` and
    :class:`~airflow_provider_datareplication.wait_task.AzureDataReplicationWait`, and Airflow's
    sensor parameters.
    """
