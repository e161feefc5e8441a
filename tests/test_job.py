from __future__ import annotations

import pytest

from airflow_provider_datareplication.job import Job


def job(state, **properties):
    return Job.from_dict({"id": "/x/jobs/j1", "name": "j1", "properties": {"state": state, **properties}})


@pytest.mark.parametrize(
    ("state", "terminal", "succeeded"),
    [
        ("Pending", False, False),
        ("Started", False, False),
        ("Cancelling", False, False),
        ("Succeeded", True, True),
        ("CompletedWithInformation", True, True),
        ("CompletedWithWarnings", True, True),
        ("Failed", True, False),
        ("Cancelled", True, False),
        ("CompletedWithErrors", True, False),
        ("completedwitherrors", True, False),  # ARM compares states case-insensitively
        ("SUCCEEDED", True, True),
        ("Paused", False, False),  # a state this provider does not know: still running
        (None, False, False),
    ],
)
def test_every_job_state_is_judged(state, terminal, succeeded):
    assert (job(state).is_terminal, job(state).succeeded) == (terminal, succeeded)


def test_a_job_without_properties_is_running():
    assert not Job.from_dict({"id": "x"}).is_terminal


def test_the_body_is_kept_exactly_as_sent():
    body = {
        "id": "x",
        "name": "j1",
        "properties": {"state": "Started", "custom": [1, {"a": None}]},
        "other": 1,
    }
    assert Job.from_dict(body).to_dict() == body


def test_a_failure_names_the_job_its_errors_and_failed_tasks():
    failed = job(
        "CompletedWithErrors",
        displayName="Planned failover",
        objectName="vm-web-01",
        errors=[
            {"code": "DiskError", "message": "Disk 2 is offline", "recommendation": "Bring it online"},
            {"code": "NetError", "message": "No route"},
        ],
        tasks=[
            {"taskName": "Prerequisites check", "state": "Succeeded"},
            {"taskName": "Fail over", "state": "Failed"},
            {"taskName": "Clean up", "state": "Cancelled"},
        ],
    )
    assert failed.failure_details() == (
        "display name 'Planned failover', object 'vm-web-01'; "
        "errors: DiskError: Disk 2 is offline (recommendation: Bring it online); NetError: No route; "
        "failed tasks: Fail over, Clean up"
    )


def test_warnings_are_notes_of_a_success_only():
    warned = job("CompletedWithWarnings", errors=[{"code": "W1", "message": "slow disk"}])
    assert warned.succeeded and warned.notes() == ["W1: slow disk"]
    assert job("CompletedWithWarnings").notes() == ["the job reports warnings but lists none"]
    assert job("Succeeded", errors=[{"code": "W1"}]).notes() == []
