"""Enabling replication from discovered machines, an update and the vault's table, through ``dag.test()``."""

from __future__ import annotations

import json
import math

import pytest

from airflow_provider_datareplication.testing.local_migration import (
    PROJECT_VAULT,
    recorded_vmware_put,
    seed_local_migration,
)

pytestmark = pytest.mark.e2e


def test_machines_are_replicated_changed_and_listed_as_the_cmdlets_do(emulator, run_dag, monkeypatch):
    from tests.operators.test_create_from_machine import fast_connection

    monkeypatch.setenv("AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT", json.dumps(fast_connection(emulator)))
    emulator.item_durations(enable_protection=0.3, initial_replication=60, update_protected_item=0.3)
    default_row, power_row = seed_local_migration(emulator, machines=2)
    default_name, power_name = (row["machine_id"].rsplit("/", 1)[-1] for row in (default_row, power_row))

    result = run_dag("e2e_local_migration")

    assert result.states == dict.fromkeys(
        ("create_default", "create_power_user", "update", "table"), "success"
    )
    puts = {r.protected_item: r.body for r in emulator.requests if r.method == "PUT"}
    # The default mapping: the recorded cmdlet's body (its disks sized as the cmdlet's source sizes them).
    expected = recorded_vmware_put(emulator)
    for disk, size in zip(
        expected["customProperties"]["disksToInclude"], (42949672960, 17179869184, 10737418240), strict=True
    ):
        disk["diskSizeGB"] = math.ceil(size / 2**30)
    assert puts[default_name]["properties"] == expected
    # The power user's: the disks and NICs given, the machine's other disks left out.
    custom = puts[power_name]["properties"]["customProperties"]
    assert [d["diskId"] for d in custom["disksToInclude"]] == [power_row["os_disk_id"]]
    assert custom["nicsToInclude"][0]["testNetworkId"] == power_row["target_virtual_switch_id"]
    assert custom["targetVmName"] == "hciVm2" and custom["isDynamicRam"] is False
    (patch,) = [r for r in emulator.requests if r.method == "PATCH"]
    assert patch.protected_item == default_name
    assert patch.body == {
        "properties": {
            "customProperties": {
                "instanceType": "VMwareToAzStackHCI",
                "targetCpuCores": 2,
                "targetMemoryInMegaBytes": 8192,
            }
        }
    }
    assert result.xcom["update"]["properties"]["displayName"] == "Update protected item"
    assert result.xcom["update"]["properties"]["state"] == "Succeeded"
    rows = {row["protected_item_name"]: row for row in result.xcom["table"]}
    assert set(rows) == {default_name, power_name}
    assert {row["protection_state"] for row in rows.values()} == {"InitialReplicationInProgress"}
    assert f"2 protected item(s) in vault '{PROJECT_VAULT}'" in result.output
