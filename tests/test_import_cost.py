"""DAG files pay for every module-level import on every parse: the heavy clients stay out."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from airflow_provider_datareplication.version_compat import AIRFLOW_V_3_0_PLUS

PUBLIC = [
    "airflow_provider_datareplication",
    "airflow_provider_datareplication.get_provider_info",
    "airflow_provider_datareplication.hooks.data_replication",
    "airflow_provider_datareplication.sensors.data_replication",
    "airflow_provider_datareplication.operators.data_replication",
    "airflow_provider_datareplication.triggers.data_replication",
]
HEAVY = ("azure", "aiohttp", "requests", "msal", "requests_mock")
#: What every DAG file imports anyway: the baseline the provider's imports are measured against.
DAG_FILE_IMPORTS = """
try:
    import airflow.sdk
except ImportError:  # Airflow 2
    from airflow import DAG
"""

PROBE = f"""
import json, sys
{DAG_FILE_IMPORTS}
before = set(sys.modules)
for name in {PUBLIC!r}:
    __import__(name)
added = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in {HEAVY!r})
print(json.dumps({{"added": added, "present": sorted(m for m in sys.modules if m in {HEAVY!r})}}))
"""


def test_public_modules_do_not_import_azure_sdks_aiohttp_or_requests():
    out = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["added"] == []
    if AIRFLOW_V_3_0_PLUS:  # Airflow 2 itself imports requests; Airflow 3's task SDK imports none of them
        assert result["present"] == []


WARNINGS_PROBE = f"""
import json, warnings
{DAG_FILE_IMPORTS}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for name in {PUBLIC!r}:
        __import__(name)
print(json.dumps([f"{{w.category.__name__}} {{w.filename}}: {{w.message}}" for w in caught]))
"""


def test_public_modules_import_without_deprecation_warnings():
    out = subprocess.run(
        [sys.executable, "-c", WARNINGS_PROBE], check=True, capture_output=True, text=True
    ).stdout
    caught = json.loads(out.strip().splitlines()[-1])
    assert [w for w in caught if "Deprecat" in w or "airflow_provider_datareplication" in w] == []


@pytest.mark.parametrize("module", ["airflow_provider_datareplication.testing.pytest_plugin"])
def test_pytest_plugin_is_cheap_to_load(module):
    code = f"import sys; import {module}; print(sorted(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert "airflow_provider_datareplication.testing.emulator" not in out
