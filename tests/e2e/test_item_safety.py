"""A migration step is never repeated or misreported (issue 21), through real Airflow (``dag.test()``)."""

from __future__ import annotations

import pytest

from airflow_provider_datareplication.actions import delete_item
from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook
from airflow_provider_datareplication.identifiers import ProtectedItem
from airflow_provider_datareplication.testing.emulator import Fault
from tests.e2e.dags.e2e_scenarios import HYPERV_PROPERTIES, item_name

pytestmark = pytest.mark.e2e

CAUSES = [
    {
        "code": "VmStartFailed",
        "message": "The virtual machine could not be started.",
        "causes": "The target cluster has not enough memory.",
        "recommendation": "Free memory on the target cluster.",
    }
]


def requests(emulator, case: str, *, writes_only: bool = False):
    found = emulator.requests_for_item(item_name(case))
    return [r for r in found if r.method != "GET"] if writes_only else found


def seed(emulator) -> None:
    """Every item the DAG's tasks act on, as each finding needs it."""
    emulator.item_durations(planned_failover=0.3, disable_protection=120)
    add = emulator.add_protected_item
    add(item_name("failed-earlier"))
    emulator.fail_planned_failover(item_name("failed-earlier"), CAUSES, seconds=0.2)
    # The first try's read of the job it started is refused: that try fails after its call was taken.
    emulator.add_fault(Fault.forbidden(method="GET", protected_item=item_name("failed-earlier"), after=1))
    add(item_name("lost-then-failed"))
    emulator.fail_planned_failover(item_name("lost-then-failed"), CAUSES, seconds=0)
    emulator.add_fault(Fault.drop(method="POST", protected_item=item_name("lost-then-failed"), applied=True))
    add(item_name("rendered-false"))
    add(item_name("failing-over"), protection_state="PlannedFailoverInitiated")
    add(item_name("bad-boolean"))
    add(item_name("rendered-interval"))
    other_cluster = {**HYPERV_PROPERTIES["customProperties"], "targetHciClusterId": "/subscriptions/x/c2"}
    add(item_name("create-differs"), properties={**HYPERV_PROPERTIES, "customProperties": other_cluster})
    add(item_name("being-removed"), properties=HYPERV_PROPERTIES)
    with AzureDataReplicationHook() as hook:  # its removal runs (two minutes here, about five in Azure)
        item = hook.resolve(ProtectedItem, protected_item_name=item_name("being-removed"))
        hook.start(item, delete_item(force_delete=False))
    add(
        item_name("create-migrated"),
        protection_state="PlannedFailoverCompleted",
        properties=HYPERV_PROPERTIES,
    )
    add(item_name("typo"), protection_state="PlannedFailoverCompleted")
    add(item_name("after-cutover"), protection_state="PlannedFailoverCompleted")
    add(item_name("commit-failed"), protection_state="CommitFailoverFailedOnPrimary")
    add(
        item_name("disabling-failed"),
        protection_state="DisablingFailed",
        properties={"healthErrors": [{"code": "DisableFailed", "message": "The appliance is offline"}]},
    )
    add(item_name("raced"))
    # Another task's failover is taken just before this one's: the service answers this one 409.
    emulator.add_fault(
        Fault.arm_error(
            409,
            "OperationNotAllowed",
            "Another operation is in progress on the protected item.",
            method="POST",
            protected_item=item_name("raced"),
            applied=True,
        )
    )
    add(item_name("sensor-failover-fails"))
    emulator.fail_planned_failover(item_name("sensor-failover-fails"), CAUSES)


def test_each_step_is_never_repeated_or_misreported(emulator, run_dag):
    seed(emulator)

    result = run_dag("e2e_item_safety")

    states, output = result.states, result.output
    # 1. A failover of this attempt that failed is the task's outcome, on a retry or after a lost
    # answer: its errors are named, and no second failover is sent (the item allows a Restart).
    for task, case in (
        ("failover_failed_earlier", "failed-earlier"),
        ("failover_lost_then_failed", "lost-then-failed"),
    ):
        assert states[task] == "failed", task
        assert [r.method for r in requests(emulator, case, writes_only=True)] == ["POST"], task
    assert "HTTP 403; AuthorizationFailed" in output  # the first try's failure
    assert (
        "VmStartFailed: The virtual machine could not be started. (causes: The target cluster has not"
        in output
    )
    # 2. Booleans rendered from params mean what they say; anything else is refused before sending.
    assert states["failover_rendered_false"] == "success"
    (post,) = requests(emulator, "rendered-false", writes_only=True)
    assert post.body["properties"]["customProperties"]["shutdownSourceVM"] is False
    assert states["delete_rendered_false"] == "failed"  # not forced: the running failover goes on
    assert requests(emulator, "failing-over", writes_only=True) == []
    assert states["failover_bad_boolean"] == "failed"
    assert (
        "shutdown_source_vm must be true or false (a bool, or the text 'true' or 'false'), got 'no'" in output
    )
    assert requests(emulator, "bad-boolean") == []
    # 7. A rendered interval longer than the timeout is refused before the first request.
    assert states["failover_rendered_interval"] == "failed"
    assert "check_interval (120 s) must be at most timeout (60 s)" in output
    assert requests(emulator, "rendered-interval") == []
    # 3. Create compares the item's fields with the task's.
    assert states["create_differs"] == "failed"
    assert "customProperties.targetHciClusterId is '/subscriptions/x/c2' on the item" in output
    assert requests(emulator, "create-differs", writes_only=True) == []
    # 4. Create never takes a removal (or a failover) as its own work.
    assert states["create_being_removed"] == "failed"
    assert "is DisablingProtection" in output and "it is being removed: create it again" in output
    assert [r.method for r in requests(emulator, "being-removed", writes_only=True)] == ["DELETE"]
    assert states["create_migrated"] == "success"
    assert result.xcoms["create_migrated"]["job_name"] is None
    assert "failed over already (PlannedFailoverCompleted): not created again" in output
    # 5. A 404 is "gone" only in a vault that exists.
    assert states["delete_typo_vault"] == "failed" and states["removed_typo_group"] == "failed"
    assert "vault 'vault-typo' (resource group 'rgrecoveryservicesdatareplication') was not found" in output
    assert "its resource group was not found" in output and "ResourceGroupNotFound" in output
    # 6. Sensors stop at once when their goal is out of reach, or the item failed: one read each.
    for task, case in (
        ("ready_after_cutover", "after-cutover"),
        ("migrated_commit_failed", "commit-failed"),
        ("removed_disabling_failed", "disabling-failed"),
    ):
        assert states[task] == "failed", task
        assert len(requests(emulator, case)) <= 2, task  # the first check (and, deferred, the trigger's)
    assert "it can no longer be ready to migrate (it is failed over)" in output
    assert "ended CommitFailoverFailedOnPrimary" in output
    assert "ended DisablingFailed" in output and "DisableFailed: The appliance is offline" in output
    # 9. Two failovers at once: the one answered 409 waits on the other's.
    assert states["failover_raced"] == "success"
    assert len(emulator.jobs_of(item_name("raced"))) == 1
    # 11. The failed failover's sensor names the job's errors, with their causes.
    assert states["migrated_failover_failed"] == "failed"
    assert "the job's display name 'Planned failover'" in output
    assert "VmStartFailed: The virtual machine could not be started. (causes: " in output
