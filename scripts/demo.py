"""
The demo: the two example DAGs under real Airflow against the local Data Replication emulator.

Starts the emulator (HTTPS on 127.0.0.1, real client-secret sign-in), points the connection
``azure_data_replication_default`` at it, and runs ``airflow dags test`` on a throwaway AIRFLOW_HOME:
first the three waits (an operation by its identifiers, a job, an operation by its URL), the
operator's status in XCom and the downstream task's output; then a migration wave of two servers
(enable replication, wait until ready, planned failover, a check, complete the migration), with
the emulator's protected items going through their lifecycle in seconds. Then stops the emulator.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from airflow_provider_datareplication.testing.emulator import DataReplicationEmulator
from airflow_provider_datareplication.testing.local_migration import seed_local_migration

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "example_dags"))
from example_data_replication import EXAMPLE_JOB, EXAMPLE_OPERATION  # noqa: E402
from example_migration_wave import WAVE, item_name  # noqa: E402

SHOW = (
    "is InProgress",
    "Pausing task as DEFERRED",
    "ended Succeeded",
    f"Operation {EXAMPLE_OPERATION}",
    "Job Planned failover",
    "(by URL) ended",
    "Trigger completed",
)


#: Lines of the migration wave's run worth showing.
SHOW_WAVE = (
    "Sending: ",
    "started job",
    "is InitialReplicationInProgress",
    "ended Succeeded",
    "running in Azure",
    "Trigger completed",
)


def run_dag(dag_id: str, env: dict[str, str], show: tuple[str, ...], *args: str) -> int:
    """Run ``airflow dags test`` on one DAG, showing the lines worth seeing; its exit code."""
    print(f"Running: airflow dags test {dag_id}\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow", "dags", "test", dag_id, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    log = []
    for line in process.stdout:
        log.append(line)
        if any(marker in line for marker in show):
            print("  " + line.strip()[:220])
    code = process.wait()
    if code != 0:
        print("".join(log[-60:]))
        print(f"\nairflow dags test {dag_id} failed (exit {code})")
    return code


def main() -> int:
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="datareplication-demo-") as home,
        DataReplicationEmulator() as emulator,
    ):
        progress = [{"status": "InProgress", "percentComplete": pct} for pct in (10, 35, 60, 85)]
        emulator.script_operation(
            EXAMPLE_OPERATION, [*progress, {"status": "Succeeded", "percentComplete": 100}]
        )
        emulator.script_job(EXAMPLE_JOB, ["Pending", "Started", "Started", "Succeeded"])
        emulator.script_operation("planned-failover-1", ["InProgress", "InProgress", "Succeeded"])
        # A protected item's lifecycle in seconds (hours to days in Azure).
        emulator.item_durations(
            enable_protection=1, initial_replication=3, planned_failover=2, disable_protection=1
        )
        # The Migrate project the wave's rows name (its machines, appliances, vault, Azure Local cluster).
        seed_local_migration(emulator, machines=len(WAVE))
        conf = {"operation_url": emulator.operation_url("planned-failover-1")}
        print(f"Emulator: {emulator.url} (Azure Resource Manager and Microsoft Entra ID, TLS)")
        env = {
            **os.environ,
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "DATAREPLICATION_EXAMPLE_POLL_SECONDS": "1",
            "AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT": json.dumps(emulator.connection()),
        }
        print("Preparing a throwaway Airflow home ...")
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True
        )
        code = run_dag("example_azure_data_replication", env, SHOW, "--conf", json.dumps(conf))
        if code != 0:
            return code
        with sqlite3.connect(Path(home) / "airflow.db") as db:
            rows = db.execute(
                "select task_id, value from xcom where key = 'return_value' order by task_id"
            ).fetchall()
        print("\nXCom return_value by task:")
        for task_id, value in rows:
            print(f"  {task_id}: {value[:160]}")
        print(
            f"\nEmulator counters: {emulator.token_requests} token request(s), "
            f"{len(emulator.requests_for(EXAMPLE_OPERATION))} operation reads, "
            f"{len(emulator.requests_for_job(EXAMPLE_JOB))} job reads, "
            f"{len(emulator.requests_for('planned-failover-1'))} reads of the operation URL.\n"
        )
        wave_started = time.monotonic()
        code = run_dag("example_azure_data_replication_migration_wave", env, SHOW_WAVE)
        if code != 0:
            return code
        writes = [r for r in emulator.requests if r.kind == "arm" and r.method != "GET" and r.protected_item]
        print(
            f"\nMigration wave: {len(WAVE)} servers migrated in {time.monotonic() - wave_started:.0f} s; "
            + ", ".join(f"{sum(r.method == m for r in writes)} {m}" for m in ("PUT", "POST", "DELETE"))
            + " sent (one of each per server); every protected item is gone: "
            + str(all(emulator.protected_item(item_name(row)) is None for row in WAVE))
        )
    print(f"Emulator stopped. Demo took {time.monotonic() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
