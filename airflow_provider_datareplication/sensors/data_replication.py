"""Sensor that waits until a replication vault's operation has ended."""

from __future__ import annotations

from airflow_provider_datareplication.wait_task import JudgingWait, OperationWait


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
