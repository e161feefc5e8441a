"""
The system tests' setting: a real subscription when the user configured one, else the emulator.

The DAG files are named as Airflow names its system tests (``example_*.py``) and collected here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import assert_no_secrets, logs_text
from tests.system.system_tests import CONN, CONN_ID, SETTINGS


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    # A file named on the command line is collected by pytest itself.
    if (
        file_path.suffix == ".py"
        and file_path.name.startswith("example_")
        and not parent.session.isinitpath(file_path)
    ):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


#: Airflow 3.3's ``dag.test()`` runs a DAG it finds in a DAG bundle: this folder is one.
BUNDLES = [
    {
        "name": "system-tests",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(Path(__file__).parent)},
    },
    {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle", "kwargs": {}},
]


@pytest.fixture
def system_test_connection(request, airflow_db, monkeypatch, capfd):
    """The DAGs' connection: the user's subscription, or the emulator with what the DAGs read on it."""
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(BUNDLES))
    if SETTINGS.mode == "azure":
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", os.environ[CONN])
        try:
            secret = json.loads(os.environ[CONN]).get("password")
        except ValueError:  # the URI form
            secret = None
        yield
        if secret:
            assert secret not in "".join(capfd.readouterr()), "the connection's secret reached the output"
        return
    emulator = request.getfixturevalue("emulator")
    # The read-only DAG's job (read by the status operator, then waited on by a deferred sensor), its
    # operation, and a protected item that finishes its initial replication while the sensor waits.
    emulator.script_job(SETTINGS.job_name, ["Started", "Started", "Succeeded"])
    assert SETTINGS.operation_id
    emulator.script_operation(SETTINGS.operation_id, ["Succeeded"])
    emulator.add_protected_item(
        SETTINGS.protected_item_name,
        vault_name=SETTINGS.vault_name,
        resource_group_name=SETTINGS.resource_group_name,
        replicating_for=0.5,
    )
    # The write DAG's item lives its lifecycle in tenths of a second.
    emulator.item_durations(
        enable_protection=0.2, initial_replication=0.3, planned_failover=0.2, disable_protection=0.2
    )
    connection = json.dumps(emulator.connection())
    monkeypatch.setenv(CONN, connection)
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection)
    yield
    output = "".join(capfd.readouterr())
    assert_no_secrets(emulator, output + logs_text(Path(os.environ["AIRFLOW_HOME"])))
