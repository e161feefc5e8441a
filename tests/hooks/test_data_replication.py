from __future__ import annotations

import email.utils
import logging
import math
import time

import pytest
import requests

from airflow_provider_datareplication.exceptions import (
    AzureDataReplicationAuthError,
    AzureDataReplicationClientError,
    AzureDataReplicationNotFoundError,
    AzureDataReplicationTransientError,
)
from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook
from airflow_provider_datareplication.pipeline import RequestSettings
from tests.helpers import (
    ACCESS_TOKEN,
    ARM,
    CLIENT_SECRET,
    OPERATION,
    OPERATION_URL,
    SUBSCRIPTION_ID,
    TENANT_ID,
    connection_json,
    mock_token_endpoint,
)

BODY = {"id": "/x/op1", "name": "op1", "status": "InProgress", "startTime": "t0", "endTime": None}
IDS = {"x-ms-request-id": "req-1", "x-ms-correlation-request-id": "corr-1"}


@pytest.fixture
def conn(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT", connection_json())


@pytest.fixture
def token(requests_mock, conn):
    return mock_token_endpoint(requests_mock)


def arm_calls(requests_mock):
    return [r for r in requests_mock.request_history if r.url.startswith(ARM)]


def fast(**kwargs):
    return AzureDataReplicationHook(request_settings=RequestSettings(backoff_factor=0.01, **kwargs))


def test_get_sends_exactly_the_service_request(requests_mock, token):
    requests_mock.get(OPERATION_URL, json=BODY, headers=IDS)
    status = AzureDataReplicationHook().get_operation_status(**OPERATION)
    assert status.status == "InProgress"
    assert status.to_dict() == BODY
    (call,) = arm_calls(requests_mock)
    assert call.url == OPERATION_URL
    assert call.method == "GET"
    assert call.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert call.headers["x-ms-client-request-id"]
    assert call.headers["User-Agent"].startswith("airflow-provider-datareplication/")
    assert call.timeout is not None


def test_operation_id_slash_is_sent_as_2f(requests_mock, token):
    url = OPERATION_URL.replace("/operations/op1?", "/operations/a%2Fb%20c?")
    requests_mock.get(url, json=BODY)
    AzureDataReplicationHook().get_operation_status(**{**OPERATION, "operation_id": "a/b c"})
    assert arm_calls(requests_mock)[0].url == url


def test_explicit_values_win_over_connection_defaults(requests_mock, token):
    other_sub = "00000000-0000-0000-0000-000000000001"
    url = (
        f"{ARM}/subscriptions/{other_sub}/resourceGroups/rg2/providers/Microsoft.DataReplication"
        "/replicationVaults/v9/jobs/job1/operations/op1?api-version=2024-09-01"
    )
    requests_mock.get(url, json=BODY)
    AzureDataReplicationHook().get_operation_status(
        operation_id="op1",
        job_name="job1",
        vault_name="v9",
        resource_group_name="rg2",
        subscription_id=other_sub,
        api_version="2024-09-01",
    )
    assert arm_calls(requests_mock)[0].url == url


@pytest.mark.parametrize(
    ("override", "parameter"),
    [
        ({"subscription_id": "nope"}, "subscription_id"),
        ({"resource_group_name": "x" * 91}, "resource_group_name"),
        ({"vault_name": "bad name"}, "vault_name"),
        ({"job_name": "job/1"}, "job_name"),
        ({"job_name": ""}, "job_name"),
        ({"operation_id": ""}, "operation_id"),
        ({"api_version": ""}, "api_version"),
    ],
)
def test_bad_parameters_fail_before_anything_is_sent(requests_mock, token, override, parameter):
    with pytest.raises(ValueError, match=parameter):
        AzureDataReplicationHook().get_operation_status(**{**OPERATION, **override})
    assert requests_mock.call_count == 0


def test_missing_vault_names_the_parameter_and_the_extra(requests_mock, token):
    with pytest.raises(ValueError, match=r"vault_name is required.*'vault_name' in the extras"):
        AzureDataReplicationHook().get_operation_status(operation_id="op1", job_name="job1")
    assert requests_mock.call_count == 0


def test_plain_http_endpoint_is_refused_before_a_token_is_sent(requests_mock, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT",
        connection_json(resource_manager_url="http://arm.local"),
    )
    token = mock_token_endpoint(requests_mock)
    with pytest.raises(ValueError, match="https"):
        AzureDataReplicationHook().get_operation_status(**OPERATION)
    assert token.call_count == 0
    assert requests_mock.call_count == 0


def test_one_token_for_many_calls(requests_mock, token):
    requests_mock.get(OPERATION_URL, json=BODY)
    hook = AzureDataReplicationHook()
    for _ in range(5):
        hook.get_operation_status(**OPERATION)
    assert len(arm_calls(requests_mock)) == 5
    assert token.call_count == 1


@pytest.mark.parametrize(
    ("status", "body", "headers", "cls", "expected"),
    [
        (
            404,
            {"error": {"code": "ResourceNotFound", "message": "gone"}},
            {},
            AzureDataReplicationNotFoundError,
            "ResourceNotFound: gone",
        ),
        (
            403,
            {"error": {"code": "AuthorizationFailed", "message": "no role"}},
            {},
            AzureDataReplicationAuthError,
            "AuthorizationFailed: no role",
        ),
        (
            400,
            {"error": {"code": "InvalidApiVersionParameter", "message": "bad version"}},
            {},
            AzureDataReplicationClientError,
            "InvalidApiVersionParameter: bad version",
        ),
        (
            409,
            {"code": "MissingSubscriptionRegistration", "message": "register"},
            {},
            AzureDataReplicationClientError,
            "MissingSubscriptionRegistration: register",
        ),
    ],
)
def test_permanent_errors_are_typed_and_not_retried(
    requests_mock, token, status, body, headers, cls, expected
):
    requests_mock.get(OPERATION_URL, status_code=status, json=body, headers={**IDS, "Retry-After": "0"})
    with pytest.raises(cls) as info:
        AzureDataReplicationHook().get_operation_status(**OPERATION)
    assert type(info.value) is cls
    text = str(info.value)
    assert f"HTTP {status}" in text
    assert expected in text
    assert "x-ms-request-id=req-1" in text and "x-ms-correlation-request-id=corr-1" in text
    assert "operation 'op1' of job 'job1' in vault 'vault1'" in text
    assert len(arm_calls(requests_mock)) == 1


CHALLENGE = {
    "WWW-Authenticate": 'Bearer authorization_uri="https://login.windows.net/", error="invalid_token"'
}


def two_tokens(requests_mock):
    """The token endpoint hands out a new token each time; return the route."""
    return requests_mock.post(
        f"https://login.microsoftonline.com/{TENANT_ID}/oauth2/v2.0/token",
        [
            {"json": {"token_type": "Bearer", "expires_in": 3599, "access_token": f"token-{i}"}}
            for i in (1, 2, 3)
        ],
    )


@pytest.mark.parametrize("code", ["ExpiredAuthenticationToken", "InvalidAuthenticationToken"])
@pytest.mark.parametrize("challenge", [CHALLENGE, {}])
def test_a_refused_token_is_replaced_and_the_read_sent_once_more(requests_mock, token, code, challenge):
    tokens = two_tokens(requests_mock)
    refused = {"status_code": 401, "json": {"error": {"code": code, "message": "no"}}, "headers": challenge}
    requests_mock.get(OPERATION_URL, [refused, {"json": BODY}])
    assert AzureDataReplicationHook().get_operation_status(**OPERATION).status == "InProgress"
    first, second = arm_calls(requests_mock)
    # A fresh token, not the one ARM refused (azure-identity would hand that one back from its cache).
    assert first.headers["Authorization"] == "Bearer token-1"
    assert second.headers["Authorization"] == "Bearer token-2"
    assert tokens.call_count == 2


def test_two_401s_in_a_row_are_an_auth_error(requests_mock, token):
    two_tokens(requests_mock)
    requests_mock.get(
        OPERATION_URL,
        status_code=401,
        json={"error": {"code": "InvalidAuthenticationToken", "message": "bad token"}},
        headers={**IDS, **CHALLENGE},
    )
    with pytest.raises(AzureDataReplicationAuthError) as info:
        AzureDataReplicationHook().get_operation_status(**OPERATION)
    assert "HTTP 401; InvalidAuthenticationToken: bad token" in str(info.value)
    assert "x-ms-request-id=req-1" in str(info.value)
    assert len(arm_calls(requests_mock)) == 2


def test_the_next_call_may_replace_a_refused_token_again(requests_mock, token):
    tokens = two_tokens(requests_mock)
    refused = {"status_code": 401, "json": {"error": {"code": "ExpiredAuthenticationToken"}}}
    requests_mock.get(OPERATION_URL, [refused, {"json": BODY}, refused, {"json": BODY}])
    hook = AzureDataReplicationHook()
    hook.get_operation_status(**OPERATION)
    hook.get_operation_status(**OPERATION)  # once per call, not once per hook
    assert [c.headers["Authorization"] for c in arm_calls(requests_mock)] == [
        "Bearer token-1",
        "Bearer token-2",
        "Bearer token-2",
        "Bearer token-3",
    ]
    assert tokens.call_count == 3


@pytest.mark.parametrize(
    ("status", "text", "content_type", "expected"),
    [
        (
            500,
            '{"error": {"code": "InternalServerError", "message": "oops"}}',
            "application/json",
            "InternalServerError: oops",
        ),
        (
            503,
            '{"code": "ServiceUnavailable", "message": "later"}',
            "application/json",
            "ServiceUnavailable: later",
        ),
        (502, "", "text/plain", "HTTP 502"),
        (504, "<html><body>504 Gateway Time-out</body></html>", "text/html", "504 Gateway Time-out"),
        (408, "", "text/plain", "HTTP 408"),
        (
            429,
            '{"error": {"code": "TooManyRequests", "message": "slow down"}}',
            "application/json",
            "TooManyRequests: slow down",
        ),
    ],
)
def test_transient_errors_are_retried_then_reported(
    requests_mock, token, status, text, content_type, expected
):
    requests_mock.get(
        OPERATION_URL, status_code=status, text=text, headers={**IDS, "Content-Type": content_type}
    )
    with pytest.raises(AzureDataReplicationTransientError) as info:
        fast(retries=2).get_operation_status(**OPERATION)
    assert expected in str(info.value)
    assert "x-ms-request-id=req-1" in str(info.value)
    assert len(arm_calls(requests_mock)) == 3


def test_transient_error_then_success(requests_mock, token):
    requests_mock.get(
        OPERATION_URL,
        [
            {"status_code": 503, "text": ""},
            {"status_code": 500, "json": {}},
            {"json": {**BODY, "status": "Succeeded"}},
        ],
    )
    assert fast().get_operation_status(**OPERATION).succeeded
    assert len(arm_calls(requests_mock)) == 3


@pytest.mark.parametrize("error", [requests.exceptions.ConnectionError, requests.exceptions.ReadTimeout])
def test_connection_reset_and_timeout_are_transient(requests_mock, token, error):
    requests_mock.get(OPERATION_URL, exc=error("boom"))
    with pytest.raises(AzureDataReplicationTransientError, match="Could not reach Azure"):
        fast(retries=1).get_operation_status(**OPERATION)
    assert len(arm_calls(requests_mock)) == 2


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '"Succeeded"', ""])
def test_200_without_a_json_object_is_transient(requests_mock, token, text):
    requests_mock.get(OPERATION_URL, text=text, headers=IDS)
    with pytest.raises(AzureDataReplicationTransientError, match="HTTP 200 without a JSON object"):
        AzureDataReplicationHook().get_operation_status(**OPERATION)


