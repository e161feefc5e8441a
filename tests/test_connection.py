from __future__ import annotations

import json

import pytest

from airflow_provider_datareplication.connection import AzureDataReplicationConnection
from tests.helpers import CLIENT_ID, CLIENT_SECRET, SUBSCRIPTION_ID, TENANT_ID


class Conn:
    """The attributes of an Airflow Connection that the provider reads."""

    def __init__(
        self, *, conn_type="azure_data_replication", login=CLIENT_ID, password=CLIENT_SECRET, extra=None
    ):
        self.conn_id = "my_conn"
        self.conn_type = conn_type
        self.login = login
        self.password = password
        self.extra = json.dumps(extra) if isinstance(extra, dict) else extra


def read(**kwargs):
    return AzureDataReplicationConnection.from_connection(Conn(**kwargs))


def test_service_principal_on_the_public_cloud_by_default():
    settings = read(extra={"tenantId": TENANT_ID, "subscriptionId": SUBSCRIPTION_ID, "vault_name": "v1"})
    assert settings.uses_client_secret
    assert settings.resource_manager_url == "https://management.azure.com"
    assert settings.token_scope == "https://management.azure.com/.default"
    assert settings.authority_host == "login.microsoftonline.com"
    assert settings.portal_url == "https://portal.azure.com"
    assert (settings.subscription_id, settings.vault_name, settings.resource_group_name) == (
        SUBSCRIPTION_ID,
        "v1",
        None,
    )
    options = settings.credential_options()
    assert options["tenant_id"] == TENANT_ID
    assert options["client_id"] == CLIENT_ID
    assert options["authority"] == "login.microsoftonline.com"
    assert type(settings.credential()).__name__ == "ClientSecretCredential"


def test_an_existing_azure_connection_works_as_is_legacy_keys_included():
    settings = read(
        conn_type="azure",
        extra={"extra__azure__tenantId": TENANT_ID, "extra__azure__subscriptionId": SUBSCRIPTION_ID},
    )
    assert settings.tenant_id == TENANT_ID
    assert settings.subscription_id == SUBSCRIPTION_ID
    assert settings.uses_client_secret


def test_own_prefixed_keys_from_older_forms():
    settings = read(
        extra={
            "extra__azure_data_replication__tenantId": TENANT_ID,
            "extra__azure_data_replication__vault_name": "v2",
        }
    )
    assert settings.tenant_id == TENANT_ID
    assert settings.vault_name == "v2"


def test_plain_key_wins_over_prefixed_and_empty_strings_are_unset():
    settings = read(extra={"tenantId": TENANT_ID, "extra__azure__tenantId": "other", "vault_name": ""})
    assert settings.tenant_id == TENANT_ID
    assert settings.vault_name is None


@pytest.mark.parametrize(
    ("cloud", "arm", "scope", "authority", "portal"),
    [
        (
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn",
            "https://management.chinacloudapi.cn/.default",
            "login.chinacloudapi.cn",
            "https://portal.azure.cn",
        ),
        (
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net",
            "https://management.core.usgovcloudapi.net/.default",
            "login.microsoftonline.us",
            "https://portal.azure.us",
        ),
    ],
)
def test_cloud_sets_endpoint_scope_and_authority(cloud, arm, scope, authority, portal):
    settings = read(extra={"tenantId": TENANT_ID, "cloud": cloud})
    assert (
        settings.resource_manager_url,
        settings.token_scope,
        settings.authority_host,
        settings.portal_url,
    ) == (arm, scope, authority, portal)
    assert settings.credential_options()["authority"] == authority


def test_overrides_for_private_clouds_and_emulators():
    settings = read(
        extra={
            "tenantId": TENANT_ID,
            "resource_manager_url": "https://arm.local:8443/",
            "authority_host": "https://login.local:8443",
            "disable_instance_discovery": "true",
            "ca_bundle": "/etc/ca.pem",
        }
    )
    assert settings.resource_manager_url == "https://arm.local:8443"
    assert settings.token_scope == "https://arm.local:8443/.default"
    assert settings.authority_host == "https://login.local:8443"
    options = settings.credential_options(connection_timeout=5)
    assert options["disable_instance_discovery"] is True
    assert options["connection_verify"] == "/etc/ca.pem"
    assert options["connection_timeout"] == 5


