"""Many waits in one triggerer: one client, one token, one pool, paced reads."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest

from airflow_provider_datareplication import client_pool
from airflow_provider_datareplication.client_pool import CLIENT_POOL
from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationAsyncHook
from airflow_provider_datareplication.identifiers import JobOperation
from airflow_provider_datareplication.pipeline import RequestSettings
from airflow_provider_datareplication.testing.emulator import Fault
from airflow_provider_datareplication.triggers.data_replication import AzureDataReplicationOperationTrigger
from tests.helpers import OPERATION, connections_closed


def use_connection(monkeypatch, emulator, **extra):
    if extra.get("max_reads_per_second") == 1000:  # no pacing to speak of: a fixed pace, not ARM's
        monkeypatch.setenv("AIRFLOW__AZURE_DATA_REPLICATION__ADAPTIVE_READ_PACING", "False")
    conn = emulator.connection(vault_name="vault1")
    conn["extra"].update(extra)
    monkeypatch.setenv("AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT", json.dumps(conn))


async def read_once(operation_id: str, settings: RequestSettings | None = None) -> str | None:
    async with AzureDataReplicationAsyncHook(request_settings=settings) as hook:
        return (await hook.get_operation_status(**{**OPERATION, "operation_id": operation_id})).status


async def test_many_hooks_share_one_token_and_a_bounded_pool(emulator, monkeypatch):
    use_connection(monkeypatch, emulator, max_reads_per_second=1000)
    for i in range(60):
        emulator.script_operation(f"op{i}", ["InProgress"])
    emulator.add_fault(Fault.slow(0.2, times=-1))
    settings = RequestSettings(max_connections=5)
    statuses = await asyncio.gather(*(read_once(f"op{i}", settings) for i in range(60)))
    assert statuses == ["InProgress"] * 60
    assert emulator.token_requests == 1
    # The pool is 5 connections (and one for the token request).
    assert emulator.max_open_connections <= 6
    assert len(CLIENT_POOL) == 0
    assert await connections_closed(emulator)


async def test_client_is_closed_after_the_last_user_only(emulator, monkeypatch):
    use_connection(monkeypatch, emulator)
    emulator.script_operation("op1", ["InProgress"])
    first, second = AzureDataReplicationAsyncHook(), AzureDataReplicationAsyncHook()
    await first.get_operation_status(**OPERATION)
    await second.get_operation_status(**OPERATION)
    assert await first.get_async_conn() is await second.get_async_conn()
    assert len(CLIENT_POOL) == 1
    await first.close()
    await first.close()  # twice is harmless
    assert len(CLIENT_POOL) == 1
    await second.get_operation_status(**OPERATION)
    await second.close()
    assert len(CLIENT_POOL) == 0
    assert await connections_closed(emulator)
    assert emulator.token_requests == 1


async def test_hooks_on_one_connection_keep_one_copy_of_its_settings(emulator, monkeypatch):
    use_connection(monkeypatch, emulator)
    other = emulator.connection(vault_name="vault2")  # same identity, other default vault
    monkeypatch.setenv("AIRFLOW_CONN_OTHER_VAULT", json.dumps(other))
    emulator.script_operation("op1", ["InProgress"])
    hooks = [AzureDataReplicationAsyncHook() for _ in range(3)]
    hooks.append(AzureDataReplicationAsyncHook("other_vault"))
    for hook in hooks:
        await hook.get_operation_status(**OPERATION)
    settings = [await hook.get_async_connection_settings() for hook in hooks]
    assert settings[0] is settings[1] is settings[2]
    # Another connection id shares the client (same identity) but keeps its own defaults.
    assert await hooks[3].get_async_conn() is await hooks[0].get_async_conn()
    assert settings[3].vault_name == "vault2"
    assert emulator.token_requests == 1
    for hook in hooks:
        await hook.close()
    assert len(CLIENT_POOL) == 0


async def test_an_edited_connection_gets_a_new_client(emulator, monkeypatch):
    monkeypatch.setattr(client_pool, "CONNECTION_REUSE_SECONDS", 0.2)
    use_connection(monkeypatch, emulator)
    emulator.script_operation("op1", ["InProgress"])
    old = AzureDataReplicationAsyncHook()
    await old.get_operation_status(**OPERATION)
    use_connection(monkeypatch, emulator, request_timeout=20)  # edited in Airflow
    # A trigger that starts right after still shares the read just done (a restart's thousands of
    # triggers read the connection once, not once each) ...
    soon = AzureDataReplicationAsyncHook()
    assert (await soon.get_async_connection_settings()).request_timeout is None
    await asyncio.sleep(0.3)
    # ... one that starts later reads it again and gets a client of its own.
    new = AzureDataReplicationAsyncHook()
    await new.get_operation_status(**OPERATION)
    assert await old.get_async_conn() is not await new.get_async_conn()
    assert emulator.token_requests == 2
    await old.close()
    await new.close()
    assert len(CLIENT_POOL) == 0


async def test_reads_never_exceed_the_configured_rate(emulator, monkeypatch):
    use_connection(monkeypatch, emulator, max_reads_per_second=5)
    for i in range(16):
        emulator.script_operation(f"op{i}", ["InProgress"])
    started = time.monotonic()
    await asyncio.gather(*(read_once(f"op{i}") for i in range(16)))
    took = time.monotonic() - started
    times = sorted(r.at for r in emulator.requests if r.kind == "arm")
    assert len(times) == 16
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 5
    assert took >= 15 * 1.15 / 5 - 0.1


async def test_a_retry_after_slows_every_trigger_of_the_subscription(emulator, monkeypatch):
    use_connection(monkeypatch, emulator, max_reads_per_second=1000)
    for op in ("op1", "op2", "op3"):
        emulator.script_operation(op, ["InProgress"] * 8 + ["Succeeded"])
    emulator.add_fault(Fault.throttle("2", operation_id="op1", after=2))

    def trigger(op: str) -> AzureDataReplicationOperationTrigger:
        return AzureDataReplicationOperationTrigger(
            operation_id=op, job_name="job1", vault_name="vault1", poll_interval=0.2
        )

    async def first_event(t):
        async for event in t.run():
            return event.payload

    events = await asyncio.wait_for(
        asyncio.gather(*(first_event(trigger(op)) for op in ("op1", "op2", "op3"))), 60
    )
    assert [e["status"]["status"] for e in events] == ["Succeeded"] * 3
    (throttled,) = [r for r in emulator.requests if r.status == 429]
    # A read already on its way when the 429 went out may still land just after it.
    during = [
        r for r in emulator.requests if r.kind == "arm" and throttled.at + 0.1 < r.at < throttled.at + 1.95
    ]
    assert during == [], "another trigger read while the subscription was told to wait"


async def test_waits_begun_together_do_not_poll_in_lock_step(emulator, monkeypatch):
    use_connection(monkeypatch, emulator, max_reads_per_second=1000)
    for i in range(20):
        emulator.script_operation(f"op{i}", ["Succeeded"])

    async def first_event(op):
        trigger = AzureDataReplicationOperationTrigger(
            operation_id=op, job_name="job1", vault_name="vault1", poll_interval=2
        )
        async for event in trigger.run():
            return event.payload

    await asyncio.gather(*(first_event(f"op{i}") for i in range(20)))
    times = sorted(r.at for r in emulator.requests if r.kind == "arm")
    assert times[-1] - times[0] > 0.8  # spread over the first poll interval, not all at once


# A fresh interpreter: the freeze happens once per process, at its first asyncio client.
FIRST_READ_IN_A_NEW_PROCESS = """
import asyncio, gc, json, sys
from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationAsyncHook
from airflow_provider_datareplication.identifiers import JobOperation

