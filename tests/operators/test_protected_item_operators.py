"""The operators that start work on a protected item: enable replication, planned failover, removal."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_datareplication.exceptions import (
    AzureDataReplicationActionRefusedError,
    AzureDataReplicationJobFailedError,
)
from airflow_provider_datareplication.operators.data_replication import (
    AzureDataReplicationCreateProtectedItemOperator,
    AzureDataReplicationDeleteProtectedItemOperator,
    AzureDataReplicationPlannedFailoverOperator,
)
from airflow_provider_datareplication.testing.emulator import Fault
from airflow_provider_datareplication.triggers.data_replication import AzureDataReplicationJobTrigger
from tests.e2e.dags.e2e_scenarios import HYPERV_PROPERTIES, ITEM
from tests.helpers import DagRun, TaskInstance
from tests.sdk_requests import SdkRequest, create_request, delete_request, planned_failover_request

RG = "rgrecoveryservicesdatareplication"  # the emulator fixture's connection default


@pytest.fixture
def quick(emulator):
    """The emulator with a protected item's lifecycle in tenths of a second."""
    emulator.item_durations(
        enable_protection=0.3, initial_replication=0.5, planned_failover=0.4, disable_protection=0.3
    )
    return emulator


def names(emulator, **extra):
    return {
        "subscription_id": emulator.subscription_id,
        "resource_group_name": RG,
        "vault_name": "vault1",
        "protected_item_name": ITEM,
        **extra,
    }


def writes(emulator):
    return [r for r in emulator.requests_for_item(ITEM) if r.method != "GET"]


def create(**kwargs):
    return AzureDataReplicationCreateProtectedItemOperator(
        **{
            "task_id": "create",
            "protected_item_name": ITEM,
            "properties": HYPERV_PROPERTIES,
            "check_interval": 0.1,
            **kwargs,
        }
    )


def failover(**kwargs):
    return AzureDataReplicationPlannedFailoverOperator(
        **{"task_id": "failover", "protected_item_name": ITEM, "check_interval": 0.1, **kwargs}
    )


def delete(**kwargs):
    return AzureDataReplicationDeleteProtectedItemOperator(
        **{"task_id": "delete", "protected_item_name": ITEM, "check_interval": 0.1, **kwargs}
    )


def run_deferred(task, ti):
    from tests.helpers import first_event, run_inline

    with pytest.raises(TaskDeferred) as info:
        task.execute({"ti": ti})
    trigger = info.value.trigger
    assert isinstance(trigger, AzureDataReplicationJobTrigger)
    assert trigger.poll_interval == task.check_interval
    return task.execute_complete({"ti": ti}, run_inline(first_event(trigger)))


# -- enable replication ---------------------------------------------------------------------------


def test_create_sends_what_azure_s_client_sends_and_waits_on_the_job_in_the_worker(quick):
    ti = TaskInstance()
    job = create().execute({"ti": ti})
    (put,) = writes(quick)
    assert SdkRequest.of(put) == create_request(**names(quick), properties=HYPERV_PROPERTIES)
    assert job["properties"]["displayName"] == "Create or update protected item"
    assert job["properties"]["state"] == "Succeeded"
    assert ti.xcom["job_name"] == job["name"]
    assert ti.xcom["operation_url"].startswith(
        f"{quick.url}/subscriptions/{quick.subscription_id}/resourceGroups/"
    )
    assert f"/operationResults/{job['name']}_" in ti.xcom["operation_url"]
    assert quick.protected_item(ITEM)["properties"]["protectionState"] in (
        "InitialReplicationInProgress",
        "Protected",
    )


def test_create_waits_deferred_in_the_job_trigger(quick):
    ti = TaskInstance()
    job = run_deferred(create(deferrable=True), ti)
    assert job["name"] == ti.xcom["job_name"] and job["properties"]["state"] == "Succeeded"
    assert len(writes(quick)) == 1


def test_create_without_waiting_returns_the_job_as_it_starts(quick):
    ti = TaskInstance()
    job = create(wait_for_termination=False).execute({"ti": ti})
    assert job["properties"]["state"] in ("Started", "Pending")
    assert job["name"] == ti.xcom["job_name"]


def test_an_item_that_exists_as_asked_is_not_created_again(quick):
    quick.add_protected_item(ITEM, protection_state="Protected", properties=HYPERV_PROPERTIES)
    assert create().execute({"ti": TaskInstance()}) is None
    assert writes(quick) == []


