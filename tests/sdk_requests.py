"""
What Azure's own client (``azure-mgmt-recoveryservicesdatareplication`` 1.0.0) sends, for given inputs.

Built with the SDK's request builders and its body serialization (``begin_create`` and
``begin_planned_failover`` turn their model into JSON with ``SdkJSONEncoder(exclude_readonly=True)``),
so a test can compare a request the emulator recorded with the SDK's::

    assert SdkRequest.of(emulator.requests_for_item(name)[0]) == create_request(...)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from azure.mgmt.recoveryservicesdatareplication import models
from azure.mgmt.recoveryservicesdatareplication._utils.model_base import SdkJSONEncoder
from azure.mgmt.recoveryservicesdatareplication.operations._operations import (
    build_job_get_request,
    build_job_list_request,
    build_protected_item_create_request,
    build_protected_item_delete_request,
    build_protected_item_get_request,
    build_protected_item_planned_failover_request,
    build_protected_item_update_request,
)

if TYPE_CHECKING:
    from azure.core.rest import HttpRequest

    from airflow_provider_datareplication.testing.emulator import RequestRecord

SDK_API_VERSION = "2024-09-01"


@dataclass(frozen=True)
class SdkRequest:
    """
    One request as it goes on the wire: method, URL path (percent-encoded), query, JSON body.

    :param method: HTTP method.
    :param path: The URL's path, as sent.
    :param query: The query, decoded.
    :param body: The JSON body, decoded (``None``: no body).
    """

    method: str
    path: str
    query: dict[str, str]
    body: Any = None

    @classmethod
    def of(cls, record: RequestRecord) -> SdkRequest:
        """The same view of a request the emulator recorded."""
        return cls(record.method, record.path, dict(record.query), record.body)


def _view(request: HttpRequest) -> SdkRequest:
    parts = urlsplit(request.url)
    content = request.content
    body = json.loads(content) if content else None
    return SdkRequest(request.method, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)), body)


def _serialize(model: Any) -> str:
    """What the SDK's ``begin_*`` methods put in the body for a model."""
    return json.dumps(model, cls=SdkJSONEncoder, exclude_readonly=True)


def create_request(
    *,
    subscription_id: str,
    resource_group_name: str,
    vault_name: str,
    protected_item_name: str,
    properties: dict[str, Any],
    api_version: str = SDK_API_VERSION,
) -> SdkRequest:
    """
    ``protected_item.begin_create``'s ``PUT`` for an item with these ``properties``.

    The properties go through ``ProtectedItemModel`` as the SDK's callers pass it: read-only fields
    (``provisioningState``, ``customProperties.activeLocation``, ...) are left out, as the SDK does.
    """
    model = models.ProtectedItemModel({"properties": properties})
    request = build_protected_item_create_request(
        resource_group_name=resource_group_name,
        vault_name=vault_name,
        protected_item_name=protected_item_name,
        subscription_id=subscription_id,
        content_type="application/json",
        api_version=api_version,
        content=_serialize(model),
    )
    return _view(request)


def update_request(
    *,
    subscription_id: str,
    resource_group_name: str,
    vault_name: str,
    protected_item_name: str,
    custom_properties: dict[str, Any],
    api_version: str = SDK_API_VERSION,
) -> SdkRequest:
    """``protected_item.begin_update``'s ``PATCH`` (``ProtectedItemModelUpdate``)."""
    update = {
        "HyperVToAzStackHCI": models.HyperVToAzStackHCIProtectedItemModelCustomPropertiesUpdate,
        "VMwareToAzStackHCI": models.VMwareToAzStackHCIProtectedItemModelCustomPropertiesUpdate,
    }[custom_properties["instanceType"]]
    model = models.ProtectedItemModelUpdate(
        properties=models.ProtectedItemModelPropertiesUpdate(custom_properties=update(custom_properties))
    )
    request = build_protected_item_update_request(
        resource_group_name=resource_group_name,
        vault_name=vault_name,
        protected_item_name=protected_item_name,
        subscription_id=subscription_id,
        content_type="application/json",
        api_version=api_version,
        content=_serialize(model),
    )
    return _view(request)


def planned_failover_request(
    *,
    subscription_id: str,
    resource_group_name: str,
    vault_name: str,
    protected_item_name: str,
    instance_type: str,
    shutdown_source_vm: bool,
    api_version: str = SDK_API_VERSION,
) -> SdkRequest:
    """``protected_item.begin_planned_failover``'s ``POST`` (``PlannedFailoverModel``)."""
    model = models.PlannedFailoverModel(
        properties=models.PlannedFailoverModelProperties(
            custom_properties=models.PlannedFailoverModelCustomProperties(
                {"instanceType": instance_type, "shutdownSourceVM": shutdown_source_vm}
            )
        )
    )
    request = build_protected_item_planned_failover_request(
        resource_group_name=resource_group_name,
        vault_name=vault_name,
        protected_item_name=protected_item_name,
        subscription_id=subscription_id,
        content_type="application/json",
        api_version=api_version,
        content=_serialize(model),
    )
    return _view(request)


def delete_request(
    *,
    subscription_id: str,
    resource_group_name: str,
    vault_name: str,
    protected_item_name: str,
    force_delete: bool | None = None,
    api_version: str = SDK_API_VERSION,
) -> SdkRequest:
    """``protected_item.begin_delete``'s ``DELETE`` (``forceDelete`` only when given)."""
    request = build_protected_item_delete_request(
        resource_group_name=resource_group_name,
        vault_name=vault_name,
        protected_item_name=protected_item_name,
        subscription_id=subscription_id,
        force_delete=force_delete,
        api_version=api_version,
    )
    return _view(request)


def get_request(
    *,
    subscription_id: str,
    resource_group_name: str,
    vault_name: str,
    protected_item_name: str,
    api_version: str = SDK_API_VERSION,
) -> SdkRequest:
    """``protected_item.get``'s ``GET``."""
    request = build_protected_item_get_request(
        resource_group_name=resource_group_name,
        vault_name=vault_name,
        protected_item_name=protected_item_name,
        subscription_id=subscription_id,
        api_version=api_version,
    )
    return _view(request)


def job_get_request(
    *,
    subscription_id: str,
    resource_group_name: str,
    vault_name: str,
    job_name: str,
    api_version: str = SDK_API_VERSION,
) -> SdkRequest:
    """``job.get``'s ``GET``."""
    request = build_job_get_request(
        resource_group_name=resource_group_name,
        vault_name=vault_name,
        job_name=job_name,
        subscription_id=subscription_id,
        api_version=api_version,
    )
    return _view(request)


def job_list_request(
    *,
    subscription_id: str,
    resource_group_name: str,
    vault_name: str,
    page_size: int | None = None,
    continuation_token: str | None = None,
    api_version: str = SDK_API_VERSION,
) -> SdkRequest:
    """``job.list``'s first ``GET``."""
    request = build_job_list_request(
        resource_group_name=resource_group_name,
        vault_name=vault_name,
        subscription_id=subscription_id,
        page_size=page_size,
        continuation_token_parameter=continuation_token,
        api_version=api_version,
    )
    return _view(request)
