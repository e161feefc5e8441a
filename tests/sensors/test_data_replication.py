from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)

from airflow_provider_datareplication.exceptions import (
    AzureDataReplicationAuthError,
    AzureDataReplicationJobFailedError,
    AzureDataReplicationNotFoundError,
    AzureDataReplicationOperationFailedError,
    AzureDataReplicationTransientError,
)
from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationHook
from airflow_provider_datareplication.pipeline import RequestSettings
from airflow_provider_datareplication.sensors.data_replication import (
    AzureDataReplicationJobSensor,
    AzureDataReplicationOperationSensor,
)
from airflow_provider_datareplication.testing.emulator import Fault
from airflow_provider_datareplication.triggers.data_replication import (
    AzureDataReplicationJobTrigger,
    AzureDataReplicationOperationTrigger,
)
from airflow_provider_datareplication.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_3_PLUS
from tests.helpers import OPERATION, TaskInstance, first_event, run_inline

try:
    from airflow.sdk.exceptions import AirflowRescheduleException
except ImportError:  # Airflow 2
    from airflow.exceptions import AirflowRescheduleException


def sensor(**kwargs):
    return AzureDataReplicationOperationSensor(
        **{"task_id": "wait", "poke_interval": 0.05, "timeout": 30, **OPERATION, **kwargs}
    )


@pytest.mark.parametrize("final", ["Succeeded", "succeeded", "SUCCEEDED"])
def test_poke_mode_waits_then_returns_the_status_for_xcom(emulator, final):
    emulator.script_operation("op1", ["InProgress", "InProgress", final], extra={"percentComplete": 100})
    result = sensor().execute({})
    assert result["status"] == final
    assert result["percentComplete"] == 100
    assert result["name"] == "op1"
    assert len(emulator.requests_for("op1")) == 3
    assert emulator.token_requests == 1


@pytest.mark.parametrize("final", ["Failed", "Canceled", "Cancelled", "failed"])
def test_failed_or_canceled_fails_with_names_and_error(emulator, final):
    emulator.script_operation(
        "op1",
        ["InProgress", final],
        extra={"error": {"code": "ReplicationFailed", "message": "Disk 2 is offline"}},
    )
    with pytest.raises(AzureDataReplicationOperationFailedError) as info:
        sensor().execute({})
    text = str(info.value)
    assert "operation 'op1' of job 'job1' in vault 'vault1'" in text
    assert f"ended {final}" in text
    assert "ReplicationFailed: Disk 2 is offline" in text


def test_raise_on_failure_false_hands_any_terminal_status_to_xcom(emulator):
    emulator.script_operation("op1", ["Failed"])
    assert sensor(raise_on_failure=False).execute({})["status"] == "Failed"


def test_failed_with_soft_fail_is_skipped(emulator):
    emulator.script_operation("op1", ["Canceled"])
    with pytest.raises(AirflowSkipException):
        sensor(soft_fail=True).execute({})


def test_transient_errors_never_end_the_wait_and_are_logged(emulator, caplog, capfd):
    caplog.set_level(logging.WARNING)
    emulator.script_operation("op1", ["InProgress", "Succeeded"])
    emulator.add_fault(Fault.malformed_json())
    emulator.add_fault(Fault.malformed_json())
    assert sensor().execute({})["status"] == "Succeeded"
    logged = caplog.text + "".join(capfd.readouterr())
    assert "HTTP 200 without a JSON object" in logged
    assert "reading again later" in logged


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.forbidden(), AzureDataReplicationAuthError),
        (Fault.expired_token(times=2), AzureDataReplicationAuthError),
        (Fault.not_found(), AzureDataReplicationNotFoundError),
    ],
)
def test_permanent_errors_fail_at_once(emulator, fault, error):
    emulator.script_operation("op1", ["InProgress"])
    emulator.add_fault(fault)
    started = time.monotonic()
    with pytest.raises(error):
        sensor().execute({})
    assert time.monotonic() - started < 5
    # A 401 is sent once more with a fresh token; the others are not sent again.
    assert len(emulator.requests_for("op1")) == (2 if fault.status == 401 else 1)


