"""
The demo: the example DAG under real Airflow against the local Data Replication emulator.

Starts the emulator (HTTPS on 127.0.0.1, real client-secret sign-in), points the connection
``azure_data_replication_default`` at it, runs ``airflow dags test`` on a throwaway AIRFLOW_HOME,
shows the three waits (an operation by its identifiers, a job, an operation by its URL), the
operator's status in XCom and the downstream task's output, then stops the emulator.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "example_dags"))
from example_data_replication import EXAMPLE_JOB, EXAMPLE_OPERATION  # noqa: E402

SHOW = (
    "is InProgress",
    "Pausing task as DEFERRED",
    "ended Succeeded",
    f"Operation {EXAMPLE_OPERATION}",
    "Job Planned failover",
    "(by URL) ended",
    "Trigger completed",
)


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
        print("Running: airflow dags test example_azure_data_replication\n")
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "airflow", "dags", "test", "example_azure_data_replication"),
                *("--conf", json.dumps(conf)),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        log = []
        for line in process.stdout:
            log.append(line)
            if any(marker in line for marker in SHOW):
                print("  " + line.strip()[:220])
        code = process.wait()
        if code != 0:
            print("".join(log[-60:]))
            print(f"\nairflow dags test failed (exit {code})")
            return code
        with sqlite3.connect(Path(home) / "airflow.db") as db:
            rows = db.execute(
                "select task_id, value from xcom where key = 'return_value' order by task_id"
            ).fetchall()
        print("\nXCom return_value by task:")
        for task_id, value in rows:
            print(f"  {task_id}: {value}")
        print(
            f"\nEmulator counters: {emulator.token_requests} token request(s), "
            f"{len(emulator.requests_for(EXAMPLE_OPERATION))} operation reads, "
            f"{len(emulator.requests_for_job(EXAMPLE_JOB))} job reads, "
            f"{len(emulator.requests_for('planned-failover-1'))} reads of the operation URL."
        )
    print(f"Emulator stopped. Demo took {time.monotonic() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
