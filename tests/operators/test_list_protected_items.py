"""A vault's protected items as one table: the hooks' paged list, the list operator's rows and log."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_datareplication.exceptions import AzureDataReplicationNotFoundError
from airflow_provider_datareplication.hooks.data_replication import (
    AzureDataReplicationAsyncHook,
    AzureDataReplicationHook,
)
from airflow_provider_datareplication.operators.data_replication import (
    AzureDataReplicationListProtectedItemsOperator,
)
from tests.helpers import TaskInstance

RG = "rgrecoveryservicesdatareplication"
ITEMS_PATH = (
    "/subscriptions/{sub}/resourceGroups/" + RG + "/providers/Microsoft.DataReplication/"
    "replicationVaults/vault1/protectedItems"
)
HEALTH_ERRORS = [
    {"code": "DiskNotFound", "message": "Disk 1 is gone", "recommendation": "Check the disk"},
    {"code": "Second", "message": "not shown"},
]


def seed_wave(emulator) -> list[str]:
    """Five servers in the states a wave goes through (the emulator pages its lists by two)."""
    emulator.add_protected_item(
        "srv-1",
        protection_state="InitialReplicationInProgress",
        properties={
            "customProperties": {"sourceVmName": "vm-web-01", "initialReplicationProgressPercentage": 40}
        },
    )
    emulator.add_protected_item("srv-2", protection_state="Protected")
    emulator.add_protected_item(
        "srv-3",
        protection_state="InitialReplicationFailed",
        properties={"healthErrors": HEALTH_ERRORS},
    )
    emulator.add_protected_item(
        "srv-4", protection_state="PlannedFailoverCompleted", instance_type="VMwareToAzStackHCI"
    )
    emulator.add_protected_item("srv-5", protection_state="Protected")
    return ["srv-1", "srv-2", "srv-3", "srv-4", "srv-5"]


def list_reads(emulator) -> int:
    path = ITEMS_PATH.format(sub=emulator.subscription_id)
    return sum(1 for r in emulator.requests if r.kind == "arm" and r.method == "GET" and r.path == path)


def test_the_sync_hook_reads_every_page_of_the_vault_s_list(emulator):
    names = seed_wave(emulator)
    with AzureDataReplicationHook() as hook:
        items = hook.list_protected_items(vault_name="vault1")
    assert sorted(item.name for item in items) == names
    assert list_reads(emulator) == 3  # five items, two a page: the list's pages, no read per item
    assert {item.name: item.protection_state for item in items}["srv-3"] == "InitialReplicationFailed"


async def test_the_async_hook_reads_every_page_as_the_sync_one(emulator):
    names = seed_wave(emulator)
    async with AzureDataReplicationAsyncHook() as hook:
        items = await hook.list_protected_items(vault_name="vault1", api_version="2026-05-01")
    assert sorted(item.name for item in items) == names
    assert list_reads(emulator) == 3


def test_a_missing_vault_is_not_found_and_a_bad_name_is_refused_before_sending(emulator):
    with AzureDataReplicationHook() as hook:
        with pytest.raises(AzureDataReplicationNotFoundError, match="protected items of vault 'nope'"):
            hook.list_protected_items(vault_name="nope")
        with pytest.raises(ValueError, match="vault_name must be"):
            hook.list_protected_items(vault_name="bad/name")


def test_the_operator_pushes_one_row_per_server_and_logs_a_table(emulator, caplog, capfd):
    names = seed_wave(emulator)
    ti = TaskInstance()
    caplog.set_level(logging.INFO)
    capfd.readouterr()
    task = AzureDataReplicationListProtectedItemsOperator(task_id="wave", vault_name="vault1")
    rows = task.execute({"ti": ti})
    by_name = {row["protected_item_name"]: row for row in rows}
    assert sorted(by_name) == names
    assert by_name["srv-1"]["source_vm_name"] == "vm-web-01"
    assert by_name["srv-1"]["protection_state"] == "InitialReplicationInProgress"
    assert by_name["srv-1"]["replication_progress_percentage"] == 40
    assert by_name["srv-2"]["allowed_jobs"] == ["PlannedFailover", "DisableProtection"]
    assert by_name["srv-2"]["replication_progress_percentage"] == 100
    failed = by_name["srv-3"]
    assert failed["replication_health"] == "Critical"
    assert failed["first_health_error"] == "DiskNotFound: Disk 1 is gone (recommendation: Check the disk)"
    assert by_name["srv-4"]["allowed_jobs"] == ["CommitFailover", "DisableProtection"]
    assert list_reads(emulator) == 3
    logged = caplog.text + "".join(capfd.readouterr())
    assert (
        "5 protected item(s) in vault 'vault1' (resource group 'rgrecoveryservicesdatareplication'):"
        in logged
    )
    lines = logged[logged.index("\nitem ") + 1 :].splitlines()[:7]
    assert lines[0].split()[:4] == ["item", "source", "VM", "protectionState"]
    assert set(lines[1]) == {"-", " "}
    assert [line.split()[0] for line in lines[2:]] == names  # a line per server, in the list's order
    assert any(line.startswith("srv-3") and "DiskNotFound" in line and "Critical" in line for line in lines)
    assert ti.xcom["azure_portal_link"].endswith(
        f"/resource/subscriptions/{emulator.subscription_id}/resourceGroups/{RG}"
        "/providers/Microsoft.DataReplication/replicationVaults/vault1"
    )


def test_a_job_under_way_is_the_row_s_job(emulator):
    from airflow_provider_datareplication.actions import create_item
    from airflow_provider_datareplication.identifiers import ProtectedItem
    from tests.e2e.dags.e2e_scenarios import HYPERV_PROPERTIES

    emulator.item_durations(enable_protection=30)
    with AzureDataReplicationHook() as hook:
        hook.start(hook.resolve(ProtectedItem, protected_item_name="srv-new"), create_item(HYPERV_PROPERTIES))
    (row,) = AzureDataReplicationListProtectedItemsOperator(task_id="wave").execute({"ti": TaskInstance()})
    assert row["protection_state"] == "EnablingProtection"
    assert row["job"] == "Create or update protected item" and row["job_state"] in ("Started", "Pending")
    assert row["job_name"]
