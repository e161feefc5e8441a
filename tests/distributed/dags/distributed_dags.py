"""The DAG tests/distributed runs on a CeleryExecutor deployment against the Data Replication emulator."""

from __future__ import annotations

import uuid
from datetime import datetime

from airflow_provider_datareplication.sensors.data_replication import (
    AzureDataReplicationJobSensor,
    AzureDataReplicationOperationSensor,
)

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[no-redef,attr-defined]

#: Seconds between reads: short, so a wait polls several times while the test watches.
POLL = 3
#: No wait here may time out.
LONG = 900
#: Waits deferred to the triggerers: operations (preview identifiers) and jobs (stable api-version).
#: Most start straight in the triggerer (no worker slot until they resume); some run their first
#: check on a worker and defer from there.
OPERATIONS = [f"distributed-op-{i:03d}" for i in range(100)]
JOBS = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"distributed/job/{i}")) for i in range(100)]
FROM_WORKER = 10  # of each kind
#: Sensors that poke from a Celery worker slot for the whole wait.
POKED = [f"distributed-poke-{i:02d}" for i in range(20)]
JOB_OF_OPERATIONS = "0203aa1b-1dff-4653-89a9-b90a76d1601a"
WAITING = {"vault_name": "vault1", "deferrable": True, "poke_interval": POLL, "timeout": LONG}

with DAG(
    "distributed_waits",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_tasks=256,
    default_args={"retries": 0},
) as distributed_waits:
    # Tasks of their own rather than mapped ones: a mapped task cannot start in the triggerer.
    for i, operation in enumerate(OPERATIONS):
        AzureDataReplicationOperationSensor(
            task_id=f"wait_operation_{i:03d}",
            operation_id=operation,
            job_name=JOB_OF_OPERATIONS,
            start_from_trigger=i >= FROM_WORKER,
            **WAITING,
        )
    for i, job in enumerate(JOBS):
        AzureDataReplicationJobSensor(
            task_id=f"wait_job_{i:03d}", job_name=job, start_from_trigger=i >= FROM_WORKER, **WAITING
        )
    AzureDataReplicationOperationSensor.partial(
        task_id="poke_operation",
        job_name=JOB_OF_OPERATIONS,
        vault_name="vault1",
        mode="poke",
        poke_interval=POLL,
        timeout=LONG,
    ).expand(operation_id=POKED)
