"""Protected items through real Airflow (``dag.test()``): the sensor in every mode, each operator."""

from __future__ import annotations

import re

import pytest

from airflow_provider_datareplication.actions import create_item
from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook
from airflow_provider_datareplication.identifiers import ProtectedItem
from airflow_provider_datareplication.testing.emulator import Fault
from airflow_provider_datareplication.testing.protected_items import vault_guid
from tests.e2e.dags.e2e_scenarios import HYPERV_PROPERTIES, JOB_MODES, MODES, item_name
from tests.sdk_requests import SdkRequest, create_request, delete_request, planned_failover_request

pytestmark = pytest.mark.e2e

RG = "rgrecoveryservicesdatareplication"
HEALTH_ERRORS = [{"code": "DiskNotFound", "message": "Disk 1 is gone", "recommendation": "Check the disk"}]


def enable_replication(name: str) -> None:
    """Start replicating a server, as the create operator would (its initial replication then runs)."""
    with AzureDataReplicationHook() as hook:
        hook.start(hook.resolve(ProtectedItem, protected_item_name=name), create_item(HYPERV_PROPERTIES))


def writes(emulator, name: str):
    return [r for r in emulator.requests_for_item(name) if r.method != "GET"]


def names(emulator, name: str) -> dict[str, str]:
    return {
        "subscription_id": emulator.subscription_id,
        "resource_group_name": RG,
        "vault_name": "vault1",
        "protected_item_name": name,
    }


def test_the_item_sensor_waits_for_each_until_in_every_mode(emulator, run_dag):
    emulator.item_durations(
        enable_protection=0.3, initial_replication=1.0, planned_failover=0.5, disable_protection=0.3
    )
    for mode in JOB_MODES:
        enable_replication(item_name(f"ready-{mode}"))
        emulator.add_protected_item(item_name(f"migrated-{mode}"))
        emulator.add_protected_item(item_name(f"removed-{mode}"), protection_state="PlannedFailoverCompleted")
        emulator.add_protected_item(
            item_name(f"failed-{mode}"),
            protection_state="InitialReplicationFailed",
            properties={"healthErrors": HEALTH_ERRORS},
        )

    result = run_dag("e2e_item_sensors")

    for mode in JOB_MODES:
        expected = {"ready": "success", "failover": "success", "migrated": "success", "remove": "success"}
        expected.update(removed="success", failed="failed")
        assert {f"{name}_{mode}": result.states[f"{name}_{mode}"] for name in expected} == {
            f"{name}_{mode}": state for name, state in expected.items()
        }
        ready = result.xcom[f"ready_{mode}"]["properties"]
        assert ready["protectionState"] == "Protected" and "PlannedFailover" in ready["allowedJobs"]
        migrated = result.xcom[f"migrated_{mode}"]["properties"]
        assert migrated["protectionState"] == "PlannedFailoverCompleted"
        assert migrated["customProperties"]["activeLocation"] == "Recovery"
        assert result.xcom[f"removed_{mode}"] == {}
        assert f"protected item {item_name(f'failed-{mode}')!r} in vault 'vault1'" in result.output
    assert "ended InitialReplicationFailed" in result.output
    assert "DiskNotFound: Disk 1 is gone (recommendation: Check the disk)" in result.output


