"""
The ``standalone`` fixture: one real Airflow deployment per test session (see ``deployment.py``).

Use it from any test under ``tests/standalone/``::

    def test_something(standalone):
        run_id = standalone.trigger("standalone_success")
        assert standalone.wait_for_run("standalone_success", run_id) == "success"

A browser test logs in at ``standalone.base_url`` with ``standalone.username`` and
``standalone.password``. When a test using the fixture fails, the tail of the deployment's
output is added to the failure report. Outside this directory, load the fixture with
``pytest_plugins = ["tests.standalone.conftest"]`` in a top-level conftest, or build a deployment
yourself with :func:`tests.standalone.deployment.start_standalone` (and ``.stop()`` it).
"""

from __future__ import annotations

import os
import shutil
import time
from typing import TYPE_CHECKING

import pytest

from airflow_provider_datareplication.version_compat import AIRFLOW_V_3_3_PLUS
from tests.standalone.deployment import Standalone, start_standalone

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="package")
def standalone() -> Iterator[Standalone]:
    """Start the emulator and ``airflow standalone`` once; stop everything after this package's tests."""
    started = time.monotonic()
    deployment = start_standalone()
    print(f"\nairflow standalone healthy at {deployment.base_url} in {time.monotonic() - started:.1f} s")
    try:
        yield deployment
    finally:
        killed = deployment.stop()
        if killed:
            print(f"\nairflow standalone: SIGKILLed {killed} after the grace period")
        if not os.environ.get("KEEP_STANDALONE_HOME"):
            shutil.rmtree(deployment.airflow_home, ignore_errors=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    if report.failed and call.when in ("setup", "call"):
        deployment = getattr(item, "funcargs", {}).get("standalone")
        if isinstance(deployment, Standalone):
            report.sections.append(("airflow standalone output (tail)", deployment.tail(200)))
    return report


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """
    Run the tests that use the deployment after all others (skipped before Airflow 3.3).

    It lives for this package's tests (the browser test reuses it): run earlier, its scheduler,
    triggerer and API server would load the machine under every test collected after it
    (timing-sensitive unit tests included). The distributed deployment's tests come after it is
    stopped.
    """
    using = [item for item in items if "standalone" in getattr(item, "fixturenames", ())]
    if not AIRFLOW_V_3_3_PLUS:
        skip = pytest.mark.skip(reason="the airflow standalone deployment tests run on Airflow 3.3")
        for item in using:
            item.add_marker(skip)
    if using:
        others = [item for item in items if "standalone" not in getattr(item, "fixturenames", ())]
        items[:] = others + using
