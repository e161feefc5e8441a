"""An existing ``azure`` connection signing in with its key file, through real Airflow (``dag.test()``)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import emulator_auth_file

pytestmark = pytest.mark.e2e


def test_an_azure_connection_signs_in_with_its_key_file(emulator, run_dag, monkeypatch, tmp_path):
    # Only the key file's service principal can sign in: no managed identity to fall back on.
    monkeypatch.delenv("AZURE_POD_IDENTITY_AUTHORITY_HOST")
    key_path = tmp_path / "sp.json"
    key_path.write_text(json.dumps(emulator_auth_file(emulator)))
    for conn_id, key in (
        ("e2e_azure_key_path", {"key_path": str(key_path)}),
        ("e2e_azure_key_json", {"key_json": emulator_auth_file(emulator)}),
    ):
        # As the microsoft-azure provider's form writes it (blank fields empty), and what trusting
        # the emulator takes (its CA, an authority Entra ID does not know).
        extra = {
            "tenantId": "",
            "subscriptionId": "",
            "managed_identity_client_id": "",
            "workload_identity_tenant_id": "",
            "cloud_environment": "",
            **key,
            "disable_instance_discovery": True,
            "ca_bundle": emulator.ca_file,
        }
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "azure", "extra": extra})
        )
    for op in ("e2e_azure_key_path-poke", "e2e_azure_key_json-deferrable"):
        emulator.script_operation(op, ["InProgress", "Succeeded"])
    emulator.script_operation("e2e_azure_key_path-report", ["InProgress"])

    result = run_dag("e2e_azure_connections")

    assert result.states == {
        "key_path_poke": "success",
        "key_json_deferrable": "success",
        "key_path_report": "success",
    }, result.output[-3000:]
    assert result.xcom["key_path_poke"]["status"] == "Succeeded"
    assert result.xcom["key_json_deferrable"]["status"] == "Succeeded"
    assert result.xcom["key_path_report"]["status"] == "InProgress"
    assert emulator.token_requests >= 1  # the key file's client secret, at the token endpoint