async def read():
    async with AzureDataReplicationAsyncHook() as hook:
        return (await hook.get_operation_status(**json.loads(sys.argv[1]))).status

frozen_before = gc.get_freeze_count()
status = asyncio.run(read())
frozen, tracked = gc.get_freeze_count(), len(gc.get_objects())
garbage = [[]]
garbage[0].append(garbage)  # a cycle made after the freeze
del garbage
print(json.dumps({"status": status, "frozen_before": frozen_before, "frozen": frozen,
                  "tracked": tracked, "collected": gc.collect()}))
"""


def first_read_in_a_new_process(**env: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", FIRST_READ_IN_A_NEW_PROCESS, json.dumps(OPERATION)],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_first_client_takes_start_up_objects_out_of_full_collections_when_asked(emulator):
    emulator.script_operation("op1", ["InProgress"])
    seen = first_read_in_a_new_process(AIRFLOW__AZURE_DATA_REPLICATION__GC_FREEZE="True")
    assert seen["status"] == "InProgress"
    assert seen["frozen_before"] == 0
    # Airflow's and the Azure SDKs' modules: a full collection no longer walks them ...
    assert seen["frozen"] > 100_000
    assert seen["tracked"] < seen["frozen"] / 5
    # ... while what comes later is collected as before.
    assert seen["collected"] >= 1


def test_the_garbage_collector_is_left_alone_by_default(emulator):
    emulator.script_operation("op1", ["InProgress"])
    seen = first_read_in_a_new_process()
    assert seen["status"] == "InProgress"
    assert seen["frozen"] == 0


# Many waits starting in the same instant, as a triggerer rebuilds them all after a restart.
MANY_AT_ONCE_IN_A_NEW_PROCESS = """
import asyncio, json, logging, sys
logging.basicConfig(level=logging.INFO, format="LOG %(message)s", stream=sys.stdout)
from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationAsyncHook
from airflow_provider_datareplication.identifiers import JobOperation

