from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

import pytest

from airflow_provider_datareplication.connection import AzureDataReplicationConnection
from tests.helpers import (
    ACCESS_TOKEN,
    ARM,
    CLIENT_ID,
    CLIENT_SECRET,
    OPERATION,
    OPERATION_URL,
    SUBSCRIPTION_ID,
    TENANT_ID,
    emulator_auth_file,
    mock_token_endpoint,
)


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


# -- An existing `azure` connection, as the microsoft-azure provider's form and docs write it --------

#: Each cloud's ARM endpoint, token scope and sign-in authority, as the settings must end up.
CLOUDS = {
    "AzurePublicCloud": (
        "https://management.azure.com",
        "https://management.azure.com/.default",
        "login.microsoftonline.com",
    ),
    "AzureChinaCloud": (
        "https://management.chinacloudapi.cn",
        "https://management.chinacloudapi.cn/.default",
        "login.chinacloudapi.cn",
    ),
    "AzureUSGovernment": (
        "https://management.usgovcloudapi.net",
        "https://management.core.usgovcloudapi.net/.default",
        "login.microsoftonline.us",
    ),
}
#: The endpoints `az ad sp create-for-rbac --sdk-auth` writes into an auth file in each cloud.
SDK_AUTH_ENDPOINTS = {
    "AzurePublicCloud": {
        "activeDirectoryEndpointUrl": "https://login.microsoftonline.com",
        "resourceManagerEndpointUrl": "https://management.azure.com/",
        "activeDirectoryGraphResourceId": "https://graph.windows.net/",
        "sqlManagementEndpointUrl": "https://management.core.windows.net:8443/",
        "galleryEndpointUrl": "https://gallery.azure.com/",
        "managementEndpointUrl": "https://management.core.windows.net/",
    },
    "AzureChinaCloud": {
        "activeDirectoryEndpointUrl": "https://login.chinacloudapi.cn",
        "resourceManagerEndpointUrl": "https://management.chinacloudapi.cn/",
        "activeDirectoryGraphResourceId": "https://graph.chinacloudapi.cn/",
        "sqlManagementEndpointUrl": "https://management.core.chinacloudapi.cn:8443/",
        "galleryEndpointUrl": "https://gallery.chinacloudapi.cn/",
        "managementEndpointUrl": "https://management.core.chinacloudapi.cn/",
    },
    "AzureUSGovernment": {
        "activeDirectoryEndpointUrl": "https://login.microsoftonline.us",
        "resourceManagerEndpointUrl": "https://management.usgovcloudapi.net/",
        "activeDirectoryGraphResourceId": "https://graph.windows.net/",
        "sqlManagementEndpointUrl": "https://management.core.usgovcloudapi.net:8443/",
        "galleryEndpointUrl": "https://gallery.usgovcloudapi.net/",
        "managementEndpointUrl": "https://management.core.usgovcloudapi.net/",
    },
}
KEY_CLIENT_ID = "99999999-8888-7777-6666-555555555555"
KEY_SECRET = "key-file~secret-Value-not-for-logs"
#: The azure provider's form fields (conn-fields in its provider info), blank as a form leaves them.
FORM_FIELDS = ("tenantId", "subscriptionId", "managed_identity_client_id", "workload_identity_tenant_id")


def sdk_auth(cloud="AzurePublicCloud", **changes):
    """A service principal's auth file, as `az ad sp create-for-rbac --sdk-auth` writes it."""
    return {
        "clientId": KEY_CLIENT_ID,
        "clientSecret": KEY_SECRET,
        "subscriptionId": SUBSCRIPTION_ID,
        "tenantId": TENANT_ID,
        **SDK_AUTH_ENDPOINTS[cloud],
        **changes,
    }


def azure_form(*, legacy=False, extra_json=None, **fields):
    """
    The extras the microsoft-azure provider's form writes for an `azure` connection.

    Its fields (blank ones as empty strings), then whatever was typed into its Extra box; ``legacy``:
    the ``extra__azure__<field>`` names older Airflow forms wrote.
    """
    prefix = "extra__azure__" if legacy else ""
    written = {f"{prefix}{name}": "" for name in (*FORM_FIELDS, "cloud_environment")}
    written.update({f"{prefix}{name}": value for name, value in fields.items()})
    return {**written, **(extra_json or {})}


