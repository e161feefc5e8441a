"""Which mode the system tests run in, and what the skipped one says, from the environment."""

from __future__ import annotations

import json

import pytest

from tests.system import system_tests as st

AZURE = {st.CONN: '{"conn_type": "azure_data_replication"}', st.VAULT: "my-vault", st.RESOURCE_GROUP: "my-rg"}


@pytest.fixture
def env(monkeypatch):
    for name in (*AZURE, st.JOB, st.PROTECTED_ITEM, st.ALLOW_WRITES, st.MACHINE_PROPERTIES, st.OPERATION_ID):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SYSTEM_TESTS_ENV_ID", raising=False)

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


def test_without_a_subscription_the_emulator_runs_and_the_azure_run_says_what_to_set(env):
    env(**{st.CONN: AZURE[st.CONN]})  # a connection alone is not a vault
    assert st.read_settings().mode == "emulator"
    reason = st.azure_skip_reason("dag1")
    assert reason is not None and reason.startswith("dag1: no subscription, run against the emulator only")
    assert st.VAULT in reason and st.RESOURCE_GROUP in reason and st.CONN not in reason


def test_with_a_subscription_the_dags_use_its_names(env):
    properties = {"policyName": "p1", "customProperties": {"instanceType": "HyperVToAzStackHCI"}}
    env(
        **AZURE,
        **{st.JOB: "job-guid", st.PROTECTED_ITEM: "item1", st.MACHINE_PROPERTIES: json.dumps(properties)},
        SYSTEM_TESTS_ENV_ID="run7",
    )
    settings = st.read_settings()
    assert (settings.mode, settings.vault_name, settings.resource_group_name) == (
        "azure",
        "my-vault",
        "my-rg",
    )
    assert (settings.job_name, settings.protected_item_name) == ("job-guid", "item1")
    assert settings.machine_properties == properties
    assert settings.new_protected_item_name == "systest-run7"
    assert settings.operation_id is None and not settings.allow_writes
    assert st.azure_skip_reason("dag1", needs=(st.JOB, st.PROTECTED_ITEM)) is None


def test_a_read_only_dag_names_what_it_still_needs(env):
    env(**AZURE, **{st.JOB: "job-guid"})
    assert st.azure_skip_reason("dag1", needs=(st.JOB, st.PROTECTED_ITEM)) == (
        f"dag1: not run against Azure without {st.PROTECTED_ITEM}"
    )


def test_work_is_started_in_a_real_vault_only_when_allowed_on_a_named_machine(env):
    env(**AZURE)
    reason = st.azure_skip_reason("dag1", writes=True)
    assert reason is not None and f"{st.ALLOW_WRITES}=1" in reason
    env(**{st.ALLOW_WRITES: "yes"})  # only "1" allows it
    assert st.azure_skip_reason("dag1", writes=True) == reason
    env(**{st.ALLOW_WRITES: "1"})
    assert (
        st.azure_skip_reason("dag1", writes=True)
        == f"dag1: not run against Azure without {st.MACHINE_PROPERTIES}"
    )
    env(**{st.MACHINE_PROPERTIES: "{}"})
    assert st.azure_skip_reason("dag1", writes=True) is None