def test_an_item_in_a_failed_state_is_refused_before_anything_is_sent(quick):
    quick.add_protected_item(ITEM, protection_state="InitialReplicationFailed", properties=HYPERV_PROPERTIES)
    with pytest.raises(
        AzureDataReplicationActionRefusedError, match=r"InitialReplicationFailed.*delete it first"
    ):
        create().execute({"ti": TaskInstance()})
    assert writes(quick) == []


@pytest.mark.parametrize(
    ("properties", "missing"),
    [
        ({**HYPERV_PROPERTIES, "policyName": ""}, "policyName"),
        (
            {k: v for k, v in HYPERV_PROPERTIES.items() if k != "customProperties"},
            "customProperties.instanceType",
        ),
        ("not a dict", "a JSON object"),
    ],
)
def test_bad_properties_are_refused_naming_what_is_missing(quick, properties, missing):
    with pytest.raises(ValueError, match=f"properties must .*{missing}"):
        create(properties=properties).execute({"ti": TaskInstance()})
    assert writes(quick) == []


# -- planned failover -----------------------------------------------------------------------------


def test_planned_failover_sends_the_item_s_own_scenario_and_ends_migrated(quick):
    quick.add_protected_item(ITEM, protection_state="Protected", instance_type="VMwareToAzStackHCI")
    ti = TaskInstance()
    job = failover(shutdown_source_vm=True).execute({"ti": ti})
    (post,) = writes(quick)
    assert SdkRequest.of(post) == planned_failover_request(
        **names(quick), instance_type="VMwareToAzStackHCI", shutdown_source_vm=True
    )
    assert job["properties"]["displayName"] == "Planned failover"
    assert len(job["properties"]["tasks"]) == 5
    item = quick.protected_item(ITEM)["properties"]
    assert item["protectionState"] == "PlannedFailoverCompleted"
    assert item["customProperties"]["activeLocation"] == "Recovery"


def test_planned_failover_waits_deferred(quick):
    quick.add_protected_item(ITEM)
    job = run_deferred(failover(deferrable=True), TaskInstance())
    assert job["properties"]["state"] == "Succeeded"


@pytest.mark.parametrize("state", ["InitialReplicationInProgress", "PlannedFailoverInitiated"])
def test_planned_failover_of_an_item_that_does_not_allow_it_is_refused_naming_state_and_allowed_jobs(
    quick, state
):
    quick.add_protected_item(ITEM, protection_state=state, allowed_jobs=["DisableProtection"])
    with pytest.raises(AzureDataReplicationActionRefusedError) as info:
        failover().execute({"ti": TaskInstance()})
    assert f"is {state}" in str(info.value)
    assert "allowed jobs: DisableProtection" in str(info.value)
    assert "needs PlannedFailover (or Restart)" in str(info.value)
    assert writes(quick) == []


def test_a_failed_planned_failover_may_be_restarted(quick):
    quick.add_protected_item(
        ITEM, protection_state="PlannedFailoverFailed", allowed_jobs=["Restart", "DisableProtection"]
    )
    assert failover().execute({"ti": TaskInstance()})["properties"]["state"] == "Succeeded"


def test_an_item_already_migrated_is_not_failed_over_again(quick):
    quick.add_protected_item(ITEM, protection_state="PlannedFailoverCompleted")
    ti = TaskInstance()
    assert failover().execute({"ti": ti}) is None
    assert writes(quick) == [] and ti.xcom["job_name"] is None


def test_a_failed_job_fails_the_task_naming_its_errors_and_failed_task(quick):
    quick.add_protected_item(ITEM)
    errors = [{"code": "FailoverFailed", "message": "The VM did not start", "recommendation": "Retry"}]
    quick.fail_planned_failover(ITEM, errors)
    with pytest.raises(AzureDataReplicationJobFailedError) as info:
        failover().execute({"ti": TaskInstance()})
    text = str(info.value)
    assert "ended Failed" in text and "display name 'Planned failover'" in text
    assert "FailoverFailed: The VM did not start (recommendation: Retry)" in text
    assert "failed tasks: Preparing protected entities" in text


# -- a retry never starts the same work twice -----------------------------------------------------


def test_a_retry_waits_on_the_failover_the_first_try_started(quick):
    quick.add_protected_item(ITEM)
    first = TaskInstance()
    failover(wait_for_termination=False).execute({"ti": first})  # then the worker died
    second = TaskInstance(try_number=2)
    job = failover().execute({"ti": second})
    assert len(writes(quick)) == 1
    assert second.xcom["job_name"] == first.xcom["job_name"] == job["name"]
    assert job["properties"]["state"] == "Succeeded"


