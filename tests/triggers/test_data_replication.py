from __future__ import annotations

import asyncio
import importlib
import json
import logging
import re
import time
from urllib.parse import urlsplit

import pytest

from airflow_provider_datareplication.testing.emulator import Fault
from airflow_provider_datareplication.triggers import data_replication as trigger_module
from airflow_provider_datareplication.triggers.data_replication import (
    AzureDataReplicationJobTrigger,
    AzureDataReplicationOperationTrigger,
)
from tests.helpers import SUBSCRIPTION_ID, connections_closed, first_event

KWARGS = {
    "subscription_id": SUBSCRIPTION_ID,
    "resource_group_name": "rg1",
    "vault_name": "vault1",
    "job_name": "job1",
    "operation_id": "op1",
}


def make(**overrides):
    return AzureDataReplicationOperationTrigger(**{**KWARGS, "poll_interval": 0.05, **overrides})


def rebuild(trigger):
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)


def test_serialize_holds_identifiers_and_nothing_secret():
    classpath, kwargs = make(azure_data_replication_conn_id="my_conn").serialize()
    assert (
        classpath
        == "airflow_provider_datareplication.triggers.data_replication.AzureDataReplicationOperationTrigger"
    )
    assert kwargs == {
        **KWARGS,
        "api_version": "2021-02-16-preview",
        "operation_url": None,
        "azure_data_replication_conn_id": "my_conn",
        "poll_interval": 0.05,
        "deadline": None,
        "not_before": None,
    }
    trigger = make(deadline=1_800_000_000.5)
    assert rebuild(trigger).serialize() == trigger.serialize()


def test_bad_poll_interval_is_refused_when_built():
    with pytest.raises(ValueError, match="poll_interval"):
        make(poll_interval=0)


async def test_invalid_identifiers_end_in_an_error_event_before_any_request(emulator):
    payload = await first_event(make(vault_name="bad vault"))
    assert payload["event"] == "error"
    assert "vault_name must be one or more letters, digits" in payload["message"]
    assert not emulator.requests


async def test_vault_group_and_subscription_come_from_the_connection(emulator):
    emulator.script_operation("op1", ["Succeeded"])
    payload = await first_event(make(vault_name=None, resource_group_name=None, subscription_id=None))
    assert payload["target"] == (
        "operation 'op1' of job 'job1' in vault 'vault1' (resource group 'rgrecoveryservicesdatareplication')"
    )
    assert payload["portal_link"].endswith(
        f"/resource/subscriptions/{emulator.subscription_id}/resourceGroups/rgrecoveryservicesdatareplication"
        "/providers/Microsoft.DataReplication/replicationVaults/vault1/jobs/job1"
    )


async def test_missing_connection_is_an_error_event():
    payload = await first_event(make(azure_data_replication_conn_id="no_such_connection"))
    assert payload["event"] == "error"
    assert "no_such_connection" in payload["message"]


async def test_polls_until_terminal_and_fires_one_event(emulator):
    emulator.script_operation("op1", ["InProgress", "Running", "Succeeded"], extra={"percentComplete": 100})
    payload = await first_event(make())
    assert payload["event"] == "terminal"
    assert payload["status"]["status"] == "Succeeded"
    assert payload["status"]["percentComplete"] == 100
    assert len(emulator.requests_for("op1")) == 3
    assert emulator.token_requests == 1


@pytest.mark.parametrize("final", ["Failed", "canceled", "Cancelled"])
async def test_failed_and_canceled_are_terminal_events(emulator, final):
    emulator.script_operation("op1", ["InProgress", final])
    payload = await first_event(make())
    assert payload["event"] == "terminal"
    assert payload["status"]["status"] == final
    assert payload["target"] == "operation 'op1' of job 'job1' in vault 'vault1' (resource group 'rg1')"


async def test_the_state_is_logged_when_it_changes_and_each_read_at_debug(emulator, caplog):
    caplog.set_level(logging.DEBUG, logger="airflow_provider_datareplication.triggers")
    emulator.script_operation("op1", ["InProgress"] * 4 + ["Running"] * 3 + ["Succeeded"])
    emulator.add_fault(Fault.malformed_json(after=5))  # 4 x InProgress, Running, then a transient failure
    assert (await first_event(make()))["event"] == "terminal"
    said = [
        (r.levelname, r.getMessage().split(") ", 1)[1].split(";")[0])
        for r in caplog.records
        if "next read in about" in r.getMessage()
    ]
    # Each state once at INFO, and again after a transient failure; every other read at DEBUG.
    assert [entry for entry in said if entry[0] != "DEBUG"] == [
        ("INFO", "is InProgress"),
        ("INFO", "is Running"),
        ("WARNING", "came back HTTP 200 without a JSON object"),
        ("INFO", "is Running"),
    ]
    assert said.count(("DEBUG", "is InProgress")) == 3