def _timed(requests_mock, responses):
    times: list[float] = []
    queue = list(responses)

    def answer(request, context):
        times.append(time.monotonic())
        status, headers = queue.pop(0) if queue else (200, {})
        context.status_code = status
        context.headers.update(headers)
        return BODY

    requests_mock.get(OPERATION_URL, json=answer)
    return times


@pytest.mark.parametrize(
    ("headers", "minimum_gap"),
    [
        ({"Retry-After": "1"}, 1.0),
        ({"retry-after-ms": "700"}, 0.7),
        ({"x-ms-retry-after-ms": "600"}, 0.6),
        ({"retry-after-ms": "300", "Retry-After": "5"}, 0.3),
    ],
)
def test_retry_after_is_waited_out_inside_the_call(requests_mock, token, headers, minimum_gap):
    times = _timed(requests_mock, [(429, headers)])
    AzureDataReplicationHook().get_operation_status(**OPERATION)
    assert len(times) == 2
    gap = times[1] - times[0]
    assert gap >= minimum_gap - 0.02
    # The milliseconds header wins over Retry-After: 5.
    assert gap < 4


def test_retry_after_as_http_date(requests_mock, token):
    # An HTTP date has whole seconds: round up, or the wait may be up to a second shorter.
    when = email.utils.formatdate(math.ceil(time.time()) + 2, usegmt=True)
    times = _timed(requests_mock, [(503, {"Retry-After": when})])
    AzureDataReplicationHook().get_operation_status(**OPERATION)
    assert len(times) == 2
    assert times[1] - times[0] >= 0.9


