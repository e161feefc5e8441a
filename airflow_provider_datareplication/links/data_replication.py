"""The "Azure portal" link on the sensors and operators: the vault's job in the connection's cloud."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_datareplication.version_compat import BaseOperatorLink

if TYPE_CHECKING:
    from airflow_provider_datareplication.connection import AzureDataReplicationConnection
    from airflow_provider_datareplication.identifiers import Target

#: The XCom key under which a task stores its link when it runs.
XCOM_KEY = "azure_portal_link"


def portal_url(connection: AzureDataReplicationConnection, target: Target) -> str | None:
    """
    Return the Azure portal URL of what a task waits on (its job; a vault at least), or ``None``.

    :param connection: The connection (its cloud and tenant).
    :param target: What the task waits on.
    """
    resource_id = target.portal_resource_id()
    if resource_id is None:
        return None
    tenant = f"@{quote(connection.tenant_id, safe='')}" if connection.tenant_id else ""
    return f"{connection.portal_url}/#{tenant}/resource{resource_id}"


class AzureDataReplicationJobLink(BaseOperatorLink):
    """
    "Azure portal": the job the task waited on or reported, as the task resolved it when it ran.

    For an operation named by its URL, the link is its vault, when the URL names one. The URL is
    stored by the task (rendered values, the connection's cloud) and only read back here: drawing
    the link needs no connection and shows no template text; before the task has run there is no
    link.
    """

    name = "Azure portal"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """Return the stored URL, or an empty string before the task has run."""
        from airflow.providers.common.compat.sdk import XCom

        value = XCom.get_value(ti_key=ti_key, key=XCOM_KEY)
        return value if isinstance(value, str) and value.startswith("https://") else ""