async def test_an_unchanged_state_is_logged_again_after_a_while(emulator, caplog, monkeypatch):
    monkeypatch.setattr(trigger_module, "UNCHANGED_STATE_LOG_SECONDS", 0.0)
    caplog.set_level(logging.INFO, logger="airflow_provider_datareplication.triggers")
    emulator.script_operation("op1", ["InProgress"] * 3 + ["Succeeded"])
    assert (await first_event(make()))["event"] == "terminal"
    assert sum("is InProgress; next read in about" in r.getMessage() for r in caplog.records) == 3


async def test_transient_faults_never_end_the_wait(emulator):
    emulator.script_operation("op1", ["InProgress", "Succeeded"])
    for fault in (Fault.malformed_json(), Fault.drop(), Fault.server_error(500), Fault.throttle("1")):
        emulator.add_fault(fault)
    payload = await first_event(make())
    assert payload["status"]["status"] == "Succeeded"


async def test_permanent_error_becomes_an_error_event(emulator):
    emulator.script_operation("op1", ["InProgress"])
    emulator.add_fault(Fault.not_found())
    payload = await first_event(make())
    assert payload["event"] == "error"
    assert payload["error_type"] == "AzureDataReplicationNotFoundError"
    assert "HTTP 404; ResourceNotFound" in payload["message"]


async def test_cancellation_propagates_and_closes_everything(emulator):
    emulator.script_operation("op1", ["InProgress"])
    task = asyncio.create_task(first_event(make(poll_interval=0.2)))
    while len(emulator.requests_for("op1")) < 2:
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await connections_closed(emulator)


async def test_rebuilt_trigger_carries_on_the_same_wait(emulator):
    emulator.script_operation("op1", ["InProgress", "InProgress", "InProgress", "Succeeded"])
    trigger = make(poll_interval=0.2)
    task = asyncio.create_task(first_event(trigger))
    while len(emulator.requests_for("op1")) < 2:
        await asyncio.sleep(0.02)
    task.cancel()  # the triggerer went away
    with pytest.raises(asyncio.CancelledError):
        await task
    payload = await first_event(rebuild(trigger))
    assert payload["status"]["status"] == "Succeeded"
    assert len(emulator.requests_for("op1")) == 4


async def test_no_secret_or_token_in_serialize_or_events(emulator):
    emulator.script_operation("op1", ["Failed"], extra={"error": {"code": "E", "message": "m"}})
    trigger = make()
    payload = await first_event(trigger)
    text = repr(trigger.serialize()) + repr(payload)
    assert emulator.client_secret not in text
    for token in emulator.issued_tokens:
        assert token not in text


async def test_deadline_ends_the_wait_with_a_timeout_event(emulator):
    emulator.script_operation("op1", ["InProgress"])
    started = time.time()
    deadline = started + 0.7
    payload = await first_event(make(poll_interval=0.2, deadline=deadline))
    assert payload["event"] == "timeout"
    assert "operation 'op1' of job 'job1'" in payload["message"]
    # Not before the deadline; and the wait read nothing after it.
    assert time.time() >= deadline
    reads = emulator.requests_for("op1")
    assert reads and all(read.wall <= deadline for read in reads)


async def test_deadline_is_absolute_so_a_rebuilt_trigger_keeps_it(emulator):
    emulator.script_operation("op1", ["InProgress"])
    payload = await first_event(rebuild(make(deadline=time.time() - 1)))
    assert payload["event"] == "timeout"
    assert not emulator.requests_for("op1")


def use_rate(monkeypatch, emulator, rate):
    conn = emulator.connection(vault_name="vault1")
    conn["extra"]["max_reads_per_second"] = rate
    monkeypatch.setenv("AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT", json.dumps(conn))


