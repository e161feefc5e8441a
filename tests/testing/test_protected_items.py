"""Protected items on the emulator: the service's lifecycle and answers, as a client sees them on the wire."""

from __future__ import annotations

import re
import time

import pytest
import requests

from airflow_provider_datareplication.testing.emulator import DataReplicationEmulator, Fault
from airflow_provider_datareplication.testing.protected_items import ItemDurations

RG = "rgrecoveryservicesdatareplication"
VAULT = "vault1"
ITEM = "100-69-177-104-0b3ec8d5-0b0a-4f0e-9ad6-2f7b1d8f3c11_4f9a3c2e-8e1d-4b7a-9c5f-1a2b3c4d5e6f"
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
HYPERV = {
    "policyName": "vault1hypervtoazstackhcipolicy",
    "replicationExtensionName": "vault1-hyperv-hci-extension",
    "customProperties": {
        "instanceType": "HyperVToAzStackHCI",
        "targetHciClusterId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.AzureStackHCI/"
        "clusters/c1",
        "targetArcClusterCustomLocationId": "/subscriptions/s/resourceGroups/rg/providers/"
        "Microsoft.ExtendedLocation/customLocations/cl1",
        "fabricDiscoveryMachineId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OffAzure/"
        "HyperVSites/site1/machines/m1",
        "disksToInclude": [{"diskId": "disk1", "diskSizeGB": 60, "diskFileFormat": "VHDX", "isOsDisk": True}],
        "nicsToInclude": [
            {"nicId": "nic1", "targetNetworkId": "/net1", "selectionTypeForFailover": "SelectedByUser"}
        ],
        "targetVmName": "vm-web-01",
        "targetResourceGroupId": "/subscriptions/s/resourceGroups/target",
        "storageContainerId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.AzureStackHCI/"
        "storageContainers/sc1",
        "hyperVGeneration": "2",
        "runAsAccountId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OffAzure/HyperVSites/site1/"
        "runAsAccounts/a1",
        "sourceFabricAgentName": "source-appliance",
        "targetFabricAgentName": "target-appliance",
        "customLocationRegion": "eastus",
    },
}


class Arm:
    """A bare ARM client of the emulator: one token, requests as sent, answers as received."""

    def __init__(self, emulator: DataReplicationEmulator) -> None:
        self.emulator = emulator
        self.token = requests.post(
            f"{emulator.url}/{emulator.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": emulator.client_id,
                "client_secret": emulator.client_secret,
                "scope": f"{emulator.url}/.default",
            },
            verify=emulator.ca_file,
            timeout=10,
        ).json()["access_token"]

    def vault_path(self, vault: str = VAULT, rg: str = RG) -> str:
        return (
            f"/subscriptions/{self.emulator.subscription_id}/resourceGroups/{rg}"
            f"/providers/Microsoft.DataReplication/replicationVaults/{vault}"
        )

    def item_path(self, item: str = ITEM, **kwargs: str) -> str:
        return f"{self.vault_path(**kwargs)}/protectedItems/{item}"

    def call(self, method, path, *, query=None, api_version="2024-09-01", token=True, **kwargs):
        url = path if path.startswith("https://") else self.emulator.url + path
        params = {} if api_version is None or "api-version=" in url else {"api-version": api_version}
        params.update(query or {})
        headers = {"Authorization": f"Bearer {self.token}"} if token else {}
        headers.update(kwargs.pop("headers", {}))
        return requests.request(
            method, url, params=params, headers=headers, verify=self.emulator.ca_file, timeout=10, **kwargs
        )

    def put(self, item=ITEM, properties=HYPERV, **kwargs):
        return self.call("PUT", self.item_path(item), json={"properties": properties}, **kwargs)

    def failover(self, item=ITEM, instance_type="HyperVToAzStackHCI", shutdown=True, **kwargs):
        body = {
            "properties": {"customProperties": {"instanceType": instance_type, "shutdownSourceVM": shutdown}}
        }
        return self.call("POST", self.item_path(item) + "/plannedFailover", json=body, **kwargs)

    def delete(self, item=ITEM, force=None, **kwargs):
        query = {} if force is None else {"forceDelete": force}
        return self.call("DELETE", self.item_path(item), query=query, **kwargs)

    def item(self, item=ITEM):
        return self.call("GET", self.item_path(item))

    def job(self, url):
        """The job an operation URL names: the last segment, query dropped, the part before ``_``."""
        job = url.split("?")[0].rsplit("/", 1)[1].split("_")[0]
        return self.call("GET", f"{self.vault_path()}/jobs/{job}").json()


