"""The emulator seeds a Migrate project over HTTP, for an emulator in another process."""

from __future__ import annotations

import json
import ssl
import urllib.request

import pytest

from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook


def test_local_migration_is_seeded_over_http_with_its_states(emulator):
    request = urllib.request.Request(
        f"{emulator.url}/_emulator/local-migration",
        data=json.dumps({"machines": 1, "states": {"bridge_status": "Offline"}}).encode(),
        method="POST",
    )
    context = ssl.create_default_context(cafile=emulator.ca_file)
    with urllib.request.urlopen(request, context=context) as answer:
        (inputs,) = json.loads(answer.read())
    with (
        AzureDataReplicationHook() as hook,
        pytest.raises(ValueError, match="Arc Resource Bridge is offline"),
    ):
        hook.replication_properties(**inputs)
