from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Set by ``scripts/docs.sh``: tests that produce a document write it into ``docs/``.
WRITE_DOCS = "DATAREPLICATION_WRITE_DOCS"

SUBSCRIPTION_ID = "930CEC23-4430-4513-B855-DBA237E2F3BF"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "s3cr3t-Value~not-for-logs"
ACCESS_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOi.mock-access-token.signature"
ARM = "https://management.azure.com"
OPERATION = {"operation_id": "op1", "job_name": "job1", "vault_name": "vault1"}
OPERATION_URL = (
    f"{ARM}/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg1/providers/Microsoft.DataReplication"
    "/replicationVaults/vault1/jobs/job1/operations/op1?api-version=2021-02-16-preview"
)


def connection_json(**extra: Any) -> str:
    """An azure_data_replication connection for the public cloud (mocked at the wire)."""
    extras = {
        "tenantId": TENANT_ID,
        "subscriptionId": SUBSCRIPTION_ID,
        "resource_group_name": "rg1",
        "disable_instance_discovery": True,
        **extra,
    }
    return json.dumps(
        {
            "conn_type": "azure_data_replication",
            "login": CLIENT_ID,
            "password": CLIENT_SECRET,
            "extra": extras,
        }
    )


def mock_token_endpoint(requests_mock: Any, authority: str = "https://login.microsoftonline.com") -> Any:
    """Serve Entra ID's discovery document and token endpoint; return the token route (for its call count)."""
    base = f"{authority}/{TENANT_ID}"
    requests_mock.get(
        f"{base}/v2.0/.well-known/openid-configuration",
        json={
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "issuer": f"{base}/v2.0",
        },
    )
    return requests_mock.post(
        f"{base}/oauth2/v2.0/token",
        json={
            "token_type": "Bearer",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": ACCESS_TOKEN,
        },
    )


async def connections_closed(emulator: Any, seconds: float = 2.0) -> bool:
    """Wait (a little) until the emulator sees no open connection; whether it got there."""
    import asyncio

    for _ in range(int(seconds / 0.02)):
        if emulator.open_connections == 0:
            return True
        await asyncio.sleep(0.02)
    return emulator.open_connections == 0


def logs_text(airflow_home: Path) -> str:
    """Every log file Airflow wrote under ``airflow_home``, as one text."""
    logs = airflow_home / "logs"
    if not logs.exists():
        return ""
    return "".join(p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file())


def assert_no_secrets(emulator: Any, text: str) -> None:
    """Neither the emulator's client secret nor any token it issued appears in ``text``."""
    assert emulator.client_secret not in text, "the client secret leaked"
    leaked = [token for token in emulator.issued_tokens if token in text]
    assert not leaked, "an access token leaked"


def emulator_auth_file(emulator: Any) -> dict[str, Any]:
    """The emulator's service principal as an auth file (``az ad sp create-for-rbac --sdk-auth``)."""
    return {
        "clientId": emulator.client_id,
        "clientSecret": emulator.client_secret,
        "subscriptionId": emulator.subscription_id,
        "tenantId": emulator.tenant_id,
        "activeDirectoryEndpointUrl": emulator.url,
        "resourceManagerEndpointUrl": f"{emulator.url}/",
    }


def output_path(*parts: str) -> Path:
    """
    Where a test writes a document it produces (a table, a screenshot), creating the folder.

    ``docs/`` when ``scripts/docs.sh`` runs the test (``DATAREPLICATION_WRITE_DOCS=1``);
    otherwise ``test-output/`` (git-ignored), so running the tests changes no tracked file.
    """
    base = ROOT / "docs" if os.environ.get(WRITE_DOCS) == "1" else ROOT / "test-output"
    path = base.joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


#: A protected item and its enable-replication properties, shared with the DAGs the e2e tests run.


class TaskInstance:
    """What a task asks of its task instance outside Airflow: XCom pushes are kept, the try number given."""

    # Airflow 2 looks up a rescheduled sensor's first try among the task's reschedules by these.
    dag_id, task_id, run_id, map_index = "dag", "task", "run", -1

    def __init__(self, try_number: int = 1, *, max_tries: int = 0, start_date: Any = None) -> None:
        self.try_number = try_number
        self.max_tries = max_tries
        self.start_date = start_date
        self.xcom: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.xcom[key] = value

    def get_first_reschedule_date(self, context: object) -> None:
        return None


class DagRun:
    """What a task asks of its DAG run outside Airflow: when it started."""

    def __init__(self, start_date: Any) -> None:
        self.start_date = start_date


def run_inline(coroutine: Any) -> Any:
    """Run a coroutine to its end in a loop of its own (a trigger, from a sync test)."""
    import asyncio

    return asyncio.run(coroutine)


async def first_event(trigger: Any, timeout: float = 20) -> Any:
    """Run a trigger until its first event; return the event's payload."""
    import asyncio

    async def collect() -> Any:
        async for event in trigger.run():
            return event.payload
        return None

    return await asyncio.wait_for(collect(), timeout)


def example_dag_module(name: str) -> Any:
    """Import one of ``example_dags/`` by its module name, as Airflow would parse it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "example_dags" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