def wait_for(read, done, timeout=10.0):
    """Read until ``done(answer)``; every answer read, in order."""
    seen = [read()]
    deadline = time.monotonic() + timeout
    while not done(seen[-1]):
        assert time.monotonic() < deadline, f"not done: {seen[-1]}"
        time.sleep(0.05)
        seen.append(read())
    return seen


@pytest.fixture
def arm(emulator):
    emulator.item_durations(
        enable_protection=0.5, initial_replication=0.6, planned_failover=0.8, disable_protection=0.5
    )
    return Arm(emulator)


def state_of(answer):
    return answer.json()["properties"]["protectionState"]


def test_put_answers_201_then_protection_is_enabled_replicated_and_the_item_protected(emulator, arm):
    answer = arm.put()
    assert answer.status_code == 201
    item = answer.json()
    assert (
        item["name"] == ITEM and item["type"] == "Microsoft.DataReplication/replicationVaults/protectedItems"
    )
    assert item["id"] == arm.item_path()
    properties = item["properties"]
    assert (properties["provisioningState"], properties["protectionState"]) == (
        "Creating",
        "UnprotectedStatesBegin",
    )
    assert properties["allowedJobs"] is None
    assert properties["policyName"] == HYPERV["policyName"]
    assert properties["replicationExtensionName"] == HYPERV["replicationExtensionName"]
    assert properties["customProperties"].items() >= HYPERV["customProperties"].items()

    # The start answer names the operation as the service does, and the job exists at once.
    url = answer.headers["Azure-AsyncOperation"]
    assert answer.headers["Location"] == url
    assert re.fullmatch(
        rf"{re.escape(emulator.url)}/subscriptions/{emulator.subscription_id}/resourceGroups/{RG}"
        rf"/providers/Microsoft\.DataReplication/operationResults/{GUID}_{GUID}\?api-version=2024-09-01",
        url,
    )
    assert answer.headers["Retry-After"] == "1"
    assert int(answer.headers["x-ms-ratelimit-remaining-subscription-resource-requests"]) > 0
    assert "x-ms-ratelimit-remaining-subscription-reads" not in answer.headers
    job = arm.job(url)
    assert job["properties"]["state"] == "Started"
    assert job["properties"]["displayName"] == "Create or update protected item"
    assert job["properties"]["provisioningState"] == "Canceled"  # as the real service sends every job
    assert job["systemData"] is None
    assert job["properties"]["customProperties"]["instanceType"] == "JobDetails"
    assert re.fullmatch(GUID, job["name"])
    running = arm.call("GET", url)
    assert (running.status_code, running.content) == (202, b"")

    seen = wait_for(arm.item, lambda answer: state_of(answer) == "Protected")
    states = [state_of(answer) for answer in seen]
    assert states[0] == "EnablingProtection"
    assert "InitialReplicationInProgress" in states
    enabling = seen[0].json()["properties"]
    assert enabling["currentJob"] == {
        "scenarioName": "EnableProtection",
        "id": job["id"],
        "name": job["name"],
        "displayName": "Create or update protected item",
        "state": "Started",
        "startTime": job["properties"]["startTime"],
        "endTime": None,
    }
    percentages = [
        answer.json()["properties"]["customProperties"]["initialReplicationProgressPercentage"]
        for answer in seen
        if state_of(answer) == "InitialReplicationInProgress"
    ]
    assert percentages == sorted(percentages) and all(0 <= p < 100 for p in percentages)
    protected = seen[-1].json()["properties"]
    assert protected["provisioningState"] == "Succeeded"
    assert protected["allowedJobs"] == ["PlannedFailover", "DisableProtection"]
    assert protected["replicationHealth"] == "Normal" and protected["healthErrors"] == []
    assert protected["customProperties"]["initialReplicationProgressPercentage"] == 100
    assert protected["customProperties"]["activeLocation"] == "Primary"
    assert "currentJob" not in protected  # as recorded: named only while protection is being enabled

    done = arm.call("GET", url)
    assert done.status_code == 200
    status = done.json()
    assert set(status) == {"id", "name", "status", "startTime", "endTime"}
    assert status["status"] == "Succeeded"
    assert status["name"] == url.split("?")[0].rsplit("/", 1)[1]
    assert [j["properties"]["displayName"] for j in emulator.jobs_of(ITEM)] == [
        "Create or update protected item",
        "Complete initial replication",
    ]


