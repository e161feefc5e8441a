"""End-to-end DAGs (airflow) run by tests/e2e against the Data Replication emulator."""

from __future__ import annotations

from datetime import datetime

from e2e_scenarios import (
    ARM_FAULTS,
    HTTP_LOGGING_CONN,
    HYPERV_PROPERTIES,
    IDENTITY_FAULTS,
    JOB_CASES,
    JOB_MODES,
    JOB_OPERATOR_CASES,
    MANAGED_IDENTITY_CONN,
    MODES,
    OPERATOR_CASES,
    PLAIN_HTTP_CONN,
    POLL,
    REAL_JOB,
    REAL_OPERATION,
    REAL_VAULT,
    SENSOR_CASES,
    SENSOR_ERROR_CASES,
    TOKEN_FAULTS,
    item_name,
    job_guid,
    operation_id,
    slug,
)

from airflow_provider_datareplication.operators.data_replication import (
    AzureDataReplicationCreateProtectedItemOperator,
    AzureDataReplicationDeleteProtectedItemOperator,
    AzureDataReplicationJobStatusOperator,
    AzureDataReplicationListProtectedItemsOperator,
    AzureDataReplicationOperationStatusOperator,
    AzureDataReplicationPlannedFailoverOperator,
    AzureDataReplicationUpdateProtectedItemOperator,
)
from airflow_provider_datareplication.sensors.data_replication import (
    AzureDataReplicationJobSensor,
    AzureDataReplicationOperationSensor,
    AzureDataReplicationProtectedItemSensor,
)

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[no-redef,attr-defined]

COMMON = {"job_name": "job1", "vault_name": "vault1"}
START = datetime(2024, 1, 1)


def sensor(task_id: str, op: str, mode: str, **kwargs):
    return AzureDataReplicationOperationSensor(
        task_id=task_id,
        operation_id=op,
        poke_interval=POLL,
        timeout=kwargs.pop("timeout", 120),
        deferrable=mode == "deferrable",
        **COMMON,
        **kwargs,
    )


with DAG("e2e_statuses", schedule=None, start_date=START, catchup=False) as e2e_statuses:
    for mode in MODES:
        for case in SENSOR_CASES:
            sensor(f"{case.name}_{mode}", f"{case.name}-{mode}", mode, **case.kwargs)
    for case in OPERATOR_CASES:
        AzureDataReplicationOperationStatusOperator(
            task_id=case.name, operation_id=case.name, **COMMON, **case.kwargs
        )

for mode in MODES:
    with DAG(f"e2e_faults_{mode}", schedule=None, start_date=START, catchup=False) as fault_dag:
        for name, (_, conn_id) in ARM_FAULTS.items():
            sensor(slug(name), operation_id(name, mode), mode, azure_data_replication_conn_id=conn_id)
            AzureDataReplicationJobSensor(
                task_id=f"job_{slug(name)}",
                job_name=job_guid(f"{name}-{mode}"),
                vault_name="vault1",
                poke_interval=POLL,
                timeout=120,
                deferrable=mode == "deferrable",
                azure_data_replication_conn_id=conn_id,
            )
    globals()[fault_dag.dag_id] = fault_dag

    for name in TOKEN_FAULTS:
        with DAG(f"e2e_{slug(name)}_{mode}", schedule=None, start_date=START, catchup=False) as token_dag:
            sensor("wait", operation_id(name, mode), mode)
        globals()[token_dag.dag_id] = token_dag

    for name in IDENTITY_FAULTS:
        with DAG(f"e2e_{slug(name)}_{mode}", schedule=None, start_date=START, catchup=False) as mi_dag:
            sensor(
                "wait", operation_id(name, mode), mode, azure_data_replication_conn_id=MANAGED_IDENTITY_CONN
            )
        globals()[mi_dag.dag_id] = mi_dag

with DAG("e2e_sensor_errors", schedule=None, start_date=START, catchup=False) as e2e_sensor_errors:
    for mode in MODES:
        for name, (_, kwargs, _) in SENSOR_ERROR_CASES.items():
            sensor(f"{name}_{mode}", f"{name}-{mode}", mode, timeout=30, **kwargs)

