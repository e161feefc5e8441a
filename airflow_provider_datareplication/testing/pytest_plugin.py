"""
Pytest fixtures for DAG tests against the local Data Replication emulator.

Opt-in, so nothing loads into a pytest session unasked (a user's DAG tests included): name it with
``pytest -p airflow_provider_datareplication.testing.pytest_plugin``, or in a ``conftest.py``:
``pytest_plugins = ["airflow_provider_datareplication.testing.pytest_plugin"]``. Importing it costs
nothing until a fixture is used.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_datareplication.testing.emulator import DataReplicationEmulator


@pytest.fixture(scope="session")
def data_replication_emulator_server() -> Iterator[DataReplicationEmulator]:
    """Serve the session's one emulator; tests get it reset, as ``data_replication_emulator``."""
    from airflow_provider_datareplication.testing.emulator import DataReplicationEmulator

    with DataReplicationEmulator() as emulator:
        yield emulator


@pytest.fixture
def data_replication_emulator(
    data_replication_emulator_server: DataReplicationEmulator, monkeypatch: pytest.MonkeyPatch
) -> DataReplicationEmulator:
    """
    Give the test an emulator as fresh as a new one, with ``azure_data_replication_default`` on it.

    The connection is set through the environment. One server serves the whole session; each test
    gets it reset (no scripts, faults, protected
    items or counters; settings as built). Script operations with ``emulator.script_operation(...)``,
    inject faults with ``emulator.add_fault(...)``, read ``emulator.requests`` and
    ``emulator.token_requests``. A connection of ``emulator.connection(managed_identity=True)`` signs
    in at the emulator's managed identity endpoint (``AZURE_POD_IDENTITY_AUTHORITY_HOST`` is set for
    the test).
    """
    emulator = data_replication_emulator_server
    emulator.reset()
    monkeypatch.setenv(
        "AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT", json.dumps(emulator.connection(vault_name="vault1"))
    )
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.imds_url)
    return emulator