def test_each_operator_waits_in_the_worker_and_deferred_refuses_what_the_item_does_not_allow(
    emulator, run_dag
):
    emulator.item_durations(enable_protection=0.3, planned_failover=0.5, disable_protection=0.3)
    for mode in MODES:
        emulator.add_protected_item(item_name(f"failover-{mode}"), instance_type="VMwareToAzStackHCI")
        emulator.add_protected_item(item_name(f"delete-{mode}"), protection_state="PlannedFailoverCompleted")
    emulator.add_protected_item(
        item_name("create-refused"), protection_state="EnablingFailed", properties=HYPERV_PROPERTIES
    )
    emulator.add_protected_item(
        item_name("failover-refused"),
        protection_state="InitialReplicationInProgress",
        properties={"protectionStateDescription": "Initial replication is 40% done"},
    )
    emulator.add_protected_item(item_name("delete-refused"), protection_state="PlannedFailoverInitiated")
    lost = item_name("failover-answer-lost")
    emulator.add_protected_item(lost)
    emulator.add_fault(Fault.drop(method="POST", protected_item=lost, applied=True))

    result = run_dag("e2e_item_operators")

    for mode in MODES:
        for task in ("create", "failover", "delete"):
            assert result.states[f"{task}_{mode}"] == "success", (task, mode)
            assert result.xcom[f"{task}_{mode}"]["properties"]["state"] == "Succeeded"
        (put,) = writes(emulator, item_name(f"create-{mode}"))
        assert SdkRequest.of(put) == create_request(
            **names(emulator, item_name(f"create-{mode}")), properties=HYPERV_PROPERTIES
        )
        (post,) = writes(emulator, item_name(f"failover-{mode}"))
        assert SdkRequest.of(post) == planned_failover_request(
            **names(emulator, item_name(f"failover-{mode}")),
            instance_type="VMwareToAzStackHCI",
            shutdown_source_vm=False,
        )
        (removal,) = writes(emulator, item_name(f"delete-{mode}"))
        assert SdkRequest.of(removal) == delete_request(
            **names(emulator, item_name(f"delete-{mode}")), force_delete=True
        )
        assert emulator.protected_item(item_name(f"delete-{mode}")) is None
    assert result.states["create_no_wait"] == "success"
    assert result.xcom["create_no_wait"]["properties"]["state"] in ("Pending", "Started")
    for task in ("create_refused", "failover_refused", "delete_refused"):
        assert result.states[task] == "failed", task
        assert writes(emulator, item_name(task.replace("_", "-"))) == []
    refusals = "\n".join(
        line
        for line in result.output.splitlines()
        if "AzureDataReplicationActionRefusedError: Not sent" in line
    )
    for pattern in (
        r"is EnablingFailed \(.*\); allowed jobs: DisableProtection; delete it first",
        r"is InitialReplicationInProgress \(Initial replication is 40% done\); "
        r"allowed jobs: DisableProtection; "
        r"a planned failover needs PlannedFailover \(or Restart\) among its allowed jobs",
        r"is PlannedFailoverInitiated( \(.*\))?; allowed jobs: none; a removal needs DisableProtection",
    ):
        assert re.search(pattern, refusals), pattern
    # The lost answer: the item showed the failover under way, so the call was not sent again.
    assert result.states["failover_answer_lost"] == "success"
    assert len(writes(emulator, lost)) == 1 and len(emulator.jobs_of(lost)) == 1


@pytest.mark.parametrize(
    ("action", "seeded", "under_way"),
    [
        ("create", None, "its enable replication is under way"),
        ("failover", "Protected", "its planned failover is under way"),
        ("delete", "PlannedFailoverCompleted", "its removal is under way"),
    ],
)
def test_a_retry_waits_on_the_work_its_first_try_started(emulator, run_dag, action, seeded, under_way):
    name = item_name(f"retry-{action}")
    emulator.item_durations(enable_protection=1.5, planned_failover=1.5, disable_protection=1.5)
    if seeded:
        emulator.add_protected_item(name, protection_state=seeded)
    # The first try reads the item, sends its call, then its read of the job is refused: it fails.
    emulator.add_fault(Fault.forbidden(method="GET", protected_item=name, after=1))

    result = run_dag(f"e2e_item_retry_{action}")

    # The downstream sensor waits on the operation the call returned: the retry pushed it too.
    assert result.states == {action: "success", "wait_on_operation": "success"}
    assert "HTTP 403; AuthorizationFailed" in result.output  # the first try's failure
    assert under_way in result.output  # the retry found the work under way
    assert result.xcom[action]["properties"]["state"] == "Succeeded"
    assert len(writes(emulator, name)) == 1  # the work was started once, not twice
    job = result.xcom[action]["name"]
    assert result.xcoms[action]["job_name"] == job
    vault = (
        f"/subscriptions/{emulator.subscription_id}/resourceGroups/{RG}/providers/Microsoft.DataReplication"
    )
    operation = f"/operationResults/{job}_{vault_guid(vault + '/replicationVaults/vault1')}"
    assert result.xcoms[action]["operation_url"].split("?")[0].endswith(operation)
    assert result.xcom["wait_on_operation"]["status"] == "Succeeded"