def test_the_running_job_is_found_in_the_vault_s_job_list(quick):
    from airflow_provider_datareplication.actions import planned_failover

    quick.add_protected_item(ITEM)
    task = failover()
    item = task.hook.resolve(task.target_class, **task.target_names())
    started = task.hook.start(
        item, planned_failover(instance_type="HyperVToAzStackHCI", shutdown_source_vm=False)
    )
    for other in ("another-item-1", "another-item-2"):
        quick.add_protected_item(other)
        task.hook.start(
            task.hook.resolve(task.target_class, **{**task.target_names(), "protected_item_name": other}),
            planned_failover(instance_type="HyperVToAzStackHCI", shutdown_source_vm=False),
        )
    # The list pages (two to a page here), newest first; a failover job names its item by an
    # objectId under it (".../protectedItems/{item}/plannedFailover"), as the real service's do.
    listed = task.hook.list_jobs(item)
    assert [entry["properties"]["objectId"].rsplit("/", 1)[-1] for entry in listed] == ["plannedFailover"] * 3
    began = datetime.now(UTC) - timedelta(minutes=1)
    found = task._job_in_list(item, began, under_way=True)
    assert found is not None and found["name"] == started.job_name
    task.close_hook()


@pytest.mark.parametrize("applied", [True, False])
def test_a_write_whose_answer_was_lost_is_sent_again_only_if_the_item_shows_it_was_not_taken(quick, applied):
    quick.add_protected_item(ITEM)
    quick.add_fault(Fault.drop(method="POST", protected_item=ITEM, applied=applied))
    job = failover().execute({"ti": TaskInstance()})
    assert job["properties"]["state"] == "Succeeded"
    posts = [r for r in writes(quick) if r.method == "POST"]
    # Taken: the item shows the failover under way, and nothing is sent again. Not taken: sent once more.
    assert len(posts) == (1 if applied else 2)
    assert len(quick.jobs_of(ITEM)) == 1


# -- removal ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("force", [False, True])
def test_delete_sends_what_azure_s_client_sends_and_the_item_is_gone(quick, force):
    quick.add_protected_item(ITEM, protection_state="PlannedFailoverCompleted")
    job = delete(force_delete=force).execute({"ti": TaskInstance()})
    (sent,) = writes(quick)
    assert SdkRequest.of(sent) == delete_request(**names(quick), force_delete=force)
    assert job["properties"]["displayName"] == "Delete protected item"
    assert quick.protected_item(ITEM) is None


def test_an_item_already_gone_is_not_deleted_again(quick):
    ti = TaskInstance()
    assert delete().execute({"ti": ti}) is None
    assert writes(quick) == []
    assert ti.xcom["job_name"] is None and ti.xcom["operation_url"] is None


def test_a_removal_the_item_does_not_allow_is_refused_unless_forced(quick):
    quick.add_protected_item(ITEM, protection_state="PlannedFailoverInitiated", allowed_jobs=[])
    with pytest.raises(AzureDataReplicationActionRefusedError, match="needs DisableProtection"):
        delete().execute({"ti": TaskInstance()})
    assert writes(quick) == []
    assert delete(force_delete=True).execute({"ti": TaskInstance()})["properties"]["state"] == "Succeeded"


def test_on_kill_says_the_job_goes_on(quick, caplog, capfd):
    caplog.set_level(logging.WARNING)
    quick.add_protected_item(ITEM)
    task = failover(wait_for_termination=False)
    job = task.execute({"ti": TaskInstance()})
    capfd.readouterr()
    task.on_kill()
    logged = caplog.text + "".join(capfd.readouterr())
    assert f"job {job['name']!r} goes on in Azure" in logged
    assert "no call to cancel a job" in logged


@pytest.mark.parametrize(("argument", "value"), [("check_interval", 0), ("timeout", -1)])
def test_bad_wait_settings_are_refused_when_built(argument, value):
    with pytest.raises(ValueError, match=argument):
        failover(**{argument: value})


# -- this attempt's work is this attempt's outcome (issue 21) --------------------------------------


def retry_context(started):
    """A task's second try (its first: ``max_tries - retries + 1`` = 1), in a DAG run begun at ``started``."""
    return {"ti": TaskInstance(try_number=2, max_tries=1), "dag_run": DagRun(started)}


def posts(emulator):
    return [r for r in writes(emulator) if r.method == "POST"]


