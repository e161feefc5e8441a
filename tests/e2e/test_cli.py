"""What ``airflow providers ...`` shows about this provider, on the installed Airflow (2.11 or 3.x)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_datareplication import __version__
from airflow_provider_datareplication.get_provider_info import CONFIG_SECTION, CONN_FIELDS

pytestmark = pytest.mark.e2e

DIST = "airflow-provider-datareplication"
CONN_TYPE = "azure_data_replication"
HOOK_CLASS = "airflow_provider_datareplication.hooks.data_replication.AzureDataReplicationHook"
TRIGGER_MODULE = "airflow_provider_datareplication.triggers.data_replication"
LINK_CLASS = "airflow_provider_datareplication.links.data_replication.AzureDataReplicationJobLink"
#: Each subcommand checked; all of them exist on Airflow 2.11 and 3.3.
COMMANDS = {
    "get": ["providers", "get", DIST, "-o", "json"],
    "hooks": ["providers", "hooks", "-o", "json"],
    "triggers": ["providers", "triggers", "-o", "json"],
    "links": ["providers", "links", "-o", "json"],
    "widgets": ["providers", "widgets", "-o", "json"],
    "behaviours": ["providers", "behaviours", "-o", "json"],
    "configs": ["providers", "configs", "-o", "json"],
}


@pytest.fixture(scope="module")
def cli(tmp_path_factory) -> dict[str, list[dict[str, Any]]]:
    """Run every command once, two at a time (each spends seconds importing providers): its JSON rows."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path_factory.mktemp("airflow-home")),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    env.pop("AIRFLOW__CORE__DAGS_FOLDER", None)
    airflow = str(Path(sys.executable).parent / "airflow")

    def run(name: str) -> list[dict[str, Any]]:
        args = [airflow, *COMMANDS[name]]
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"airflow {' '.join(COMMANDS[name])}:\n{done.stderr[-3000:]}"
        return json.loads(done.stdout[done.stdout.index("[") :])

    with ThreadPoolExecutor(max_workers=2) as pool:  # two at a time: CI machines have few cores
        return dict(zip(COMMANDS, pool.map(run, COMMANDS), strict=True))


def test_providers_get_shows_the_provider_and_its_version(cli):
    assert cli["get"] == [{"Provider": DIST, "Version": __version__}]


def test_providers_hooks_lists_the_connection_type_with_its_hook(cli):
    (hook,) = [row for row in cli["hooks"] if row["connection_type"] == CONN_TYPE]
    assert hook["class"] == HOOK_CLASS
    assert hook["hook_name"] == "Azure Data Replication"
    assert hook["package_name"] == DIST
    assert hook["conn_id_attribute_name"] == "azure_data_replication_conn_id"


def test_providers_triggers_lists_the_trigger_module(cli):
    (trigger,) = [row for row in cli["triggers"] if row["package_name"] == DIST]
    assert trigger["class"] == TRIGGER_MODULE
    assert trigger["integration_name"] == "Azure Data Replication"


def test_providers_links_lists_the_azure_portal_link(cli):
    assert {"extra_link_class_name": LINK_CLASS} in cli["links"]


def test_providers_widgets_lists_every_extra_field_of_the_connection_form(cli):
    ours = {row["connection_parameter_name"]: row for row in cli["widgets"] if row["package_name"] == DIST}
    assert set(ours) == {f"extra__{CONN_TYPE}__{name}" for name in CONN_FIELDS}
    for name in ("tenantId", "subscriptionId", "cloud", "managed_identity_client_id", "vault_name"):
        assert f"extra__{CONN_TYPE}__{name}" in ours
    boolean = ours[f"extra__{CONN_TYPE}__disable_instance_discovery"]["field_type"]
    text = ours[f"extra__{CONN_TYPE}__tenantId"]["field_type"]
    # Airflow 2 shows the WTForms field class; Airflow 3.2+ the declared JSON schema type.
    assert (boolean, text) in [("BooleanField", "StringField"), (["boolean", "null"], ["string", "null"])]
    assert {row["class"].rsplit(".", 1)[-1] for row in ours.values()} == {"AzureDataReplicationHook"}


def test_providers_behaviours_lists_the_connection_type(cli):
    assert {"field_behaviours": CONN_TYPE} in cli["behaviours"]


def test_providers_configs_lists_the_gc_freeze_option_off_by_default(cli):
    (ours,) = [row["provider_config"][1] for row in cli["configs"] if row["provider_config"][0] == DIST]
    option = ours[CONFIG_SECTION]["options"]["gc_freeze"]
    assert (option["type"], option["default"]) == ("boolean", "False")
