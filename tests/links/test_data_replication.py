from __future__ import annotations

import json

from airflow_provider_datareplication.connection import AzureDataReplicationConnection
from airflow_provider_datareplication.identifiers import JobOperation
from airflow_provider_datareplication.links.data_replication import (
    XCOM_KEY,
    AzureDataReplicationJobLink,
    portal_url,
)
from airflow_provider_datareplication.operators.data_replication import (
    AzureDataReplicationOperationStatusOperator,
)
from airflow_provider_datareplication.sensors.data_replication import AzureDataReplicationOperationSensor
from tests.helpers import OPERATION, SUBSCRIPTION_ID, TENANT_ID

JOB = JobOperation(
    subscription_id=SUBSCRIPTION_ID,
    resource_group_name="rg(prod)",
    vault_name="vault1",
    job_name="job1",
    operation_id="op/1",
)


class Conn:
    conn_id = "c"
    conn_type = "azure_data_replication"
    login = None
    password = None

    def __init__(self, **extra):
        self.extra = json.dumps({"tenantId": TENANT_ID, **extra})


class TaskInstance:
    def __init__(self) -> None:
        self.pushed: dict[str, object] = {}

    def xcom_push(self, key, value):
        self.pushed[key] = value

    def get_first_reschedule_date(self, context):
        return None


def test_portal_url_follows_the_cloud_and_encodes_the_job():
    public = portal_url(AzureDataReplicationConnection.from_connection(Conn()), JOB)
    assert public == (
        f"https://portal.azure.com/#@{TENANT_ID}/resource/subscriptions/{SUBSCRIPTION_ID}"
        "/resourceGroups/rg%28prod%29/providers/Microsoft.DataReplication/replicationVaults/vault1/jobs/job1"
    )
    china = portal_url(AzureDataReplicationConnection.from_connection(Conn(cloud="AzureChinaCloud")), JOB)
    assert china.startswith("https://portal.azure.cn/#@")
    gov = portal_url(AzureDataReplicationConnection.from_connection(Conn(cloud="AzureUSGovernment")), JOB)
    assert gov.startswith("https://portal.azure.us/#@")


def test_tasks_store_the_rendered_link_when_they_run(emulator):
    emulator.script_operation("op1", ["Succeeded"])
    for task in (
        AzureDataReplicationOperationSensor(task_id="wait", **OPERATION),
        AzureDataReplicationOperationStatusOperator(task_id="report", **OPERATION),
    ):
        ti = TaskInstance()
        task.execute({"ti": ti})
        link = ti.pushed[XCOM_KEY]
        assert link.endswith("/replicationVaults/vault1/jobs/job1")
        assert "{{" not in link
        assert [type(x) for x in task.operator_extra_links] == [AzureDataReplicationJobLink]


def test_link_is_named_and_registered():
    from airflow_provider_datareplication.get_provider_info import get_provider_info

    assert AzureDataReplicationJobLink.name == "Azure portal"
    assert get_provider_info()["extra-links"] == [
        "airflow_provider_datareplication.links.data_replication.AzureDataReplicationJobLink"
    ]


def test_portal_link_for_a_job_and_for_an_operation_url(emulator):
    from airflow_provider_datareplication.identifiers import OperationUrl, VaultJob

    connection = AzureDataReplicationConnection.from_connection(Conn())
    job = VaultJob(SUBSCRIPTION_ID, "rg1", "vault1", "0203aa1b-1dff-4653-89a9-b90a76d1601a")
    assert portal_url(connection, job).endswith(
        "/replicationVaults/vault1/jobs/0203aa1b-1dff-4653-89a9-b90a76d1601a"
    )
    base = f"https://management.azure.com/subscriptions/{SUBSCRIPTION_ID}"
    in_vault = OperationUrl(
        f"{base}/resourceGroups/rg1/providers/Microsoft.DataReplication/replicationVaults/vault1"
        "/protectedItems/vm1/operations/op1?api-version=2024-09-01"
    )
    assert portal_url(connection, in_vault).endswith(
        "/resourceGroups/rg1/providers/Microsoft.DataReplication/replicationVaults/vault1"
    )
    regional = OperationUrl(
        f"{base}/providers/Microsoft.DataReplication/locations/eastus/operationResults/op1?api-version=2024-09-01"
    )
    assert portal_url(connection, regional) is None


def test_job_tasks_store_the_link_too(emulator):
    from airflow_provider_datareplication.operators.data_replication import (
        AzureDataReplicationJobStatusOperator,
    )
    from airflow_provider_datareplication.sensors.data_replication import AzureDataReplicationJobSensor

    job = "0203aa1b-1dff-4653-89a9-b90a76d1601a"
    emulator.script_job(job, ["Succeeded"])
    for task in (
        AzureDataReplicationJobSensor(task_id="wait", job_name=job),
        AzureDataReplicationJobStatusOperator(task_id="report", job_name=job),
    ):
        ti = TaskInstance()
        task.execute({"ti": ti})
        assert ti.pushed[XCOM_KEY].endswith(f"/replicationVaults/vault1/jobs/{job}")