def test_planned_failover_answers_202_runs_its_five_tasks_and_the_item_is_on_the_recovery_side(emulator, arm):
    emulator.add_protected_item(ITEM)
    answer = arm.failover(shutdown=False)
    assert (answer.status_code, answer.content) == (202, b"")
    url = answer.headers["Azure-AsyncOperation"]
    assert answer.headers["Location"] == url and answer.headers["Retry-After"] == "1"
    job = arm.job(url)
    assert job["properties"]["displayName"] == "Planned failover"
    assert job["properties"]["customProperties"]["instanceType"] == "FailoverJobDetails"
    assert job["properties"]["customProperties"]["protectedItemDetails"][0]["protectedItemName"] == ITEM
    assert state_of(arm.item()) == "PlannedFailoverInitiated"
    assert arm.item().json()["properties"]["allowedJobs"] == []

    wait_for(arm.item, lambda answer: state_of(answer) == "PlannedFailoverCompleted")
    properties = arm.item().json()["properties"]
    assert properties["customProperties"]["activeLocation"] == "Recovery"
    assert properties["allowedJobs"] == ["CommitFailover", "DisableProtection"]
    assert properties["lastSuccessfulPlannedFailoverTime"]
    job = arm.job(url)
    assert job["properties"]["state"] == "Succeeded" and job["properties"]["endTime"]
    assert [(task["taskName"], task["state"]) for task in job["properties"]["tasks"]] == [
        ("Prerequisite check", "Succeeded"),
        ("Turning off resource on primary", "Skipped"),  # shutdownSourceVM false
        ("Starting failover", "Succeeded"),
        ("Preparing protected entities", "Succeeded"),
        ("Turning on resource on recovery", "Succeeded"),
    ]
    assert arm.call("GET", url).json()["status"] == "Succeeded"


def test_delete_disables_protection_then_the_item_is_gone(emulator, arm):
    emulator.add_protected_item(ITEM, protection_state="PlannedFailoverCompleted")
    answer = arm.delete(force="True")
    assert (answer.status_code, answer.content) == (202, b"")
    url = answer.headers["Azure-AsyncOperation"]
    assert answer.headers["Location"] == url
    assert url.endswith("?api-version=2024-09-01&forceDelete=True")  # the request's, kept
    assert state_of(arm.item()) == "DisablingProtection"
    assert arm.item().json()["properties"]["provisioningState"] == "Deleting"
    # ARM's DELETE is idempotent: again while it runs, the same operation.
    assert arm.delete().headers["Azure-AsyncOperation"].split("?")[0] == url.split("?")[0]

    wait_for(arm.item, lambda answer: answer.status_code == 404)
    gone = arm.item()
    assert gone.json()["error"]["code"] == "ResourceNotFound"
    assert arm.call("GET", arm.vault_path() + "/protectedItems").json() == {"value": []}
    assert emulator.protected_item(ITEM) is None
    assert arm.job(url)["properties"]["displayName"] == "Delete protected item"  # the job outlives the item
    assert arm.call("GET", url).json()["status"] == "Succeeded"
    # A delete of what is not there: 204, as ARM answers.
    missing = arm.delete()
    assert (missing.status_code, missing.content) == (204, b"")


