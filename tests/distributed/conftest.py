"""
The ``cluster`` fixture: one CeleryExecutor deployment per session (see ``cluster.py``).

Needs Airflow 3.3 (skipped before), Debian's ``postgresql`` and ``redis-server`` (installed by
``scripts/install.sh``) and the ``distributed`` extra (Celery provider, psycopg2). The suite's own
time and numbers are printed in pytest's summary at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import TYPE_CHECKING

import pytest

from airflow_provider_datareplication.version_compat import AIRFLOW_V_3_3_PLUS
from tests.distributed.cluster import SUMMARY, Cluster, start_cluster

if TYPE_CHECKING:
    from collections.abc import Iterator

_STARTED: list[float] = []


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """Start Postgres, Redis, the emulator and Airflow's components once; stop them at the end."""
    started = time.monotonic()
    _STARTED.append(started)
    deployment = start_cluster()
    SUMMARY.append(f"deployment healthy at {deployment.base_url} in {time.monotonic() - started:.1f} s")
    try:
        yield deployment
    finally:
        killed = deployment.stop()
        if killed:
            SUMMARY.append(f"SIGKILLed {killed} after the grace period")
        if not os.environ.get("KEEP_DISTRIBUTED_HOME"):
            shutil.rmtree(deployment.airflow_home, ignore_errors=True)
        SUMMARY.append(f"the suite took {time.monotonic() - started:.0f} s")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    if report.failed and call.when in ("setup", "call"):
        deployment = getattr(item, "funcargs", {}).get("cluster")
        if isinstance(deployment, Cluster):
            report.sections.append(("distributed deployment output (tails)", deployment.tail(60)))
    return report


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests that use the deployment last (skipped before Airflow 3.3)."""
    using = [item for item in items if "cluster" in getattr(item, "fixturenames", ())]
    if not AIRFLOW_V_3_3_PLUS:
        skip = pytest.mark.skip(reason="the distributed deployment tests run on Airflow 3.3")
        for item in using:
            item.add_marker(skip)
    if using:
        others = [item for item in items if "cluster" not in getattr(item, "fixturenames", ())]
        items[:] = others + using


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the deployment's start-up time, the waits' numbers and the suite's own time."""
    if SUMMARY:
        terminalreporter.write_sep("=", "distributed deployment")
        for line in SUMMARY:
            terminalreporter.write_line(line)
