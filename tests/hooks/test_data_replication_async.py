from __future__ import annotations

import itertools
import logging

import pytest

from airflow_provider_datareplication.exceptions import (
    AzureDataReplicationAuthError,
    AzureDataReplicationNotFoundError,
    AzureDataReplicationTransientError,
)
from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationAsyncHook
from airflow_provider_datareplication.pipeline import RequestSettings
from airflow_provider_datareplication.testing.emulator import Fault
from tests.helpers import OPERATION, connections_closed


async def test_reads_status_over_https_with_one_token(emulator):
    emulator.script_operation("op1", ["InProgress", "InProgress", "Succeeded"], extra={"percentComplete": 10})
    async with AzureDataReplicationAsyncHook() as hook:
        statuses = [(await hook.get_operation_status(**OPERATION)) for _ in range(3)]
    assert [s.status for s in statuses] == ["InProgress", "InProgress", "Succeeded"]
    assert statuses[-1].succeeded
    assert statuses[-1].extra == {"percentComplete": 10}
    assert emulator.token_requests == 1
    assert len(emulator.requests_for("op1")) == 3


async def test_leaving_the_context_closes_session_and_credential(emulator):
    emulator.script_operation("op1", ["InProgress"])
    async with AzureDataReplicationAsyncHook() as hook:
        await hook.get_operation_status(**OPERATION)
        assert emulator.open_connections >= 1
    # Both the ARM session and the credential's own (token requests) are closed: no socket stays open.
    assert await connections_closed(emulator)


async def test_errors_are_typed_like_the_sync_hook(emulator):
    emulator.script_operation("op1", ["InProgress"])
    emulator.add_fault(Fault.forbidden())
    async with AzureDataReplicationAsyncHook() as hook:
        with pytest.raises(AzureDataReplicationAuthError, match="HTTP 403; AuthorizationFailed"):
            await hook.get_operation_status(**OPERATION)
        with pytest.raises(AzureDataReplicationNotFoundError, match="ResourceNotFound"):
            await hook.get_operation_status(**{**OPERATION, "operation_id": "unknown"})


async def test_transient_faults_are_retried_inside_the_call(emulator):
    emulator.script_operation("op1", ["Succeeded"])
    emulator.add_fault(Fault.server_error(502, body="html"))
    emulator.add_fault(Fault.throttle("1"))
    async with AzureDataReplicationAsyncHook() as hook:
        assert (await hook.get_operation_status(**OPERATION)).succeeded
    records = emulator.requests_for("op1")
    gaps = [b.at - a.at for a, b in itertools.pairwise(records)]
    assert len(gaps) == 2
    assert gaps[1] >= 1.0  # the Retry-After: 1 after the 429


async def test_slow_answer_hits_the_read_timeout(emulator):
    emulator.script_operation("op1", ["Succeeded"])
    emulator.add_fault(Fault.slow(2, times=-1))
    settings = RequestSettings(read_timeout=0.5, retries=1, backoff_factor=0.01)
    async with AzureDataReplicationAsyncHook(request_settings=settings) as hook:
        with pytest.raises(AzureDataReplicationTransientError, match="Could not reach Azure"):
            await hook.get_operation_status(**OPERATION)


async def test_validation_before_any_request(emulator):
    async with AzureDataReplicationAsyncHook() as hook:
        with pytest.raises(ValueError, match="job_name"):
            await hook.get_operation_status(**{**OPERATION, "job_name": "bad/name"})
    assert emulator.token_requests == 0
    assert not emulator.requests


async def test_no_secret_or_token_in_logs(emulator, caplog):
    caplog.set_level(logging.DEBUG)
    emulator.script_operation("op1", ["InProgress"])
    async with AzureDataReplicationAsyncHook() as hook:
        await hook.get_operation_status(**OPERATION)
    assert emulator.client_secret not in caplog.text
    for token in emulator.issued_tokens:
        assert token not in caplog.text


async def test_get_protected_item_awaited(emulator):
    from tests.e2e.dags.e2e_scenarios import ITEM

    emulator.add_protected_item(
        ITEM, protection_state="InitialReplicationInProgress", allowed_jobs=["DisableProtection"]
    )
    async with AzureDataReplicationAsyncHook() as hook:
        item = await hook.get_protected_item(protected_item_name=ITEM)
    assert item.name == ITEM and set(item.to_dict()) == set(emulator.protected_item(ITEM))
    assert item.allowed_jobs == ["DisableProtection"]


async def test_a_429_holds_every_reader_of_the_subscription_then_they_go_at_the_pace(emulator, monkeypatch):
    import asyncio
    import json
    import time

    conn = emulator.connection(vault_name="vault1")
    conn["extra"]["max_reads_per_second"] = 25
    monkeypatch.setenv("AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT", json.dumps(conn))
    for i in range(25):
        emulator.script_operation(f"op{i}", ["Succeeded"])
    emulator.add_fault(Fault.throttle("2", operation_id="op0"))
    no_retries = RequestSettings(retries=0)
    async with AzureDataReplicationAsyncHook(request_settings=no_retries) as checker:
        throttled_at = time.monotonic()
        with pytest.raises(AzureDataReplicationTransientError, match="HTTP 429"):
            await checker.get_operation_status(**{**OPERATION, "operation_id": "op0"})
        # 24 reads of the same subscription and provider, called now: none before the Retry-After.
        async with AzureDataReplicationAsyncHook() as hook:
            statuses = await asyncio.gather(
                *(hook.get_operation_status(**{**OPERATION, "operation_id": f"op{i}"}) for i in range(1, 25))
            )
        took = time.monotonic() - throttled_at
    assert all(status.succeeded for status in statuses)
    reads = sorted(r.at for r in emulator.requests if r.kind == "arm" and r.status == 200)
    assert len(reads) == 24
    assert reads[0] - throttled_at >= 2 - 0.05
    # Then at the pace the answers allow (the quota nearly whole: the ceiling), not one at a time.
    assert took < 10, took
    assert max(sum(1 for b in reads if a <= b < a + 1) for a in reads) <= 25
