from __future__ import annotations

import pytest

from airflow_provider_datareplication.exceptions import (
    AzureDataReplicationAuthError,
    AzureDataReplicationClientError,
    AzureDataReplicationError,
    AzureDataReplicationNotFoundError,
    AzureDataReplicationOperationFailedError,
    AzureDataReplicationTransientError,
    error_for_response,
    parse_error_body,
)
from airflow_provider_datareplication.version_compat import AirflowException, AirflowFailException

HEADERS = {
    "X-Ms-Request-Id": "req-123",
    "x-ms-correlation-request-id": "corr-456",
    "x-ms-routing-request-id": "WESTEUROPE:20261126T000000Z:abc",
}


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            b'{"error": {"code": "ResourceNotFound", "message": "Vault v not found", "details": []}}',
            "ResourceNotFound",
            "Vault v not found",
        ),
        (b'{"code": "ServiceUnavailable", "message": "Try later"}', "ServiceUnavailable", "Try later"),
        (b"", None, None),
        (b"   ", None, None),
        (
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            None,
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        ),
        (b'{"error": {"code": "X"', None, '{"error": {"code": "X"'),
        (b'["not", "an", "object"]', None, '["not", "an", "object"]'),
        (b'{"error": "invalid_client", "error_description": "AADSTS7000215"}', "invalid_client", None),
    ],
)
def test_error_body_shapes(body, code, message):
    assert parse_error_body(body) == (code, message)


def test_long_html_is_cut_short():
    _, message = parse_error_body(b"<html>" + b"x" * 5000 + b"</html>")
    assert message is not None and len(message) < 210 and message.endswith("...")


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, AzureDataReplicationClientError),
        (401, AzureDataReplicationAuthError),
        (403, AzureDataReplicationAuthError),
        (404, AzureDataReplicationNotFoundError),
        (409, AzureDataReplicationClientError),
        (408, AzureDataReplicationTransientError),
        (429, AzureDataReplicationTransientError),
        (500, AzureDataReplicationTransientError),
        (502, AzureDataReplicationTransientError),
        (503, AzureDataReplicationTransientError),
        (504, AzureDataReplicationTransientError),
    ],
)
def test_status_maps_to_typed_error(status, cls):
    err = error_for_response(
        status, HEADERS, b'{"error": {"code": "C", "message": "M"}}', what="operation 'o'"
    )
    assert type(err) is cls
    assert isinstance(err, AirflowException)
    text = str(err)
    assert f"HTTP {status}" in text
    assert "C: M" in text
    assert "x-ms-request-id=req-123" in text
    assert "x-ms-correlation-request-id=corr-456" in text
    assert "operation 'o'" in text


def test_retry_after_is_carried_and_shown():
    err = error_for_response(429, {}, b"", what="x", retry_after=7.5)
    assert err.retry_after == 7.5
    assert "retry after 7.5 s" in str(err)


def test_client_errors_are_not_transient():
    assert not issubclass(AzureDataReplicationClientError, AzureDataReplicationTransientError)
    assert issubclass(AzureDataReplicationNotFoundError, AzureDataReplicationClientError)
    assert issubclass(AzureDataReplicationAuthError, AzureDataReplicationClientError)


def test_operation_failure_is_final():
    assert issubclass(AzureDataReplicationOperationFailedError, AirflowFailException)
    assert not issubclass(AzureDataReplicationOperationFailedError, AzureDataReplicationError)
