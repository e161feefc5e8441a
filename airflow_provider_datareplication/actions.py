"""
The calls that start work on a protected item, as the service takes them, and what they answer.

Enable replication (``PUT`` the item), change it (``PATCH``), a planned failover (``POST
.../plannedFailover``), disable replication (``DELETE`` the item): each answers at once and runs a
job in the vault, named by the operation URL in its ``Azure-AsyncOperation`` (else ``Location``)
header. Standard library only: DAG parsing imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ItemAction:
    """
    One call that starts work on a protected item.

    :param method: The HTTP method.
    :param doing: What it does, for messages ("start a planned failover of").
    :param path: The action's path segment under the item (empty: the item itself).
    :param query: Query parameters after the api-version.
    :param body: The JSON body, if any.
    """

    method: str
    doing: str
    path: str = ""
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


def create_item(properties: dict[str, Any]) -> ItemAction:
    """
    Enable replication of a server: ``PUT .../protectedItems/{item}`` with ``{"properties": ...}``.

    :param properties: The item's ``properties`` (``policyName``, ``replicationExtensionName``,
        ``customProperties`` with its ``instanceType``...), as the service takes them.
    """
    return ItemAction("PUT", "enable replication of", body={"properties": properties})


def planned_failover(*, instance_type: str, shutdown_source_vm: bool) -> ItemAction:
    """
    Migrate a server: ``POST .../plannedFailover`` with the item's own replication scenario.

    :param instance_type: The item's ``customProperties.instanceType`` (``HyperVToAzStackHCI``...).
    :param shutdown_source_vm: Shut the source server down before the cut-over.
    """
    body = {
        "properties": {
            "customProperties": {"instanceType": instance_type, "shutdownSourceVM": shutdown_source_vm}
        }
    }
    return ItemAction("POST", "start a planned failover of", "plannedFailover", body=body)


def update_item(custom_properties: dict[str, Any]) -> ItemAction:
    """
    Change a replicating server: ``PATCH .../protectedItems/{item}``, the update model's ``customProperties``.

    :param custom_properties: ``instanceType`` and the fields to change (``targetCpuCores``, ...).
    """
    body = {"properties": {"customProperties": custom_properties}}
    return ItemAction("PATCH", "update the replication settings of", body=body)


def delete_item(*, force_delete: bool) -> ItemAction:
    """
    Disable replication, completing a migration: ``DELETE .../protectedItems/{item}``.

    :param force_delete: Remove the item whatever its state (``forceDelete=true``).
    """
    query = {"forceDelete": "true" if force_delete else "false"}
    return ItemAction("DELETE", "disable replication of", query=query)


@dataclass(frozen=True)
class StartedWork:
    """
    What a call that starts work answered: the job it runs, and the operation URL naming it.

    :param status_code: The HTTP status (201 or 202; 200 or 204 when there was nothing to start).
    :param operation_url: The ``Azure-AsyncOperation`` (else ``Location``) URL, if any.
    :param job_name: The job, from that URL (``<job GUID>_<vault GUID>``), if any.
    :param body: The answer's JSON body (a ``PUT``'s item), if any.
    """

    status_code: int
    operation_url: str | None
    job_name: str | None
    body: dict[str, Any] | None = None
