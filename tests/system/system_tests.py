"""
What Airflow's ``tests_common.test_utils.system_tests`` gives its providers' system tests, for this one.

A system test is a DAG file (``tests/system/example_*.py``) that names its resources from one
environment id and ends with ``test_run = get_test_run(dag)``: pytest runs the DAG with
``dag.test()`` and checks that every task succeeded. It runs in one of two modes, named in the
test id (``test_run[azure]``, ``test_run[emulator]``); the other one is skipped, saying why:

- ``azure``: when ``DATAREPLICATION_SYSTEM_TEST_CONN`` (an Airflow connection in its JSON form),
  ``DATAREPLICATION_SYSTEM_TEST_VAULT`` and ``DATAREPLICATION_SYSTEM_TEST_RESOURCE_GROUP`` are set,
  against that subscription's vault; what a DAG reads or changes is named by the variables below;
- ``emulator``: otherwise, against the package's emulator (``tests/system/conftest.py`` starts it and
  makes the resources the DAGs name), so the DAGs run in CI and cannot rot.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

PREFIX = "DATAREPLICATION_SYSTEM_TEST_"
CONN = f"{PREFIX}CONN"
VAULT = f"{PREFIX}VAULT"
RESOURCE_GROUP = f"{PREFIX}RESOURCE_GROUP"
#: An existing job of the vault (ended or running), and an existing protected item ready to migrate.
JOB = f"{PREFIX}JOB"
PROTECTED_ITEM = f"{PREFIX}PROTECTED_ITEM"
#: Optional: an operation of that job (``<job GUID>_<suffix>``), for the preview api-version's read.
OPERATION_ID = f"{PREFIX}OPERATION_ID"
#: ``1``: the DAGs that start work (enable replication, fail over, remove) may run.
ALLOW_WRITES = f"{PREFIX}ALLOW_WRITES"
#: The enable-replication ``properties`` (JSON) of a disposable machine: the one those DAGs migrate.
MACHINE_PROPERTIES = f"{PREFIX}MACHINE_PROPERTIES"
POLL_SECONDS = f"{PREFIX}POLL_SECONDS"
TIMEOUT_SECONDS = f"{PREFIX}TIMEOUT_SECONDS"
#: The connection id the DAGs use; ``get_test_run`` sets it from ``DATAREPLICATION_SYSTEM_TEST_CONN``.
CONN_ID = "datareplication_system_test"
#: The job the emulator serves for the read-only DAG.
EMULATOR_JOB = "5e0c7a52-8a3b-4f0e-9d6c-2b1a3c4d5e6f"
UNSET = "unset"


@dataclass(frozen=True)
class Settings:
    """Where the system tests run and what they touch, read from the environment once."""

    mode: str
    env_id: str
    vault_name: str
    resource_group_name: str
    job_name: str
    protected_item_name: str
    operation_id: str | None
    allow_writes: bool
    machine_properties: dict[str, Any]
    poll_seconds: float
    timeout_seconds: float

    @property
    def new_protected_item_name(self) -> str:
        """The protected item the write DAG creates, then removes: named from the environment id."""
        return f"systest-{self.env_id}"


def _azure_missing() -> list[str]:
    return [name for name in (CONN, VAULT, RESOURCE_GROUP) if not os.environ.get(name)]


def read_settings() -> Settings:
    """The settings of this environment: a real subscription's when configured, else the emulator's."""
    env_id = os.environ.get("SYSTEM_TESTS_ENV_ID", "local")
    if not _azure_missing():
        env = os.environ
        return Settings(
            mode="azure",
            env_id=env_id,
            vault_name=env[VAULT],
            resource_group_name=env[RESOURCE_GROUP],
            job_name=env.get(JOB) or UNSET,
            protected_item_name=env.get(PROTECTED_ITEM) or UNSET,
            operation_id=env.get(OPERATION_ID) or None,
            allow_writes=env.get(ALLOW_WRITES) == "1",
            machine_properties=json.loads(env.get(MACHINE_PROPERTIES) or "{}"),
            poll_seconds=float(env.get(POLL_SECONDS, "60")),
            timeout_seconds=float(env.get(TIMEOUT_SECONDS, str(24 * 3600))),
        )
    from airflow_provider_datareplication.testing.protected_items import DEFAULT_RESOURCE_GROUP
    from tests.e2e.dags.e2e_scenarios import HYPERV_PROPERTIES

    return Settings(
        mode="emulator",
        env_id=env_id,
        vault_name="vault1",
        resource_group_name=DEFAULT_RESOURCE_GROUP,
        job_name=EMULATOR_JOB,
        protected_item_name=f"systest-{env_id}-ready",
        operation_id=f"{EMULATOR_JOB}_8f14e45f-ceea-467f-a8f0-a4d2f3b9c1e7",
        allow_writes=True,
        machine_properties=HYPERV_PROPERTIES,
        poll_seconds=0.2,
        timeout_seconds=60,
    )


SETTINGS = read_settings()


def azure_skip_reason(dag_id: str, *, needs: tuple[str, ...] = (), writes: bool = False) -> str | None:
    """Why the ``azure`` run of a DAG is skipped (``None``: it runs)."""
    missing = _azure_missing()
    if missing:
        return (
            f"{dag_id}: no subscription, run against the emulator only; set {', '.join(missing)} "
            "(a real subscription's vault) to run it against Azure"
        )
    missing = [name for name in needs if not os.environ.get(name)]
    if writes:
        if os.environ.get(ALLOW_WRITES) != "1":
            return (
                f"{dag_id} starts work in the vault: not run against Azure without {ALLOW_WRITES}=1 "
                f"and {MACHINE_PROPERTIES} (a disposable machine)"
            )
        if not os.environ.get(MACHINE_PROPERTIES):
            missing.append(MACHINE_PROPERTIES)
    if missing:
        return f"{dag_id}: not run against Azure without {', '.join(missing)}"
    return None


def get_test_run(dag: Any, *, needs: tuple[str, ...] = (), writes: bool = False) -> Callable[..., None]:
    """
    Return the pytest test that runs ``dag`` with ``dag.test()`` and asserts every task succeeded.

    :param dag: The system test's DAG.
    :param needs: The environment variables its ``azure`` run needs beyond the connection and vault.
    :param writes: It starts work in the vault (runs against Azure only with ``ALLOW_WRITES=1``).
    """
    azure_reason = azure_skip_reason(dag.dag_id, needs=needs, writes=writes)
    modes = [
        pytest.param(
            "azure",
            marks=pytest.mark.skipif(azure_reason is not None, reason=azure_reason or ""),
        ),
        pytest.param(
            "emulator",
            marks=pytest.mark.skipif(
                SETTINGS.mode != "emulator",
                reason=f"{dag.dag_id}: {CONN}, {VAULT} and {RESOURCE_GROUP} are set: run against Azure "
                "instead of the emulator",
            ),
        ),
    ]

    @pytest.mark.system
    @pytest.mark.parametrize("mode", modes)
    def test_run(mode: str, system_test_connection: None) -> None:
        dag_run = dag.test()
        unfinished = {
            ti.task_id: str(ti.state)
            for ti in dag_run.get_task_instances()
            if str(ti.state) != "success" and ti.task_id != "watcher"
        }
        assert str(dag_run.state) == "success", f"{dag.dag_id} ended {dag_run.state} ({mode}): {unfinished}"
        assert not unfinished, f"{dag.dag_id} ({mode}): tasks that did not succeed: {unfinished}"

    return test_run


def watcher() -> Any:
    """
    A task that fails the run when any task before it failed, as Airflow's system tests' watcher does.

    A DAG whose cleanup runs whatever happened (``trigger_rule="all_done"``) would succeed otherwise.
    """
    try:
        from airflow.sdk import task
    except ImportError:  # Airflow 2
        from airflow.decorators import task  # type: ignore[no-redef]

    @task(trigger_rule="one_failed", retries=0)
    def watcher() -> None:
        raise RuntimeError("Failing the run: a task before this one failed.")

    return watcher()