@pytest.mark.parametrize(
    ("state", "action", "allowed"),
    [
        ("InitialReplicationInProgress", "failover", ["DisableProtection"]),
        ("PlannedFailoverCompleted", "failover", ["CommitFailover", "DisableProtection"]),
        ("PlannedFailoverInitiated", "delete", []),
    ],
)
def test_an_action_the_item_does_not_allow_is_refused_with_an_arm_error(
    emulator, arm, state, action, allowed
):
    emulator.add_protected_item(ITEM, protection_state=state)
    answer = arm.failover() if action == "failover" else arm.delete()
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "OperationNotAllowed"
    assert f"'{state}'" in error["message"] and f"allowed jobs: {allowed}" in error["message"]
    assert emulator.jobs_of(ITEM) == []
    assert state_of(arm.item()) == state


def test_force_delete_goes_through_whatever_the_state_and_cancels_the_running_job(emulator, arm):
    emulator.item_durations(enable_protection=30)
    started = arm.put()
    assert arm.delete(force=False).status_code == 409
    assert arm.delete(force="true").status_code == 202
    enable = arm.job(started.headers["Location"])
    assert enable["properties"]["state"] == "Cancelled"
    assert arm.call("GET", started.headers["Location"]).json()["status"] == "Canceled"
    wait_for(arm.item, lambda answer: answer.status_code == 404)


def test_requests_the_service_refuses(emulator, arm):
    emulator.add_protected_item(ITEM)
    wrong = arm.failover(instance_type="VMwareToAzStackHCI")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, "InvalidParameter")
    assert "HyperVToAzStackHCI" in wrong.json()["error"]["message"]
    no_flag = arm.call(
        "POST",
        arm.item_path() + "/plannedFailover",
        json={"properties": {"customProperties": {"instanceType": "HyperVToAzStackHCI"}}},
    )
    assert (no_flag.status_code, no_flag.json()["error"]["code"]) == (400, "InvalidParameter")
    not_json = arm.call(
        "PUT", arm.item_path("other"), data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (not_json.status_code, not_json.json()["error"]["code"]) == (400, "InvalidRequestContent")
    no_policy = arm.put("other", {"customProperties": {"instanceType": "HyperVToAzStackHCI"}})
    assert (no_policy.status_code, no_policy.json()["error"]["code"]) == (400, "InvalidParameter")
    bad_force = arm.delete(force="yes")
    assert (bad_force.status_code, bad_force.json()["error"]["code"]) == (400, "InvalidParameter")
    missing = arm.failover("missing")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "ResourceNotFound")
    assert arm.put("bad name!").json()["error"]["code"] == "InvalidParameter"
    preview = arm.call("GET", arm.item_path(), api_version="2021-02-16-preview")
    assert (preview.status_code, preview.json()["error"]["code"]) == (400, "NoRegisteredProviderFound")
    unknown = arm.put(api_version="2099-01-01")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "InvalidApiVersionParameter")
    assert arm.put(token=False).status_code == 401
    assert emulator.jobs_of(ITEM) == [] and emulator.jobs_of("other") == []


def test_names_are_found_case_insensitively_and_a_put_on_an_existing_item_answers_200(emulator, arm):
    emulator.item_durations(enable_protection=0, initial_replication=0)
    assert arm.put().status_code == 201
    again = arm.call(
        "PUT", arm.item_path(ITEM.upper(), vault=VAULT.upper(), rg=RG.upper()), json={"properties": HYPERV}
    )
    assert again.status_code == 200
    assert "Azure-AsyncOperation" not in again.headers
    assert again.json()["name"] == ITEM  # as created
    assert again.json()["properties"]["protectionState"] == "Protected"
    assert len(emulator.jobs_of(ITEM)) == 2  # no new job
    changed = arm.put(properties={**HYPERV, "customProperties": {"instanceType": "VMwareToAzStackHCI"}})
    assert (changed.status_code, changed.json()["error"]["code"]) == (400, "InvalidParameter")