def test_a_retry_after_this_attempt_s_failover_failed_sends_nothing_and_fails_with_its_errors(quick):
    quick.add_protected_item(ITEM)
    quick.fail_planned_failover(ITEM, seconds=0)
    run_began = datetime.now(UTC)
    failover(wait_for_termination=False, retries=1).execute({"ti": TaskInstance(max_tries=1)})
    with pytest.raises(AzureDataReplicationJobFailedError) as info:
        failover(retries=1).execute(retry_context(run_began))
    assert len(posts(quick)) == 1  # the item allows a Restart, but this attempt's failover failed
    text = str(info.value)
    assert "ended Failed" in text and "display name 'Planned failover'" in text
    assert "VmStartFailed: The virtual machine could not be started on the target cluster. (causes: " in text


def test_a_lost_answer_then_a_failover_that_failed_at_once_sends_nothing_again(quick):
    quick.add_protected_item(ITEM)
    quick.fail_planned_failover(ITEM, seconds=0)
    quick.add_fault(Fault.drop(method="POST", protected_item=ITEM, applied=True))
    with pytest.raises(AzureDataReplicationJobFailedError, match="VmStartFailed"):
        failover().execute({"ti": TaskInstance()})
    assert len(posts(quick)) == 1


def test_a_failed_failover_from_before_this_attempt_is_restarted(quick):
    quick.add_protected_item(ITEM)
    quick.fail_planned_failover(ITEM, seconds=0)
    with pytest.raises(AzureDataReplicationJobFailedError):
        failover().execute({"ti": TaskInstance()})
    later = failover()
    later.CLOCK_SKEW = -5.0  # the attempt begins 5 s after now: the failure above is history
    assert later.execute({"ti": TaskInstance()})["properties"]["state"] == "Succeeded"
    assert len(posts(quick)) == 2  # the Restart
    assert quick.protected_item(ITEM)["properties"]["protectionState"] == "PlannedFailoverCompleted"


def test_a_retry_reports_this_attempt_s_failover_that_succeeded_with_the_same_xcoms(quick):
    quick.add_protected_item(ITEM)
    run_began = datetime.now(UTC)
    first = TaskInstance(max_tries=1)
    failover(wait_for_termination=False, retries=1).execute({"ti": first})
    wait_for_state(quick, ITEM, "PlannedFailoverCompleted")
    retry = retry_context(run_began)
    job = failover(retries=1).execute(retry)
    assert job["properties"]["state"] == "Succeeded" and len(posts(quick)) == 1
    assert retry["ti"].xcom == first.xcom  # job_name and operation_url, as the first try pushed them


def test_a_retry_that_waits_on_running_work_pushes_the_call_s_operation_url(quick):
    quick.add_protected_item(ITEM)
    first = TaskInstance(max_tries=1)
    failover(wait_for_termination=False, retries=1).execute({"ti": first})
    retry = retry_context(datetime.now(UTC))
    failover(retries=1).execute(retry)
    assert retry["ti"].xcom["operation_url"] == first.xcom["operation_url"]
    assert "/operationResults/" in str(first.xcom["operation_url"])


def wait_for_state(emulator, name, state, seconds=10.0):
    import time

    deadline = time.monotonic() + seconds
    while emulator.protected_item(name)["properties"]["protectionState"] != state:
        assert time.monotonic() < deadline, f"{name} never got to {state}"
        time.sleep(0.05)


# -- inputs mean what they say -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "sent"), [("false", False), ("FALSE", False), ("True", True), (False, False)]
)
def test_shutdown_source_vm_as_text_means_what_it_says(quick, given, sent):
    quick.add_protected_item(ITEM)
    failover(shutdown_source_vm=given).execute({"ti": TaskInstance()})
    (post,) = posts(quick)
    assert post.body["properties"]["customProperties"]["shutdownSourceVM"] is sent


@pytest.mark.parametrize(
    ("build", "argument", "value"),
    [
        (failover, "shutdown_source_vm", "no"),
        (delete, "force_delete", "0"),
        (delete, "wait_for_termination", "maybe"),
        (create, "deferrable", 1),
    ],
)
def test_a_boolean_that_is_not_one_is_refused_when_built(build, argument, value):
    with pytest.raises(ValueError, match=rf"{argument} must be true or false .*got {value!r}"):
        build(**{argument: value})


@pytest.mark.parametrize(
    "settings",
    [{"timeout": 0}, {"timeout": float("inf")}, {"timeout": "nan"}, {"check_interval": 120, "timeout": 60}],
)
def test_wait_settings_that_cannot_work_are_refused_when_built(settings):
    with pytest.raises(ValueError, match=r"(check_interval|timeout) (must|\()"):
        failover(**settings)


# -- create compares; never reports another scenario's job ------------------------------------------


