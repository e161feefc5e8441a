"""The example DAG under real Airflow (``airflow dags test``) against the HTTPS emulator."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_datareplication.version_compat import AIRFLOW_V_3_0_PLUS
from tests.helpers import example_dag_module

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "example_dags"))
from example_data_replication import EXAMPLE_JOB, EXAMPLE_OPERATION  # noqa: E402


@pytest.fixture
def airflow_home(tmp_path):
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "DATAREPLICATION_EXAMPLE_POLL_SECONDS": "0.5",
    }
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True
    )
    return tmp_path, env


def xcoms(home: Path) -> dict[str, object]:
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute("select task_id, value from xcom where key = 'return_value'").fetchall()
    return {task_id: json.loads(value) for task_id, value in rows}


def test_example_dag_runs_its_three_waits_and_reports(emulator, airflow_home):
    home, env = airflow_home
    emulator.script_operation(EXAMPLE_OPERATION, ["InProgress", "InProgress", "InProgress", "Succeeded"])
    emulator.script_job(EXAMPLE_JOB, ["Pending", "Started", "CompletedWithInformation"])
    emulator.script_operation("failover-by-url", ["InProgress", "Succeeded"])
    env["AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT"] = json.dumps(emulator.connection())
    conf = {"operation_url": emulator.operation_url("failover-by-url")}
    run = subprocess.run(
        [
            *(sys.executable, "-m", "airflow", "dags", "test", "example_azure_data_replication"),
            *("--conf", json.dumps(conf)),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    values = xcoms(home)
    assert values["report_operation_status"]["status"] == "InProgress"
    assert values["wait_for_operation"]["status"] == "Succeeded"
    assert values["wait_for_operation"]["name"] == EXAMPLE_OPERATION
    assert f"/jobs/{EXAMPLE_JOB}/operations/" in values["wait_for_operation"]["id"]
    assert values["wait_for_job"]["name"] == EXAMPLE_JOB
    assert values["wait_for_job"]["properties"]["state"] == "CompletedWithInformation"
    assert values["wait_for_operation_url"]["id"].endswith("/operationResults/failover-by-url")
    assert values["summarize"] == "Succeeded"
    assert f"Operation {EXAMPLE_OPERATION} ended Succeeded" in output
    assert f"Job Planned failover ({EXAMPLE_JOB}) ended CompletedWithInformation" in output
    assert "Operation failover-by-url (by URL) ended Succeeded" in output
    # The sensors deferred: the triggers did the waiting, over the real credential flow.
    deferred = "Pausing task as DEFERRED" if AIRFLOW_V_3_0_PLUS else "[DAG TEST] running trigger in line"
    assert deferred in output
    assert emulator.token_requests >= 1
    # Nothing secret in the task logs or XCom.
    text = output + json.dumps(values)
    assert emulator.client_secret not in text
    for token in emulator.issued_tokens:
        assert token not in text


def run_wave(env) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", "example_azure_data_replication_migration_wave"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def wave_states(home: Path) -> list[tuple[str, int, str, int]]:
    """Every task instance of the wave's newest run."""
    with sqlite3.connect(home / "airflow.db") as db:
        (run_id,) = db.execute("select run_id from dag_run order by id desc limit 1").fetchone()
        return db.execute(
            "select task_id, map_index, state, try_number from task_instance where run_id = ?", (run_id,)
        ).fetchall()


def test_the_migration_wave_migrates_every_server_once_and_a_second_run_sends_nothing(airflow_home, emulator):
    home, env = airflow_home
    from airflow_provider_datareplication.testing.local_migration import seed_local_migration

    example = example_dag_module("example_migration_wave")
    wave = [example.item_name(row) for row in example.WAVE]
    # The Migrate project the rows name: what enabling replication from a machine reads.
    assert seed_local_migration(emulator, machines=len(wave)) == example.WAVE
    emulator.item_durations(
        enable_protection=0.5, initial_replication=1.5, planned_failover=1, disable_protection=0.5
    )
    env = {**env, "AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT": json.dumps(emulator.connection())}
    result = run_wave(env)
    states = wave_states(home)
    assert {state for _, _, state, _ in states} == {"success"}
    assert {(task, index) for task, index, _, _ in states if task.startswith("server.")} == {
        (f"server.{step}", index)
        for step in (
            "skip_if_migrated",
            "machine_inputs",
            "enable_replication",
            "wait_until_ready",
            "migrate",
            "check_migrated_server",
            "complete_migration",
        )
        for index in range(len(wave))
    }
    for name in wave:
        writes = [r.method for r in emulator.requests_for_item(name) if r.method != "GET"]
        assert writes == ["PUT", "POST", "DELETE"], (name, writes)
        assert emulator.protected_item(name) is None
    assert "running in Azure" in result.stdout + result.stderr  # the check task's own line
    # The wave ends with its table: every item was removed on completing its migration.
    assert f"0 protected item(s) in vault '{example.VAULT}'" in result.stdout + result.stderr

    # A second run: every server has migrated (its VM runs on the target, its item is gone), so each
    # is skipped before anything is sent.
    emulator.reset_counters()
    result = run_wave(env)
    states = wave_states(home)
    assert {state for task, _, state, _ in states if task.startswith("server.")} == {"skipped"}
    assert [r for r in emulator.requests if r.kind == "arm" and r.method != "GET"] == [], (
        "a second run sent a write"
    )
    assert "migrated already" in result.stdout + result.stderr
