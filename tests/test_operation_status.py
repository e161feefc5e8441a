from __future__ import annotations

import pytest

from airflow_provider_datareplication.operation_status import OperationStatus

SPEC_EXAMPLE = {
    "id": "sf",
    "name": "wzdasptnwlxgobklayoqapjcgcf",
    "status": "plbnngzfppdram",
    "startTime": "xuzwmfrhluafmwwsmzqxsytyehsh",
    "endTime": "nauyrfh",
}


def test_spec_example_round_trips_with_times_kept_as_sent():
    status = OperationStatus.from_dict(SPEC_EXAMPLE)
    assert (status.id, status.name, status.status) == ("sf", "wzdasptnwlxgobklayoqapjcgcf", "plbnngzfppdram")
    assert status.start_time == "xuzwmfrhluafmwwsmzqxsytyehsh"
    assert status.end_time == "nauyrfh"
    assert status.to_dict() == SPEC_EXAMPLE
    assert not status.is_terminal


@pytest.mark.parametrize(
    ("wire", "terminal"),
    [
        ("Succeeded", "succeeded"),
        ("succeeded", "succeeded"),
        ("SUCCEEDED", "succeeded"),
        ("Failed", "failed"),
        ("failed", "failed"),
        ("Canceled", "canceled"),
        ("canceled", "canceled"),
        ("Cancelled", "canceled"),
        ("CANCELLED", "canceled"),
        ("InProgress", None),
        ("Running", None),
        ("NotStarted", None),
        ("Succeeding", None),
        ("", None),
        (None, None),
    ],
)
def test_terminal_statuses_any_case_and_cancelled_spelling(wire, terminal):
    status = OperationStatus.from_dict({"status": wire})
    assert status.terminal_status == terminal
    assert status.is_terminal is (terminal is not None)
    assert status.succeeded is (terminal == "succeeded")


def test_missing_status_means_running():
    assert not OperationStatus.from_dict({}).is_terminal


def test_extra_fields_are_kept_for_xcom():
    body = {
        "id": "x",
        "status": "Failed",
        "error": {"code": "ProtectionFailed", "message": "Disk not found"},
        "percentComplete": 40,
        "properties": {"a": [1, 2]},
    }
    status = OperationStatus.from_dict(body)
    assert status.extra == {
        "error": {"code": "ProtectionFailed", "message": "Disk not found"},
        "percentComplete": 40,
        "properties": {"a": [1, 2]},
    }
    assert status.error_code == "ProtectionFailed"
    assert status.error_message == "Disk not found"
    assert status.to_dict() == {"name": None, "startTime": None, "endTime": None, **body}


def test_no_error_object_means_no_error_code():
    status = OperationStatus.from_dict({"status": "Failed", "error": "text"})
    assert status.error_code is None
    assert status.error_message is None