@pytest.mark.parametrize("refusal", [Fault.expired_token, Fault.revoked_token])
@pytest.mark.parametrize("deferrable", [False, True])
def test_one_refused_token_does_not_end_the_wait(emulator, refusal, deferrable):

    emulator.script_operation("op1", ["InProgress", "InProgress", "Succeeded"])
    emulator.add_fault(refusal(after=1))  # the sensor is already waiting
    task = sensor(deferrable=deferrable)
    if deferrable:
        with pytest.raises(TaskDeferred) as info:
            task.execute({})
        event = run_inline(first_event(info.value.trigger))
        result = task.execute_complete({}, event)
    else:
        result = task.execute({})
    assert result["status"] == "Succeeded"
    # The refused token was replaced by a fresh one (a revoked token would be refused again).
    assert emulator.token_requests == (3 if deferrable else 2)


def test_retry_after_is_honoured_at_the_next_poke(emulator):
    emulator.script_operation("op1", ["Succeeded"])
    emulator.add_fault(Fault.throttle("1.5"))
    task = sensor()
    task.hook = AzureDataReplicationHook(request_settings=RequestSettings(max_retry_after=0.5))
    assert task.execute({})["status"] == "Succeeded"
    first, second = emulator.requests_for("op1")
    assert first.status == 429
    assert second.at - first.at >= 1.5


def test_a_retry_after_met_before_deferring_carries_into_the_trigger(emulator):

    emulator.script_operation("op1", ["Succeeded"])
    emulator.add_fault(Fault.throttle("2"))
    task = sensor(deferrable=True, poke_interval=0.05)
    # Longer than the hook sleeps through inside a call: the first check hands it back.
    task.hook = AzureDataReplicationHook(request_settings=RequestSettings(max_retry_after=0.5))
    with pytest.raises(TaskDeferred) as info:
        task.execute({})
    _, kwargs = info.value.trigger.serialize()
    assert time.time() + 1 < kwargs["not_before"] <= time.time() + 2
    assert run_inline(first_event(info.value.trigger))["event"] == "terminal"
    throttled, read = emulator.requests_for("op1")
    assert throttled.status == 429
    assert read.at - throttled.at >= 2  # the trigger's first read waited it out


def test_a_read_whose_turn_is_past_the_call_timeout_is_not_sent(emulator, monkeypatch):
    import json

    conn = emulator.connection(vault_name="vault1")
    conn["extra"]["max_reads_per_second"] = 1
    monkeypatch.setenv("AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT", json.dumps(conn))
    emulator.script_operation("op1", ["InProgress"])
    hook = AzureDataReplicationHook(request_settings=RequestSettings(call_timeout=2))
    pacer = hook.pacer(emulator.subscription_id)
    for _ in range(5):  # other readers of this identity queue for the next 5.5 s
        threading.Thread(target=pacer.wait, daemon=True).start()
    time.sleep(0.1)
    started = time.monotonic()
    with pytest.raises(AzureDataReplicationTransientError, match="past its timeout") as info:
        hook.get_operation_status(**OPERATION)
    assert time.monotonic() - started < 1.5  # known at once, not after the 5.5 s queue
    assert info.value.retry_after > 2
    assert not emulator.requests_for("op1")


def test_timeout_fails_and_soft_fail_skips(emulator):
    emulator.script_operation("op1", ["InProgress"])
    with pytest.raises(AirflowSensorTimeout):
        sensor(timeout=0.3).execute({})
    with pytest.raises(AirflowSkipException):
        sensor(timeout=0.3, soft_fail=True).execute({})


def test_reschedule_mode_releases_the_slot_until_terminal(emulator, monkeypatch):
    if not AIRFLOW_V_3_0_PLUS:  # Airflow 2 reads the task's earlier reschedules from the metadata DB
        monkeypatch.setattr("airflow.sensors.base._orig_start_date", lambda **_: None)
    emulator.script_operation("op1", ["InProgress", "Succeeded"])
    task = sensor(mode="reschedule", poke_interval=60, timeout=120)
    with pytest.raises(AirflowRescheduleException):
        task.execute({"ti": TaskInstance()})
    assert task.execute({"ti": TaskInstance()})["status"] == "Succeeded"


def test_deferrable_checks_once_then_defers_with_the_remaining_timeout(emulator):
    emulator.script_operation("op1", ["InProgress"])
    task = sensor(deferrable=True, timeout=600, poke_interval=15)
    with pytest.raises(TaskDeferred) as info:
        task.execute({})
    deferred = info.value
    assert isinstance(deferred.trigger, AzureDataReplicationOperationTrigger)
    assert deferred.method_name == "execute_complete"
    assert timedelta(seconds=590) < deferred.timeout <= timedelta(seconds=600)
    _, kwargs = deferred.trigger.serialize()
    assert kwargs["resource_group_name"] == "rgrecoveryservicesdatareplication"  # from the connection
    assert kwargs["poll_interval"] == 15
    assert time.time() + 590 < kwargs["deadline"] <= time.time() + 600
    assert len(emulator.requests_for("op1")) == 1


