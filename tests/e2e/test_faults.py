"""
Every fault the emulator can inject, into a waiting sensor, in poke and deferrable mode.

Transient faults must end in success with the same XCom as a clean run; permanent ones must fail
fast with Azure's error; a Retry-After must be waited out. The outcome table is written to
``docs/reliability.md``.
"""

from __future__ import annotations

import pytest

from airflow_provider_datareplication.testing.emulator import Fault
from airflow_provider_datareplication.version_compat import AIRFLOW_V_3_0_PLUS
from tests.e2e.dags.e2e_scenarios import (
    ARM_FAULTS,
    IDENTITY_FAULTS,
    MODES,
    PROGRESS,
    TOKEN_FAULTS,
    job_guid,
    operation_id,
    slug,
)
from tests.helpers import output_path

pytestmark = pytest.mark.e2e


#: What Azure says in each permanent failure, as the task's error must show it.
PERMANENT_TEXT = {
    "401 twice in a row": "HTTP 401; ExpiredAuthenticationToken",
    "IMDS unreachable before the first token": "no response from the IMDS endpoint",
    "403 AuthorizationFailed": "HTTP 403; AuthorizationFailed",
    "404 ResourceNotFound": "HTTP 404; ResourceNotFound",
    "400 InvalidParameter": "HTTP 400; InvalidParameter",
    "token endpoint invalid_client": "AADSTS7000215",
}
#: Seconds each Retry-After asks for (checked against the gaps the emulator saw).
RETRY_AFTER = {
    "429 Retry-After seconds": 2.0,
    "429 Retry-After HTTP-date": 1.0,  # whole-second resolution: at least 1 s after the 429
    "429 retry-after-ms": 1.5,
    "429 x-ms-retry-after-ms": 1.2,
}


def arm_fault(name: str) -> Fault:
    return {
        "429 Retry-After seconds": lambda: Fault.throttle("2"),
        "429 Retry-After HTTP-date": lambda: Fault.throttle_until(2),
        "429 retry-after-ms": lambda: Fault.throttle("1500", header="retry-after-ms"),
        "429 x-ms-retry-after-ms": lambda: Fault.throttle("1200", header="x-ms-retry-after-ms"),
        "500 JSON error": lambda: Fault.server_error(500),
        "502 HTML from a gateway": lambda: Fault.server_error(502, body="html"),
        "503 bare {code,message}": lambda: Fault.server_error(503, body="bare"),
        "504 empty body": lambda: Fault.server_error(504, body="empty"),
        "503 six times in a row": lambda: Fault.server_error(503, times=6),
        "200 malformed JSON": Fault.malformed_json,
        "slow answer past the timeout": lambda: Fault.slow(3),
        "dropped connection": Fault.drop,
        "401 ExpiredAuthenticationToken once": Fault.expired_token,
        "401 token revoked": Fault.revoked_token,
        "401 twice in a row": lambda: Fault.expired_token(times=2),
        "403 AuthorizationFailed": Fault.forbidden,
        "404 ResourceNotFound": Fault.not_found,
        "400 InvalidParameter": Fault.bad_request,
    }[name]()


def token_fault(name: str) -> Fault:
    return Fault.token_failure(500 if TOKEN_FAULTS[name] else 400)


def identity_fault(name: str, op: str, mode: str) -> Fault:
    """Faults of the managed identity endpoint, for a sensor signing in as a managed identity."""
    if name == "IMDS unreachable while a revoked token is replaced":
        # ARM refuses the token of a waiting sensor; fetching a new one meets IMDS down for 6 s.
        return Fault.revoked_token(operation_id=op, after=1, then=Fault.identity_unreachable(seconds=6))
    # Deferrable: the worker's first check signs in; the triggerer's own first sign-in meets it.
    return Fault.identity_unreachable(seconds=60, after=1 if mode == "deferrable" else 0)


#: The states a job goes through in the fault suite (three reads when nothing goes wrong).
JOB_PROGRESS = ["Pending", "Started", "Succeeded"]


def same_xcom(value: dict, op: str) -> bool:
    """The XCom a clean run gives: the service's body for this operation, ended Succeeded."""
    return (
        set(value) == {"id", "name", "status", "startTime", "endTime"}
        and value["status"] == "Succeeded"
        and value["name"] == op
        and value["id"].endswith(f"/jobs/job1/operations/{op}")
    )


def same_job_xcom(value: dict, job: str) -> bool:
    """The XCom a clean run of a job sensor gives: the job's body, ended Succeeded."""
    return (
        set(value) == {"id", "name", "type", "systemData", "properties"}
        and value["properties"]["state"] == "Succeeded"
        and value["name"] == job
    )


#: The table's rows by mode, written to the document once both modes have run in this process.
ROWS: dict[str, list[str]] = {}