@pytest.mark.parametrize("url", ["http://management.azure.com", "ftp://x", "management.azure.com"])
def test_plain_http_resource_manager_is_refused(url):
    with pytest.raises(ValueError, match="resource_manager_url must be an https:// URL"):
        read(extra={"tenantId": TENANT_ID, "resource_manager_url": url})


def test_plain_http_authority_is_refused():
    with pytest.raises(ValueError, match="authority_host must be an https:// URL"):
        read(extra={"tenantId": TENANT_ID, "authority_host": "http://login.local"})


def test_unknown_cloud_is_named():
    with pytest.raises(
        ValueError, match="cloud must be one of AzurePublicCloud, AzureChinaCloud, AzureUSGovernment"
    ):
        read(extra={"tenantId": TENANT_ID, "cloud": "AzureGermanCloud"})


def test_client_secret_without_tenant_is_a_clear_error():
    with pytest.raises(ValueError, match="tenantId is required"):
        read(extra={})


def test_bad_extra_json_and_bad_booleans_are_named():
    with pytest.raises(ValueError, match="extra is not valid JSON"):
        read(extra="{not json")
    with pytest.raises(ValueError, match="disable_instance_discovery must be true or false"):
        read(extra={"tenantId": TENANT_ID, "disable_instance_discovery": "maybe"})


def test_no_secret_means_default_credential_with_managed_identity_alone():
    settings = read(login=None, password=None, extra={"managed_identity_client_id": "mi-client"})
    assert not settings.uses_client_secret
    options = settings.credential_options()
    assert options["managed_identity_client_id"] == "mi-client"
    assert "workload_identity_tenant_id" not in options
    assert type(settings.credential()).__name__ == "DefaultAzureCredential"


def test_workload_identity_tenant_alone_is_honoured():
    settings = read(login=None, password=None, extra={"workload_identity_tenant_id": TENANT_ID})
    options = settings.credential_options()
    assert options["workload_identity_tenant_id"] == TENANT_ID
    assert options["additionally_allowed_tenants"] == [TENANT_ID]
    assert "managed_identity_client_id" not in options


def test_client_id_without_secret_uses_default_credential():
    assert not read(password=None, extra={}).uses_client_secret


def test_secret_is_not_in_repr_but_changes_the_fingerprint():
    a = read(extra={"tenantId": TENANT_ID})
    b = read(password="another-secret", extra={"tenantId": TENANT_ID})
    assert CLIENT_SECRET not in repr(a)
    assert a.fingerprint != b.fingerprint
    assert CLIENT_SECRET not in a.fingerprint


def test_request_timeout_extra():
    assert read(extra={"tenantId": TENANT_ID, "request_timeout": "2.5"}).request_timeout == 2.5
    assert read(extra={"tenantId": TENANT_ID}).request_timeout is None
    for bad in ("0", "-1", "soon"):
        with pytest.raises(ValueError, match="request_timeout must be a positive number"):
            read(extra={"tenantId": TENANT_ID, "request_timeout": bad})


def test_max_reads_per_second_extra_and_principal():
    settings = read(extra={"tenantId": TENANT_ID, "max_reads_per_second": 5})
    assert settings.max_reads_per_second == 5
    assert read(extra={"tenantId": TENANT_ID}).max_reads_per_second == 25
    with pytest.raises(ValueError, match="max_reads_per_second must be a positive number"):
        read(extra={"tenantId": TENANT_ID, "max_reads_per_second": 0})
    assert CLIENT_SECRET not in repr(settings.principal)
    assert settings.principal == read(password="rotated", extra={"tenantId": TENANT_ID}).principal
