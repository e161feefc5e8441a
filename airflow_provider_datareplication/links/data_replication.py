"""The "Azure portal" link on the sensor and operator: the vault's job in the connection's cloud."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_datareplication.version_compat import BaseOperatorLink

if TYPE_CHECKING:
    from airflow_provider_datareplication.connection import AzureDataReplicationConnection
    from airflow_provider_datareplication.job_operation import JobOperation

#: The XCom key under which a task stores its link when it runs.
XCOM_KEY = "azure_portal_link"


def job_portal_url(connection: AzureDataReplicationConnection, operation: JobOperation) -> str:
    """
    Return the Azure portal URL of the operation's job, in the connection's cloud.

    :param connection: The connection (its cloud and tenant).
    :param operation: The operation (its subscription, resource group, vault and job).
    """
    segments = [
        "subscriptions",
        operation.subscription_id,
        "resourceGroups",
        operation.resource_group_name,
        "providers",
        "Microsoft.DataReplication",
        "replicationVaults",
        operation.vault_name,
        "jobs",
        operation.job_name,
    ]
    resource_id = "".join(f"/{quote(segment, safe='')}" for segment in segments)
    tenant = f"@{quote(connection.tenant_id, safe='')}" if connection.tenant_id else ""
    return f"{connection.portal_url}/#{tenant}/resource{resource_id}"


class AzureDataReplicationJobLink(BaseOperatorLink):
    """
    "Azure portal": the job the task waited on or reported, as the task resolved it when it ran.

    The URL is stored by the task (rendered values, the connection's cloud) and only read back
    here: drawing the link needs no connection and shows no template text; before the task has
    run there is no link.
    """

    name = "Azure portal"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """Return the stored URL, or an empty string before the task has run."""
        from airflow.providers.common.compat.sdk import XCom

        value = XCom.get_value(ti_key=ti_key, key=XCOM_KEY)
        return value if isinstance(value, str) and value.startswith("https://") else ""
