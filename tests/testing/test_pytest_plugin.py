"""The emulator's pytest plugin loads only where a test session asks for it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PLUGIN = "airflow_provider_datareplication.testing.pytest_plugin"

USER_TEST = textwrap.dedent(
    """
    import sys


    def test_uses_the_fixture(data_replication_emulator):
        data_replication_emulator.script_operation("op1", ["Succeeded"])
        assert data_replication_emulator.url.startswith("https://127.0.0.1:")


    def test_nothing_of_the_provider_loaded_unasked():
        assert ("{plugin}" in sys.modules) == {asked}
    """
)


def run_pytest(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_fixture_is_there_only_when_a_session_asks_for_the_plugin(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    test_file = tmp_path / "test_user_dag.py"

    test_file.write_text(USER_TEST.format(plugin=PLUGIN, asked=False))
    unasked = run_pytest(tmp_path, test_file.name)
    assert "fixture 'data_replication_emulator' not found" in unasked.stdout
    assert "1 passed, 1 error" in unasked.stdout  # the session itself loaded nothing of the provider

    test_file.write_text(USER_TEST.format(plugin=PLUGIN, asked=True))
    asked = run_pytest(tmp_path, "-p", PLUGIN, test_file.name)
    assert "2 passed" in asked.stdout, asked.stdout