def test_long_retry_after_is_handed_back_and_nothing_is_sent_before_it(requests_mock, token):
    times = _timed(requests_mock, [(429, {"Retry-After": "2"})])
    hook = AzureDataReplicationHook(request_settings=RequestSettings(max_retry_after=1))
    with pytest.raises(AzureDataReplicationTransientError) as info:
        hook.get_operation_status(**OPERATION)
    assert info.value.retry_after == 2
    assert len(times) == 1
    # The next call (a sensor's next poke) sends nothing while the Retry-After runs.
    with pytest.raises(AzureDataReplicationTransientError, match="Not sent") as again:
        hook.get_operation_status(**OPERATION)
    assert 0 < (again.value.retry_after or 0) <= 2
    assert len(times) == 1
    time.sleep(2.05)
    assert hook.get_operation_status(**OPERATION).status == "InProgress"
    assert len(times) == 2
    assert times[1] - times[0] >= 2


def test_bad_secret_is_an_auth_error_with_aad_text_and_no_secret(requests_mock, conn, caplog):
    base = f"https://login.microsoftonline.com/{TENANT_ID}"
    mock_token_endpoint(requests_mock)
    requests_mock.post(
        f"{base}/oauth2/v2.0/token",
        status_code=401,
        json={
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.",
        },
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AzureDataReplicationAuthError, match="AADSTS7000215") as info:
        AzureDataReplicationHook().get_operation_status(**OPERATION)
    assert CLIENT_SECRET not in str(info.value)
    assert CLIENT_SECRET not in caplog.text
    assert not arm_calls(requests_mock)