async def test_a_wait_stretched_by_pacing_says_so_once_with_the_interval_it_gets(
    emulator, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG, logger="airflow_provider_datareplication")
    use_rate(monkeypatch, emulator, 4)
    for i in range(8):
        emulator.script_operation(f"op{i}", ["InProgress"] * 3 + ["Succeeded"])
    # Eight waits polling every 0.5 s need 16 reads/s; the connection allows 4: each wait really
    # polls about every 2.2 s.
    events = await asyncio.gather(
        *(first_event(make(operation_id=f"op{i}", poll_interval=0.5), 60) for i in range(8))
    )
    assert all(e["event"] == "terminal" for e in events)
    stretched = [r for r in caplog.records if "a round at this process's read pace" in r.getMessage()]
    assert 1 <= len(stretched) <= 8  # at most once per read shared (one per operation here)
    text = stretched[0].getMessage()
    assert (
        "against a poll interval of 0.5 s" in text
        and "ceiling 4, the connection's max_reads_per_second" in text
    )
    took = float(text.split(" takes ")[1].split(" s")[0])
    assert 0.25 <= took <= 3.5
    # What each wait said about its next read is about the time it really waited.
    said = [
        float(r.getMessage().rsplit("next read in about ", 1)[1].split(" s")[0])
        for r in caplog.records
        if "is InProgress; next read in about" in r.getMessage()
    ]
    assert max(said) > 1.5


async def test_time_queued_for_a_read_counts_against_the_deadline(emulator, monkeypatch):
    use_rate(monkeypatch, emulator, 1)
    for i in range(6):
        emulator.script_operation(f"op{i}", ["InProgress"])
    started = time.time()
    # Six waits at 1 read/s: the last one's first read is ~5.5 s away, past its 2 s deadline.
    payloads = await asyncio.gather(
        *(
            first_event(make(operation_id=f"op{i}", poll_interval=30, deadline=started + 2), 30)
            for i in range(6)
        )
    )
    took = time.time() - started
    assert sorted(p["event"] for p in payloads).count("timeout") == 6
    assert took < 4  # at the deadline (2 s), not when the queue came round (5.5 s)
    assert len([r for r in emulator.requests if r.kind == "arm"]) <= 3


async def test_waits_booked_while_the_pace_sat_at_the_floor_move_up_when_it_rises(emulator, monkeypatch):
    from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationAsyncHook

    use_rate(monkeypatch, emulator, 25)
    waits = 30
    for i in range(waits):
        emulator.script_operation(f"op{i}", ["Succeeded"])  # each wait needs one read
    # ARM's bucket ran low: a first check (a worker's, say) gets a 429. The pace of the process
    # drops to the floor (0.5 reads/s) and the waits that start now book their reads there, 2.3 s
    # apart: 30 waits over 67 s.
    emulator.add_fault(Fault.throttle("1", operation_id="first-check"))
    emulator.script_operation("first-check", ["Succeeded"])
    async with AzureDataReplicationAsyncHook() as hook:
        check = asyncio.create_task(hook.get_operation_status(**{**KWARGS, "operation_id": "first-check"}))
        while not emulator.requests_for("first-check"):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the 429 observed: the pace is at the floor
        started = time.monotonic()
        events = await asyncio.gather(
            *(first_event(make(operation_id=f"op{i}", poll_interval=0.5), 120) for i in range(waits))
        )
        took = time.monotonic() - started
        assert (await check).succeeded
    assert all(e["event"] == "terminal" for e in events)
    # The bucket was full again a second later (the Retry-After), and every answer said so: the
    # waits moved up as the pace rose (30 reads at 25/s take 1.4 s), not over the 67 s the floor
    # promised. Their reads stayed paced, and none was refused.
    assert took < 30, took
    reads = sorted(r.at for r in emulator.requests if r.kind == "arm" and r.status == 200)
    assert len(reads) == waits + 1
    assert max(sum(1 for b in reads if a <= b < a + 1) for a in reads) <= 25  # as ARM counts
    assert [r.operation_id for r in emulator.requests if r.status == 429] == ["first-check"]


async def test_a_retry_after_from_the_task_is_waited_out_before_the_first_read(emulator):
    emulator.script_operation("op1", ["Succeeded"])
    started = time.time()
    payload = await first_event(make(poll_interval=0.05, not_before=started + 1.5))
    assert payload["event"] == "terminal"
    (read,) = emulator.requests_for("op1")
    assert read.wall - started >= 1.5


JOB = "0203aa1b-1dff-4653-89a9-b90a76d1601a"


async def test_job_trigger_fires_once_with_the_job_body(emulator):
    emulator.script_job(JOB, ["Pending", "Started", "CompletedWithInformation"])
    trigger = AzureDataReplicationJobTrigger(job_name=JOB, poll_interval=0.05)
    payload = await first_event(trigger)
    assert payload["event"] == "terminal"
    assert payload["status"]["properties"]["state"] == "CompletedWithInformation"
    assert (
        payload["target"]
        == f"job '{JOB}' in vault 'vault1' (resource group 'rgrecoveryservicesdatareplication')"
    )
    assert len(emulator.requests_for_job(JOB)) == 3
    assert rebuild(trigger).serialize() == trigger.serialize()