def read_env(monkeypatch, conn_id, value):
    """Read a connection the way a task does: Airflow's own lookup of ``AIRFLOW_CONN_<ID>``."""
    from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook

    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", value if isinstance(value, str) else json.dumps(value)
    )
    return AzureDataReplicationHook(conn_id).connection


def assert_cloud(settings, cloud):
    arm, scope, authority = CLOUDS[cloud]
    assert (settings.cloud, settings.resource_manager_url, settings.token_scope, settings.authority_host) == (
        cloud,
        arm,
        scope,
        authority,
    )
    assert settings.credential_options()["authority"] == authority


#: Each way an `azure` connection signs in without a key file: (login, password, form fields, credential).
KINDS = {
    "client secret": (CLIENT_ID, CLIENT_SECRET, {"tenantId": TENANT_ID}, "ClientSecretCredential"),
    "managed identity": (None, None, {"managed_identity_client_id": "mi-client"}, "DefaultAzureCredential"),
    "workload identity": (None, None, {"workload_identity_tenant_id": TENANT_ID}, "DefaultAzureCredential"),
    "default credential": (None, None, {}, "DefaultAzureCredential"),
}


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("legacy", [False, True], ids=["form", "legacy form"])
def test_an_azure_connection_from_its_form_is_read_in_its_cloud(cloud, kind, legacy):
    login, password, fields, credential = KINDS[kind]
    extra = azure_form(legacy=legacy, subscriptionId=SUBSCRIPTION_ID, cloud_environment=cloud, **fields)
    settings = read(conn_type="azure", login=login, password=password, extra=extra)
    assert_cloud(settings, cloud)
    assert settings.subscription_id == SUBSCRIPTION_ID
    assert type(settings.credential()).__name__ == credential
    options = settings.credential_options()
    if kind == "client secret":
        assert (options["client_id"], options["tenant_id"]) == (CLIENT_ID, TENANT_ID)
    if kind == "managed identity":
        assert options["managed_identity_client_id"] == "mi-client"
    if kind == "workload identity":
        assert options["workload_identity_tenant_id"] == TENANT_ID


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("kind", KINDS)
def test_an_azure_connection_from_its_documented_json_is_read_in_its_cloud(monkeypatch, cloud, kind):
    login, password, fields, credential = KINDS[kind]
    conn = {
        "conn_type": "azure",
        "extra": {"subscriptionId": SUBSCRIPTION_ID, "cloud_environment": cloud, **fields},
    }
    if login:
        conn.update(login=login, password=password)
    settings = read_env(monkeypatch, "azure_json", conn)
    assert_cloud(settings, cloud)
    assert type(settings.credential()).__name__ == credential


