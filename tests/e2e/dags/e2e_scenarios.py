"""What the end-to-end DAGs run: shared by the DAG file (parsed by Airflow) and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MODES = ("poke", "deferrable")
POLL = 0.3
PROGRESS = ["InProgress", "InProgress", "Succeeded"]
SHORT_TIMEOUT_CONN = "e2e_short_timeout"
PLAIN_HTTP_CONN = "e2e_plain_http"


@dataclass(frozen=True)
class StatusCase:
    """One task of the status suite: its script, its arguments, and what Airflow must end with."""

    name: str
    statuses: list[Any]
    state: str
    xcom_status: str | None
    kwargs: dict[str, Any] = field(default_factory=dict)
    operator: bool = False


SENSOR_CASES = [
    StatusCase("succeeded", PROGRESS, "success", "Succeeded"),
    StatusCase("lower_case", ["InProgress", "succeeded"], "success", "succeeded"),
    StatusCase(
        "failed",
        [
            "InProgress",
            {"status": "Failed", "error": {"code": "ReplicationFailed", "message": "Disk offline"}},
        ],
        "failed",
        None,
    ),
    StatusCase("canceled", ["InProgress", "Canceled"], "failed", None),
    StatusCase("cancelled", ["InProgress", "Cancelled"], "failed", None),
    StatusCase("failed_to_xcom", ["Failed"], "success", "Failed", {"raise_on_failure": False}),
    StatusCase("unknown_until_timeout", ["Paused"], "failed", None, {"timeout": 2}),
    StatusCase("unknown_soft_fail", ["Paused"], "skipped", None, {"timeout": 2, "soft_fail": True}),
]

OPERATOR_CASES = [
    StatusCase("report", PROGRESS, "success", "InProgress", operator=True),
    StatusCase("report_failed", ["Failed"], "success", "Failed", operator=True),
    StatusCase("report_wait", PROGRESS, "success", "Succeeded", {"wait_for_completion": True}, operator=True),
    StatusCase(
        "report_wait_deferrable",
        PROGRESS,
        "success",
        "Succeeded",
        {"wait_for_completion": True, "deferrable": True},
        operator=True,
    ),
]

#: ARM faults injected into a waiting sensor: name -> (transient?, connection).
ARM_FAULTS: dict[str, tuple[bool, str]] = {
    "429 Retry-After seconds": (True, "azure_data_replication_default"),
    "429 Retry-After HTTP-date": (True, "azure_data_replication_default"),
    "429 retry-after-ms": (True, "azure_data_replication_default"),
    "429 x-ms-retry-after-ms": (True, "azure_data_replication_default"),
    "500 JSON error": (True, "azure_data_replication_default"),
    "502 HTML from a gateway": (True, "azure_data_replication_default"),
    "503 bare {code,message}": (True, "azure_data_replication_default"),
    "504 empty body": (True, "azure_data_replication_default"),
    "503 six times in a row": (True, "azure_data_replication_default"),
    "200 malformed JSON": (True, "azure_data_replication_default"),
    "slow answer past the timeout": (True, SHORT_TIMEOUT_CONN),
    "dropped connection": (True, "azure_data_replication_default"),
    "401 ExpiredAuthenticationToken": (False, "azure_data_replication_default"),
    "403 AuthorizationFailed": (False, "azure_data_replication_default"),
    "404 ResourceNotFound": (False, "azure_data_replication_default"),
    "400 InvalidParameter": (False, "azure_data_replication_default"),
}

#: Token endpoint faults: name -> transient?
TOKEN_FAULTS: dict[str, bool] = {"token endpoint 500": True, "token endpoint invalid_client": False}


def slug(text: str) -> str:
    """A task id / operation id from a fault name."""
    return "".join(ch if ch.isalnum() else "_" for ch in text).strip("_").lower()


def operation_id(name: str, mode: str) -> str:
    return f"{slug(name)}-{mode}"