with DAG(
    "e2e_real_identifiers",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"job": REAL_JOB, "operation": REAL_OPERATION, "numeric_job": "12345"},
    render_template_as_native_obj=True,
) as e2e_real_identifiers:
    for mode in MODES:
        AzureDataReplicationOperationSensor(
            task_id=f"guid_{mode}",
            operation_id="{{ params.operation }}",
            job_name="{{ params.job }}",
            vault_name=REAL_VAULT,
            poke_interval=POLL,
            timeout=120,
            deferrable=mode == "deferrable",
        )
        # Rendered as the number 12345 under render_template_as_native_obj=True.
        AzureDataReplicationOperationSensor(
            task_id=f"numeric_{mode}",
            operation_id=f"numeric-{mode}",
            job_name="{{ params.numeric_job }}",
            vault_name=REAL_VAULT,
            poke_interval=POLL,
            timeout=120,
            deferrable=mode == "deferrable",
        )
    AzureDataReplicationOperationStatusOperator(
        task_id="report",
        operation_id="{{ params.operation }}",
        job_name="{{ params.job }}",
        vault_name=REAL_VAULT,
    )

with DAG("e2e_token_economy", schedule=None, start_date=START, catchup=False) as e2e_token_economy:
    sensor("wait", "token-economy", "poke")

with DAG("e2e_plain_http", schedule=None, start_date=START, catchup=False) as e2e_plain_http:
    sensor("wait", "plain-http", "poke", azure_data_replication_conn_id=PLAIN_HTTP_CONN)

# The same waits on a connection as it comes (no HTTP logging) and on one with the http_logging extra.
for name, conn_id in (("quiet", "azure_data_replication_default"), ("loud", HTTP_LOGGING_CONN)):
    with DAG(f"e2e_http_logging_{name}", schedule=None, start_date=START, catchup=False) as logging_dag:
        for mode in MODES:
            sensor(mode, f"http-logging-{name}-{mode}", mode, azure_data_replication_conn_id=conn_id)
    globals()[logging_dag.dag_id] = logging_dag

with DAG("e2e_jobs", schedule=None, start_date=START, catchup=False) as e2e_jobs:
    for mode in JOB_MODES:
        for case in JOB_CASES:
            AzureDataReplicationJobSensor(
                task_id=f"{case.name}_{mode}",
                job_name=job_guid(f"{case.name}-{mode}"),
                vault_name="vault1",
                poke_interval=POLL,
                timeout=case.kwargs.get("timeout", 120),
                mode="reschedule" if mode == "reschedule" else "poke",
                deferrable=mode == "deferrable",
                **{k: v for k, v in case.kwargs.items() if k != "timeout"},
            )
    for case in JOB_OPERATOR_CASES:
        AzureDataReplicationJobStatusOperator(task_id=case.name, job_name=job_guid(case.name), **case.kwargs)

#: An operation by the URL a long-running call returned, built from the connection (a template).
OPERATION_URL = (
    "{{ conn.azure_data_replication_default.extra_dejson.resource_manager_url }}/subscriptions/"
    "{{ conn.azure_data_replication_default.extra_dejson.subscriptionId }}"
    "/providers/Microsoft.DataReplication/locations/eastus/operationResults/%s?api-version=2024-09-01"
)

with DAG("e2e_operation_urls", schedule=None, start_date=START, catchup=False) as e2e_operation_urls:
    for mode in MODES:
        AzureDataReplicationOperationSensor(
            task_id=f"url_{mode}",
            operation_url=OPERATION_URL % f"lro-{mode}",
            poke_interval=POLL,
            timeout=120,
            deferrable=mode == "deferrable",
        )
    # The wait that reports without judging, deferred; then one read of the ended operation.
    url_report = AzureDataReplicationOperationSensor(
        task_id="url_report",
        operation_url=OPERATION_URL % "lro-report",
        raise_on_failure=False,
        deferrable=True,
        poke_interval=POLL,
    )
    url_report >> AzureDataReplicationOperationStatusOperator(
        task_id="url_status", operation_url=OPERATION_URL % "lro-report"
    )
    AzureDataReplicationOperationSensor(
        task_id="url_elsewhere",
        operation_url="https://management.example.com/subscriptions/930CEC23-4430-4513-B855-DBA237E2F3BF"
        "/providers/Microsoft.DataReplication/locations/eastus/operationResults/x?api-version=2024-09-01",
        poke_interval=POLL,
    )