def test_scripted_initial_replication_failure(emulator, arm):
    errors = [
        {
            "code": "DiskReplicationFailed",
            "message": "Replication of disk1 failed.",
            "causes": "The target storage container is full.",
            "recommendation": "Free space, then enable protection again.",
        }
    ]
    emulator.fail_initial_replication(ITEM, errors, percent=40)  # before the item exists
    started = arm.put()
    seen = wait_for(arm.item, lambda answer: state_of(answer) == "InitialReplicationFailed")
    assert (
        max(a.json()["properties"]["customProperties"]["initialReplicationProgressPercentage"] for a in seen)
        == 40
    )
    properties = seen[-1].json()["properties"]
    assert properties["replicationHealth"] == "Critical"
    assert properties["protectionStateDescription"] == "Initial replication failed"
    assert [
        (e["code"], e["message"], e["causes"], e["recommendation"]) for e in properties["healthErrors"]
    ] == [(errors[0]["code"], errors[0]["message"], errors[0]["causes"], errors[0]["recommendation"])]
    assert (
        properties["healthErrors"][0]["severity"] == "Error" and properties["healthErrors"][0]["creationTime"]
    )
    assert properties["allowedJobs"] == ["DisableProtection"]
    failed = properties["lastFailedEnableProtectionJob"]
    assert (failed["scenarioName"], failed["state"]) == ("EnableProtection", "Failed")
    job = arm.call("GET", f"{arm.vault_path()}/jobs/{failed['name']}").json()["properties"]
    assert job["state"] == "Failed" and job["errors"][0]["code"] == "DiskReplicationFailed"
    # The enable-protection job itself (the PUT's operation) succeeded.
    assert arm.call("GET", started.headers["Location"]).json()["status"] == "Succeeded"
    with pytest.raises(ValueError, match="has ended"):
        emulator.fail_initial_replication(ITEM)


def test_scripted_planned_failover_failure(emulator, arm):
    emulator.add_protected_item(ITEM)
    started = arm.failover()
    emulator.fail_planned_failover(ITEM, [{"code": "VmStartFailed", "message": "The VM did not start."}])
    wait_for(arm.item, lambda answer: state_of(answer) == "PlannedFailoverFailed")
    body = arm.job(started.headers["Location"])
    job = body["properties"]
    assert job["state"] == "Failed"
    assert job["errors"][0]["code"] == "VmStartFailed" and job["errors"][0]["severity"] == "Error"
    assert [task["state"] for task in job["tasks"]] == [
        "Succeeded",
        "Succeeded",
        "Succeeded",
        "Failed",
        "Skipped",
    ]
    properties = arm.item().json()["properties"]
    assert properties["lastFailedPlannedFailoverJob"]["name"] == body["name"]
    assert properties["lastFailedPlannedFailoverJob"]["state"] == "Failed"
    assert properties["allowedJobs"] == ["Restart", "DisableProtection"]
    assert properties["customProperties"]["activeLocation"] == "Primary"
    assert arm.call("GET", started.headers["Location"]).json()["status"] == "Failed"
    # "Restart" allows the cut-over again, as Azure's tools take it.
    assert arm.failover().status_code == 202