@pytest.mark.parametrize("cloud", CLOUDS)
def test_an_azure_connection_signs_in_and_reads_in_its_cloud(requests_mock, monkeypatch, cloud):
    from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook

    arm, scope, authority = CLOUDS[cloud]
    token = mock_token_endpoint(requests_mock, authority=f"https://{authority}")
    status = requests_mock.get(OPERATION_URL.replace(ARM, arm), json={"name": "op1", "status": "Succeeded"})
    extra = azure_form(tenantId=TENANT_ID, subscriptionId=SUBSCRIPTION_ID, cloud_environment=cloud)
    conn = {"conn_type": "azure", "login": CLIENT_ID, "password": CLIENT_SECRET, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_AZURE_CLOUD", json.dumps(conn))
    with AzureDataReplicationHook("azure_cloud") as hook:
        assert hook.get_operation_status(**OPERATION, resource_group_name="rg1").succeeded
    assert parse_qs(token.last_request.text)["scope"] == [scope]
    assert status.last_request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("source", ["key_path", "key_json", "key_json as text"])
def test_a_service_principal_auth_file_is_read_in_the_cloud_its_endpoints_name(tmp_path, cloud, source):
    if source == "key_path":
        path = tmp_path / "sp.json"
        path.write_text(json.dumps(sdk_auth(cloud), indent=2))
        extra_json = {"key_path": str(path)}
    else:
        extra_json = {"key_json": sdk_auth(cloud) if source == "key_json" else json.dumps(sdk_auth(cloud))}
    settings = read(conn_type="azure", login=None, password=None, extra=azure_form(extra_json=extra_json))
    assert_cloud(settings, cloud)
    assert (settings.client_id, settings.client_secret, settings.tenant_id, settings.subscription_id) == (
        KEY_CLIENT_ID,
        KEY_SECRET,
        TENANT_ID,
        SUBSCRIPTION_ID,
    )
    assert settings.uses_client_secret
    options = settings.credential_options()
    assert (options["client_id"], options["client_secret"], options["tenant_id"]) == (
        KEY_CLIENT_ID,
        KEY_SECRET,
        TENANT_ID,
    )
    assert type(settings.credential()).__name__ == "ClientSecretCredential"
    assert KEY_SECRET not in repr(settings)


def test_the_documented_uri_with_a_key_path(monkeypatch, tmp_path):
    # The azure provider's docs: export AIRFLOW_CONN_AZURE_DEFAULT='azure://?key_path=%2Fkeys%2Fkey.json'
    from urllib.parse import quote

    path = tmp_path / "key.json"
    path.write_text(json.dumps(sdk_auth("AzureChinaCloud")))
    settings = read_env(monkeypatch, "azure_uri", f"azure://?key_path={quote(str(path), safe='')}")
    assert_cloud(settings, "AzureChinaCloud")
    assert settings.client_id == KEY_CLIENT_ID


def test_a_key_json_in_a_uri_is_json_text(monkeypatch):
    from urllib.parse import quote

    text = json.dumps(sdk_auth("AzureUSGovernment"))
    settings = read_env(monkeypatch, "azure_uri", f"azure://?key_json={quote(text, safe='')}")
    assert_cloud(settings, "AzureUSGovernment")
    assert settings.client_secret == KEY_SECRET


def test_legacy_prefixed_key_json_and_a_byte_order_mark(tmp_path):
    assert (
        read(
            conn_type="azure", login=None, password=None, extra={"extra__azure__key_json": sdk_auth()}
        ).client_id
        == KEY_CLIENT_ID
    )
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(sdk_auth()), encoding="utf-8-sig")  # as Windows tools may save it
    assert read(
        conn_type="azure", login=None, password=None, extra={"key_path": str(path)}
    ).uses_client_secret


def test_the_key_file_is_read_when_the_connection_is_read(tmp_path):
    path = tmp_path / "sp.json"
    path.write_text(json.dumps(sdk_auth()))
    first = read(conn_type="azure", login=None, password=None, extra={"key_path": str(path)})
    path.write_text(json.dumps(sdk_auth(clientSecret="rotated-secret")))
    second = read(conn_type="azure", login=None, password=None, extra={"key_path": str(path)})
    assert (first.client_secret, second.client_secret) == (KEY_SECRET, "rotated-secret")
    assert first.fingerprint != second.fingerprint


def test_a_key_file_may_repeat_what_the_connection_says():
    settings = read(
        conn_type="azure",
        login=KEY_CLIENT_ID.upper(),
        password=KEY_SECRET,
        extra=azure_form(
            tenantId=TENANT_ID,
            subscriptionId=SUBSCRIPTION_ID.lower(),
            cloud_environment="AzureChinaCloud",
            extra_json={"key_json": sdk_auth("AzureChinaCloud")},
        ),
    )
    assert_cloud(settings, "AzureChinaCloud")
    assert settings.client_secret == KEY_SECRET


@pytest.mark.parametrize(
    ("conn", "message"),
    [
        ({"login": CLIENT_ID}, rf"login and key_json's clientId differ \('{CLIENT_ID}', '{KEY_CLIENT_ID}'\)"),
        ({"extra": {"tenantId": "other-tenant"}}, "tenantId and key_json's tenantId differ"),
        ({"extra": {"subscriptionId": "other-sub"}}, "subscriptionId and key_json's subscriptionId differ"),
        (
            {"extra": {"cloud_environment": "AzureChinaCloud"}},
            "cloud_environment 'AzureChinaCloud' and key_json's endpoints 'AzurePublicCloud' differ",
        ),
        (
            {"extra": {"resource_manager_url": "https://arm.local"}},
            "resource_manager_url and key_json's resourceManagerEndpointUrl differ",
        ),
        (
            {"extra": {"authority_host": "login.local"}},
            "authority_host and key_json's activeDirectoryEndpointUrl differ",
        ),
        ({"extra": {"key_path": "/keys/sp.json"}}, "key_path and key_json are both set: set one"),
    ],
)
def test_a_key_file_that_contradicts_the_connection_is_refused_naming_both(conn, message):
    with pytest.raises(ValueError, match=rf"connection 'my_conn': {message}"):
        read(
            conn_type="azure",
            login=conn.get("login"),
            password=None,
            extra={"key_json": sdk_auth(), **conn.get("extra", {})},
        )