def test_no_secret_or_token_in_logs_or_errors(requests_mock, token, caplog):
    caplog.set_level(logging.DEBUG)
    requests_mock.get(OPERATION_URL, [{"json": BODY}, {"status_code": 403, "json": {"error": {"code": "X"}}}])
    hook = AzureDataReplicationHook()
    hook.get_operation_status(**OPERATION)
    with pytest.raises(AzureDataReplicationAuthError) as info:
        hook.get_operation_status(**OPERATION)
    for secret in (CLIENT_SECRET, ACCESS_TOKEN):
        assert secret not in caplog.text
        assert secret not in str(info.value)
        assert secret not in repr(hook.connection)


def test_test_connection_reads_the_subscription(requests_mock, token):
    route = requests_mock.get(
        f"{ARM}/subscriptions/{SUBSCRIPTION_ID}?api-version=2022-12-01", json={"id": "x"}
    )
    ok, message = AzureDataReplicationHook().test_connection()
    assert ok, message
    assert SUBSCRIPTION_ID in message
    assert route.call_count == 1
    assert route.last_request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_test_connection_reports_the_service_error(requests_mock, token):
    requests_mock.get(
        f"{ARM}/subscriptions/{SUBSCRIPTION_ID}?api-version=2022-12-01",
        status_code=403,
        json={"error": {"code": "AuthorizationFailed", "message": "The client has no access."}},
        headers=IDS,
    )
    ok, message = AzureDataReplicationHook().test_connection()
    assert not ok
    assert message.startswith("HTTP 403 AuthorizationFailed: The client has no access.")
    assert "x-ms-request-id=req-1" in message


def test_test_connection_reports_a_bad_secret(requests_mock, conn):
    mock_token_endpoint(requests_mock)
    requests_mock.post(
        f"https://login.microsoftonline.com/{TENANT_ID}/oauth2/v2.0/token",
        status_code=401,
        json={
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.",
        },
    )
    ok, message = AzureDataReplicationHook().test_connection()
    assert not ok
    assert "AADSTS7000215" in message
    assert CLIENT_SECRET not in message


