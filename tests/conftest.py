from __future__ import annotations

import os
import tempfile

# A throwaway AIRFLOW_HOME before Airflow is first imported: tests never touch ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="datareplication-airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault(
    "AIRFLOW__CORE__DAGS_FOLDER", os.path.join(os.path.dirname(os.path.abspath(__file__)), "e2e", "dags")
)

import pytest


@pytest.fixture
def emulator(data_replication_emulator):
    """The emulator from the package's own pytest plugin (what users get)."""
    return data_replication_emulator
