"""
The provider on a real deployment: ``airflow standalone`` (scheduler, triggerer, DAG processor, API
server, LocalExecutor) against the Data Replication emulator, DAG runs triggered over the REST API.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import assert_no_secrets, example_dag_module, logs_text
from tests.standalone.deployment import TRIGGERER_HEALTH_THRESHOLD, output_tail

if TYPE_CHECKING:
    from tests.standalone.deployment import Standalone

pytestmark = pytest.mark.standalone

SUCCESS_DAG = "standalone_success"
RESTART_DAG = "standalone_triggerer_restart"
JOB_DAG = "standalone_job"
JOB = "0203aa1b-1dff-4653-89a9-b90a76d1601a"
TIMEOUT_DAG = "standalone_timeout"
#: Task -> the operation it waits for (as in dags/standalone_dags.py).
SUCCESS_OPS = {
    "wait_deferrable": "success-deferrable",
    "wait_from_trigger": "success-from-trigger",
    "report": "success-report",
}
TIMEOUT_TASKS = {
    "deferred_fails": ("timeout-deferred", "failed"),
    "deferred_soft_fail": ("timeout-deferred-soft", "skipped"),
    "from_trigger_fails": ("timeout-from-trigger", "failed"),
    "from_trigger_soft_fail": ("timeout-from-trigger-soft", "skipped"),
}
#: The sensors' timeout in the timeout DAG (dags/standalone_dags.py: SHORT).
SHORT = 15
RESTART_OP = "restart-wait"


@pytest.fixture(scope="module")
def parallel_runs(standalone: Standalone) -> dict[str, str]:
    """Script the operations and trigger the success and timeout runs at once (they overlap)."""
    for op in SUCCESS_OPS.values():
        standalone.emulator.script_operation(op, ["InProgress"])  # until released
    for op, _ in TIMEOUT_TASKS.values():
        standalone.emulator.script_operation(op, ["InProgress"])  # never finishes
    return {dag_id: standalone.trigger(dag_id) for dag_id in (SUCCESS_DAG, TIMEOUT_DAG)}


def release_after_deferral(
    standalone: Standalone, dag_id: str, run_id: str, operations: dict[str, str], statuses: list[str]
) -> None:
    """
    Once every task is deferred and its trigger has read its operation, script the operations on.

    Airflow 3.3.2 fails a deferred task whose trigger fires before the scheduler has taken in the
    worker's exit from deferring ("finished with state success, but the task instance's state
    attribute is queued", apache/airflow#67287, #72716): on a busy machine that exit can lag by
    seconds. So the operations stay InProgress until the deferring workers are seen to exit, plus
    a margin; the test is about the provider, not that race.

    :param operations: Task id -> operation id.
    :param statuses: The script each operation answers from then on.
    """
    tis = {}
    for task_id in operations:
        standalone.wait_for_task_state(dag_id, run_id, task_id, ["deferred"], timeout=180)
        tis[task_id] = standalone.task_instances(dag_id, run_id)[task_id]
    for ti in tis.values():
        if ti.get("queued_when"):  # it deferred from a worker (start_from_trigger tasks were never queued)
            standalone.wait_for_worker_exit(str(ti["id"]), timeout=60)
    deadline = time.monotonic() + 60
    while any(len(standalone.emulator.requests_for(op)) < 2 for op in operations.values()):
        assert time.monotonic() < deadline, f"a trigger never read its operation{standalone.tail()}"
        time.sleep(0.5)
    time.sleep(3)  # the scheduler's next loops
    for op in operations.values():
        standalone.emulator.script_operation(op, statuses)


def finish(standalone: Standalone, dag_id: str, run_id: str, expected: str) -> dict[str, Any]:
    """Wait for the run; assert its state (showing every task's state if wrong); return its tasks."""
    state = standalone.wait_for_run(dag_id, run_id, timeout=240)
    tis = standalone.task_instances(dag_id, run_id)
    assert state == expected, {task_id: (ti["state"], ti["try_number"]) for task_id, ti in tis.items()}
    return tis


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def worker_starts(events: list[dict[str, Any]]) -> list[float]:
    """When a worker started running the task (once per worker run: execute, then resume)."""
    return [parse_time(e["timestamp"]) for e in events if e.get("event") == "Worker startup parse complete"]


def trigger_starts(events: list[dict[str, Any]]) -> list[float]:
    """When a triggerer started the task's trigger."""
    return [
        parse_time(e["timestamp"])
        for e in events
        if str(e.get("event", "")).startswith("trigger ") and str(e.get("event", "")).endswith(" starting")
    ]


def deployment_text(standalone: Standalone) -> str:
    """The deployment's output (every triggerer's too) and its logs."""
    parts = [output_tail(standalone.output_file, 10**9), logs_text(standalone.airflow_home)]
    parts += [output_tail(path, 10**9) for path in standalone.extra_outputs]
    return "\n".join(parts)


def assert_no_leak(standalone: Standalone, *texts: str) -> None:
    """Neither the client secret nor an access token in the deployment's output, logs or XComs."""
    assert_no_secrets(standalone.emulator, "\n".join([deployment_text(standalone), *texts]))


def test_sensors_and_operator_succeed_and_a_downstream_task_reads_the_status(
    standalone: Standalone, parallel_runs: dict[str, str]
) -> None:
    run_id = parallel_runs[SUCCESS_DAG]
    release_after_deferral(standalone, SUCCESS_DAG, run_id, SUCCESS_OPS, ["InProgress", "Succeeded"])
    tis = finish(standalone, SUCCESS_DAG, run_id, "success")
    assert {task_id: ti["state"] for task_id, ti in tis.items()} == {
        "wait_deferrable": "success",
        "wait_from_trigger": "success",
        "report": "success",
        "summarize": "success",
        "status": "success",
    }
    assert {task_id: ti["try_number"] for task_id, ti in tis.items()} == dict.fromkeys(tis, 1)

    xcoms = {task_id: standalone.xcom(SUCCESS_DAG, run_id, task_id) for task_id in SUCCESS_OPS}
    for task_id, op in SUCCESS_OPS.items():
        value = xcoms[task_id]
        assert value["status"] == "Succeeded", (task_id, value)
        assert value["name"] == op
        assert value["id"].endswith(f"/replicationVaults/vault1/jobs/job1/operations/{op}")
        assert value["endTime"]
    assert standalone.xcom(SUCCESS_DAG, run_id, "status")["status"] == "Succeeded"
    # The downstream task read all three statuses from XCom.
    assert standalone.xcom(SUCCESS_DAG, run_id, "summarize") == {
        task_id: {"status": "Succeeded", "name": op} for task_id, op in SUCCESS_OPS.items()
    }
    # Each wait really spanned the InProgress period (several reads, not one lucky one).
    for op in SUCCESS_OPS.values():
        assert len(standalone.emulator.requests_for(op)) >= 3, op

    # A deferrable sensor runs on a worker first, defers, and resumes on a worker: two worker runs,
    # the first before its trigger. A start_from_trigger sensor starts in the triggerer: its only
    # worker run is the resume, after the trigger.
    deferrable = standalone.task_log_events(SUCCESS_DAG, run_id, "wait_deferrable")
    assert len(worker_starts(deferrable)) == 2
    assert len(trigger_starts(deferrable)) == 1
    assert worker_starts(deferrable)[0] < trigger_starts(deferrable)[0] < worker_starts(deferrable)[1]
    from_trigger = standalone.task_log_events(SUCCESS_DAG, run_id, "wait_from_trigger")
    assert len(trigger_starts(from_trigger)) == 1
    assert len(worker_starts(from_trigger)) == 1, "start_from_trigger ran on a worker before its trigger"
    assert trigger_starts(from_trigger)[0] < worker_starts(from_trigger)[0]
    # The triggerer left the garbage collector alone ([azure_data_replication] gc_freeze is off by default).
    assert "start-up objects out of the garbage collector's way" not in deployment_text(standalone)

    assert_no_leak(standalone, json.dumps(xcoms))


def test_sensors_time_out_while_deferred(standalone: Standalone, parallel_runs: dict[str, str]) -> None:
    run_id = parallel_runs[TIMEOUT_DAG]
    tis = finish(standalone, TIMEOUT_DAG, run_id, "failed")
    assert {task_id: ti["state"] for task_id, ti in tis.items()} == {
        task_id: state for task_id, (_, state) in TIMEOUT_TASKS.items()
    }
    for task_id, (op, state) in TIMEOUT_TASKS.items():
        ti = tis[task_id]
        assert ti["try_number"] == 1, task_id
        # It waited (in the triggerer, reading the operation repeatedly) for its whole timeout.
        assert len(standalone.emulator.requests_for(op)) >= 3, task_id
        assert parse_time(ti["end_date"]) - parse_time(ti["start_date"]) >= SHORT - 1, task_id
        assert standalone.xcom(TIMEOUT_DAG, run_id, task_id) is None, task_id
        log = standalone.task_log(TIMEOUT_DAG, run_id, task_id)
        assert trigger_starts(standalone.task_log_events(TIMEOUT_DAG, run_id, task_id)), task_id
        if state == "failed":
            assert "AirflowSensorTimeout" in log, task_id
        else:
            assert "soft_fail" in log, task_id


def test_the_wait_survives_a_killed_triggerer(standalone: Standalone) -> None:
    emulator = standalone.emulator
    emulator.script_operation(RESTART_OP, ["InProgress"])
    run_id = standalone.trigger(RESTART_DAG)

    # Wait until the sensor is deferred and its trigger is polling.
    standalone.wait_for_task_state(RESTART_DAG, run_id, "wait", ["deferred"], timeout=180)
    deadline = time.monotonic() + 120
    while len(emulator.requests_for(RESTART_OP)) < 3:
        assert time.monotonic() < deadline, f"the trigger never polled{standalone.tail()}"
        time.sleep(0.5)

    killed = standalone.kill_component("triggerer")
    assert killed, f"no triggerer process found{standalone.tail()}"
    killed_at = time.monotonic()
    deadline = time.monotonic() + 30
    while standalone.component_pids("triggerer"):
        assert time.monotonic() < deadline, "the killed triggerer is still running"
        time.sleep(0.2)
    # standalone does not restart it: nothing polls while no triggerer runs.
    time.sleep(3)
    assert not [r for r in emulator.requests_for(RESTART_OP) if r.at > killed_at + 1]
    assert standalone.task_states(RESTART_DAG, run_id)["wait"] == "deferred"

    # A new triggerer takes the stored trigger over (once the dead one's heartbeat is stale) and
    # carries on the same wait: two more reads in progress, then done.
    emulator.script_operation(RESTART_OP, ["InProgress", "InProgress", "Succeeded"])
    restarted_at = time.monotonic()
    triggerer = standalone.start_component("triggerer")
    state = standalone.wait_for_run(RESTART_DAG, run_id, timeout=180 + TRIGGERER_HEALTH_THRESHOLD)
    assert state == "success", standalone.task_states(RESTART_DAG, run_id)

    resumed = [r for r in emulator.requests_for(RESTART_OP) if r.at > restarted_at]
    assert len(resumed) >= 3, "the new triggerer did not carry on polling"
    value = standalone.xcom(RESTART_DAG, run_id, "wait")
    assert value["status"] == "Succeeded"
    assert value["name"] == RESTART_OP
    assert standalone.xcom(RESTART_DAG, run_id, "summarize") == {
        "wait": {"status": "Succeeded", "name": RESTART_OP}
    }
    # Nothing lost, nothing run twice: one try, run on a worker once to defer and once to resume.
    ti = standalone.task_instances(RESTART_DAG, run_id)["wait"]
    assert ti["state"] == "success"
    assert ti["try_number"] == 1
    assert len(standalone.tries(RESTART_DAG, run_id, "wait")) == 1
    events = standalone.task_log_events(RESTART_DAG, run_id, "wait")
    assert len(worker_starts(events)) == 2
    # The trigger was started twice, by the killed triggerer and by its replacement.
    assert len(trigger_starts(events)) == 2
    # The replacement started cleanly (the killed one left no log server holding its port).
    assert triggerer.poll() is None
    assert "address already in use" not in output_tail(standalone.extra_outputs[-1], 10**9)
    assert_no_leak(standalone, json.dumps(value))


def test_a_deferrable_job_sensor_waits_on_a_job_to_success(standalone: Standalone) -> None:
    emulator = standalone.emulator
    emulator.script_job(JOB, ["Pending", "Started"])  # until released
    run_id = standalone.trigger(JOB_DAG)
    standalone.wait_for_task_state(JOB_DAG, run_id, "wait_job", ["deferred"], timeout=180)
    ti = standalone.task_instances(JOB_DAG, run_id)["wait_job"]
    standalone.wait_for_worker_exit(str(ti["id"]), timeout=60)  # apache/airflow#67287 (see above)
    deadline = time.monotonic() + 60
    while len(emulator.requests_for_job(JOB)) < 3:  # the worker's check, then the trigger's reads
        assert time.monotonic() < deadline, f"the trigger never read the job{standalone.tail()}"
        time.sleep(0.5)
    time.sleep(3)
    emulator.script_job(JOB, ["Started", "CompletedWithInformation"])

    tis = finish(standalone, JOB_DAG, run_id, "success")
    assert {task_id: (t["state"], t["try_number"]) for task_id, t in tis.items()} == {
        "wait_job": ("success", 1),
        "job_state": ("success", 1),
    }
    value = standalone.xcom(JOB_DAG, run_id, "wait_job")
    assert value["name"] == JOB and value["type"] == "Microsoft.DataReplication/replicationVaults/jobs"
    assert value["properties"]["state"] == "CompletedWithInformation"
    assert standalone.xcom(JOB_DAG, run_id, "job_state") == "CompletedWithInformation"
    events = standalone.task_log_events(JOB_DAG, run_id, "wait_job")
    assert len(worker_starts(events)) == 2 and len(trigger_starts(events)) == 1
    assert_no_leak(standalone, json.dumps(value))


WAVE_DAG = "example_azure_data_replication_migration_wave"


def test_the_migration_wave_example_runs_deferred_to_success(standalone: Standalone) -> None:
    from airflow_provider_datareplication.testing.local_migration import seed_local_migration

    example = example_dag_module("example_migration_wave")
    wave = example.WAVE
    emulator = standalone.emulator
    seed_local_migration(emulator, machines=len(wave))  # the Migrate project the rows name
    # Each step takes seconds here (hours in Azure): long enough that no trigger fires before the
    # scheduler has taken in its worker's exit (the Airflow 3.3.2 race described above).
    emulator.item_durations(
        enable_protection=5, initial_replication=5, planned_failover=5, disable_protection=5
    )
    run_id = standalone.trigger(WAVE_DAG)
    state = standalone.wait_for_run(WAVE_DAG, run_id, timeout=300)
    answer = standalone.api("GET", f"/dags/{WAVE_DAG}/dagRuns/{run_id}/taskInstances", params={"limit": 100})
    tis = answer["task_instances"]
    assert state == "success", sorted((t["task_id"], t["map_index"], t["state"]) for t in tis)
    steps = (
        "enable_replication",
        "wait_until_ready",
        "migrate",
        "check_migrated_server",
        "complete_migration",
    )
    for step in steps:
        mapped = [t for t in tis if t["task_id"] == f"server.{step}"]
        assert sorted(t["map_index"] for t in mapped) == list(range(len(wave))), step
        assert {t["state"] for t in mapped} == {"success"}, step
    names = [example.item_name(row) for row in wave]
    for name in names:
        writes = [r.method for r in emulator.requests_for_item(name) if r.method != "GET"]
        assert writes == ["PUT", "POST", "DELETE"], (name, writes)  # each started once
        assert emulator.protected_item(name) is None  # the migration completed
        assert [job["properties"]["state"] for job in emulator.jobs_of(name)].count("Succeeded") >= 3
    # The operators' and the sensor's waits ran in the triggerer: each deferred once (after a retry
    # of Airflow's, a step may find its work done and not defer at all).
    tries = {(t["task_id"], t["map_index"]): t["try_number"] for t in tis}
    retried = any(n > 1 for n in tries.values())
    for step in ("enable_replication", "wait_until_ready", "migrate", "complete_migration"):
        for index in range(len(wave)):
            task_id = f"server.{step}"
            logs = [
                standalone.task_log_events(WAVE_DAG, run_id, task_id, try_number=n, map_index=index)
                for n in range(1, tries[task_id, index] + 1)
            ]
            if len(logs) > 1:
                # A retry is Airflow's race (see release_after_deferral); the new try then waits on
                # the work its first try started, or reports it done: it starts nothing again (the
                # writes above), and defers at most once more.
                assert_retried_by_airflow_s_race(standalone, run_id, task_id, index, logs)
            # Counted in the triggerers' log files: Airflow's log view leaves a failed try's out.
            starts = [
                trigger_starts_on_disk(standalone, run_id, task_id, index, n) for n in range(1, len(logs) + 1)
            ]
            assert starts == [1] or (retried and all(n <= 1 for n in starts)), (step, index, starts)
    assert_no_leak(standalone)


def trigger_starts_on_disk(
    standalone: Standalone, run_id: str, task_id: str, map_index: int, try_number: int
) -> int:
    """How often a triggerer started a try's trigger, from the trigger log files of that try."""
    folder = (
        standalone.airflow_home
        / "logs"
        / f"dag_id={WAVE_DAG}"
        / f"run_id={run_id}"
        / f"task_id={task_id}"
        / f"map_index={map_index}"
    )
    events = []
    for path in sorted(folder.glob(f"attempt={try_number}.log.trigger.*.log")):
        for line in path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                events.append(json.loads(line))
    return len(trigger_starts([e for e in events if isinstance(e, dict)]))


def assert_retried_by_airflow_s_race(
    standalone: Standalone, run_id: str, task_id: str, map_index: int, logs: list[list[dict[str, Any]]]
) -> None:
    """
    Assert that each earlier try of a task ended in Airflow's "state mismatch", not in an error of ours.

    :param logs: Each try's log events, the first try first.
    """
    answer = standalone.api(
        "GET",
        "/eventLogs",
        params={
            "dag_id": WAVE_DAG,
            "run_id": run_id,
            "task_id": task_id,
            "map_index": map_index,
            "limit": 100,
        },
    )
    mismatched = {e.get("try_number") for e in answer["event_logs"] if e.get("event") == "state mismatch"}
    for number, events in enumerate(logs[:-1], start=1):
        tail = "\n".join(f"{e.get('level', '')} {e.get('event', '')}" for e in events[-40:])
        assert number in mismatched, (
            f"{task_id}[{map_index}] try {number} failed, not in Airflow's state mismatch "
            f"(event logs: {answer['event_logs']}); its log:\n{tail}"
        )
