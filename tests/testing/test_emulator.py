"""The emulator speaks Azure's wire contract: what a client sees from it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from airflow_provider_datareplication.testing.emulator import DataReplicationEmulator, Fault

OP_PATH = (
    "/subscriptions/{sub}/resourceGroups/rg1/providers/Microsoft.DataReplication/replicationVaults/vault1"
    "/jobs/job1/operations/{op}"
)


def token(emulator, secret=None):
    return requests.post(
        f"{emulator.url}/{emulator.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": emulator.client_id,
            "client_secret": secret or emulator.client_secret,
            "scope": f"{emulator.url}/.default",
        },
        verify=emulator.ca_file,
        timeout=10,
    )


def get(emulator, op="op1", api_version="2021-02-16-preview", bearer=None, sub=None):
    url = emulator.url + OP_PATH.format(sub=sub or emulator.subscription_id, op=op)
    if api_version is not None:
        url += f"?api-version={api_version}"
    bearer = bearer or token(emulator).json()["access_token"]
    return requests.get(
        url, headers={"Authorization": f"Bearer {bearer}"}, verify=emulator.ca_file, timeout=10
    )


def test_openid_configuration_and_token_flow(emulator):
    config = requests.get(
        f"{emulator.url}/{emulator.tenant_id}/v2.0/.well-known/openid-configuration",
        verify=emulator.ca_file,
        timeout=10,
    ).json()
    assert config["token_endpoint"] == f"{emulator.url}/{emulator.tenant_id}/oauth2/v2.0/token"
    answer = token(emulator).json()
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 3599
    assert answer["access_token"] in emulator.issued_tokens
    assert emulator.token_requests == 1


def test_wrong_secret_gets_entra_ids_invalid_client(emulator):
    answer = token(emulator, secret="wrong")
    assert answer.status_code == 401
    body = answer.json()
    assert body["error"] == "invalid_client"
    assert body["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert body["error_codes"] == [7000215]


def test_scripted_statuses_then_the_last_repeats(emulator):
    emulator.script_operation("op1", ["InProgress", {"status": "Succeeded", "percentComplete": 100}])
    bodies = [get(emulator).json() for _ in range(3)]
    assert [b["status"] for b in bodies] == ["InProgress", "Succeeded", "Succeeded"]
    assert bodies[0]["endTime"] is None and bodies[1]["endTime"]
    assert bodies[1]["percentComplete"] == 100
    assert set(bodies[0]) == {"id", "name", "status", "startTime", "endTime"}


def test_time_based_progression(emulator):
    emulator.progress_operation("op1", [(0, "InProgress"), (0.5, "Succeeded")])
    assert get(emulator).json()["status"] == "InProgress"
    time.sleep(0.6)
    assert get(emulator).json()["status"] == "Succeeded"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"api_version": None}, 400, "MissingApiVersionParameter"),
        ({"api_version": "2099-01-01"}, 400, "InvalidApiVersionParameter"),
        # The stable api-versions dropped this call: ARM says no provider serves it there.
        ({"api_version": "2024-09-01"}, 400, "NoRegisteredProviderFound"),
        ({"sub": "not-a-uuid"}, 400, "InvalidSubscriptionId"),
        ({"bearer": "forged"}, 401, "InvalidAuthenticationToken"),
        ({"op": "unknown"}, 404, "ResourceNotFound"),
    ],
)
def test_validates_like_azure(emulator, kwargs, status, code):
    emulator.script_operation("op1", ["InProgress"])
    answer = get(emulator, **kwargs)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert answer.headers["x-ms-request-id"]
    assert answer.headers["x-ms-correlation-request-id"]


def test_expired_token_is_refused(emulator):
    emulator.token_lifetime = -1
    emulator.script_operation("op1", ["InProgress"])
    answer = get(emulator)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "ExpiredAuthenticationToken"


def test_faults_apply_in_order_per_operation_and_after_n(emulator):
    emulator.script_operation("op1", ["InProgress"])
    emulator.script_operation("op2", ["InProgress"])
    emulator.add_fault(Fault.throttle("3", operation_id="op2", after=1))
    emulator.add_fault(Fault.server_error(502, body="html", operation_id="op1", times=2))
    assert [get(emulator).status_code for _ in range(3)] == [502, 502, 200]
    assert [get(emulator, op="op2").status_code for _ in range(3)] == [200, 429, 200]
    assert [r.status for r in emulator.requests_for("op2")] == [200, 429, 200]


def test_drop_closes_the_connection_without_an_answer(emulator):
    emulator.script_operation("op1", ["InProgress"])
    emulator.add_fault(Fault.drop())
    with pytest.raises(requests.exceptions.ConnectionError):
        get(emulator)
    assert get(emulator).status_code == 200


def test_counts_concurrent_connections(emulator):
    emulator.script_operation("op1", ["InProgress"])
    emulator.add_fault(Fault.slow(0.5, times=-1))
    bearer = token(emulator).json()["access_token"]
    threads = [threading.Thread(target=get, args=(emulator,), kwargs={"bearer": bearer}) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert emulator.max_open_connections >= 4


def test_admin_api_scripts_and_reports():
    with DataReplicationEmulator() as emulator:
        admin = f"{emulator.url}/_emulator"
        requests.post(
            f"{admin}/operations/op9", json={"statuses": ["Failed"]}, verify=emulator.ca_file, timeout=10
        )
        assert get(emulator, op="op9").json()["status"] == "Failed"
        stats = requests.get(f"{admin}/stats", verify=emulator.ca_file, timeout=10).json()
        assert stats["token_requests"] == 1


def test_command_prints_the_connection_and_stops_on_sigterm(tmp_path):
    info = tmp_path / "info.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_datareplication.testing",
            "--operation",
            "op1=InProgress,Succeeded",
            "--info-file",
            str(info),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(100):
            if info.exists() and info.stat().st_size:
                break
            time.sleep(0.1)
        data = json.loads(info.read_text())
        assert data["connection"]["conn_type"] == "azure_data_replication"
        assert data["connection"]["extra"]["resource_manager_url"] == data["url"]
        stats = requests.get(f"{data['url']}/_emulator/stats", verify=data["ca_file"], timeout=10)
        assert stats.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


JOB = "0203aa1b-1dff-4653-89a9-b90a76d1601a"


def get_url(emulator, path, bearer=None):
    bearer = bearer or token(emulator).json()["access_token"]
    return requests.get(
        emulator.url + path,
        headers={"Authorization": f"Bearer {bearer}"},
        verify=emulator.ca_file,
        timeout=10,
    )


def job_path(emulator, api_version="2024-09-01", job=JOB):
    return (
        f"/subscriptions/{emulator.subscription_id}/resourceGroups/rg1/providers/Microsoft.DataReplication"
        f"/replicationVaults/vault1/jobs/{job}?api-version={api_version}"
    )


@pytest.mark.parametrize("api_version", ["2024-09-01", "2026-05-01"])
def test_a_job_answers_the_services_job_body(emulator, api_version):
    emulator.script_job(
        JOB, ["Pending", "Started", {"state": "Failed", "errors": [{"code": "E1", "message": "m"}]}]
    )
    bodies = [get_url(emulator, job_path(emulator, api_version)).json() for _ in range(3)]
    assert [b["properties"]["state"] for b in bodies] == ["Pending", "Started", "Failed"]
    body = bodies[-1]
    assert set(body) == {"id", "name", "type", "systemData", "properties"}
    assert body["id"].endswith(f"/replicationVaults/vault1/jobs/{JOB}") and body["name"] == JOB
    assert set(body["properties"]) >= {
        "displayName",
        "state",
        "startTime",
        "endTime",
        "objectId",
        "objectName",
        "objectType",
        "activityId",
        "allowedActions",
        "tasks",
        "errors",
        "customProperties",
    }
    assert body["properties"]["customProperties"]["instanceType"] == "FailoverJobDetails"
    # As the real service sends every job: provisioningState "Canceled" whatever the state, no systemData.
    assert body["systemData"] is None
    assert {b["properties"]["provisioningState"] for b in bodies} == {"Canceled"}
    assert body["properties"]["errors"] == [{"code": "E1", "message": "m"}]
    assert bodies[0]["properties"]["endTime"] is None and body["properties"]["endTime"]
    assert [t["state"] for t in body["properties"]["tasks"]] == ["Succeeded", "Failed"]
    assert len(emulator.requests_for_job(JOB)) == 3


def test_an_operation_results_url_and_api_versions_per_resource_type(emulator):
    emulator.script_operation("lro1", ["InProgress", "Succeeded"])
    url = emulator.operation_url("lro1")
    path = url[len(emulator.url) :]
    assert get_url(emulator, path).json()["status"] == "InProgress"
    assert get_url(emulator, path.replace("2024-09-01", "2026-05-01")).json()["status"] == "Succeeded"
    # The preview api-version had no operation results; the stable ones no job operations.
    preview = get_url(emulator, path.replace("2024-09-01", "2021-02-16-preview"))
    assert (preview.status_code, preview.json()["error"]["code"]) == (400, "NoRegisteredProviderFound")
    assert get(emulator, api_version="2026-05-01").json()["error"]["code"] == "NoRegisteredProviderFound"
    assert get_url(emulator, job_path(emulator, job="unknown")).status_code == 404


def test_every_answer_says_what_is_left_of_the_provider_s_quota_as_the_real_service_does(emulator):
    emulator.script_operation("op1", ["InProgress"])
    bearer = token(emulator).json()["access_token"]
    answers = [get(emulator, bearer=bearer) for _ in range(3)]
    answers.append(get(emulator, api_version="2099-01-01", bearer=bearer))  # errors count too
    left = [int(a.headers["x-ms-ratelimit-remaining-subscription-resource-requests"]) for a in answers]
    assert left == [1099, 1098, 1097, 1096]  # the quota the recorded answers show
    for answer in answers:
        assert answer.headers["x-ms-throttling-version"] == "v1"
        assert "x-ms-ratelimit-remaining-subscription-reads" not in answer.headers  # as recorded


def test_the_provider_s_quota_is_per_principal_and_subscription_over_a_fixed_window():
    with DataReplicationEmulator(rp_quota=(3, 2.0)) as limited:
        limited.script_operation("op1", ["InProgress"])
        bearer = token(limited).json()["access_token"]
        answers = [get(limited, bearer=bearer) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        # Throttled to the window's end (2 s windows from the emulator's start).
        assert 1 <= int(answers[3].headers["Retry-After"]) <= 2
        other = get(limited, bearer=bearer, sub="00000000-0000-0000-0000-000000000001")
        assert other.status_code == 200  # another subscription has a quota of its own
        time.sleep(int(answers[3].headers["Retry-After"]) + 0.05)
        again = get(limited, bearer=bearer)
        assert again.status_code == 200  # a new window
        assert again.headers["x-ms-ratelimit-remaining-subscription-resource-requests"] == "2"


def test_every_v2_answer_says_how_many_of_arm_s_reads_are_left():
    with DataReplicationEmulator(throttling="v2") as v2:
        v2.script_operation("op1", ["InProgress"])
        bearer = token(v2).json()["access_token"]
        answers = [get(v2, bearer=bearer) for _ in range(3)]
        left = [int(a.headers["x-ms-ratelimit-remaining-subscription-reads"]) for a in answers]
        assert left[0] <= 249 and left == sorted(left, reverse=True)
        assert all(
            int(a.headers["x-ms-ratelimit-remaining-subscription-global-reads"]) > 3000 for a in answers
        )
        assert all(a.headers["x-ms-throttling-version"] == "v2" for a in answers)


def test_the_read_limit_is_per_principal_and_subscription(emulator):
    limited = DataReplicationEmulator(arm_read_limit=(3, 0.001), throttling="v2").start()
    try:
        limited.script_operation("op1", ["InProgress"])
        bearer = token(limited).json()["access_token"]
        statuses = [get(limited, bearer=bearer).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        throttled = get(limited, bearer=bearer)
        assert throttled.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
        assert int(throttled.headers["Retry-After"]) >= 1
        other = get(limited, bearer=bearer, sub="00000000-0000-0000-0000-000000000001")
        assert other.status_code == 200  # another subscription has a bucket of its own
    finally:
        limited.stop()


def test_auto_progress_makes_an_item_no_one_created_ready_after_a_while():
    with DataReplicationEmulator(auto_progress=0.5) as emulator:
        url = (
            f"{emulator.url}/subscriptions/{emulator.subscription_id}/resourceGroups/rg1/providers"
            "/Microsoft.DataReplication/replicationVaults/vault1/protectedItems/server-1?api-version=2024-09-01"
        )
        bearer = token(emulator).json()["access_token"]

        def state():
            answer = requests.get(
                url, headers={"Authorization": f"Bearer {bearer}"}, verify=emulator.ca_file, timeout=10
            )
            assert answer.status_code == 200
            return answer.json()["properties"]["protectionState"], answer.json()["properties"]["allowedJobs"]

        assert state() == ("InitialReplicationInProgress", ["DisableProtection"])
        time.sleep(0.6)
        assert state() == ("Protected", ["PlannedFailover", "DisableProtection"])
