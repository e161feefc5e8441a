"""Reads shared by a process's waits: one read per resource a round, one list per vault a round."""

from __future__ import annotations

import asyncio
import json
import threading

from airflow_provider_datareplication.testing.emulator import Fault
from airflow_provider_datareplication.triggers.data_replication import (
    AzureDataReplicationJobTrigger,
    AzureDataReplicationProtectedItemTrigger,
)
from tests.helpers import first_event

POLL = 0.3


def item_waits(names, **kwargs):
    return [
        AzureDataReplicationProtectedItemTrigger(protected_item_name=name, poll_interval=POLL, **kwargs)
        for name in names
    ]


def reads(emulator, suffix: str) -> list:
    """The ARM GETs whose path ends with ``suffix``."""
    return [r for r in emulator.requests if r.kind == "arm" and r.method == "GET" and r.path.endswith(suffix)]


def item_reads(emulator) -> list:
    return [
        r for r in emulator.requests if r.kind == "arm" and r.method == "GET" and "/protectedItems/" in r.path
    ]


async def test_100_waits_on_one_job_send_one_read_a_round(emulator):
    emulator.progress_job("job1", [(0, "Started"), (1.2, "Succeeded")])
    waits = [AzureDataReplicationJobTrigger(job_name="job1", poll_interval=POLL) for _ in range(100)]
    events = await asyncio.gather(*(first_event(wait) for wait in waits))
    assert all(event["event"] == "terminal" for event in events)
    assert {event["status"]["properties"]["state"] for event in events} == {"Succeeded"}
    # About one read each 0.3 s until the job ended after 1.2 s, not one per wait.
    assert 3 <= len(emulator.requests_for_job("job1")) <= 10


async def test_100_item_waits_on_one_vault_send_one_list_a_round(emulator):
    emulator.page_size = 50  # two pages for the vault's 100 items
    names = [f"server-{i:03d}" for i in range(100)]
    for name in names:
        emulator.add_protected_item(name, replicating_for=1.2)
    events = await asyncio.gather(*(first_event(wait) for wait in item_waits(names)))
    assert all(event["event"] == "terminal" for event in events)
    assert {event["status"]["properties"]["protectionState"] for event in events} == {"Protected"}
    pages = reads(emulator, "/protectedItems")
    rounds = len(pages) / 2
    # The list, its two pages a round until the items were ready after 1.2 s: never a read per wait.
    assert item_reads(emulator) == []
    assert 2 <= rounds <= 10


async def test_an_item_missing_from_the_list_is_read_alone_before_it_counts_as_gone(emulator):
    from airflow_provider_datareplication.actions import delete_item
    from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook
    from airflow_provider_datareplication.identifiers import ProtectedItem

    emulator.item_durations(disable_protection=0.6)
    names = [f"server-{i}" for i in range(6)]
    for name in names:
        emulator.add_protected_item(name, protection_state="PlannedFailoverCompleted")
    with AzureDataReplicationHook() as hook:
        for name in names[:3]:
            hook.start(hook.resolve(ProtectedItem, protected_item_name=name), delete_item(force_delete=False))
    events = await asyncio.gather(
        *(first_event(wait) for wait in item_waits(names[:3], until="removed")),
        *(first_event(wait, timeout=3) for wait in item_waits(names[3:], until="removed")),
        return_exceptions=True,
    )
    assert [event["status"] for event in events[:3]] == [{}, {}, {}]  # gone
    assert all(isinstance(event, TimeoutError) for event in events[3:])  # still there
    # Each removed item was read alone (a 404) once the list no longer showed it; the vault was
    # not read (its list had just been read).
    for name in names[:3]:
        assert [r.status for r in emulator.requests_for_item(name) if r.method == "GET"][-1] == 404
    assert reads(emulator, "/replicationVaults/vault1") == []