def test_deferrable_already_terminal_does_not_defer(emulator):
    emulator.script_operation("op1", ["Succeeded"])
    assert sensor(deferrable=True).execute({})["status"] == "Succeeded"


def test_deferrable_failed_first_check_with_soft_fail_skips(emulator):
    emulator.script_operation("op1", ["Failed"])
    with pytest.raises(AirflowSkipException):
        sensor(deferrable=True, soft_fail=True).execute({})


def test_execute_complete_turns_each_trigger_event_into_the_task_s_outcome(emulator):
    # The events come from the trigger itself, run against the emulator: the outcome's text is
    # what the trigger and the service said, not what the test wrote.
    def event_of(**trigger_kwargs):
        with pytest.raises(TaskDeferred) as info:
            sensor(deferrable=True, **trigger_kwargs).execute({})
        return run_inline(first_event(info.value.trigger))

    emulator.script_operation("op1", ["InProgress", "Succeeded"], extra={"percentComplete": 100})
    event = event_of()
    assert sensor(deferrable=True).execute_complete({}, event)["percentComplete"] == 100

    emulator.reset()
    emulator.script_operation(
        "op1", ["InProgress", {"status": "Failed", "error": {"code": "E9", "message": "m"}}]
    )
    with pytest.raises(
        AzureDataReplicationOperationFailedError, match=r"op1' of job 'job1' in vault 'vault1'.*E9: m"
    ):
        sensor(deferrable=True).execute_complete({}, event_of())

    emulator.reset()
    emulator.script_operation("op1", ["InProgress"])
    with pytest.raises(AirflowSensorTimeout, match="had not ended by the task's timeout"):
        sensor(deferrable=True).execute_complete({}, event_of(timeout=1))

    emulator.reset()
    emulator.script_operation("op1", ["InProgress"])
    emulator.add_fault(Fault.forbidden(after=1))  # met by the trigger
    with pytest.raises(AzureDataReplicationAuthError, match="HTTP 403; AuthorizationFailed"):
        sensor(deferrable=True).execute_complete({}, event_of())


def test_templated_fields_and_keyword_only():
    assert set(AzureDataReplicationOperationSensor.template_fields) == {
        "operation_id",
        "job_name",
        "vault_name",
        "resource_group_name",
        "subscription_id",
        "api_version",
        "operation_url",
        "azure_data_replication_conn_id",
    }
    # Airflow 2 refuses positional arguments itself, with its own exception.
    with pytest.raises(TypeError if AIRFLOW_V_3_0_PLUS else AirflowException):
        AzureDataReplicationOperationSensor("wait", "op1", "job1")  # type: ignore[misc]


def test_no_io_when_built(emulator):
    sensor(deferrable=True)
    assert not emulator.requests
    assert emulator.token_requests == 0


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="templated start_from_trigger needs Airflow 3.3+")
def test_start_from_trigger_hands_the_templated_operation_to_the_triggerer():
    task = sensor(
        start_from_trigger=True,
        operation_id="{{ params.operation_id }}",
        poke_interval=20,
        timeout=3600,
    )
    args = task.start_trigger_args
    assert task.start_from_trigger is True
    assert task.deferrable is True
    assert args.trigger_cls == (
        "airflow_provider_datareplication.triggers.data_replication.AzureDataReplicationOperationTrigger"
    )
    assert args.next_method == "execute_complete"
    assert args.timeout == timedelta(seconds=3600)
    assert args.trigger_kwargs == {
        "operation_id": "{{ params.operation_id }}",
        "job_name": "job1",
        "vault_name": "vault1",
        "resource_group_name": None,
        "subscription_id": None,
        "api_version": "2021-02-16-preview",
        "operation_url": None,
        "azure_data_replication_conn_id": "azure_data_replication_default",
        "poll_interval": 20,
    }
    # The trigger Airflow builds from these kwargs has an attribute for each template field.
    trigger = AzureDataReplicationOperationTrigger(**args.trigger_kwargs)
    assert all(hasattr(trigger, name) for name in AzureDataReplicationOperationSensor.template_fields)


