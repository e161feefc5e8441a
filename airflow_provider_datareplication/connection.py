"""
The ``azure_data_replication`` connection: what it holds, which cloud it points at, its credential.

It reads every field of the microsoft-azure provider's ``azure`` connection with its meaning there
(login = client id, password = client secret, extras ``tenantId``, ``subscriptionId``,
``managed_identity_client_id``, ``workload_identity_tenant_id``, ``cloud_environment``,
``key_path`` / ``key_json`` (a service principal's auth file), ``use_azure_identity_object``, also
under their legacy ``extra__<conn type>__`` names), with that provider's own ``get_field``, so a
task can point at an existing ``azure`` connection as it is; what two fields say differently is
refused, naming both.
Each cloud's ARM endpoint and token scope come from azure-mgmt-core, its sign-in host from
azure-identity. Azure SDK imports happen when a connection is read or a credential built, never
at import time: DAG parsing imports this module.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

CONN_TYPE = "azure_data_replication"
DEFAULT_CONN_ID = "azure_data_replication_default"


#: The clouds a connection can name, by the ``cloud`` extra (the connection form offers these).
CLOUD_NAMES = ("AzurePublicCloud", "AzureChinaCloud", "AzureUSGovernment")
DEFAULT_CLOUD = "AzurePublicCloud"
#: The Azure portal of each cloud (no SDK names them).
_PORTALS = {
    "AzurePublicCloud": "https://portal.azure.com",
    "AzureChinaCloud": "https://portal.azure.cn",
    "AzureUSGovernment": "https://portal.azure.us",
}


@dataclass(frozen=True)
class AzureCloud:
    """
    One Azure cloud's endpoints.

    :param name: The cloud's name as the ``cloud`` extra spells it.
    :param resource_manager_url: The ARM endpoint.
    :param authority_host: The Microsoft Entra ID (Azure AD) host that issues tokens.
    :param token_scope: The scope of an ARM token in that cloud.
    :param portal_url: The Azure portal of that cloud.
    """

    name: str
    resource_manager_url: str
    authority_host: str
    token_scope: str
    portal_url: str


def azure_cloud(name: str) -> AzureCloud:
    """
    Return a cloud's endpoints: ARM and its scope from azure-mgmt-core, sign-in from azure-identity.

    :param name: One of :data:`CLOUD_NAMES`.
    """
    from azure.core import AzureClouds
    from azure.identity import AzureAuthorityHosts
    from azure.mgmt.core.tools import get_arm_endpoints

    setting, authority = {
        "AzurePublicCloud": (AzureClouds.AZURE_PUBLIC_CLOUD, AzureAuthorityHosts.AZURE_PUBLIC_CLOUD),
        "AzureChinaCloud": (AzureClouds.AZURE_CHINA_CLOUD, AzureAuthorityHosts.AZURE_CHINA),
        "AzureUSGovernment": (AzureClouds.AZURE_US_GOVERNMENT, AzureAuthorityHosts.AZURE_GOVERNMENT),
    }[name]
    endpoints = get_arm_endpoints(setting)
    return AzureCloud(
        name,
        endpoints["resource_manager"].rstrip("/"),
        authority,
        endpoints["credential_scopes"][0],
        _PORTALS[name],
    )


#: ARM's read refill per principal and subscription: the ceiling of a process's adaptive pace
#: (which follows ARM's bucket down when other processes share it), or the fixed pace without it.
DEFAULT_MAX_READS_PER_SECOND = 25.0

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


def _https_url(value: str, *, parameter: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() != "https" or not parts.netloc:
        raise ValueError(
            f"{parameter} must be an https:// URL (bearer tokens are never sent over plain http), "
            f"got {value!r}"
        )
    return value.rstrip("/")


def _as_bool(value: Any, *, parameter: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{parameter} must be true or false, got {value!r}")


def _http_logging(value: Any) -> bool:
    from airflow_provider_datareplication.pipeline import http_logging_configured

    return _as_bool(value or False, parameter="http_logging") or http_logging_configured()


def _positive_number(value: Any, *, parameter: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = 0.0
    if not number > 0:
        raise ValueError(f"{parameter} must be a positive number, got {value!r}")
    return number


def _same(a: Any, b: Any) -> bool:
    """Whether two ids or URLs name the same thing (GUIDs in any case, a URL with or without https://)."""

    def plain(value: Any) -> str:
        text = str(value).strip().rstrip("/").lower()
        return text.removeprefix("https://")

    return plain(a) == plain(b)


#: What a service principal's auth file (``az ad sp create-for-rbac --sdk-auth``) holds that is read.
_KEY_FIELDS = (
    "clientId",
    "clientSecret",
    "tenantId",
    "subscriptionId",
    "activeDirectoryEndpointUrl",
    "resourceManagerEndpointUrl",
    "activeDirectoryResourceId",
)
#: Its other services' endpoints (Graph, SQL, gallery, classic management): nothing here reads them.
_KEY_OTHER_ENDPOINTS = (
    "activeDirectoryGraphResourceId",
    "sqlManagementEndpointUrl",
    "galleryEndpointUrl",
    "managementEndpointUrl",
)


@dataclass(frozen=True)
class _KeyFile:
    """
    A service principal's auth file, as ``key_path`` or ``key_json`` holds it, checked.

    :param source: ``key_path`` or ``key_json``, for errors.
    :param fields: Its values by key: ids, the secret, endpoints normalised (a known cloud's
        authority as its bare host, as :func:`azure_cloud` names it).
    :param cloud: The known cloud its endpoints name, if they name one.
    :param token_resource: Its ``activeDirectoryResourceId``: the resource a token is asked for.
    """

    source: str
    fields: dict[str, Any] = field(repr=False)
    cloud: str | None = None
    token_resource: str | None = None


def _key_file(key_path: Any, key_json: Any) -> _KeyFile | None:
    """
    Read and check the auth file a connection names; ``None`` without one.

    :param key_path: The ``key_path`` extra: the path of a ``.json`` auth file.
    :param key_json: The ``key_json`` extra: the same JSON, as an object or a string.
    """
    if key_path and key_json:
        raise ValueError("key_path and key_json are both set: set one")
    if key_path:
        # Never echoed unchecked: what was meant for key_json may hold a secret.
        if not isinstance(key_path, str) or not key_path.endswith(".json"):
            raise ValueError(
                "key_path must be the path of a .json file (as the microsoft-azure provider requires)"
            )
        source, path = "key_path", key_path
        try:
            with open(path, encoding="utf-8-sig") as file:  # utf-8-sig: as azure-common reads it
                content: Any = file.read()
        except OSError as err:
            raise ValueError(f"key_path {path!r} cannot be read ({err.strerror or err})") from None
        except UnicodeError:
            raise ValueError(f"key_path {path!r} is not UTF-8 text") from None
    elif key_json:
        source, content = "key_json", key_json
    else:
        return None
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError as err:
            # The decoder's message names a position, never the text (which holds the secret).
            raise ValueError(f"{source} is not valid JSON ({err})") from None
    if not isinstance(content, dict):
        raise ValueError(f"{source} must hold a JSON object (a service principal's auth file)")
    if content.get("clientCertificate"):
        raise ValueError(
            f"{source}'s clientCertificate is not supported: use a client secret (clientSecret), "
            "or a managed or workload identity"
        )
    unknown = sorted(set(content) - {*_KEY_FIELDS, *_KEY_OTHER_ENDPOINTS, "clientCertificate"})
    if unknown:
        raise ValueError(f"{source} holds keys not read here: {', '.join(unknown)}")
    fields = {name: content[name] for name in _KEY_FIELDS if content.get(name) not in (None, "")}
    missing = [name for name in ("clientId", "clientSecret", "tenantId") if name not in fields]
    if missing:
        raise ValueError(f"{source} lacks {', '.join(missing)}")

    clouds = [azure_cloud(name) for name in CLOUD_NAMES]
    cloud = None
    if "resourceManagerEndpointUrl" in fields:
        arm = _https_url(
            str(fields["resourceManagerEndpointUrl"]), parameter=f"{source}'s resourceManagerEndpointUrl"
        )
        fields["resourceManagerEndpointUrl"] = arm
        cloud = next((c.name for c in clouds if c.resource_manager_url == arm), None)
    if "activeDirectoryEndpointUrl" in fields:
        parameter = f"{source}'s activeDirectoryEndpointUrl"
        authority = _https_url(str(fields["activeDirectoryEndpointUrl"]), parameter=parameter)
        parts = urlsplit(authority)
        if parts.path or parts.query:
            raise ValueError(
                f"{parameter} must be an authority host without a path (no ADFS), got {authority!r}"
            )
        known = next((c for c in clouds if c.authority_host == parts.netloc.lower()), None)
        fields["activeDirectoryEndpointUrl"] = known.authority_host if known else authority
        if cloud is None and "resourceManagerEndpointUrl" not in fields and known:
            cloud = known.name
    resource = fields.get("activeDirectoryResourceId")
    return _KeyFile(source, fields, cloud, str(resource).rstrip("/") if resource else None)


@dataclass(frozen=True)
class AzureDataReplicationConnection:
    """
    The settings of one connection, validated; the client secret is kept out of ``repr``.

    :param conn_id: The Airflow connection id.
    :param client_id: The application (client) id, from the login.
    :param client_secret: The client secret, from the password.
    :param tenant_id: The directory (tenant) id.
    :param subscription_id: Default subscription for tasks.
    :param resource_group_name: Default resource group for tasks.
    :param vault_name: Default replication vault for tasks.
    :param managed_identity_client_id: Client id of a user-assigned managed identity.
    :param workload_identity_tenant_id: Tenant of a workload identity federation.
    :param cloud: The cloud's name.
    :param resource_manager_url: The ARM endpoint (https).
    :param authority_host: The token authority host or https URL.
    :param token_scope: The scope asked for in tokens.
    :param disable_instance_discovery: Skip Entra ID instance discovery (private clouds, emulators).
    :param ca_bundle: A PEM file of CA certificates to trust instead of the system's (private
        clouds behind an enterprise CA, emulators).
    :param request_timeout: Seconds to wait for an answer to one request (``None``: the hook's).
    :param max_reads_per_second: Most reads per second per subscription and resource provider that
        one process sends for this principal: the ceiling of its adaptive pace (which follows what
        the answers say is left of the service's quota, or of ARM's bucket).
    :param http_logging: Log the headers of every request and answer, the credential's token
        requests included (azure-core's HTTP logging policy, at INFO): the ``http_logging`` extra,
        or ``[azure_data_replication] http_logging`` for every connection (both off by default).
    """

    conn_id: str
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    tenant_id: str | None = None
    subscription_id: str | None = None
    resource_group_name: str | None = None
    vault_name: str | None = None
    managed_identity_client_id: str | None = None
    workload_identity_tenant_id: str | None = None
    cloud: str = DEFAULT_CLOUD
    resource_manager_url: str = "https://management.azure.com"
    authority_host: str = "login.microsoftonline.com"
    token_scope: str = "https://management.azure.com/.default"
    disable_instance_discovery: bool = False
    ca_bundle: str | None = None
    request_timeout: float | None = None
    max_reads_per_second: float = DEFAULT_MAX_READS_PER_SECOND
    http_logging: bool = False

    @classmethod
    def from_connection(cls, conn: Any) -> AzureDataReplicationConnection:
        """
        Read an Airflow ``Connection`` (of type ``azure_data_replication`` or ``azure``).

        The extras are parsed from ``conn.extra`` directly: ``extra_dejson`` may block inside a
        triggerer's event loop on some Airflow 3 versions. A ``key_path`` file is read here, when
        the connection is read. Every error names the connection and the field.

        :param conn: The Airflow connection.
        """
        try:
            return cls._read(conn)
        except ValueError as err:
            raise ValueError(f"connection {conn.conn_id!r}: {err}") from None

    @classmethod
    def _read(cls, conn: Any) -> AzureDataReplicationConnection:
        try:
            extras = json.loads(conn.extra) if conn.extra else {}
        except ValueError as err:
            raise ValueError(f"extra is not valid JSON ({err})") from None
        if not isinstance(extras, dict):
            raise ValueError("extra must be a JSON object")

        from airflow.providers.microsoft.azure.utils import get_field

        def extra(name: str) -> Any:
            # The azure provider's own lookup: the plain key, then the prefixed one older forms wrote.
            return get_field(conn_id=conn.conn_id, conn_type=conn.conn_type, extras=extras, field_name=name)

        # Always azure-identity credentials here, whichever the azure provider's hooks would pick.
        _as_bool(extra("use_azure_identity_object") or False, parameter="use_azure_identity_object")
        key = _key_file(extra("key_path"), extra("key_json"))

        def either(field: str, own: Any, key_field: str, *, secret: bool = False) -> Any:
            # A value in the connection, in the key file, or in both alike; never two different ones.
            theirs = key.fields.get(key_field) if key else None
            if own in (None, ""):
                return theirs
            if key is None or theirs is None or (str(theirs) == str(own) if secret else _same(theirs, own)):
                return own
            shown = "" if secret else f" ({own!r}, {theirs!r})"
            raise ValueError(f"{field} and {key.source}'s {key_field} differ{shown}: set one")

        named = {name: str(extra(name)) for name in ("cloud", "cloud_environment") if extra(name)}
        for name, value in named.items():
            if value not in CLOUD_NAMES:
                raise ValueError(f"{name} must be one of {', '.join(CLOUD_NAMES)}, got {value!r}")
        if key and key.cloud:
            named[f"{key.source}'s endpoints"] = key.cloud
        if len(set(named.values())) > 1:
            raise ValueError(
                " and ".join(f"{name} {value!r}" for name, value in named.items()) + " differ: set one"
            )
        cloud_name = next(iter(named.values()), DEFAULT_CLOUD)
        cloud = azure_cloud(cloud_name)

        own_arm = extra("resource_manager_url")
        if own_arm:
            own_arm = _https_url(str(own_arm), parameter="resource_manager_url")
        resource_manager_url = (
            either("resource_manager_url", own_arm, "resourceManagerEndpointUrl")
            or cloud.resource_manager_url
        )
        token_scope = cloud.token_scope
        if resource_manager_url != cloud.resource_manager_url:
            token_scope = f"{resource_manager_url}/.default"
        if key and key.token_resource and key.token_resource != resource_manager_url:
            token_scope = f"{key.token_resource}/.default"

        own_authority = extra("authority_host")
        if own_authority and "://" in str(own_authority):
            own_authority = _https_url(str(own_authority), parameter="authority_host")
        authority_host = str(
            either("authority_host", own_authority, "activeDirectoryEndpointUrl") or cloud.authority_host
        )

        def text(value: Any) -> str | None:
            return None if value in (None, "") else str(value)

        settings = cls(
            conn_id=conn.conn_id,
            client_id=text(either("login", conn.login, "clientId")),
            client_secret=text(either("password", conn.password, "clientSecret", secret=True)),
            tenant_id=text(either("tenantId", extra("tenantId"), "tenantId")),
            subscription_id=text(either("subscriptionId", extra("subscriptionId"), "subscriptionId")),
            resource_group_name=text(extra("resource_group_name")),
            vault_name=text(extra("vault_name")),
            managed_identity_client_id=text(extra("managed_identity_client_id")),
            workload_identity_tenant_id=text(extra("workload_identity_tenant_id")),
            cloud=cloud_name,
            resource_manager_url=resource_manager_url,
            authority_host=authority_host,
            token_scope=token_scope,
            disable_instance_discovery=_as_bool(
                extra("disable_instance_discovery") or False, parameter="disable_instance_discovery"
            ),
            ca_bundle=text(extra("ca_bundle")),
            request_timeout=_positive_number(extra("request_timeout"), parameter="request_timeout"),
            max_reads_per_second=_positive_number(
                extra("max_reads_per_second"), parameter="max_reads_per_second"
            )
            or DEFAULT_MAX_READS_PER_SECOND,
            http_logging=_http_logging(extra("http_logging")),
        )
        if settings.client_secret and not settings.client_id:
            raise ValueError("a client secret needs the client id as login")
        if settings.client_secret and not settings.tenant_id:
            raise ValueError("tenantId is required in the extras with a client id and secret")
        return settings

    @property
    def uses_client_secret(self) -> bool:
        """Whether this connection signs in as a service principal with a secret."""
        return bool(self.client_id and self.client_secret)

    @property
    def portal_url(self) -> str:
        """The Azure portal of this connection's cloud."""
        return _PORTALS[self.cloud]

    @property
    def principal(self) -> tuple[str | None, ...]:
        """Who signs in, as ARM counts reads (per principal and subscription); no secret in it."""
        return (
            self.authority_host,
            self.tenant_id,
            self.client_id if self.uses_client_secret else None,
            self.managed_identity_client_id,
            self.workload_identity_tenant_id,
        )

    @property
    def fingerprint(self) -> str:
        """A digest of everything that shapes the credential and endpoint (the secret included)."""
        material = json.dumps(
            [
                self.client_id,
                self.client_secret,
                self.tenant_id,
                self.managed_identity_client_id,
                self.workload_identity_tenant_id,
                self.resource_manager_url,
                self.authority_host,
                self.token_scope,
                self.disable_instance_discovery,
                self.ca_bundle,
                self.request_timeout,
                self.max_reads_per_second,
                self.http_logging,
            ]
        )
        return hashlib.sha256(material.encode()).hexdigest()

    def credential_options(self, **transport_kwargs: Any) -> dict[str, Any]:
        """
        Return the keyword arguments the credential is built with (the secret among them).

        :param transport_kwargs: Timeouts for the token requests.
        """
        kwargs: dict[str, Any] = {"authority": self.authority_host, **transport_kwargs}
        if not self.http_logging:
            from airflow_provider_datareplication.pipeline import HTTP_LOGGING_OFF

            # The credential's own azure-core HTTP logging policy (its token requests) takes this logger.
            kwargs["logger"] = HTTP_LOGGING_OFF
        if self.ca_bundle:
            kwargs["connection_verify"] = self.ca_bundle
        if self.uses_client_secret:
            return {
                "tenant_id": self.tenant_id,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "disable_instance_discovery": self.disable_instance_discovery,
                **kwargs,
            }
        # Built here rather than with the azure provider's get_(a)sync_default_azure_credential: that
        # one drops a user-assigned identity's client id unless a workload identity tenant is also
        # set (signing in as the wrong identity), and passes no authority (sovereign clouds), CA
        # bundle or timeouts. Each is honoured on its own here.
        if self.managed_identity_client_id:
            kwargs["managed_identity_client_id"] = self.managed_identity_client_id
        if self.workload_identity_tenant_id:
            kwargs["workload_identity_tenant_id"] = self.workload_identity_tenant_id
            kwargs["additionally_allowed_tenants"] = [self.workload_identity_tenant_id]
        return kwargs

    def credential(self, **transport_kwargs: Any) -> TokenCredential:
        """
        Build the sync credential: a client secret credential, else ``DefaultAzureCredential``.

        :param transport_kwargs: Timeouts for the token requests (``connection_timeout``, ``read_timeout``).
        """
        from azure.identity import ClientSecretCredential, DefaultAzureCredential

        kwargs = self.credential_options(**transport_kwargs)
        if self.uses_client_secret:
            return ClientSecretCredential(**kwargs)
        return DefaultAzureCredential(**kwargs)

    def async_credential(self, **transport_kwargs: Any) -> AsyncTokenCredential:
        """
        Build the asyncio credential: as :meth:`credential`, from ``azure.identity.aio``.

        :param transport_kwargs: Timeouts for the token requests (``connection_timeout``, ``read_timeout``).
        """
        from azure.identity.aio import ClientSecretCredential, DefaultAzureCredential

        kwargs = self.credential_options(**transport_kwargs)
        if self.uses_client_secret:
            return ClientSecretCredential(**kwargs)
        return DefaultAzureCredential(**kwargs)
