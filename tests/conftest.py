from __future__ import annotations

import os
import tempfile

# A throwaway AIRFLOW_HOME before Airflow is first imported: tests never touch ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="datareplication-airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

import pytest  # noqa: E402

SUBSCRIPTION_ID = "930CEC23-4430-4513-B855-DBA237E2F3BF"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OPERATION = {"operation_id": "op1", "job_name": "job1", "vault_name": "vault1"}


@pytest.fixture
def emulator(data_replication_emulator):
    """The emulator from the package's own pytest plugin (what users get)."""
    return data_replication_emulator
