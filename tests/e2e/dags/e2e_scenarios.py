"""What the end-to-end DAGs run: shared by the DAG file (parsed by Airflow) and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MODES = ("poke", "deferrable")
#: The job sensor's modes: the worker's two and the triggerer.
JOB_MODES = ("poke", "reschedule", "deferrable")
POLL = 0.3
PROGRESS = ["InProgress", "InProgress", "Succeeded"]
SHORT_TIMEOUT_CONN = "e2e_short_timeout"
PLAIN_HTTP_CONN = "e2e_plain_http"
#: A connection with the ``http_logging`` extra on.
HTTP_LOGGING_CONN = "e2e_http_logging"


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
    "401 ExpiredAuthenticationToken once": (True, "azure_data_replication_default"),
    "401 token revoked": (True, "azure_data_replication_default"),
    "401 twice in a row": (False, "azure_data_replication_default"),
    "403 AuthorizationFailed": (False, "azure_data_replication_default"),
    "404 ResourceNotFound": (False, "azure_data_replication_default"),
    "400 InvalidParameter": (False, "azure_data_replication_default"),
}

#: Token endpoint faults: name -> transient?
TOKEN_FAULTS: dict[str, bool] = {"token endpoint 500": True, "token endpoint invalid_client": False}

MANAGED_IDENTITY_CONN = "e2e_managed_identity"
#: Managed identity endpoint (IMDS) faults, signing in as a managed identity: name -> transient?
IDENTITY_FAULTS: dict[str, bool] = {
    "IMDS unreachable while a revoked token is replaced": True,
    "IMDS unreachable before the first token": False,
}

#: Errors met in each mode, with soft_fail / never_fail / silent_fail: (fault, kwargs) -> the state
#: Airflow's own rules for a poke give, whichever mode meets the error.
SENSOR_ERROR_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "forbidden_soft_fail": ("403", {"soft_fail": True}, "failed"),
    "forbidden_never_fail": ("403", {"never_fail": True}, "skipped"),
    "not_found_silent_fail": ("404", {"silent_fail": True}, "success"),
    "failed_soft_fail": ("Failed", {"soft_fail": True}, "skipped"),
    "failed_never_fail": ("Failed", {"never_fail": True}, "skipped"),
    "failed_silent_fail": ("Failed", {"silent_fail": True}, "failed"),
}

#: Real identifiers: jobs are GUIDs, operations "<job GUID>_<suffix>".
REAL_JOB = "0203aa1b-1dff-4653-89a9-b90a76d1601a"
REAL_OPERATION = f"{REAL_JOB}_8f14e45f-ceea-467f-a8f0-a4d2f3b9c1e7"
REAL_VAULT = "migrate-vault.prod_01"


def slug(text: str) -> str:
    """A task id / operation id from a fault name."""
    return "".join(ch if ch.isalnum() else "_" for ch in text).strip("_").lower()


def operation_id(name: str, mode: str) -> str:
    return f"{slug(name)}-{mode}"


def job_guid(name: str) -> str:
    """A job name as Azure gives them (a GUID), stable per test case."""
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"e2e/{name}"))


_JOB_ERRORS = [{"code": "FailoverFailed", "message": "The VM did not start", "recommendation": "Retry"}]
#: Every job state, in a job sensor: the states it goes through, and what Airflow must end with.
JOB_CASES = [
    StatusCase("job_succeeded", ["Pending", "Started", "Succeeded"], "success", "Succeeded"),
    StatusCase(
        "job_information", ["Started", "CompletedWithInformation"], "success", "CompletedWithInformation"
    ),
    StatusCase(
        "job_warnings",
        ["Started", {"state": "CompletedWithWarnings", "errors": [{"code": "SlowDisk", "message": "slow"}]}],
        "success",
        "CompletedWithWarnings",
    ),
    StatusCase("job_failed", ["Started", {"state": "Failed", "errors": _JOB_ERRORS}], "failed", None),
    StatusCase("job_cancelled", ["Started", "Cancelling", "Cancelled"], "failed", None),
    StatusCase(
        "job_errors", ["Started", {"state": "CompletedWithErrors", "errors": _JOB_ERRORS}], "failed", None
    ),
    StatusCase("job_failed_to_xcom", ["Failed"], "success", "Failed", {"raise_on_failure": False}),
    StatusCase("job_unknown_until_timeout", ["Paused"], "failed", None, {"timeout": 2}),
]
JOB_OPERATOR_CASES = [
    StatusCase("job_report", ["Started", "Succeeded"], "success", "Started", operator=True),
    StatusCase("job_report_errors", ["CompletedWithErrors"], "success", "CompletedWithErrors", operator=True),
]