def test_test_connection_closes_what_it_opened(emulator):
    ok, message = AzureDataReplicationHook().test_connection()
    assert ok, message
    # The ARM session and the credential's own (token requests) are closed: no socket stays open.
    deadline = time.monotonic() + 2
    while emulator.open_connections and time.monotonic() < deadline:
        time.sleep(0.02)
    assert emulator.open_connections == 0


def test_close_lets_a_new_client_be_built(requests_mock, token):
    requests_mock.get(OPERATION_URL, json=BODY)
    with AzureDataReplicationHook() as hook:
        hook.get_operation_status(**OPERATION)
    assert hook._client is None
    hook.get_operation_status(**OPERATION)


def test_connection_form_widgets_for_airflow_2():
    pytest.importorskip("flask_appbuilder", reason="the widget form is only drawn by Airflow 2's UI")
    widgets = AzureDataReplicationHook.get_connection_form_widgets()
    assert {"tenantId", "subscriptionId", "cloud", "resource_group_name", "vault_name"} <= set(widgets)


def test_connection_field_behaviour():
    behaviour = AzureDataReplicationHook.get_ui_field_behaviour()
    assert behaviour["relabeling"] == {"login": "Client ID", "password": "Client Secret"}
    assert "host" in behaviour["hidden_fields"]


# -- jobs (stable api-versions) ----------------------------------------------------------------------

JOB = "0203aa1b-1dff-4653-89a9-b90a76d1601a"
JOB_BODY = {
    "id": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg1/providers/Microsoft.DataReplication"
    f"/replicationVaults/vault1/jobs/{JOB}",
    "name": JOB,
    "type": "Microsoft.DataReplication/replicationVaults/jobs",
    "properties": {"displayName": "Planned failover", "state": "Started", "tasks": [], "errors": []},
}


@pytest.mark.parametrize("api_version", ["2024-09-01", "2026-05-01"])
def test_get_job_sends_exactly_the_service_request(requests_mock, token, api_version):
    url = (
        f"{ARM}/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg1/providers/Microsoft.DataReplication"
        f"/replicationVaults/vault1/jobs/{JOB}?api-version={api_version}"
    )
    requests_mock.get(url, json=JOB_BODY, headers=IDS)
    job = AzureDataReplicationHook().get_job(job_name=JOB, vault_name="vault1", api_version=api_version)
    assert job.state == "Started" and not job.is_terminal
    assert job.to_dict() == JOB_BODY
    (call,) = arm_calls(requests_mock)
    assert call.url == url
    assert call.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_get_job_defaults_to_the_first_stable_api_version_and_the_connection(requests_mock, token):
    url = (
        f"{ARM}/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg1/providers/Microsoft.DataReplication"
        f"/replicationVaults/v-1/jobs/{JOB}?api-version=2024-09-01"
    )
    requests_mock.get(url, json=JOB_BODY)
    AzureDataReplicationHook().get_job(job_name=JOB, vault_name="v-1")
    assert arm_calls(requests_mock)[0].url == url


@pytest.mark.parametrize(
    ("override", "parameter"),
    [
        ({"job_name": "a b"}, "job_name"),
        ({"vault_name": ""}, "vault_name"),
        ({"api_version": "x"}, "api_version"),
    ],
)
def test_get_job_refuses_bad_names_before_anything_is_sent(requests_mock, token, override, parameter):
    with pytest.raises(ValueError, match=parameter):
        AzureDataReplicationHook().get_job(**{"job_name": JOB, "vault_name": "vault1", **override})
    assert requests_mock.call_count == 0


def test_get_job_errors_are_typed(requests_mock, token):
    url = (
        f"{ARM}/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg1/providers/Microsoft.DataReplication"
        f"/replicationVaults/vault1/jobs/{JOB}?api-version=2024-09-01"
    )
    requests_mock.get(url, status_code=404, json={"error": {"code": "ResourceNotFound", "message": "no job"}})
    with pytest.raises(AzureDataReplicationNotFoundError, match=f"job '{JOB}' in vault 'vault1'"):
        AzureDataReplicationHook().get_job(job_name=JOB, vault_name="vault1")


# -- an operation by its URL --------------------------------------------------------------------------

LRO = (
    f"{ARM}/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.DataReplication/locations/eastus"
    "/operationResults/0203aa1b-op?api-version=2024-09-01"
)