async def read():
    async with AzureDataReplicationAsyncHook() as hook:
        return (await hook.get_operation_status(**json.loads(sys.argv[1]))).status

async def main():
    return await asyncio.gather(*(read() for _ in range(300)))

print(json.dumps(asyncio.run(main())))
"""


def test_waits_starting_together_prepare_the_process_once(emulator, monkeypatch):
    use_connection(monkeypatch, emulator, max_reads_per_second=1000)
    emulator.script_operation("op1", ["InProgress"])
    out = subprocess.run(
        [sys.executable, "-c", MANY_AT_ONCE_IN_A_NEW_PROCESS, json.dumps(OPERATION)],
        env={
            **os.environ,
            "AIRFLOW__AZURE_DATA_REPLICATION__GC_FREEZE": "True",
            "AIRFLOW__AZURE_DATA_REPLICATION__ADAPTIVE_READ_PACING": "False",
        },
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["InProgress"] * 300
    freezes = [line for line in out.stdout.splitlines() if "out of the garbage collector's way" in line]
    assert len(freezes) == 1, freezes
    assert emulator.token_requests == 1


async def test_waits_on_two_event_loops_in_two_threads_share_the_pacing(emulator, monkeypatch):
    use_connection(monkeypatch, emulator, max_reads_per_second=5)
    for i in range(10):
        emulator.script_operation(f"op{i}", ["InProgress"])

    def in_its_own_loop(ops: range) -> list[str | None]:
        async def main() -> list[str | None]:
            return await asyncio.gather(*(read_once(f"op{i}") for i in ops))

        return asyncio.run(main())

    # A contended first loop in a thread, then another thread's loop, then two at once.
    first = await asyncio.to_thread(in_its_own_loop, range(0, 3))
    second = await asyncio.to_thread(in_its_own_loop, range(3, 6))
    together = await asyncio.gather(
        asyncio.to_thread(in_its_own_loop, range(6, 8)), asyncio.to_thread(in_its_own_loop, range(8, 10))
    )
    assert first + second + together[0] + together[1] == ["InProgress"] * 10
    times = sorted(r.at for r in emulator.requests if r.kind == "arm")
    assert len(times) == 10
    # Ten reads at 5 per second: never more than 5 in a second, whichever loop or thread sent them,
    # and so spread over nine spacings at least.
    assert max(sum(1 for t in times if start <= t < start + 1.0) for start in times) <= 5
    assert times[-1] - times[0] >= 9 * 1.0 / 5


@pytest.fixture(autouse=True)
def _pool_is_empty_after_each_test():
    yield
    assert len(CLIENT_POOL) == 0


async def test_the_pace_follows_what_the_service_says_is_left(emulator, monkeypatch):
    from airflow_provider_datareplication.pacing import RULES

    use_connection(monkeypatch, emulator, max_reads_per_second=20)
    emulator.script_operation("op1", ["InProgress"])
    async with AzureDataReplicationAsyncHook() as hook:
        operation = await hook.resolve(JobOperation, **OPERATION)
        pacer = await hook.pacer(operation.subscription_id)
        assert pacer.adaptive and pacer.rate == RULES.start  # starts low, under its ceiling
        for _ in range(25):
            await hook.get_status(operation)
        # The provider's quota stayed nearly whole (its answers said so): the pace is at the ceiling.
        assert pacer.rate == 20
        assert pacer.quotas == {"x-ms-ratelimit-remaining-subscription-resource-requests": 1099}
    assert len([r for r in emulator.requests if r.kind == "arm"]) == 25