async def test_a_list_that_fails_falls_back_to_a_read_each_for_that_round(emulator):
    names = [f"server-{i}" for i in range(4)]
    for name in names:
        emulator.add_protected_item(name, replicating_for=2.0)
    # After the first rounds, every list fails for a while.
    emulator.add_fault(Fault.server_error(500, path="/protectedItems", after=1, times=6))
    events = await asyncio.gather(*(first_event(wait) for wait in item_waits(names)))
    assert all(event["event"] == "terminal" for event in events)
    failed = [r for r in reads(emulator, "/protectedItems") if r.status == 500]
    assert failed  # a list failed (retried inside its call, then given up for the round) ...
    after = [r for r in item_reads(emulator) if r.at > failed[0].at]
    assert {r.protected_item for r in after} == set(names)  # ... and each item was read alone


async def test_job_waits_on_one_vault_read_its_job_list_back_to_the_oldest_job_waited_on(emulator):
    from airflow_provider_datareplication.actions import planned_failover
    from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook
    from airflow_provider_datareplication.identifiers import ProtectedItem

    emulator.item_durations(planned_failover=1.5)
    emulator.page_size = 5
    for i in range(20):  # older jobs of the vault, which the list need not reach
        emulator.add_protected_item(f"old-{i}", protection_state="Protected")
    jobs = []
    with AzureDataReplicationHook() as hook:
        for i in range(20):
            item = hook.resolve(ProtectedItem, protected_item_name=f"old-{i}")
            hook.start(item, planned_failover(instance_type="HyperVToAzStackHCI", shutdown_source_vm=False))
        await asyncio.sleep(1.6)  # those ended
        emulator.item_durations(planned_failover=4.0)  # these run through several rounds
        for i in range(8):
            emulator.add_protected_item(f"server-{i}")
            item = hook.resolve(ProtectedItem, protected_item_name=f"server-{i}")
            started = hook.start(
                item, planned_failover(instance_type="HyperVToAzStackHCI", shutdown_source_vm=False)
            )
            jobs.append(started.job_name)
    emulator.reset_counters()
    waits = [AzureDataReplicationJobTrigger(job_name=job, poll_interval=POLL) for job in jobs]
    events = await asyncio.gather(*(first_event(wait) for wait in waits))
    assert all(event["status"]["properties"]["state"] == "Succeeded" for event in events)
    assert all(event["status"]["properties"]["tasks"] for event in events)  # each read alone once ended
    pages = reads(emulator, "/jobs")
    assert pages  # the waits were served by the vault's job list while the jobs ran ...
    # ... its first two pages (the 8 newest jobs), never the 28 of the whole list.
    assert all("continuationToken" not in r.query or r.query["continuationToken"] for r in pages)
    assert len(pages) <= 2 * 10
    singles = [r for r in emulator.requests if r.kind == "arm" and r.job_name in jobs]
    assert len(singles) <= 2 * len(jobs) + 4  # a read each to begin with, and one each once ended


def test_two_triggerers_each_read_the_vault_s_list_for_the_waits_they_hold(emulator, monkeypatch):
    names = [f"server-{i:02d}" for i in range(40)]
    emulator.page_size = 20
    for name in names:
        emulator.add_protected_item(name, replicating_for=1.0)
    outcomes: list[list] = []

    def triggerer(half: list[str]) -> None:
        async def run() -> list:
            return await asyncio.gather(*(first_event(wait) for wait in item_waits(half)))

        outcomes.append(asyncio.run(run()))

    threads = [threading.Thread(target=triggerer, args=(names[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(events) for events in outcomes) == [20, 20]
    assert all(
        event["status"]["properties"]["protectionState"] == "Protected" for e in outcomes for event in e
    )
    # Each held 20 waits and read the list for them: two lists of two pages a round, not 40 reads.
    assert len(reads(emulator, "/protectedItems")) >= 4
    assert json.dumps(outcomes)  # what each fired is the service's body, as sent