def test_the_job_list_pages_newest_first_with_the_service_s_nulls(emulator, arm):
    emulator.item_durations(enable_protection=0, initial_replication=0, planned_failover=0)
    for name in ("item-a", "item-b"):
        arm.put(name)
    arm.failover("item-a")
    expected = [job["name"] for job in emulator.jobs_of("item-a") + emulator.jobs_of("item-b")]
    assert len(expected) == 5

    pages = [arm.call("GET", arm.vault_path() + "/jobs").json()]
    while "nextLink" in pages[-1]:
        assert pages[-1]["nextLink"].startswith(f"{emulator.url}{arm.vault_path()}/jobs?")
        assert "continuationToken=" in pages[-1]["nextLink"]
        pages.append(arm.call("GET", pages[-1]["nextLink"]).json())
    assert [len(page["value"]) for page in pages] == [2, 2, 1]
    listed = [job for page in pages for job in page["value"]]
    assert sorted(job["name"] for job in listed) == sorted(expected)
    starts = [job["properties"]["startTime"] for job in listed]
    assert starts == sorted(starts, reverse=True)
    assert listed[0]["properties"]["displayName"] == "Planned failover"
    for job in listed:
        assert job["properties"]["tasks"] is None
        assert job["properties"]["errors"] is None
        assert job["properties"]["customProperties"] is None
        assert job["properties"]["provisioningState"] == "Canceled" and job["systemData"] is None

    sized = arm.call("GET", arm.vault_path() + "/jobs", query={"pageSize": 3}).json()
    assert len(sized["value"]) == 3 and "pageSize=3" in sized["nextLink"]
    items = arm.call("GET", arm.vault_path() + "/protectedItems", query={"pageSize": 1}).json()
    assert [item["name"] for item in items["value"]] == ["item-a"]
    assert [item["name"] for item in arm.call("GET", items["nextLink"]).json()["value"]] == ["item-b"]
    bad = arm.call("GET", arm.vault_path() + "/jobs", query={"continuationToken": "!!"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "InvalidParameter")
    emulator.add_vault("vault2")
    other = arm.call("GET", arm.vault_path(vault="vault2") + "/jobs").json()
    assert other == {"value": []}


def test_writes_count_apart_from_reads_and_are_recorded_with_query_and_body(emulator):
    limited = DataReplicationEmulator(rp_quota=(2, 3600), item_durations=ItemDurations(0, 0, 0, 0)).start()
    try:
        arm = Arm(limited)
        writes = [arm.put(f"item-{n}") for n in range(4)]
        assert [answer.status_code for answer in writes] == [201] * 4
        # As recorded: a write's answer reports the provider's count of writes, under the reads' name.
        left = [
            int(answer.headers["x-ms-ratelimit-remaining-subscription-resource-requests"])
            for answer in writes
        ]
        assert left == [799, 798, 797, 796]
        assert [arm.item("item-0").status_code for _ in range(3)] == [200, 200, 429]  # reads: a quota of 2
        assert arm.delete("item-0", force="false").status_code == 202  # writes are not throttled by it
        put, delete = limited.requests_for_item("item-0")[0], limited.requests_for_item("item-0")[-1]
        assert (put.method, put.query, put.body) == (
            "PUT",
            {"api-version": "2024-09-01"},
            {"properties": HYPERV},
        )
        assert put.protected_item == "item-0" and put.path == arm.item_path("item-0")
        assert (delete.method, delete.query, delete.body) == (
            "DELETE",
            {"api-version": "2024-09-01", "forceDelete": "false"},
            None,
        )
        token_requests = [r for r in limited.requests if r.kind == "token"]
        assert all(r.body is None for r in token_requests)  # the secret is never kept
    finally:
        limited.stop()


def test_a_fault_before_the_write_applies_nothing_a_fault_after_it_loses_only_the_answer(emulator, arm):
    emulator.add_protected_item(ITEM)
    emulator.add_protected_item("bystander")
    emulator.add_fault(Fault.drop(method="POST", protected_item=ITEM))
    with pytest.raises(requests.exceptions.ConnectionError):
        arm.failover()
    assert state_of(arm.item()) == "Protected" and emulator.jobs_of(ITEM) == []

    emulator.add_fault(Fault.drop(method="POST", protected_item=ITEM.upper(), applied=True))
    assert arm.failover("bystander").status_code == 202  # another item: not hit
    with pytest.raises(requests.exceptions.ConnectionError):
        arm.failover()
    assert state_of(arm.item()) == "PlannedFailoverInitiated"
    assert [job["properties"]["displayName"] for job in emulator.jobs_of(ITEM)] == ["Planned failover"]
    # The client never saw the answer; sending it again meets the state it caused.
    assert arm.failover().status_code == 409
    statuses = [(r.method, r.status) for r in emulator.requests_for_item(ITEM)]
    assert statuses == [("POST", 0), ("GET", 200), ("POST", 0), ("GET", 200), ("POST", 409)]

    emulator.add_fault(Fault.server_error(503, method="PUT", applied=True))
    assert arm.put("late").status_code == 503
    assert emulator.protected_item("late")["properties"]["protectionState"] == "EnablingProtection"
    emulator.add_fault(Fault.throttle("2", protected_item="late"))
    assert arm.item("late").status_code == 429  # reads of that item too


def test_seeded_items_in_any_state(emulator, arm):
    body = emulator.add_protected_item(
        "vmware-item",
        protection_state="InitialReplicationInProgress",
        instance_type="VMwareToAzStackHCI",
        properties={"customProperties": {"initialReplicationProgressPercentage": 37}},
    )
    assert body["properties"]["customProperties"]["instanceType"] == "VMwareToAzStackHCI"
    got = arm.item("vmware-item").json()["properties"]
    assert got["customProperties"]["initialReplicationProgressPercentage"] == 37
    assert got["customProperties"]["migrationProgressPercentage"] == 0
    assert got["allowedJobs"] == ["DisableProtection"]
    failed = emulator.add_protected_item("failed-item", protection_state="InitialReplicationFailed")
    assert failed["properties"]["replicationHealth"] == "Critical" and failed["properties"]["healthErrors"]
    custom = emulator.add_protected_item(
        "odd", protection_state="ResynchronizationInProgress", allowed_jobs=["X"]
    )
    assert custom["properties"]["allowedJobs"] == ["X"]


def test_admin_endpoints_for_an_emulator_in_another_process():
    with DataReplicationEmulator() as emulator:
        admin = f"{emulator.url}/_emulator"

        def post(path, data):
            answer = requests.post(f"{admin}/{path}", json=data, verify=emulator.ca_file, timeout=10)
            assert answer.status_code == 200, answer.text
            return answer.json()

        def get(path, **params):
            return requests.get(f"{admin}/{path}", params=params, verify=emulator.ca_file, timeout=10)

        durations = post("item-durations", {"enable_protection": 0, "planned_failover": 30})
        assert durations["enable_protection"] == 0 and durations["planned_failover"] == 30
        assert get("item-durations").json() == durations
        post("settings", {"retry_after": 15, "page_size": 5})
        seeded = post(f"protected-items/{ITEM}", {"protection_state": "Protected", "vault_name": VAULT})
        assert seeded["properties"]["allowedJobs"] == ["PlannedFailover", "DisableProtection"]
        post(f"protected-items/{ITEM}/fail-planned-failover", {"errors": [{"code": "E1", "message": "m"}]})
        post(
            "faults", {"kind": "http", "status": 500, "times": 1, "method": "GET", "protected_item": "nobody"}
        )
        arm = Arm(emulator)
        answer = arm.failover()
        assert answer.headers["Retry-After"] == "15"
        assert get(f"protected-items/{ITEM}", vault_name=VAULT).json()["properties"]["protectionState"] == (
            "PlannedFailoverInitiated"
        )
        jobs = get(f"protected-items/{ITEM}/jobs").json()
        assert [job["properties"]["displayName"] for job in jobs] == ["Planned failover"]
        assert get("protected-items/missing").status_code == 404
        bad = requests.post(
            f"{admin}/protected-items/{ITEM}/fail-planned-failover",
            json={"task": "nope"},
            verify=emulator.ca_file,
            timeout=10,
        )
        assert bad.status_code == 400
        post("protected-items/late/fail-initial-replication", {"percent": 10})
        stats = get("stats").json()
        (write,) = [r for r in stats["requests"] if r["method"] == "POST" and r["kind"] == "arm"]
        assert write["body"]["properties"]["customProperties"]["shutdownSourceVM"] is True
        assert write["protected_item"] == ITEM and write["query"] == {"api-version": "2024-09-01"}