#: What a DAG's default_args may hold for its sensors: none of it reaches an operator.
SENSOR_DEFAULTS = {
    "mode": "reschedule",
    "never_fail": True,
    "soft_fail": True,
    "poke_interval": 30,
    "timeout": 600,
}

with DAG(
    "e2e_status_operators_under_sensor_defaults",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args=SENSOR_DEFAULTS,
) as e2e_status_operators_under_sensor_defaults:
    AzureDataReplicationOperationStatusOperator(task_id="running", operation_id="defaults-running", **COMMON)
    AzureDataReplicationOperationStatusOperator(task_id="missing", operation_id="defaults-missing", **COMMON)
    AzureDataReplicationJobStatusOperator(
        task_id="job_missing", job_name=job_guid("defaults-missing"), vault_name="vault1"
    )

# An existing `azure` connection that signs in with a service principal's auth file (issue 16).
with DAG("e2e_azure_connections", schedule=None, start_date=START, catchup=False) as e2e_azure_connections:
    for conn_id, mode in (("e2e_azure_key_path", "poke"), ("e2e_azure_key_json", "deferrable")):
        sensor(
            f"{conn_id.removeprefix('e2e_azure_')}_{mode}",
            f"{conn_id}-{mode}",
            mode,
            resource_group_name="rg1",
            azure_data_replication_conn_id=conn_id,
        )
    AzureDataReplicationOperationStatusOperator(
        task_id="key_path_report",
        operation_id="e2e_azure_key_path-report",
        resource_group_name="rg1",
        azure_data_replication_conn_id="e2e_azure_key_path",
        **COMMON,
    )

# -- protected items (stable api-versions) ---------------------------------------------------------

with DAG("e2e_item_sensors", schedule=None, start_date=START, catchup=False) as e2e_item_sensors:
    for mode in JOB_MODES:
        sensing = {
            "poke_interval": POLL,
            "timeout": 60,
            "mode": "reschedule" if mode == "reschedule" else "poke",
            "deferrable": mode == "deferrable",
        }
        AzureDataReplicationProtectedItemSensor(
            task_id=f"ready_{mode}", protected_item_name=item_name(f"ready-{mode}"), **sensing
        )
        AzureDataReplicationPlannedFailoverOperator(
            task_id=f"failover_{mode}",
            protected_item_name=item_name(f"migrated-{mode}"),
            wait_for_termination=False,
        ) >> AzureDataReplicationProtectedItemSensor(
            task_id=f"migrated_{mode}",
            protected_item_name=item_name(f"migrated-{mode}"),
            until="migrated",
            **sensing,
        )
        AzureDataReplicationDeleteProtectedItemOperator(
            task_id=f"remove_{mode}",
            protected_item_name=item_name(f"removed-{mode}"),
            wait_for_termination=False,
        ) >> AzureDataReplicationProtectedItemSensor(
            task_id=f"removed_{mode}",
            protected_item_name=item_name(f"removed-{mode}"),
            until="removed",
            **sensing,
        )
        AzureDataReplicationProtectedItemSensor(
            task_id=f"failed_{mode}", protected_item_name=item_name(f"failed-{mode}"), **sensing
        )

