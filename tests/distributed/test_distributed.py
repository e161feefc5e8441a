"""
The provider on Airflow's distributed deployment: CeleryExecutor with two workers, two triggerers,
Postgres, against the emulator enforcing ARM's read limits (one bucket for every process).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.distributed.cluster import SUMMARY
from tests.distributed.dags.distributed_dags import JOBS, OPERATIONS, POKED
from tests.helpers import assert_no_secrets, logs_text

if TYPE_CHECKING:
    from tests.distributed.cluster import Cluster

pytestmark = pytest.mark.distributed

DAG_ID = "distributed_waits"
#: 429s the whole run may collect from ARM's bucket (each honoured; none may fail a wait).
MOST_429S = 5


def task_instances(cluster: Cluster, run_id: str) -> list[dict[str, Any]]:
    """Every task instance of the run, the mapped ones each (the API answers a page at a time)."""
    found: list[dict[str, Any]] = []
    while True:
        page = cluster.api(
            "GET",
            f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances",
            params={"limit": 100, "offset": len(found)},
        )["task_instances"]
        found += page
        if len(page) < 100:
            return found


def wait_until(what: Any, check: Any, cluster: Cluster, timeout: float) -> Any:
    """Poll ``check`` until it returns something true; return it (or fail, saying ``what``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what() if callable(what) else what}: not within {timeout:g} s{cluster.tail(40)}"
            )
        time.sleep(1)


def held_triggers(cluster: Cluster) -> dict[str | None, int]:
    """How many stored triggers each triggerer holds, by its name (``None``: not yet assigned)."""
    rows = cluster.sql(
        "SELECT job.hostname, count(*) FROM trigger LEFT JOIN job ON job.id = trigger.triggerer_id "
        "GROUP BY job.hostname"
    )
    return {hostname: count for hostname, count in rows}


HEARTBEATS = "SELECT hostname, state, latest_heartbeat::text FROM job WHERE job_type = 'TriggererJob'"


def decrypted_trigger_rows(cluster: Cluster) -> str:
    """The stored triggers' classpaths and kwargs, decrypted as the triggerer reads them."""
    from cryptography.fernet import Fernet

    fernet = Fernet(cluster.env["AIRFLOW__CORE__FERNET_KEY"].encode())
    rows = cluster.sql("SELECT classpath, kwargs FROM trigger")
    # Airflow stores some triggers' kwargs as plain JSON (those the scheduler creates for tasks that
    # start in the triggerer), the others encrypted.
    return "\n".join(
        f"{classpath} {kwargs if kwargs.startswith('{') else fernet.decrypt(kwargs.encode()).decode()}"
        for classpath, kwargs in rows
    )


def test_waits_on_celery_workers_and_two_triggerers_survive_a_killed_triggerer(cluster: Cluster) -> None:
    emulator = cluster.emulator
    for operation in [*OPERATIONS, *POKED]:
        emulator.script_operation(operation, ["InProgress"])  # until released
    for job in JOBS:
        emulator.script_job(job, ["Started"])
    run_id = cluster.trigger(DAG_ID)

    # Every wait under way: 200 deferred to the triggerers, 20 poking from Celery worker slots.
    seen: list[dict[str, int]] = []

    def under_way() -> bool:
        states = [str(ti["state"]) for ti in task_instances(cluster, run_id)]
        seen.append({state: states.count(state) for state in set(states)})
        return states.count("deferred") == 200 and states.count("running") == 20

    wait_until(lambda: f"200 waits deferred and 20 poking; task states {seen[-1:]}", under_way, cluster, 300)

    def all_held() -> dict[str | None, int] | None:
        now = held_triggers(cluster)
        return now if None not in now and sum(now.values()) == 200 else None

    held = wait_until("every trigger held by a triggerer", all_held, cluster, timeout=60)
    stored = decrypted_trigger_rows(cluster)
    assert "AzureDataReplicationJobTrigger" in stored and "AzureDataReplicationOperationTrigger" in stored

    # Kill the triggerer that holds the most waits, as when its container dies.
    victim = max(held, key=lambda name: held[name])
    survivor = next(name for name in ("triggerer-1", "triggerer-2") if name != victim)
    cluster.kill(str(victim))
    # The other one takes the stored triggers over once the dead one's heartbeat is stale.
    wait_until(
        lambda: (
            f"{survivor} holds every trigger; triggers held now: {held_triggers(cluster)}; triggerers' "
            f"heartbeats: {cluster.sql(HEARTBEATS)}\n{cluster.where_stuck(survivor)}"
        ),
        lambda: held_triggers(cluster) == {survivor: 200},
        cluster,
        timeout=120,
    )
    taken_over = time.monotonic()

    def read_again() -> tuple[int, int, int]:
        """Since the takeover: operations read, jobs read alone, and reads of the vault's job list."""
        since = [r for r in emulator.requests if r.at > taken_over and r.kind == "arm"]
        return (
            len({r.operation_id for r in since} & set(OPERATIONS)),
            len({r.job_name for r in since} & set(JOBS)),
            sum(1 for r in since if r.path.endswith("/jobs")),
        )

    wait_until(
        lambda: f"the rebuilt waits read again (read since: {read_again()})\n{cluster.where_stuck(survivor)}",
        lambda: (now := read_again())[0] >= len(OPERATIONS) and (now[1] >= len(JOBS) or now[2] > 0),
        cluster,
        timeout=120,
    )

    released = time.monotonic()
    for operation in [*OPERATIONS, *POKED]:
        emulator.script_operation(operation, ["Succeeded"])
    for job in JOBS:
        emulator.script_job(job, ["Succeeded"])
    state = cluster.wait_for_run(DAG_ID, run_id, timeout=600)
    tis = task_instances(cluster, run_id)
    assert state == "success", sorted({ti["state"] for ti in tis})
    assert len(tis) == 220
    # Every wait ended once: success, on its first try.
    assert {(ti["state"], ti["try_number"]) for ti in tis} == {("success", 1)}
    # One terminal event each: once told its target ended, no wait read it again.
    for target in [*OPERATIONS, *POKED, *JOBS]:
        reads = emulator.requests_for(target) or emulator.requests_for_job(target)
        answered = [r for r in reads if r.at > released and r.status == 200]
        assert len(answered) == 1, (target, len(answered))
    # Each wait's status is in XCom (the service's body).
    xcoms = {}
    for ti in tis:
        path = f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/xcomEntries/return_value"
        entry = cluster.api("GET", path, params={"map_index": ti["map_index"]})
        xcoms[f"{ti['task_id']}[{ti['map_index']}]"] = entry["value"]
    assert len(xcoms) == 220
    assert all('"Succeeded"' in json.dumps(value) for value in xcoms.values())
    # ARM's bucket, shared by every process, never ran dry: a handful of 429s at most, none failing a wait.
    throttled = [r for r in emulator.requests if r.status == 429]
    assert len(throttled) <= MOST_429S, len(throttled)

    # No secret or token in any component's output, task log, XCom or stored trigger.
    text = "\n".join([cluster.output_text(), logs_text(cluster.airflow_home), json.dumps(xcoms), stored])
    assert_no_secrets(emulator, text)
    reads = [r for r in emulator.requests if r.kind == "arm"]
    SUMMARY.append(
        f"220 waits: {len(reads)} reads, {len(throttled)} 429s, {emulator.token_requests} token requests; "
        f"{victim} killed, {survivor} took over"
    )
