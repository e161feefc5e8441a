"""HTTP headers in task logs, through real Airflow (``dag.test()``): none unless the connection asks."""

from __future__ import annotations

import json
import logging

import pytest

from tests.e2e.dags.e2e_scenarios import HTTP_LOGGING_CONN, MODES

pytestmark = pytest.mark.e2e


def test_task_logs_show_http_headers_only_when_the_connection_asks(emulator, run_dag, monkeypatch, caplog):
    # Airflow's [logging] logging_level (INFO by default): what reaches a task's log.
    caplog.set_level(logging.INFO)
    loud = emulator.connection(vault_name="vault1")
    loud["extra"]["http_logging"] = True
    monkeypatch.setenv(f"AIRFLOW_CONN_{HTTP_LOGGING_CONN.upper()}", json.dumps(loud))
    for name in ("quiet", "loud"):
        for mode in MODES:
            emulator.script_operation(f"http-logging-{name}-{mode}", ["InProgress", "Succeeded"])

    quiet = run_dag("e2e_http_logging_quiet")
    logged = quiet.output + caplog.text
    assert quiet.states == {mode: "success" for mode in MODES}
    signed_in = emulator.token_requests
    assert signed_in >= 2  # the worker's sign-in and the trigger's, neither in the log
    assert "operation 'http-logging-quiet-poke' of job 'job1'" in logged  # the wait's own lines are
    for line in ("Request URL:", "Request headers:", "Response headers:", "/oauth2/v2.0/token"):
        assert line not in logged, line

    caplog.clear()
    loud_run = run_dag("e2e_http_logging_loud")
    logged = loud_run.output + caplog.text
    assert loud_run.states == {mode: "success" for mode in MODES}
    assert emulator.token_requests > signed_in
    # The sign-in (token request) and each mode's reads, headers shown, the token redacted.
    assert f"/{emulator.tenant_id}/oauth2/v2.0/token'" in logged
    for mode in MODES:
        assert f"/operations/http-logging-loud-{mode}?api-version=2021-02-16-preview'" in logged
    assert "'Authorization': 'REDACTED'" in logged
    for token in emulator.issued_tokens:
        assert token not in logged