with DAG("e2e_item_operators", schedule=None, start_date=START, catchup=False) as e2e_item_operators:
    for mode in MODES:
        acting = {"check_interval": POLL, "deferrable": mode == "deferrable"}
        AzureDataReplicationCreateProtectedItemOperator(
            task_id=f"create_{mode}",
            protected_item_name=item_name(f"create-{mode}"),
            properties=HYPERV_PROPERTIES,
            **acting,
        )
        AzureDataReplicationPlannedFailoverOperator(
            task_id=f"failover_{mode}", protected_item_name=item_name(f"failover-{mode}"), **acting
        )
        AzureDataReplicationDeleteProtectedItemOperator(
            task_id=f"delete_{mode}",
            protected_item_name=item_name(f"delete-{mode}"),
            force_delete=True,
            **acting,
        )
    # Refused before anything is sent: each names the item's state and what it allows.
    AzureDataReplicationCreateProtectedItemOperator(
        task_id="create_refused",
        protected_item_name=item_name("create-refused"),
        properties=HYPERV_PROPERTIES,
    )
    AzureDataReplicationPlannedFailoverOperator(
        task_id="failover_refused", protected_item_name=item_name("failover-refused")
    )
    AzureDataReplicationDeleteProtectedItemOperator(
        task_id="delete_refused", protected_item_name=item_name("delete-refused")
    )
    # A failover whose answer is lost on the way (the call was taken): not sent again.
    AzureDataReplicationPlannedFailoverOperator(
        task_id="failover_answer_lost",
        protected_item_name=item_name("failover-answer-lost"),
        check_interval=POLL,
    )

    # Not waiting: the job as it starts.
    AzureDataReplicationCreateProtectedItemOperator(
        task_id="create_no_wait",
        protected_item_name=item_name("create-no-wait"),
        properties=HYPERV_PROPERTIES,
        wait_for_termination=False,
    )

#: Each operator in a DAG of its own, retried once: its first try starts the work, then fails
#: reading the job it started; the retry must wait on that job, not start the work again.
ITEM_RETRY_OPERATORS = {
    "create": lambda name: AzureDataReplicationCreateProtectedItemOperator(
        task_id="create", protected_item_name=name, properties=HYPERV_PROPERTIES, check_interval=POLL
    ),
    "failover": lambda name: AzureDataReplicationPlannedFailoverOperator(
        task_id="failover", protected_item_name=name, check_interval=POLL, deferrable=True
    ),
    "delete": lambda name: AzureDataReplicationDeleteProtectedItemOperator(
        task_id="delete", protected_item_name=name, check_interval=POLL, deferrable=True
    ),
}
for action, build in ITEM_RETRY_OPERATORS.items():
    with DAG(
        f"e2e_item_retry_{action}",
        schedule=None,
        start_date=START,
        catchup=False,
        default_args={"retries": 1, "retry_delay": 0},
    ) as retry_dag:
        # The README's downstream pattern: wait on the operation the call returned, whichever try it was.
        build(item_name(f"retry-{action}")) >> AzureDataReplicationOperationSensor(
            task_id="wait_on_operation",
            operation_url=f"{{{{ ti.xcom_pull(task_ids='{action}', key='operation_url') }}}}",
            poke_interval=POLL,
            timeout=60,
        )
    globals()[retry_dag.dag_id] = retry_dag