@pytest.mark.parametrize(
    "url",
    [
        LRO,
        LRO.replace("/providers/", "/resourceGroups/rg1/providers/"),
        f"{ARM}/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg1/providers/Microsoft.DataReplication"
        f"/replicationVaults/vault1/protectedItems/vm1/operations/op9?api-version=2026-05-01",
    ],
)
def test_an_operation_url_is_read_as_it_was_given(requests_mock, token, url):
    requests_mock.get(url, json=BODY)
    status = AzureDataReplicationHook().get_operation_status(operation_url=url)
    assert status.to_dict() == BODY
    assert arm_calls(requests_mock)[0].url == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (LRO.replace("https://", "http://"), "https://"),
        (
            LRO.replace("management.azure.com", "evil.example.com"),
            "connection's Azure Resource Manager endpoint",
        ),
        (
            LRO.replace("management.azure.com", "management.azure.com:8443"),
            "connection's Azure Resource Manager",
        ),
        (LRO.replace("https://", "https://user:pw@"), "without credentials"),
        (LRO + "#x", "without credentials or a fragment"),
        (LRO.replace("Microsoft.DataReplication", "Microsoft.Compute"), "Microsoft.DataReplication/"),
        (LRO.replace(SUBSCRIPTION_ID, "not-a-uuid"), "Microsoft.DataReplication/"),
        (LRO.split("?")[0], "api-version"),
        (f"{ARM}/providers/Microsoft.DataReplication/operations?api-version=2024-09-01", "/subscriptions/"),
    ],
)
def test_a_token_goes_only_where_the_connection_points(requests_mock, token, url, why):
    with pytest.raises(ValueError, match="operation_url") as info:
        AzureDataReplicationHook().get_operation_status(operation_url=url)
    assert why in str(info.value)
    assert token.call_count == 0
    assert requests_mock.call_count == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"operation_url": LRO, "operation_id": "op1"},
        {"operation_url": LRO, "job_name": "job1"},
        {},
        {"operation_id": "op1"},
    ],
)
def test_identifiers_and_an_operation_url_are_exclusive(requests_mock, token, kwargs):
    with pytest.raises(ValueError, match="operation_url"):
        AzureDataReplicationHook().get_operation_status(**kwargs)
    assert requests_mock.call_count == 0


def test_an_operation_url_answering_202_is_running(requests_mock, token):
    requests_mock.get(LRO, [{"status_code": 202, "text": ""}, {"json": {**BODY, "status": "Succeeded"}}])
    hook = AzureDataReplicationHook()
    assert not hook.get_operation_status(operation_url=LRO).is_terminal
    assert hook.get_operation_status(operation_url=LRO).succeeded


def test_get_protected_item_sends_what_azure_s_client_sends_and_returns_the_body_as_sent(emulator):
    from tests.e2e.dags.e2e_scenarios import ITEM
    from tests.sdk_requests import SdkRequest, get_request

    emulator.add_protected_item(ITEM, protection_state="Protected")
    with AzureDataReplicationHook() as hook:
        item = hook.get_protected_item(protected_item_name=ITEM, api_version="2026-05-01")
    assert set(item.to_dict()) == set(emulator.protected_item(ITEM))  # the body as sent
    assert (
        item.name == ITEM
        and item.to_dict()["type"] == "Microsoft.DataReplication/replicationVaults/protectedItems"
    )
    assert item.protection_state == "Protected" and item.allowed_jobs == [
        "PlannedFailover",
        "DisableProtection",
    ]
    (read,) = emulator.requests_for_item(ITEM)
    assert SdkRequest.of(read) == get_request(
        subscription_id=emulator.subscription_id,
        resource_group_name="rgrecoveryservicesdatareplication",
        vault_name="vault1",
        protected_item_name=ITEM,
        api_version="2026-05-01",
    )


def test_get_protected_item_of_a_missing_item_is_not_found(emulator):
    with (
        AzureDataReplicationHook() as hook,
        pytest.raises(AzureDataReplicationNotFoundError, match="HTTP 404"),
    ):
        hook.get_protected_item(protected_item_name="no-such-item")
    with pytest.raises(ValueError, match="protected_item_name must be"):
        AzureDataReplicationHook().get_protected_item(protected_item_name="bad/name")
