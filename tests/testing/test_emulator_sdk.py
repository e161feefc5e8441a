"""
Azure's own client (azure-mgmt-recoveryservicesdatareplication 1.0.0) against the emulator.

What it sends is what :mod:`tests.sdk_requests` says it sends, and the emulator's answers are ones
it takes, with one finding kept on purpose: the service points ``Azure-AsyncOperation`` at an
``operationResults`` URL that answers 202 with no body while the work runs, and the SDK's ARM
poller cannot read that (azure-core's ``OperationResourcePolling.get_status`` raises "The response
from long running operation does not contain a body"). Its first poll comes right after the start
answer, so the SDK completes a long-running call only when that poll meets finished work.
"""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.recoveryservicesdatareplication import RecoveryServicesDataReplicationMgmtClient, models

from tests import sdk_requests
from tests.sdk_requests import SdkRequest

RG = "rgrecoveryservicesdatareplication"
VAULT = "vault1"
ITEM = "100-69-177-104-7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d_5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
GROUP = "/subscriptions/930CEC23-4430-4513-B855-DBA237E2F3BF/resourceGroups/target-rg"


def hyperv_item() -> models.ProtectedItemModel:
    """An enable-replication request for a Hyper-V VM, as Az.Migrate builds it."""
    return models.ProtectedItemModel(
        properties=models.ProtectedItemModelProperties(
            policy_name="vault1hypervtoazstackhcipolicy",
            replication_extension_name="vault1-hyperv-hci-extension",
            custom_properties=models.HyperVToAzStackHCIProtectedItemModelCustomProperties(
                target_hci_cluster_id=f"{GROUP}/providers/Microsoft.AzureStackHCI/clusters/hci-cluster-01",
                target_arc_cluster_custom_location_id=(
                    f"{GROUP}/providers/Microsoft.ExtendedLocation/customLocations/hci-cl"
                ),
                fabric_discovery_machine_id=(
                    f"{GROUP}/providers/Microsoft.OffAzure/HyperVSites/site1/machines/vm-web-01"
                ),
                disks_to_include=[
                    models.HyperVToAzStackHCIDiskInput(
                        disk_id="Microsoft:9A3D0D4A-5C16-4E0F-9BB5-2B3D0D4A5C16\\disk0",
                        disk_size_gb=127,
                        disk_file_format="VHDX",
                        is_os_disk=True,
                        is_dynamic=True,
                    )
                ],
                nics_to_include=[
                    models.HyperVToAzStackHCINicInput(
                        nic_id="Microsoft:9A3D0D4A-5C16-4E0F-9BB5-2B3D0D4A5C16\\nic0",
                        target_network_id=f"{GROUP}/providers/Microsoft.AzureStackHCI/logicalnetworks/lnet1",
                        test_network_id=f"{GROUP}/providers/Microsoft.AzureStackHCI/logicalnetworks/lnet1",
                        selection_type_for_failover="SelectedByUser",
                    )
                ],
                target_vm_name="vm-web-01",
                target_resource_group_id=GROUP,
                storage_container_id=f"{GROUP}/providers/Microsoft.AzureStackHCI/storageContainers/sc1",
                hyper_v_generation="2",
                target_cpu_cores=4,
                is_dynamic_ram=False,
                target_memory_in_mega_bytes=8192,
                run_as_account_id=f"{GROUP}/providers/Microsoft.OffAzure/HyperVSites/site1/runAsAccounts/ra1",
                source_fabric_agent_name="source-appliance",
                target_fabric_agent_name="target-appliance",
                custom_location_region="eastus",
            ),
        )
    )


def failover_body(shutdown: bool) -> models.PlannedFailoverModel:
    return models.PlannedFailoverModel(
        properties=models.PlannedFailoverModelProperties(
            custom_properties=models.HyperVToAzStackHCIPlannedFailoverModelCustomProperties(
                shutdown_source_vm=shutdown
            )
        )
    )


