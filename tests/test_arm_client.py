"""azure-core's standard pipeline under the hooks and triggers: proxies, redirects, tokens, HTTP logging."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
from types import SimpleNamespace

import pytest

from airflow_provider_datareplication.connection import AzureDataReplicationConnection
from airflow_provider_datareplication.exceptions import (
    AzureDataReplicationClientError,
    AzureDataReplicationTransientError,
)
from airflow_provider_datareplication.get_provider_info import get_provider_info
from airflow_provider_datareplication.hooks.data_replication import (
    AzureDataReplicationAsyncHook,
    AzureDataReplicationHook,
)
from airflow_provider_datareplication.pipeline import RequestSettings
from airflow_provider_datareplication.testing.emulator import DataReplicationEmulator, Fault
from airflow_provider_datareplication.triggers.data_replication import AzureDataReplicationOperationTrigger
from tests.connect_proxy import ConnectProxy
from tests.helpers import (
    ACCESS_TOKEN,
    OPERATION,
    OPERATION_URL,
    TENANT_ID,
    assert_no_secrets,
    connection_json,
    mock_token_endpoint,
)

#: The logger azure-core's HTTP logging policy writes to unless it is given another.
HTTP_LOGGER = "azure.core.pipeline.policies.http_logging_policy"
BODY = {"id": "/x/op1", "name": "op1", "status": "InProgress", "startTime": "t0", "endTime": None}


def use_connection(monkeypatch, emulator, conn_id="azure_data_replication_default", **extra):
    conn = emulator.connection(vault_name="vault1")
    conn["extra"].update(extra)
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def read_sync(operation_id: str = "op1", conn_id: str = "azure_data_replication_default") -> str | None:
    with AzureDataReplicationHook(conn_id) as hook:
        return hook.get_operation_status(**{**OPERATION, "operation_id": operation_id}).status


async def read_async(operation_id: str = "op1") -> str | None:
    async with AzureDataReplicationAsyncHook() as hook:
        return (await hook.get_operation_status(**{**OPERATION, "operation_id": operation_id})).status


def read(mode: str) -> str | None:
    return read_sync() if mode == "sync" else asyncio.run(read_async())


async def first_event(trigger, timeout=20):
    async def collect():
        async for event in trigger.run():
            return event.payload
        return None

    return await asyncio.wait_for(collect(), timeout)


# -- proxies ------------------------------------------------------------------------------------------


@pytest.fixture
def proxy(monkeypatch):
    """A CONNECT proxy in ``HTTPS_PROXY``, with nothing in ``NO_PROXY`` that would bypass it for 127.0.0.1."""
    with ConnectProxy() as proxy:
        for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name in ("HTTPS_PROXY", "https_proxy"):
            monkeypatch.setenv(name, proxy.url)
        yield proxy


def went_through(proxy: ConnectProxy, emulator) -> None:
    """Every connection the emulator accepted (sign-in and reads) was a tunnel through the proxy."""
    assert proxy.tunnels, "nothing went through the proxy"
    assert set(proxy.tunnels) == {f"127.0.0.1:{emulator.port}"}
    assert emulator.connections_accepted == len(proxy.tunnels)
    assert proxy.plain == []


def test_the_sync_hook_goes_through_the_https_proxy(emulator, proxy):
    emulator.script_operation("op1", ["Succeeded"])
    assert read_sync() == "Succeeded"
    went_through(proxy, emulator)
    assert emulator.token_requests == 1
    assert len(emulator.requests_for("op1")) == 1
    # The credential's session and the ARM client's each opened a tunnel of their own.
    assert len(proxy.tunnels) >= 2


async def test_the_async_hook_goes_through_the_https_proxy(emulator, proxy):
    emulator.script_operation("op1", ["Succeeded"])
    assert await read_async() == "Succeeded"
    went_through(proxy, emulator)
    assert len(proxy.tunnels) >= 2
    assert len(emulator.requests_for("op1")) == 1


async def test_a_trigger_goes_through_the_https_proxy(emulator, proxy):
    emulator.script_operation("op1", ["InProgress", "Succeeded"])
    trigger = AzureDataReplicationOperationTrigger(**OPERATION, poll_interval=0.05)
    payload = await first_event(trigger)
    assert payload["event"] == "terminal" and payload["status"]["status"] == "Succeeded"
    went_through(proxy, emulator)
    assert len(emulator.requests_for("op1")) == 2


# -- a token over https only ----------------------------------------------------------------------------


def client_for(emulator, monkeypatch, *, asynchronous: bool):
    """The hooks' client and credential for the emulator's connection, built as they build them."""
    from airflow_provider_datareplication.arm_client import (
        AsyncRenewableCredential,
        RenewableCredential,
        build_async_client,
        build_client,
    )

    use_connection(monkeypatch, emulator)
    connection = AzureDataReplicationHook().connection
    kwargs = {
        "token_scope": connection.token_scope,
        "settings": RequestSettings(),
        "ca_bundle": connection.ca_bundle,
    }
    if asynchronous:
        credential = AsyncRenewableCredential(connection.async_credential)
        return build_async_client(base_url=connection.resource_manager_url, credential=credential, **kwargs)
    credential = RenewableCredential(connection.credential)
    return build_client(base_url=connection.resource_manager_url, credential=credential, **kwargs)


def test_the_pipeline_sends_no_token_over_plain_http(emulator, proxy, monkeypatch):
    from azure.core.exceptions import ServiceRequestError
    from azure.core.rest import HttpRequest

    for name in ("HTTP_PROXY", "http_proxy"):  # anything sent over plain http reaches the proxy's record
        monkeypatch.setenv(name, proxy.url)
    emulator.script_operation("op1", ["Succeeded"])
    plain = emulator.operation_url("op1").replace("https://", "http://")
    with client_for(emulator, monkeypatch, asynchronous=False) as client:
        with pytest.raises(ServiceRequestError, match="non-TLS"):
            client.send_request(HttpRequest("GET", plain))
        # The same client still reads over https.
        secure = plain.replace("http://", "https://")
        assert client.send_request(HttpRequest("GET", secure)).status_code == 200
    assert proxy.plain == []
    assert emulator.token_requests == 1
    assert len(emulator.requests_for("op1")) == 1


async def test_the_async_pipeline_sends_no_token_over_plain_http(emulator, proxy, monkeypatch):
    from azure.core.exceptions import ServiceRequestError
    from azure.core.rest import HttpRequest

    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, proxy.url)
    plain = emulator.operation_url("op1").replace("https://", "http://")
    async with client_for(emulator, monkeypatch, asynchronous=True) as client:
        with pytest.raises(ServiceRequestError, match="non-TLS"):
            await client.send_request(HttpRequest("GET", plain))
    assert proxy.plain == []
    assert emulator.token_requests == 0  # refused before a token was asked for
    assert not emulator.requests


@pytest.fixture
def token(requests_mock, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT", connection_json())
    return mock_token_endpoint(requests_mock)


def test_a_redirect_to_plain_http_is_not_followed_with_a_token(requests_mock, token):
    plain = requests_mock.get(OPERATION_URL.replace("https://", "http://"), json=BODY)
    requests_mock.get(
        OPERATION_URL, status_code=302, headers={"Location": OPERATION_URL.replace("https://", "http://")}
    )
    with pytest.raises(AzureDataReplicationTransientError, match="non-TLS"):
        AzureDataReplicationHook().get_operation_status(**OPERATION)
    assert plain.call_count == 0


def test_a_redirect_to_another_host_leaves_the_token_behind(requests_mock, token):
    elsewhere = "https://status.example.net/operations/op1"
    requests_mock.get(OPERATION_URL, status_code=307, headers={"Location": elsewhere})
    moved = requests_mock.get(elsewhere, json=BODY)
    assert AzureDataReplicationHook().get_operation_status(**OPERATION).status == "InProgress"
    assert requests_mock.request_history[-2].headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert moved.call_count == 1
    assert "Authorization" not in moved.last_request.headers


def test_a_missing_registration_is_answered_as_azure_s_clients_do_and_a_refused_one_fails_at_once(
    requests_mock, token
):
    requests_mock.get(
        OPERATION_URL,
        status_code=409,
        json={
            "error": {
                "code": "MissingSubscriptionRegistration",
                "message": "The subscription is not registered to use namespace 'Microsoft.DataReplication'.",
            }
        },
    )
    # azure-mgmt-core's ARM client asks to register the resource provider; a reader may not.
    register = requests_mock.post(
        "https://management.azure.com/subscriptions/930CEC23-4430-4513-B855-DBA237E2F3BF/providers"
        "/Microsoft.DataReplication/register?api-version=2016-02-01",
        status_code=403,
        json={"error": {"code": "AuthorizationFailed", "message": "no register action"}},
    )
    with pytest.raises(AzureDataReplicationClientError, match="HTTP 409; MissingSubscriptionRegistration"):
        AzureDataReplicationHook().get_operation_status(**OPERATION)
    assert register.call_count == 1
    assert [r.method for r in requests_mock.request_history if "management.azure.com" in r.url] == [
        "GET",
        "POST",
    ]


def test_a_claims_challenge_is_answered_with_its_claims(requests_mock, token):
    claims = '{"access_token": {"nbf": {"essential": true, "value": "1700000000"}}}'
    encoded = base64.urlsafe_b64encode(claims.encode()).decode().rstrip("=")
    challenge = (
        'Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
        f'error="insufficient_claims", claims="{encoded}"'
    )
    requests_mock.get(
        OPERATION_URL,
        [{"status_code": 401, "headers": {"WWW-Authenticate": challenge}, "json": {}}, {"json": BODY}],
    )
    assert AzureDataReplicationHook().get_operation_status(**OPERATION).status == "InProgress"
    first, second = [r for r in requests_mock.request_history if r.url.endswith("/oauth2/v2.0/token")]
    assert "claims" not in first.text
    assert "claims=" in second.text and "1700000000" in second.text.replace("%22", '"')


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_body_that_is_not_what_its_content_type_says_is_still_judged_by_its_status(emulator, mode):
    # azure-core's ContentDecodePolicy would raise DecodeError ("JSON is invalid") instead.
    emulator.script_operation("op1", ["Succeeded"])
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    emulator.add_fault(Fault("http", 502, {"Content-Type": "application/json"}, html, times=-1))
    settings = RequestSettings(retries=1, backoff_factor=0.01)

    async def read_async_once() -> None:
        async with AzureDataReplicationAsyncHook(request_settings=settings) as hook:
            await hook.get_operation_status(**OPERATION)

    with pytest.raises(AzureDataReplicationTransientError) as info:
        if mode == "sync":
            AzureDataReplicationHook(request_settings=settings).get_operation_status(**OPERATION)
        else:
            asyncio.run(read_async_once())
    assert "HTTP 502" in str(info.value) and "502 Bad Gateway" in str(info.value)
    assert "x-ms-request-id=" in str(info.value)
    assert len(emulator.requests_for("op1")) == 2


async def test_reads_refused_together_replace_the_credential_once(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW__AZURE_DATA_REPLICATION__ADAPTIVE_READ_PACING", "False")
    use_connection(monkeypatch, emulator, max_reads_per_second=1000)
    for i in range(9):
        emulator.script_operation(f"op{i}", ["InProgress"])
    # The token is revoked after the first read: the reads then in flight with it are all refused.
    emulator.add_fault(Fault.revoked_token(after=1))
    async with AzureDataReplicationAsyncHook() as hook:
        assert (
            await hook.get_operation_status(**{**OPERATION, "operation_id": "op0"})
        ).status == "InProgress"
        statuses = await asyncio.gather(
            *(hook.get_operation_status(**{**OPERATION, "operation_id": f"op{i}"}) for i in range(1, 9))
        )
    assert [s.status for s in statuses] == ["InProgress"] * 8
    assert len([r for r in emulator.requests if r.status == 401]) >= 1
    assert emulator.token_requests == 2  # the first token, and one in place of the revoked one


# -- the credential: token info -------------------------------------------------------------------------


def test_the_credential_hands_on_the_refresh_hint_of_the_token_answer(requests_mock, token):
    from azure.core.credentials import SupportsTokenInfo

    from airflow_provider_datareplication.arm_client import RenewableCredential

    answered = requests_mock.post(
        f"https://login.microsoftonline.com/{TENANT_ID}/oauth2/v2.0/token",
        json={"token_type": "Bearer", "expires_in": 3599, "refresh_in": 600, "access_token": ACCESS_TOKEN},
    )
    connection = AzureDataReplicationHook().connection
    before = time.time()
    with RenewableCredential(connection.credential) as credential:
        assert isinstance(credential, SupportsTokenInfo)
        info = credential.get_token_info(connection.token_scope)
        assert info.token == ACCESS_TOKEN
        assert info.refresh_on is not None
        assert before + 600 - 5 <= info.refresh_on <= time.time() + 600 + 5
        assert credential.get_token(connection.token_scope).token == ACCESS_TOKEN  # cached
    assert answered.call_count == 1


@pytest.fixture
def long_lived_tokens(monkeypatch):
    """An emulator issuing 2-hour tokens: azure-identity then hints to refresh them after half of it."""
    with DataReplicationEmulator(token_lifetime=7200) as emulator:
        use_connection(monkeypatch, emulator)
        yield emulator


async def test_the_async_credential_hands_on_azure_identitys_refresh_hint(long_lived_tokens):
    from azure.core.credentials_async import AsyncSupportsTokenInfo

    from airflow_provider_datareplication.arm_client import AsyncRenewableCredential

    connection = AzureDataReplicationHook().connection
    before = time.time()
    async with AsyncRenewableCredential(connection.async_credential) as credential:
        assert isinstance(credential, AsyncSupportsTokenInfo)
        info = await credential.get_token_info(connection.token_scope)
        assert info.refresh_on is not None
        assert before + 3600 - 5 <= info.refresh_on <= time.time() + 3600 + 5
    assert long_lived_tokens.token_requests == 1


# -- HTTP logging ---------------------------------------------------------------------------------------


def http_lines(caplog) -> str:
    """What azure-core's HTTP logging policy wrote (request and answer headers)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name == HTTP_LOGGER)