def test_start_from_trigger_with_a_literal_operation_starts_in_the_triggerer():
    task = sensor(start_from_trigger=True, timeout=3600)
    assert task.start_from_trigger is True
    assert task.start_trigger_args.trigger_kwargs["operation_id"] == "op1"


@pytest.mark.skipif(AIRFLOW_V_3_0_PLUS, reason="Airflow 2 only: it cannot render templates in the triggerer")
def test_templated_start_from_trigger_defers_from_the_worker_on_airflow_2():
    with pytest.warns(UserWarning, match="start_from_trigger needs Airflow 3.3"):
        task = sensor(start_from_trigger=True, operation_id="{{ params.operation_id }}")
    assert task.start_from_trigger is False
    assert task.deferrable is True


def test_start_from_trigger_still_runs_execute_under_dag_test(emulator):
    emulator.script_operation("op1", ["InProgress"])
    with pytest.raises(TaskDeferred):
        sensor(start_from_trigger=True).execute({})


# -- jobs ---------------------------------------------------------------------------------------------

JOB = "0203aa1b-1dff-4653-89a9-b90a76d1601a"


def job_sensor(**kwargs):
    return AzureDataReplicationJobSensor(
        **{"task_id": "wait_job", "poke_interval": 0.05, "timeout": 30, "job_name": JOB, **kwargs}
    )


@pytest.mark.parametrize("final", ["Succeeded", "CompletedWithInformation", "completedwithwarnings"])
def test_job_sensor_waits_then_pushes_the_body_as_sent(emulator, final, caplog, capfd):
    caplog.set_level(logging.WARNING)
    errors = [{"code": "SlowDisk", "message": "Disk 2 was slow", "recommendation": "Check it"}]
    emulator.script_job(JOB, ["Pending", "Started", {"state": final, "errors": errors}])
    result = job_sensor().execute({})
    assert result["properties"]["state"] == final
    assert result["name"] == JOB and result["type"] == "Microsoft.DataReplication/replicationVaults/jobs"
    assert set(result["properties"]) >= {"displayName", "tasks", "errors", "customProperties", "activityId"}
    assert len(emulator.requests_for_job(JOB)) == 3
    logged = caplog.text + "".join(capfd.readouterr())
    warned = "SlowDisk: Disk 2 was slow (recommendation: Check it)" in logged
    assert warned == (final.lower() == "completedwithwarnings")


@pytest.mark.parametrize("final", ["Failed", "Cancelled", "CompletedWithErrors"])
def test_job_sensor_fails_naming_the_job_its_errors_and_tasks(emulator, final):
    errors = [{"code": "FailoverFailed", "message": "The VM did not start", "recommendation": "Retry"}]
    emulator.script_job(JOB, ["Started", {"state": final, "errors": errors}])
    with pytest.raises(AzureDataReplicationJobFailedError) as info:
        job_sensor().execute({})
    text = str(info.value)
    assert f"job '{JOB}' in vault 'vault1'" in text and f"ended {final}" in text
    assert "display name 'Planned failover', object 'vm-web-01'" in text
    assert "FailoverFailed: The VM did not start (recommendation: Retry)" in text
    assert "failed tasks: Shut down the virtual machine and fail over" in text


def test_job_sensor_without_raise_on_failure_pushes_any_end(emulator):
    emulator.script_job(JOB, ["Failed"])
    assert job_sensor(raise_on_failure=False).execute({})["properties"]["state"] == "Failed"


def test_job_sensor_reschedules_until_the_job_ends(emulator, monkeypatch):
    if not AIRFLOW_V_3_0_PLUS:
        monkeypatch.setattr("airflow.sensors.base._orig_start_date", lambda **_: None)
    emulator.script_job(JOB, ["Started", "Succeeded"])
    task = job_sensor(mode="reschedule", poke_interval=60, timeout=120)
    with pytest.raises(AirflowRescheduleException):
        task.execute({"ti": TaskInstance()})
    assert task.execute({"ti": TaskInstance()})["properties"]["state"] == "Succeeded"