@pytest.mark.parametrize("mode", MODES)
def test_every_fault(emulator, run_dag, mode):
    rows = []
    problems = []
    for name in ARM_FAULTS:
        op, job = operation_id(name, mode), job_guid(f"{name}-{mode}")
        emulator.script_operation(op, PROGRESS)
        emulator.script_job(job, JOB_PROGRESS)
        fault = arm_fault(name)
        fault.operation_id, fault.after = op, 1  # hit the sensor while it waits
        emulator.add_fault(fault)
        fault = arm_fault(name)
        fault.job_name, fault.after = job, 1  # and the job sensor
        emulator.add_fault(fault)
    result = run_dag(f"e2e_faults_{mode}")
    for name, (transient, _) in ARM_FAULTS.items():
        rows.append(check(emulator, result, name, mode, slug(name), transient, problems))
        rows.append(check(emulator, result, name, mode, f"job_{slug(name)}", transient, problems))

    for name, transient in TOKEN_FAULTS.items():
        emulator.reset_counters()
        emulator.clear_faults()
        op = operation_id(name, mode)
        emulator.script_operation(op, PROGRESS)
        fault = token_fault(name)
        # Deferrable: hit the trigger's own sign-in, while the sensor waits.
        fault.after = 1 if mode == "deferrable" else 0
        emulator.add_fault(fault)
        result = run_dag(f"e2e_{slug(name)}_{mode}")
        rows.append(check(emulator, result, name, mode, "wait", transient, problems))

    for name, transient in IDENTITY_FAULTS.items():
        emulator.reset_counters()
        emulator.clear_faults()
        op = operation_id(name, mode)
        emulator.script_operation(op, PROGRESS)
        emulator.add_fault(identity_fault(name, op, mode))
        result = run_dag(f"e2e_{slug(name)}_{mode}")
        rows.append(check(emulator, result, name, mode, "wait", transient, problems))

    ROWS[mode] = rows
    # The published table is the Airflow 3 run's, written when one process ran both modes (as
    # scripts/docs.sh runs it; the test command may run the two modes side by side).
    if AIRFLOW_V_3_0_PLUS and set(ROWS) == set(MODES):
        write_table([row for each in MODES for row in ROWS[each]])
    assert not problems, "\n".join(problems)


def check(emulator, result, name, mode, task_id, transient, problems):
    waits_on_job = task_id.startswith("job_")
    if waits_on_job:
        op = job_guid(f"{name}-{mode}")
        records, xcom_ok = emulator.requests_for_job(op), same_job_xcom
    else:
        op = operation_id(name, mode)
        records, xcom_ok = emulator.requests_for(op), same_xcom
    state = result.states[task_id]
    signs_in = name in TOKEN_FAULTS or name in IDENTITY_FAULTS
    # Token faults: the clock starts at the first sign-in request.
    first = emulator.requests[:1] if signs_in else records[:1]
    started = first[0].wall if first else None
    took = result.ended[task_id] - started if started and task_id in result.ended else float("nan")
    if transient:
        if state != "success" or not xcom_ok(result.xcom.get(task_id, {}), op):
            problems.append(f"{name} ({mode}, {task_id}): {state}, XCom {result.xcom.get(task_id)}")
        outcome = "success, same XCom as a clean run"
        if name in RETRY_AFTER:
            throttled = [i for i, r in enumerate(records) if r.status == 429]
            gap = records[throttled[0] + 1].at - records[throttled[0]].at if throttled else 0.0
            if not throttled or gap < RETRY_AFTER[name] - 0.05:
                problems.append(f"{name} ({mode}): next request {gap:.2f} s after the 429")
            outcome += f"; next request {gap:.1f} s after the 429"
    else:
        text = PERMANENT_TEXT[name]
        if state != "failed" or text not in result.output:
            problems.append(f"{name} ({mode}): {state}, message {text!r} shown: {text in result.output}")
        if took > 15:
            problems.append(f"{name} ({mode}): took {took:.1f} s to fail")
        outcome = f"failed at once: {text}"
    requests = f"{len(records)} status" + (f" + {emulator.token_requests} token" if signs_in else "")
    wait = "job" if waits_on_job else "operation"
    return f"| {name} | {wait} | {mode} | {outcome} | {requests} | {took:.1f} s |"


def write_table(rows: list[str]) -> None:
    intro = f"""# Reliability: faults injected into a waiting sensor

Generated by `bash scripts/docs.sh` (which runs `tests/e2e/test_faults.py`; the test command runs it
too, writing to the git-ignored `test-output/`). Each fault is injected by the local emulator into a
sensor that is already waiting (its first status read answered `InProgress`), through real Airflow
(`dag.test()`), in poke and deferrable mode. The operation goes `{" -> ".join(PROGRESS)}`; every
fault of ARM is also injected into a job sensor (stable api-version), whose job goes
`{" -> ".join(JOB_PROGRESS)}`.

- requests: the status reads the emulator answered for that operation or job (and, for sign-in
  faults, the token requests);
- time: from the first request to the task's end;
- poke interval 0.3 s; the hook retries 3 times within a call (jittered exponential backoff,
  0.8 s factor) and waits out a Retry-After before the next read;
- the slow-answer case uses a connection with `request_timeout` 1 s against a 3 s answer;
- a 401 is sent once more with a fresh token (a new credential: azure-identity would hand back the
  refused token from its cache); a revoked token is refused again if sent again;
- token faults hit the first sign-in (poke) or the trigger's own sign-in while the sensor waits
  (deferrable);
- IMDS faults sign in as a user-assigned managed identity (the emulator's IMDS endpoint). A failure
  to get a token is final until the credential has been issued one; after that it is polled
  through. Deferrable: the worker's first check signs in, then the triggerer's own credential meets
  the fault.

"""
    output_path("reliability.md").write_text(
        intro
        + "| fault | wait | mode | outcome | requests | time to outcome |\n|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
    )