def test_create_on_an_item_with_other_properties_is_refused_naming_each_field(quick):
    other = {
        **HYPERV_PROPERTIES,
        "customProperties": {
            **HYPERV_PROPERTIES["customProperties"],
            "targetHciClusterId": HYPERV_PROPERTIES["customProperties"]["targetHciClusterId"] + "-b",
            "targetVmName": "VM-WEB-01",  # names compared case-insensitively, as ARM does
        },
    }
    quick.add_protected_item(ITEM, properties=other)
    with pytest.raises(AzureDataReplicationActionRefusedError) as info:
        create().execute({"ti": TaskInstance()})
    text = str(info.value)
    assert "it exists with other properties than the task's: customProperties.targetHciClusterId is " in text
    assert "hci-cluster-01-b' on the item, '/subscriptions/" in text
    assert "targetVmName" not in text
    assert writes(quick) == []


def test_create_on_a_vmware_item_of_the_same_name_is_refused(quick):
    vmware = {"instanceType": "VMwareToAzStackHCI"}
    quick.add_protected_item(
        ITEM,
        properties={
            **HYPERV_PROPERTIES,
            "customProperties": {**HYPERV_PROPERTIES["customProperties"], **vmware},
        },
    )
    with pytest.raises(
        AzureDataReplicationActionRefusedError,
        match=r"customProperties\.instanceType is 'VMwareToAzStackHCI' on the item, 'HyperVToAzStackHCI' in",
    ):
        create().execute({"ti": TaskInstance()})
    assert writes(quick) == []


def test_create_on_an_item_being_removed_is_refused_naming_the_removal(quick):
    from airflow_provider_datareplication.actions import delete_item

    quick.item_durations(disable_protection=30)
    quick.add_protected_item(ITEM, properties=HYPERV_PROPERTIES)
    task = create()
    task.hook.start(
        task.hook.resolve(task.target_class, **task.target_names()), delete_item(force_delete=False)
    )
    task.close_hook()
    ti = TaskInstance()
    with pytest.raises(
        AzureDataReplicationActionRefusedError, match=r"is DisablingProtection .*it is being removed"
    ):
        create().execute({"ti": ti})
    assert [r.method for r in writes(quick)] == ["DELETE"]


def test_create_on_an_item_failed_over_already_reports_it_and_adopts_no_job(quick):
    quick.add_protected_item(ITEM, protection_state="PlannedFailoverCompleted", properties=HYPERV_PROPERTIES)
    ti = TaskInstance()
    assert create().execute({"ti": ti}) is None
    assert ti.xcom["job_name"] is None and writes(quick) == []


# -- gone means gone ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "named"),
    [
        (
            {"vault_name": "vault-typo"},
            "vault 'vault-typo' (resource group 'rgrecoveryservicesdatareplication') was not found",
        ),
        ({"resource_group_name": "rg-typo"}, "its resource group was not found"),
    ],
)
def test_delete_in_a_vault_or_group_that_is_not_there_fails_naming_it(quick, where, named):
    from airflow_provider_datareplication.exceptions import AzureDataReplicationNotFoundError

    quick.add_protected_item(ITEM, protection_state="PlannedFailoverCompleted")
    with pytest.raises(AzureDataReplicationNotFoundError, match=re.escape(named)):
        delete(**where).execute({"ti": TaskInstance()})
    assert writes(quick) == []


# -- two tasks, one item ------------------------------------------------------------------------------


def test_a_409_while_the_same_failover_now_runs_waits_on_it(quick):
    quick.add_protected_item(ITEM)
    # Another task's failover is taken just before this one's: the service answers this one 409.
    quick.add_fault(
        Fault.arm_error(
            409,
            "OperationNotAllowed",
            "A planned failover is in progress.",
            method="POST",
            protected_item=ITEM,
            applied=True,
        )
    )
    job = failover().execute({"ti": TaskInstance()})
    assert job["properties"]["state"] == "Succeeded"
    assert len(quick.jobs_of(ITEM)) == 1


def test_a_409_for_anything_else_fails_naming_the_item_s_state(quick):
    quick.add_protected_item(ITEM)
    quick.add_fault(
        Fault.arm_error(
            409, "OperationNotAllowed", "The vault is being upgraded.", method="POST", protected_item=ITEM
        )
    )
    with pytest.raises(AzureDataReplicationActionRefusedError) as info:
        failover().execute({"ti": TaskInstance()})
    text = str(info.value)
    assert "is Protected" in text and "OperationNotAllowed: The vault is being upgraded." in text
    assert quick.jobs_of(ITEM) == []
