"""A protected item's states, as data: where a wait ends well, where it fails, where it can no longer end."""

from __future__ import annotations

import pytest

from airflow_provider_datareplication.protected_item import (
    PROTECTION_STATES,
    ProtectedItemStatus,
    ProtectedItemWait,
    job_is_on_item,
    job_started,
)
from airflow_provider_datareplication.resource import describe_errors

VAULT_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataReplication/replicationVaults/v"
ITEM_ID = f"{VAULT_ID}/protectedItems/pi1"


def wait(state: str | None, until: str, **properties) -> ProtectedItemWait:
    body = {} if state is None else {"name": "pi1", "properties": {"protectionState": state, **properties}}
    return ProtectedItemWait(ProtectedItemStatus(body), until)


def test_every_protection_state_of_the_stable_api_is_placed():
    from azure.mgmt.recoveryservicesdatareplication.models import ProtectionState

    assert set(PROTECTION_STATES) == {state.value for state in ProtectionState}


@pytest.mark.parametrize(
    ("state", "until", "outcome"),
    [
        ("InitialReplicationInProgress", "ready_to_migrate", "waiting"),
        ("Protected", "ready_to_migrate", "succeeded"),
        # Past a cut-over, or being removed, or gone: it can never be ready to migrate again.
        ("PlannedFailoverInitiated", "ready_to_migrate", "out of reach"),
        ("PlannedFailoverCompleted", "ready_to_migrate", "out of reach"),
        ("CommitFailoverCompleted", "ready_to_migrate", "out of reach"),
        ("DisablingProtection", "ready_to_migrate", "out of reach"),
        (None, "ready_to_migrate", "out of reach"),
        ("InitialReplicationFailed", "ready_to_migrate", "failed"),
        ("Protected", "migrated", "waiting"),
        ("PlannedFailoverInitiated", "migrated", "waiting"),
        ("CancelFailoverInProgressOnPrimary", "migrated", "waiting"),
        ("PlannedFailoverCompleted", "migrated", "succeeded"),
        ("CommitFailoverCompleted", "migrated", "succeeded"),
        # Every failed state of the API fails the wait, not only those ending in "Failed".
        ("CommitFailoverFailedOnPrimary", "migrated", "failed"),
        ("CommitFailoverFailedOnRecovery", "migrated", "failed"),
        ("CancelFailoverFailedOnPrimary", "migrated", "failed"),
        ("CancelFailoverFailedOnRecovery", "migrated", "failed"),
        ("PlannedFailoverCompletionFailed", "migrated", "failed"),
        ("MarkedForDeletion", "migrated", "out of reach"),
        (None, "migrated", "out of reach"),
        ("PlannedFailoverCompleted", "removed", "waiting"),
        ("InitialReplicationFailed", "removed", "waiting"),  # an item is removed from any state
        ("DisablingFailed", "removed", "failed"),
        (None, "removed", "succeeded"),
        # A state this provider does not know: failed by its name, else still under way.
        ("SomeNewStateFailed", "ready_to_migrate", "failed"),
        ("SomeNewState", "migrated", "waiting"),
    ],
)
def test_each_until_ends_where_its_rule_says(state, until, outcome):
    allowed = ["PlannedFailover", "DisableProtection"] if state == "Protected" else ["DisableProtection"]
    judged = wait(state, until, allowedJobs=allowed)
    seen = (
        "succeeded"
        if judged.succeeded
        else "failed"
        if judged.failed
        else "out of reach"
        if judged.out_of_reach
        else "waiting"
    )
    assert seen == outcome
    assert judged.is_terminal == (outcome != "waiting")


def test_a_goal_out_of_reach_is_named_with_where_the_item_stands():
    details = wait("PlannedFailoverCompleted", "ready_to_migrate").failure_details()
    assert details.startswith("it can no longer be ready to migrate (it is failed over)")
    assert wait(None, "migrated").failure_details() == "it can no longer be migrated (it is gone)"


def test_a_failed_removal_is_named_with_the_item_s_health_errors():
    failed = wait(
        "DisablingFailed",
        "removed",
        healthErrors=[
            {"code": "DisableFailed", "message": "The appliance is offline", "causes": "No heartbeat"}
        ],
    )
    assert failed.is_terminal and not failed.succeeded
    assert "DisableFailed: The appliance is offline (causes: No heartbeat)" in failed.failure_details()


def test_errors_are_described_with_their_causes_recommendations_and_child_errors():
    errors = [
        {
            "code": "1001012",
            "message": "Cannot update",
            "causes": "The protected item is in a state which doesn't support update.",
            "recommendation": "Resolve the issue and retry the operation.",
            "childErrors": [{"code": "DiskBusy", "message": "Disk 0 is locked", "childErrors": []}],
        }
    ]
    assert describe_errors(errors) == [
        "1001012: Cannot update (causes: The protected item is in a state which doesn't support update.) "
        "(recommendation: Resolve the issue and retry the operation.) "
        "(child errors: DiskBusy: Disk 0 is locked)"
    ]


def test_a_job_s_start_is_read_as_the_service_writes_it():
    started = job_started({"startTime": "2025-02-19T21:56:25.0553463Z"})
    assert started is not None and started.isoformat() == "2025-02-19T21:56:25.055346+00:00"
    assert job_started({"startTime": None}) is None and job_started({"startTime": "soon"}) is None


def test_a_job_acts_on_its_item_by_its_object_id_as_the_service_lists_them():
    assert job_is_on_item({"objectId": f"{ITEM_ID}/plannedFailover"}, ITEM_ID, "pi1")  # a failover's
    assert job_is_on_item({"objectId": ITEM_ID.upper()}, ITEM_ID, "pi1")  # ARM ids: any case
    assert not job_is_on_item({"objectId": f"{ITEM_ID}2"}, ITEM_ID, "pi1")  # another item
    assert job_is_on_item({"objectId": None, "objectName": "PI1"}, ITEM_ID, "pi1")  # by its name alone