async def test_job_trigger_permanent_errors_and_unknown_arguments(emulator):
    payload = await first_event(AzureDataReplicationJobTrigger(job_name=JOB, poll_interval=0.05))
    assert payload["event"] == "error" and "HTTP 404; ResourceNotFound" in payload["message"]
    with pytest.raises(TypeError, match="operation_id"):
        AzureDataReplicationJobTrigger(job_name=JOB, operation_id="op1")


async def test_operation_trigger_waits_on_an_operation_url(emulator):
    emulator.script_operation(
        "lro1", ["InProgress", "Failed"], extra={"error": {"code": "E", "message": "m"}}
    )
    url = emulator.operation_url("lro1", resource_group_name="rg1")
    payload = await first_event(AzureDataReplicationOperationTrigger(operation_url=url, poll_interval=0.05))
    assert payload["status"]["status"] == "Failed"
    assert payload["target"] == f"operation 'lro1' ({urlsplit(url).path})"


async def test_protected_item_trigger_serializes_until_and_reports_removal_as_an_empty_body(emulator):
    from airflow_provider_datareplication.triggers.data_replication import (
        AzureDataReplicationProtectedItemTrigger,
    )
    from tests.e2e.dags.e2e_scenarios import ITEM

    trigger = AzureDataReplicationProtectedItemTrigger(
        protected_item_name=ITEM, until="removed", poll_interval=0.05
    )
    classpath, kwargs = trigger.serialize()
    assert classpath.endswith(".AzureDataReplicationProtectedItemTrigger")
    assert kwargs["until"] == "removed" and kwargs["protected_item_name"] == ITEM
    assert rebuild(trigger).serialize() == trigger.serialize()
    payload = await first_event(trigger)  # there is no such item: it is removed
    assert payload["event"] == "terminal" and payload["status"] == {}
    assert payload["target"].startswith(f"protected item {ITEM!r}")


async def test_protected_item_trigger_ends_at_once_on_a_missing_item_and_names_a_missing_vault(emulator):
    from airflow_provider_datareplication.triggers.data_replication import (
        AzureDataReplicationProtectedItemTrigger,
    )

    # Gone (its vault is there): the wait is over, the task judges it (it can no longer be ready).
    payload = await first_event(
        AzureDataReplicationProtectedItemTrigger(protected_item_name="gone", poll_interval=0.05)
    )
    assert payload["event"] == "terminal" and payload["status"] == {}
    # Not gone: its vault is not there at all (a mistyped name).
    payload = await first_event(
        AzureDataReplicationProtectedItemTrigger(
            protected_item_name="gone", vault_name="vault-typo", poll_interval=0.05
        )
    )
    assert payload["event"] == "error" and payload["error_type"] == "AzureDataReplicationNotFoundError"
    assert (
        "vault 'vault-typo' (resource group 'rgrecoveryservicesdatareplication') was not found"
        in (payload["message"])
    )
    with pytest.raises(ValueError, match="until must be one of"):
        AzureDataReplicationProtectedItemTrigger(protected_item_name="x", until="soon")


async def test_protected_item_trigger_logs_initial_replication_s_progress_as_it_changes(emulator, caplog):
    from airflow_provider_datareplication.actions import create_item
    from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook
    from airflow_provider_datareplication.identifiers import ProtectedItem
    from airflow_provider_datareplication.triggers.data_replication import (
        AzureDataReplicationProtectedItemTrigger,
    )
    from tests.e2e.dags.e2e_scenarios import HYPERV_PROPERTIES, ITEM

    caplog.set_level(logging.INFO, logger="airflow_provider_datareplication.triggers")
    emulator.item_durations(enable_protection=0.2, initial_replication=1.5)
    with AzureDataReplicationHook() as hook:  # replication enabled now; initial replication follows
        hook.start(hook.resolve(ProtectedItem, protected_item_name=ITEM), create_item(HYPERV_PROPERTIES))
    trigger = AzureDataReplicationProtectedItemTrigger(protected_item_name=ITEM, poll_interval=0.1)
    payload = await first_event(trigger)
    assert payload["event"] == "terminal"
    assert payload["status"]["properties"]["protectionState"] == "Protected"
    progress = [
        int(found)
        for record in caplog.records
        if record.levelno == logging.INFO
        for found in re.findall(r"initial replication (\d+)%", record.getMessage())
    ]
    # Each change of the percentage is logged once, rising.
    assert len(progress) >= 3 and progress == sorted(set(progress))