def test_a_different_password_is_refused_without_showing_either_secret():
    with pytest.raises(ValueError, match="password and key_json's clientSecret differ: set one") as info:
        read(conn_type="azure", login=None, password=CLIENT_SECRET, extra={"key_json": sdk_auth()})
    assert CLIENT_SECRET not in str(info.value)
    assert KEY_SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("key_json", "message"),
    [
        ("{not json", r"key_json is not valid JSON \(Expecting property name"),
        ('["a list"]', "key_json must hold a JSON object"),
        (sdk_auth(clientSecret=None), "key_json lacks clientSecret"),
        ({"clientSecret": KEY_SECRET}, "key_json lacks clientId, tenantId"),
        (
            {**sdk_auth(), "clientSecret": None, "clientCertificate": "/keys/sp.pem"},
            "key_json's clientCertificate is not supported",
        ),
        ({**sdk_auth(), "clientSecrets": KEY_SECRET}, "key_json holds keys not read here: clientSecrets"),
        (
            sdk_auth(resourceManagerEndpointUrl="http://management.azure.com/"),
            "key_json's resourceManagerEndpointUrl must be an https:// URL",
        ),
        (
            sdk_auth(activeDirectoryEndpointUrl="http://login.local"),
            "key_json's activeDirectoryEndpointUrl must be an https:// URL",
        ),
        (
            sdk_auth(activeDirectoryEndpointUrl="https://adfs.local/adfs"),
            "key_json's activeDirectoryEndpointUrl must be an authority host without a path",
        ),
    ],
)
def test_a_bad_key_json_is_named_and_its_secret_never_shown(key_json, message):
    with pytest.raises(ValueError, match=f"connection 'my_conn': {message}") as info:
        read(conn_type="azure", login=None, password=None, extra={"key_json": key_json})
    assert KEY_SECRET not in str(info.value)


def test_a_bad_key_path_is_named_and_its_secret_never_shown(tmp_path):
    def key_path_error(value):
        with pytest.raises(ValueError, match="connection 'my_conn': key_path") as info:
            read(conn_type="azure", login=None, password=None, extra={"key_path": value})
        assert KEY_SECRET not in str(info.value)
        return str(info.value)

    assert "cannot be read (No such file or directory)" in key_path_error(str(tmp_path / "missing.json"))
    assert "must be the path of a .json file" in key_path_error(str(tmp_path / "sp.txt"))
    # The JSON itself pasted into key_path: refused, and not echoed.
    assert "must be the path of a .json file" in key_path_error(json.dumps(sdk_auth()))
    assert "must be the path of a .json file" in key_path_error(sdk_auth())
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(sdk_auth())[:-1])
    assert "key_path is not valid JSON" in key_path_error(str(broken))
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    assert "is not UTF-8 text" in key_path_error(str(binary))


def test_a_key_file_for_a_private_cloud_or_an_emulator_sets_both_endpoints():
    settings = read(
        conn_type="azure",
        login=None,
        password=None,
        extra={
            "key_json": sdk_auth(
                activeDirectoryEndpointUrl="https://login.local:8443/",
                resourceManagerEndpointUrl="https://arm.local:8443/",
            )
        },
    )
    assert settings.cloud == "AzurePublicCloud"  # what the portal link falls back to, as with the overrides
    assert settings.resource_manager_url == "https://arm.local:8443"
    assert settings.token_scope == "https://arm.local:8443/.default"
    assert settings.authority_host == "https://login.local:8443"


def test_a_key_files_token_resource_sets_the_scope():
    settings = read(
        conn_type="azure",
        login=None,
        password=None,
        extra={"key_json": sdk_auth(activeDirectoryResourceId="https://management.core.windows.net/")},
    )
    assert settings.resource_manager_url == "https://management.azure.com"
    assert settings.token_scope == "https://management.core.windows.net/.default"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_cloud_and_cloud_environment_agreeing_are_one_cloud(cloud):
    assert_cloud(read(extra={"tenantId": TENANT_ID, "cloud": cloud, "cloud_environment": cloud}), cloud)
    own_type_legacy = {"tenantId": TENANT_ID, "extra__azure_data_replication__cloud_environment": cloud}
    assert_cloud(read(extra=own_type_legacy), cloud)