@pytest.fixture
def sdk(emulator):
    """A client of the SDK for a given api-version, signed in at the emulator as its docs show."""
    credential = ClientSecretCredential(
        emulator.tenant_id,
        emulator.client_id,
        emulator.client_secret,
        authority=emulator.url,
        disable_instance_discovery=True,
        connection_verify=emulator.ca_file,
    )
    clients = []

    def make(api_version: str = "2024-09-01") -> RecoveryServicesDataReplicationMgmtClient:
        client = RecoveryServicesDataReplicationMgmtClient(
            credential,
            emulator.subscription_id,
            base_url=emulator.url,
            api_version=api_version,
            connection_verify=emulator.ca_file,
            polling_interval=0.05,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
    credential.close()


def names(emulator, **extra):
    return {
        "subscription_id": emulator.subscription_id,
        "resource_group_name": RG,
        "vault_name": VAULT,
        **extra,
    }


@pytest.mark.parametrize("api_version", ["2024-09-01", "2026-05-01"])
def test_the_sdk_creates_fails_over_and_removes_an_item_and_reads_its_jobs(emulator, sdk, api_version):
    emulator.item_durations(
        enable_protection=0, initial_replication=0, planned_failover=0, disable_protection=0
    )
    client = sdk(api_version)
    ops = client.protected_item

    created = ops.begin_create(RG, VAULT, ITEM, hyperv_item()).result()
    assert isinstance(created, models.ProtectedItemModel)
    assert created.properties.protection_state == "Protected"
    assert created.properties.provisioning_state == "Succeeded"
    assert created.properties.allowed_jobs == ["PlannedFailover", "DisableProtection"]
    assert isinstance(
        created.properties.custom_properties, models.HyperVToAzStackHCIProtectedItemModelCustomProperties
    )
    assert created.properties.custom_properties.initial_replication_progress_percentage == 100
    assert created.properties.custom_properties.target_vm_name == "vm-web-01"

    result = ops.begin_planned_failover(RG, VAULT, ITEM, failover_body(shutdown=True)).result()
    assert isinstance(result, models.PlannedFailoverModel)
    item = ops.get(RG, VAULT, ITEM)
    assert item.properties.protection_state == "PlannedFailoverCompleted"
    assert item.properties.custom_properties.active_location == "Recovery"
    assert item.properties.last_successful_planned_failover_time is not None
    assert item.properties.current_job is None  # as recorded: named only while enabling protection

    assert ops.begin_delete(RG, VAULT, ITEM, force_delete=True).result() is None
    with pytest.raises(ResourceNotFoundError):
        ops.get(RG, VAULT, ITEM)

    # Every write on the wire is what the SDK's request builders and serialization make.
    put, post, delete = [SdkRequest.of(r) for r in emulator.requests_for_item(ITEM) if r.method != "GET"]
    item_names = names(emulator, protected_item_name=ITEM, api_version=api_version)
    assert put == sdk_requests.create_request(**item_names, properties=hyperv_item().properties.as_dict())
    assert post == sdk_requests.planned_failover_request(
        **item_names, instance_type="HyperVToAzStackHCI", shutdown_source_vm=True
    )
    assert delete == sdk_requests.delete_request(**item_names, force_delete=True)
    get = next(r for r in emulator.requests_for_item(ITEM) if r.method == "GET")
    assert SdkRequest.of(get) == sdk_requests.get_request(**item_names)

    jobs = emulator.jobs_of(ITEM)
    assert [job["properties"]["displayName"] for job in jobs] == [
        "Create or update protected item",
        "Complete initial replication",
        "Planned failover",
        "Delete protected item",
    ]
    failover = client.job.get(RG, VAULT, jobs[2]["name"])
    assert isinstance(failover.properties.custom_properties, models.FailoverJobModelCustomProperties)
    assert failover.properties.state == "Succeeded"
    assert failover.properties.provisioning_state == "Canceled"
    assert [task.task_name for task in failover.properties.tasks][1] == "Turning off resource on primary"
    assert failover.properties.custom_properties.protected_item_details[0].protected_item_name == ITEM
    enable = client.job.get(RG, VAULT, jobs[0]["name"])
    assert enable.properties.custom_properties.instance_type == "JobDetails"  # no SDK class: kept as sent

    listed = list(client.job.list(RG, VAULT))
    assert [job.name for job in listed] == [job["name"] for job in reversed(jobs)]
    assert all(job.properties.tasks is None and job.properties.custom_properties is None for job in listed)
    list_reads = [r for r in emulator.requests if r.path.endswith(f"/replicationVaults/{VAULT}/jobs")]
    assert len(list_reads) == 2  # two pages of two
    assert SdkRequest.of(list_reads[0]) == sdk_requests.job_list_request(
        **names(emulator, api_version=api_version)
    )
    assert list_reads[1].query["continuationToken"]
    job_read = next(r for r in emulator.requests if r.job_name == jobs[2]["name"])
    assert SdkRequest.of(job_read) == sdk_requests.job_get_request(
        **names(emulator, job_name=jobs[2]["name"], api_version=api_version)
    )


def test_the_sdk_cannot_poll_an_operation_that_answers_202_with_no_body_but_resumes_once_it_ended(
    emulator, sdk
):
    emulator.item_durations(enable_protection=0.5, initial_replication=0)
    ops = sdk().protected_item

    poller = ops.begin_create(RG, VAULT, ITEM, hyperv_item())
    token = poller.continuation_token()
    with pytest.raises(HttpResponseError, match="does not contain a body"):
        poller.result()
    # Its first poll came at once and met the running operation: 202, no body.
    operation = [r for r in emulator.requests if "/operationResults/" in r.path]
    assert [(r.method, r.status) for r in operation] == [("GET", 202)]
    assert emulator.protected_item(ITEM)["properties"]["protectionState"] == "EnablingProtection"

    # Resumed from its continuation token once the work has ended, the SDK completes.
    deadline = time.monotonic() + 10
    while emulator.jobs_of(ITEM)[0]["properties"]["state"] != "Succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    resumed = ops.begin_create(RG, VAULT, ITEM, hyperv_item(), continuation_token=token).result()
    assert resumed.properties.protection_state == "Protected"
    assert [r.status for r in emulator.requests if "/operationResults/" in r.path] == [202, 200]


def test_a_refusal_reaches_the_sdk_as_arm_s_error(emulator, sdk):
    emulator.add_protected_item(ITEM, protection_state="InitialReplicationInProgress")
    with pytest.raises(HttpResponseError) as info:
        sdk().protected_item.begin_planned_failover(RG, VAULT, ITEM, failover_body(shutdown=False))
    assert info.value.status_code == 409
    assert info.value.error.code == "OperationNotAllowed"
    assert "InitialReplicationInProgress" in info.value.error.message


def test_the_sdk_request_helper_leaves_out_what_the_sdk_leaves_out():
    properties = hyperv_item().properties.as_dict()
    properties["provisioningState"] = "Succeeded"  # read-only: the SDK does not send it
    properties["customProperties"]["activeLocation"] = "Primary"  # read-only too
    request = sdk_requests.create_request(
        subscription_id="sub",
        resource_group_name="rg (1)",
        vault_name="vault.1",
        protected_item_name="a/b c",
        properties=properties,
    )
    assert request.method == "PUT"
    assert request.path == (
        "/subscriptions/sub/resourceGroups/rg%20%281%29/providers/Microsoft.DataReplication"
        "/replicationVaults/vault.1/protectedItems/a%2Fb%20c"
    )
    assert request.query == {"api-version": "2024-09-01"}
    assert "provisioningState" not in request.body["properties"]
    assert "activeLocation" not in request.body["properties"]["customProperties"]
    assert request.body == {"properties": hyperv_item().properties.as_dict()}
    kept = sdk_requests.delete_request(
        subscription_id="sub", resource_group_name="rg", vault_name="v", protected_item_name="i"
    )
    assert kept.query == {"api-version": "2024-09-01"} and kept.body is None
    assert sdk_requests.delete_request(
        subscription_id="sub",
        resource_group_name="rg",
        vault_name="v",
        protected_item_name="i",
        force_delete=False,
    ).query == {"api-version": "2024-09-01", "forceDelete": "false"}