def header_records(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if "Request headers:" in r.getMessage() or "Response headers:" in r.getMessage()
    ]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_sign_in_and_a_read_log_no_http_headers_by_default(emulator, caplog, mode):
    caplog.set_level(logging.INFO)
    emulator.script_operation("op1", ["Succeeded"])
    assert read(mode) == "Succeeded"
    assert emulator.token_requests == 1
    assert http_lines(caplog) == ""
    assert header_records(caplog) == []


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("switch", ["extra", "config"])
def test_http_logging_shows_the_sign_in_and_the_reads_redacted(emulator, caplog, monkeypatch, mode, switch):
    if switch == "extra":
        use_connection(monkeypatch, emulator, http_logging=True)
    else:
        monkeypatch.setenv("AIRFLOW__AZURE_DATA_REPLICATION__HTTP_LOGGING", "True")
    caplog.set_level(logging.INFO)
    emulator.script_operation("op1", ["Succeeded"])
    assert read(mode) == "Succeeded"
    text = http_lines(caplog)
    assert f"/{emulator.tenant_id}/oauth2/v2.0/token'" in text  # the credential's token request
    assert "/jobs/job1/operations/op1?api-version=2021-02-16-preview'" in text  # the read
    assert "Request headers:" in text and "Response headers:" in text
    assert "'Authorization': 'REDACTED'" in text
    # The provider's quota header and its throttling version, shown rather than redacted.
    assert "'x-ms-ratelimit-remaining-subscription-resource-requests': '1099'" in text
    assert "'x-ms-throttling-version': 'v1'" in text
    assert re.search(r"'x-ms-correlation-request-id': '[0-9a-f-]{36}'", text)  # support asks for it
    assert_no_secrets(emulator, caplog.text)