def test_cloud_and_cloud_environment_disagreeing_are_refused_naming_both():
    with pytest.raises(
        ValueError,
        match="connection 'my_conn': cloud 'AzureChinaCloud' and cloud_environment 'AzurePublicCloud' differ",
    ):
        read(
            extra={"tenantId": TENANT_ID, "cloud": "AzureChinaCloud", "cloud_environment": "AzurePublicCloud"}
        )


@pytest.mark.parametrize("legacy", [False, True])
def test_an_unknown_cloud_environment_is_named_with_the_allowed_values(legacy):
    key = "extra__azure__cloud_environment" if legacy else "cloud_environment"
    with pytest.raises(
        ValueError,
        match="connection 'my_conn': cloud_environment must be one of AzurePublicCloud, AzureChinaCloud, "
        "AzureUSGovernment, got 'AzureGermanCloud'",
    ):
        read(conn_type="azure", extra={"tenantId": TENANT_ID, key: "AzureGermanCloud"})


@pytest.mark.parametrize("value", [True, False, "true", "False", ""])
def test_use_azure_identity_object_is_accepted(value):
    extra = azure_form(tenantId=TENANT_ID, extra_json={"use_azure_identity_object": value})
    assert type(read(conn_type="azure", extra=extra).credential()).__name__ == "ClientSecretCredential"


def test_use_azure_identity_object_must_be_a_boolean():
    with pytest.raises(
        ValueError, match="connection 'my_conn': use_azure_identity_object must be true or false"
    ):
        read(conn_type="azure", extra={"tenantId": TENANT_ID, "use_azure_identity_object": "maybe"})


# -- Signing in with a key file, against the emulator's Entra ID and ARM ----------------------------


def emulator_azure_connection(emulator, **key):
    """An `azure` connection holding only a key file (and what trusting the emulator needs)."""
    extra = azure_form(extra_json={**key, "disable_instance_discovery": True, "ca_bundle": emulator.ca_file})
    return {"conn_type": "azure", "extra": extra}


@pytest.mark.parametrize("source", ["key_path", "key_json"])
def test_a_key_file_signs_in_and_reads_an_operation(emulator, monkeypatch, tmp_path, caplog, source):
    from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook

    caplog.set_level(logging.DEBUG)
    # Only the key file's service principal can sign in: no managed identity to fall back on.
    monkeypatch.delenv("AZURE_POD_IDENTITY_AUTHORITY_HOST")
    if source == "key_path":
        path = tmp_path / "sp.json"
        path.write_text(json.dumps(emulator_auth_file(emulator)))
        key = {"key_path": str(path)}
    else:
        key = {"key_json": emulator_auth_file(emulator)}
    monkeypatch.setenv("AIRFLOW_CONN_AZURE_KEY", json.dumps(emulator_azure_connection(emulator, **key)))
    emulator.script_operation("op1", ["InProgress", "Succeeded"])
    with AzureDataReplicationHook("azure_key") as hook:
        # Before anything is sent: the key file's endpoints, not the public cloud's.
        assert hook.connection.resource_manager_url == emulator.url
        statuses = [
            hook.get_operation_status(
                operation_id="op1", job_name="job1", vault_name="vault1", resource_group_name="rg1"
            )
            for _ in range(2)
        ]
        assert hook.test_connection()[0]
    assert [s.status for s in statuses] == ["InProgress", "Succeeded"]
    assert emulator.token_requests == 1  # the client secret's sign-in, once
    assert emulator.client_secret not in caplog.text
    # The key file's default subscription: the operation was read in it.
    assert (
        f"/subscriptions/{emulator.subscription_id}/".lower() in emulator.requests_for("op1")[0].path.lower()
    )


async def test_a_key_json_signs_in_from_a_trigger(emulator, monkeypatch):
    from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationAsyncHook

    monkeypatch.delenv("AZURE_POD_IDENTITY_AUTHORITY_HOST")
    monkeypatch.setenv(
        "AIRFLOW_CONN_AZURE_KEY",
        json.dumps(emulator_azure_connection(emulator, key_json=json.dumps(emulator_auth_file(emulator)))),
    )
    emulator.script_operation("op1", ["Succeeded"])
    async with AzureDataReplicationAsyncHook("azure_key") as hook:
        status = await hook.get_operation_status(
            operation_id="op1", job_name="job1", vault_name="vault1", resource_group_name="rg1"
        )
    assert status.succeeded
    assert emulator.token_requests == 1