#: Issue 21's findings, one task each on an item of its own (tests/e2e/test_item_safety.py seeds them).
with DAG(
    "e2e_item_safety",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"shutdown": "false", "force": "false", "bad": "no", "interval": "120"},
    default_args={"retries": 1, "retry_delay": 0},
) as e2e_item_safety:
    acting = {"check_interval": POLL}
    watching = {"poke_interval": POLL, "timeout": 60}
    # A try is stopped after its failover was taken; the failover fails; the retry sends nothing.
    AzureDataReplicationPlannedFailoverOperator(
        task_id="failover_failed_earlier", protected_item_name=item_name("failed-earlier"), **acting
    )
    # The answer is lost, the failover fails at once: nothing is sent again.
    AzureDataReplicationPlannedFailoverOperator(
        task_id="failover_lost_then_failed", protected_item_name=item_name("lost-then-failed"), **acting
    )
    # Booleans rendered from params: "false" is false; "no" is refused before anything is sent.
    AzureDataReplicationPlannedFailoverOperator(
        task_id="failover_rendered_false",
        protected_item_name=item_name("rendered-false"),
        shutdown_source_vm="{{ params.shutdown }}",
        **acting,
    )
    AzureDataReplicationDeleteProtectedItemOperator(
        task_id="delete_rendered_false",
        protected_item_name=item_name("failing-over"),
        force_delete="{{ params.force }}",
        **acting,
    )
    AzureDataReplicationPlannedFailoverOperator(
        task_id="failover_bad_boolean",
        protected_item_name=item_name("bad-boolean"),
        shutdown_source_vm="{{ params.bad }}",
        **acting,
    )
    AzureDataReplicationPlannedFailoverOperator(
        task_id="failover_rendered_interval",
        protected_item_name=item_name("rendered-interval"),
        check_interval="{{ params.interval }}",
        timeout=60,
    )
    # Create compares, and never takes another kind of work as its own.
    AzureDataReplicationCreateProtectedItemOperator(
        task_id="create_differs",
        protected_item_name=item_name("create-differs"),
        properties=HYPERV_PROPERTIES,
        **acting,
    )
    AzureDataReplicationCreateProtectedItemOperator(
        task_id="create_being_removed",
        protected_item_name=item_name("being-removed"),
        properties=HYPERV_PROPERTIES,
        **acting,
    )
    AzureDataReplicationCreateProtectedItemOperator(
        task_id="create_migrated",
        protected_item_name=item_name("create-migrated"),
        properties=HYPERV_PROPERTIES,
        **acting,
    )
    # Gone only where the vault is: a mistyped vault or group fails naming it.
    AzureDataReplicationDeleteProtectedItemOperator(
        task_id="delete_typo_vault", protected_item_name=item_name("typo"), vault_name="vault-typo", **acting
    )
    AzureDataReplicationProtectedItemSensor(
        task_id="removed_typo_group",
        protected_item_name=item_name("typo"),
        resource_group_name="rg-typo",
        until="removed",
        **watching,
    )
    # Sensors stop at once when their goal is out of reach, or the item failed.
    AzureDataReplicationProtectedItemSensor(
        task_id="ready_after_cutover", protected_item_name=item_name("after-cutover"), **watching
    )
    AzureDataReplicationProtectedItemSensor(
        task_id="migrated_commit_failed",
        protected_item_name=item_name("commit-failed"),
        until="migrated",
        deferrable=True,
        **watching,
    )
    AzureDataReplicationProtectedItemSensor(
        task_id="removed_disabling_failed",
        protected_item_name=item_name("disabling-failed"),
        until="removed",
        **watching,
    )
    # Two failovers at once: the one the service answers 409 waits on the other's.
    AzureDataReplicationPlannedFailoverOperator(
        task_id="failover_raced", protected_item_name=item_name("raced"), **acting
    )
    # A failover that fails: the sensor names the job's errors.
    AzureDataReplicationPlannedFailoverOperator(
        task_id="failover_then_fails",
        protected_item_name=item_name("sensor-failover-fails"),
        wait_for_termination=False,
    ) >> AzureDataReplicationProtectedItemSensor(
        task_id="migrated_failover_failed",
        protected_item_name=item_name("sensor-failover-fails"),
        until="migrated",
        deferrable=True,
        **watching,
    )


# Enabling replication from discovered machines (the Migrate project seed_local_migration serves),
# one DAG a site type: the default mapping and the power user's; the vault's table; for VMware an
# update of a replicating server too.
def local_migration_dag(dag_id: str, site_type: str) -> DAG:
    """Return the e2e DAG enabling replication of a site type's two machines (e2e_scenarios' creates)."""
    from e2e_scenarios import LOCAL_MIGRATION_VAULT, local_migration_creates

    project = {"vault_name": LOCAL_MIGRATION_VAULT[0], "resource_group_name": LOCAL_MIGRATION_VAULT[1]}
    creates = local_migration_creates(site_type)
    with DAG(dag_id, schedule=None, start_date=START, catchup=False) as dag:
        by_default, by_power_user = (
            AzureDataReplicationCreateProtectedItemOperator(
                task_id=task_id, **inputs, check_interval=POLL, deferrable=task_id == "create_power_user"
            )
            for task_id, inputs in creates.items()
        )
        table = AzureDataReplicationListProtectedItemsOperator(task_id="table", **project)
        by_power_user >> table
        if site_type == "VMwareSites":
            update = AzureDataReplicationUpdateProtectedItemOperator(
                task_id="update",
                protected_item_name=creates["create_default"]["machine_id"].rsplit("/", 1)[-1],
                target_vm_cpu_cores=2,
                target_vm_ram_mb="{{ 8 * 1024 }}",
                check_interval=POLL,
                **project,
            )
            by_default >> update >> table
        else:
            by_default >> table
    return dag


e2e_local_migration = local_migration_dag("e2e_local_migration", "VMwareSites")
e2e_local_migration_hyperv = local_migration_dag("e2e_local_migration_hyperv", "HyperVSites")