def test_http_logging_is_per_client_and_changes_no_logger(emulator, caplog, monkeypatch):
    use_connection(monkeypatch, emulator, conn_id="loud", http_logging=True)
    caplog.set_level(logging.INFO)
    for op in ("quiet-op", "loud-op"):
        emulator.script_operation(op, ["Succeeded"])
    shared = [logging.getLogger(name) for name in (HTTP_LOGGER, "azure", "azure.core", "")]
    levels = [(logger.level, logger.disabled) for logger in shared]
    assert read_sync("quiet-op") == "Succeeded"
    assert read_sync("loud-op", conn_id="loud") == "Succeeded"
    assert read_sync("quiet-op") == "Succeeded"
    text = http_lines(caplog)
    assert "/operations/loud-op?" in text
    assert "quiet-op" not in text
    assert [(logger.level, logger.disabled) for logger in shared] == levels


# -- the switch ---------------------------------------------------------------------------------------


def settings_of(**extra):
    conn = SimpleNamespace(
        conn_id="c",
        conn_type="azure_data_replication",
        login=None,
        password=None,
        extra=json.dumps({"tenantId": TENANT_ID, **extra}),
    )
    return AzureDataReplicationConnection.from_connection(conn)


def test_the_http_logging_extra_and_option(monkeypatch):
    assert settings_of().http_logging is False
    assert settings_of(http_logging=True).http_logging is True
    assert settings_of(http_logging="true").http_logging is True
    with pytest.raises(ValueError, match="http_logging must be true or false"):
        settings_of(http_logging="loud")
    # Turning it on builds a client of its own (the pool tells clients apart by fingerprint).
    assert settings_of(http_logging=True).fingerprint != settings_of().fingerprint
    monkeypatch.setenv("AIRFLOW__AZURE_DATA_REPLICATION__HTTP_LOGGING", "True")
    assert settings_of().http_logging is True
    assert settings_of(http_logging=False).http_logging is True  # either turns it on
    info = get_provider_info()
    (conn_type,) = info["connection-types"]
    assert conn_type["conn-fields"]["http_logging"]["schema"] == {"type": ["boolean", "null"]}
    option = info["config"]["azure_data_replication"]["options"]["http_logging"]
    assert (option["type"], option["default"]) == ("boolean", "False")