def test_job_sensor_defers_to_the_job_trigger_with_identifiers_only(emulator):

    emulator.script_job(JOB, ["Started", "Started", "Succeeded"])
    task = job_sensor(deferrable=True, api_version="2026-05-01")
    with pytest.raises(TaskDeferred) as info:
        task.execute({})
    trigger = info.value.trigger
    assert isinstance(trigger, AzureDataReplicationJobTrigger)
    classpath, kwargs = trigger.serialize()
    assert classpath.endswith(".AzureDataReplicationJobTrigger")
    assert set(kwargs) == {
        "job_name",
        "vault_name",
        "resource_group_name",
        "subscription_id",
        "api_version",
        "azure_data_replication_conn_id",
        "poll_interval",
        "deadline",
        "not_before",
    }
    assert kwargs["api_version"] == "2026-05-01"
    event = run_inline(first_event(trigger))
    assert task.execute_complete({}, event)["properties"]["state"] == "Succeeded"


def test_job_sensor_refuses_bad_names_before_anything_is_sent(emulator):
    with pytest.raises(ValueError, match="job_name"):
        job_sensor(job_name="job 1").execute({})
    assert not emulator.requests


# -- an operation by its URL ------------------------------------------------------------------------


def test_operation_sensor_waits_on_an_operation_url(emulator):
    emulator.script_operation("lro1", ["InProgress", "Succeeded"])
    url = emulator.operation_url("lro1")
    result = AzureDataReplicationOperationSensor(
        task_id="wait", operation_url=url, poke_interval=0.05
    ).execute({})
    assert result["status"] == "Succeeded"
    assert result["id"].endswith("/locations/eastus/operationResults/lro1")


def test_a_literal_operation_url_is_refused_when_the_task_is_built():
    with pytest.raises(ValueError, match="operation_url must be an https:// URL"):
        AzureDataReplicationOperationSensor(task_id="wait", operation_url="http://x/subscriptions/y")
    with pytest.raises(ValueError, match="operation_url names the operation by itself"):
        AzureDataReplicationOperationSensor(
            task_id="wait", operation_url="{{ params.url }}", operation_id="op1", job_name="job1"
        )
    with pytest.raises(ValueError, match="name the operation"):
        AzureDataReplicationOperationSensor(task_id="wait", job_name="job1")


def test_a_templated_operation_url_is_refused_when_it_runs(emulator):
    task = AzureDataReplicationOperationSensor(task_id="wait", operation_url="{{ params.url }}")
    task.operation_url = "https://elsewhere.example.com/subscriptions/x?api-version=1"  # as rendered
    with pytest.raises(ValueError, match="operation_url"):
        task.execute({})
    assert emulator.token_requests == 0


def test_each_kind_is_named_by_its_target_class_in_its_tasks_trigger_and_hook():
    import inspect

    from airflow_provider_datareplication.identifiers import REQUIRED, JobOperation, VaultJob
    from airflow_provider_datareplication.operators.data_replication import (
        AzureDataReplicationJobStatusOperator,
        AzureDataReplicationOperationStatusOperator,
    )
    from airflow_provider_datareplication.triggers.data_replication import (
        AzureDataReplicationJobTrigger,
        AzureDataReplicationOperationTrigger,
    )

    def signature_of(task_class):
        """The keyword parameters a task's own classes declare (Airflow's base classes excluded)."""
        found = {}
        for klass in task_class.__mro__:
            if klass.__module__.startswith("airflow_provider_datareplication") and "__init__" in vars(klass):
                for name, p in inspect.signature(klass.__init__).parameters.items():
                    if p.kind is p.KEYWORD_ONLY:
                        found.setdefault(name, p.default)
        return found

    kinds = [
        (
            JobOperation,
            AzureDataReplicationOperationTrigger,
            [AzureDataReplicationOperationSensor, AzureDataReplicationOperationStatusOperator],
        ),
        (
            VaultJob,
            AzureDataReplicationJobTrigger,
            [AzureDataReplicationJobSensor, AzureDataReplicationJobStatusOperator],
        ),
    ]
    for target_class, trigger, tasks in kinds:
        parameters = target_class.task_parameters()
        for task in tasks:
            declared = signature_of(task)
            assert {name: declared[name] for name in parameters} == parameters, task
            assert set(task.template_fields) == {*parameters, "azure_data_replication_conn_id"}, task
            assert task.target_class is target_class
        assert trigger.parameters == {k: (None if v is REQUIRED else v) for k, v in parameters.items()}


