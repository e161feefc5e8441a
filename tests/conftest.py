from __future__ import annotations

import os
import tempfile

# A throwaway AIRFLOW_HOME before Airflow is first imported: tests never touch ~/airflow. Each
# pytest-xdist worker has its own (its own metadata database).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(
        prefix=f"datareplication-airflow-home-{os.environ['PYTEST_XDIST_WORKER']}-"
    )
else:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="datareplication-airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault(
    "AIRFLOW__CORE__DAGS_FOLDER", os.path.join(os.path.dirname(os.path.abspath(__file__)), "e2e", "dags")
)

import pytest

#: The package's emulator fixture, opt-in as for any user of the package.
pytest_plugins = ["airflow_provider_datareplication.testing.pytest_plugin"]


@pytest.fixture(scope="session")
def airflow_db():
    """Migrate the session's throwaway Airflow metadata database (once)."""
    import subprocess
    import sys
    from pathlib import Path

    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    return Path(os.environ["AIRFLOW_HOME"]) / "airflow.db"


@pytest.fixture
def emulator(data_replication_emulator):
    """The emulator from the package's own pytest plugin (what users get)."""
    return data_replication_emulator


@pytest.fixture(autouse=True)
def _fresh_read_pacing():
    """Each test paces reads from scratch: a pacer a 429 left at the floor stays with its own test."""
    from airflow_provider_datareplication import pacing, reads

    pacing._PACERS.clear()
    reads._STRETCHED.clear()
    yield


def _tracked_changes() -> str | None:
    """A digest of every change to tracked files (``None`` outside a git checkout)."""
    import hashlib
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        diff = subprocess.run(
            ["git", "diff", "--binary", "HEAD"], cwd=root, capture_output=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return hashlib.sha256(diff).hexdigest()


@pytest.fixture(scope="session", autouse=True)
def _tests_change_no_tracked_file():
    """Running the tests changes no tracked file: documents go to test-output/ (scripts/docs.sh: docs/)."""
    before = _tracked_changes()
    yield
    if before is not None and not os.environ.get("DATAREPLICATION_WRITE_DOCS"):
        assert _tracked_changes() == before, "the tests changed a tracked file (see git status)"
