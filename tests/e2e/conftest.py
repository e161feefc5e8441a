from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_datareplication.version_compat import AIRFLOW_V_3_0_PLUS
from tests.helpers import assert_no_secrets, logs_text

DAGS = Path(__file__).parent / "dags"
#: Where Airflow 3 stores the "Azure portal" link it drew from the task's own XCom at the end.
LINK_KEY = "_link_AzureDataReplicationJobLink"


@pytest.fixture(scope="session")
def e2e_dags(airflow_db):
    """The DAG file, imported as Airflow would parse it."""
    sys.path.insert(0, str(DAGS))
    spec = importlib.util.spec_from_file_location("e2e_dags", DAGS / "e2e_dags.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class RunResult:
    """What one ``dag.test()`` left behind."""

    state: str
    states: dict[str, str]
    ended: dict[str, float]
    xcom: dict[str, Any]
    links: dict[str, Any]
    #: Every XCom by task and key (``xcoms["migrate"]["job_name"]``).
    xcoms: dict[str, dict[str, Any]]
    output: str


@pytest.fixture
def run_dag(e2e_dags, airflow_db, capfd, emulator, monkeypatch):
    """Run a DAG of the e2e file with ``dag.test()`` against the emulator; return states and XComs."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_E2E_SHORT_TIMEOUT",
        json.dumps(
            {
                **emulator.connection(vault_name="vault1"),
                "extra": {**emulator.connection()["extra"], "request_timeout": 1},
            }
        ),
    )
    plain = emulator.connection()
    plain["extra"]["resource_manager_url"] = emulator.url.replace("https://", "http://")
    monkeypatch.setenv("AIRFLOW_CONN_E2E_PLAIN_HTTP", json.dumps(plain))
    monkeypatch.setenv(
        "AIRFLOW_CONN_E2E_MANAGED_IDENTITY", json.dumps(emulator.connection(managed_identity=True))
    )

    def run(dag_id: str) -> RunResult:
        capfd.readouterr()
        dag = getattr(e2e_dags, dag_id)
        dag_run = dag.test()
        output = "".join(capfd.readouterr())
        instances = dag_run.get_task_instances()
        with sqlite3.connect(airflow_db) as db:
            rows = db.execute(
                "select task_id, key, value from xcom where dag_id = ? and run_id = ?",
                (dag_id, dag_run.run_id),
            ).fetchall()
        result = RunResult(
            state=str(dag_run.state),
            states={ti.task_id: str(ti.state) for ti in instances},
            ended={ti.task_id: ti.end_date.timestamp() for ti in instances if ti.end_date},
            xcom={task_id: json.loads(value) for task_id, key, value in rows if key == "return_value"},
            links=(
                {task_id: json.loads(value) for task_id, key, value in rows if key == LINK_KEY}
                if AIRFLOW_V_3_0_PLUS
                else airflow_2_links(dag, instances)
            ),
            output=output,
            xcoms=xcoms_by_task(rows),
        )
        logs = logs_text(Path(os.environ["AIRFLOW_HOME"]))
        assert_no_secrets(emulator, output + json.dumps(result.xcom) + logs)
        return result

    return run


def xcoms_by_task(rows) -> dict[str, dict[str, Any]]:
    """The XCom rows of a run, by task and key."""
    found: dict[str, dict[str, Any]] = {}
    for task_id, key, value in rows:
        try:
            found.setdefault(task_id, {})[key] = json.loads(value)
        except (TypeError, ValueError):
            found.setdefault(task_id, {})[key] = value
    return found


def airflow_2_links(dag, instances) -> dict[str, str]:
    """The "Azure portal" links Airflow 2's web UI draws: it asks each task's link when the page is shown."""
    links = {}
    for ti in instances:
        url = dag.get_task(ti.task_id).get_extra_links(ti, "Azure portal")
        if url:
            links[ti.task_id] = url
    return links