def test_a_sensor_can_be_mapped_over_many_waits():
    try:
        from airflow.sdk import DAG
    except ImportError:  # Airflow 2
        from airflow import DAG

    from datetime import datetime

    with DAG("mapped", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
        operations = AzureDataReplicationOperationSensor.partial(task_id="ops", job_name="job1").expand(
            operation_id=["op1", "op2"]
        )
        jobs = AzureDataReplicationJobSensor.partial(task_id="jobs", deferrable=True).expand(
            job_name=[JOB, "j2"]
        )
    assert set(dag.task_dict) == {"ops", "jobs"}
    assert operations.partial_kwargs["job_name"] == "job1"
    assert jobs.partial_kwargs["deferrable"] is True
    assert operations.expand_input.value == {"operation_id": ["op1", "op2"]}


# -- protected items --------------------------------------------------------------------------------


def item_sensor(**kwargs):
    from airflow_provider_datareplication.sensors.data_replication import (
        AzureDataReplicationProtectedItemSensor,
    )
    from tests.e2e.dags.e2e_scenarios import ITEM

    return AzureDataReplicationProtectedItemSensor(
        **{"task_id": "wait_item", "protected_item_name": ITEM, "poke_interval": 0.1, "timeout": 30, **kwargs}
    )


@pytest.fixture
def replicating(emulator):
    """A server whose replication is enabled now: initial replication takes under two seconds."""
    from tests.e2e.dags.e2e_scenarios import HYPERV_PROPERTIES, ITEM

    emulator.item_durations(enable_protection=0.3, initial_replication=1.0, planned_failover=0.3)
    with AzureDataReplicationHook() as hook:
        from airflow_provider_datareplication.actions import create_item
        from airflow_provider_datareplication.identifiers import ProtectedItem

        hook.start(hook.resolve(ProtectedItem, protected_item_name=ITEM), create_item(HYPERV_PROPERTIES))
    return emulator


def test_item_sensor_waits_until_ready_to_migrate_and_logs_the_progress(replicating, caplog, capfd):
    caplog.set_level(logging.INFO)
    item = item_sensor().execute({})
    assert item["properties"]["protectionState"] == "Protected"
    assert "PlannedFailover" in item["properties"]["allowedJobs"]
    logged = caplog.text + "".join(capfd.readouterr())
    assert "is EnablingProtection" in logged
    assert "is InitialReplicationInProgress (initial replication " in logged


def test_item_sensor_reschedules_until_ready(replicating, monkeypatch):
    if not AIRFLOW_V_3_0_PLUS:
        monkeypatch.setattr("airflow.sensors.base._orig_start_date", lambda **_: None)
    task = item_sensor(mode="reschedule", poke_interval=60, timeout=120)
    with pytest.raises(AirflowRescheduleException):
        task.execute({"ti": TaskInstance()})
    time.sleep(1.5)  # initial replication ends
    assert task.execute({"ti": TaskInstance()})["properties"]["protectionState"] == "Protected"


def test_item_sensor_defers_with_until_and_the_trigger_ends_the_wait(replicating):
    from airflow_provider_datareplication.triggers.data_replication import (
        AzureDataReplicationProtectedItemTrigger,
    )

    task = item_sensor(deferrable=True)
    with pytest.raises(TaskDeferred) as info:
        task.execute({})
    trigger = info.value.trigger
    assert isinstance(trigger, AzureDataReplicationProtectedItemTrigger)
    assert trigger.serialize()[1]["until"] == "ready_to_migrate"
    item = task.execute_complete({}, run_inline(first_event(trigger)))
    assert item["properties"]["protectionState"] == "Protected"


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_item_sensor_waits_until_migrated_and_until_removed(emulator, mode):
    from airflow_provider_datareplication.actions import delete_item, planned_failover
    from airflow_provider_datareplication.identifiers import ProtectedItem
    from tests.e2e.dags.e2e_scenarios import ITEM

    emulator.item_durations(planned_failover=0.5, disable_protection=0.5)
    emulator.add_protected_item(ITEM)

    def wait(until):
        task = item_sensor(until=until, deferrable=mode == "deferrable")
        if mode == "poke":
            return task.execute({})
        with pytest.raises(TaskDeferred) as info:
            task.execute({})
        return task.execute_complete({}, run_inline(first_event(info.value.trigger)))

    with AzureDataReplicationHook() as hook:
        item = hook.resolve(ProtectedItem, protected_item_name=ITEM)
        hook.start(item, planned_failover(instance_type="HyperVToAzStackHCI", shutdown_source_vm=False))
        assert wait("migrated")["properties"]["protectionState"] == "PlannedFailoverCompleted"
        hook.start(item, delete_item(force_delete=False))
        assert wait("removed") == {}  # gone: an empty body


def test_item_sensor_fails_on_a_failed_state_naming_server_state_health_errors_and_job(emulator):
    from airflow_provider_datareplication.exceptions import AzureDataReplicationProtectedItemFailedError
    from tests.e2e.dags.e2e_scenarios import ITEM

    emulator.item_durations(enable_protection=0.2, initial_replication=0.4)
    errors = [
        {"code": "DiskNotFound", "message": "Disk 1 is gone", "recommendation": "Check the disk"},
        {"code": "NetworkDown", "message": "No route"},
    ]
    emulator.fail_initial_replication(ITEM, errors)
    from tests.e2e.dags.e2e_scenarios import HYPERV_PROPERTIES

    with AzureDataReplicationHook() as hook:
        from airflow_provider_datareplication.actions import create_item
        from airflow_provider_datareplication.identifiers import ProtectedItem

        hook.start(hook.resolve(ProtectedItem, protected_item_name=ITEM), create_item(HYPERV_PROPERTIES))
    with pytest.raises(AzureDataReplicationProtectedItemFailedError) as info:
        item_sensor().execute({})
    text = str(info.value)
    assert f"protected item {ITEM!r} in vault 'vault1'" in text
    assert "ended InitialReplicationFailed" in text
    assert "source server" in text
    assert "DiskNotFound: Disk 1 is gone (recommendation: Check the disk); NetworkDown: No route" in text
    assert "last failed job:" in text
    # raise_on_failure=False: the item goes to XCom instead.
    body = item_sensor(raise_on_failure=False).execute({})
    assert body["properties"]["protectionState"] == "InitialReplicationFailed"


def test_item_sensor_waiting_for_removal_is_not_ended_by_a_failed_state(emulator):
    from tests.e2e.dags.e2e_scenarios import ITEM

    emulator.add_protected_item(ITEM, protection_state="InitialReplicationFailed")
    with pytest.raises(AirflowSensorTimeout):
        item_sensor(until="removed", timeout=0.5).execute({})


def test_item_sensor_refuses_an_unknown_until():
    with pytest.raises(ValueError, match="until must be one of ready_to_migrate, migrated, removed"):
        item_sensor(until="ready")


@pytest.mark.parametrize(
    ("argument", "value"), [("raise_on_failure", "no"), ("deferrable", 1), ("start_from_trigger", "yes")]
)
def test_a_sensor_s_boolean_that_is_not_one_is_refused_when_built(argument, value):
    with pytest.raises(ValueError, match=rf"{argument} must be true or false .*got {value!r}"):
        item_sensor(**{argument: value})


def test_a_sensor_s_false_as_text_means_false(emulator):
    from tests.e2e.dags.e2e_scenarios import ITEM

    emulator.add_protected_item(ITEM, protection_state="InitialReplicationFailed")
    body = item_sensor(raise_on_failure="False").execute({})  # handed to XCom, not raised
    assert body["properties"]["protectionState"] == "InitialReplicationFailed"


@pytest.mark.parametrize("settings", [{"timeout": float("inf")}, {"poke_interval": 120, "timeout": 60}])
def test_a_sensor_whose_wait_cannot_work_is_refused_when_built(settings):
    with pytest.raises(ValueError, match=r"(poke_interval|timeout) (must|\()"):
        item_sensor(**settings)


def test_item_sensor_out_of_reach_fails_at_once_with_one_read(emulator):
    from airflow_provider_datareplication.exceptions import AzureDataReplicationProtectedItemFailedError
    from tests.e2e.dags.e2e_scenarios import ITEM

    emulator.add_protected_item(ITEM, protection_state="PlannedFailoverCompleted")
    with pytest.raises(AzureDataReplicationProtectedItemFailedError, match="it can no longer be ready"):
        item_sensor(timeout=600).execute({})
    assert len(emulator.requests_for_item(ITEM)) == 1


def test_item_sensor_for_removal_in_a_vault_that_is_not_there_fails_naming_it(emulator):
    from airflow_provider_datareplication.exceptions import AzureDataReplicationNotFoundError

    with pytest.raises(AzureDataReplicationNotFoundError, match=r"vault 'vault9' .* was not found"):
        item_sensor(until="removed", vault_name="vault9").execute({})
