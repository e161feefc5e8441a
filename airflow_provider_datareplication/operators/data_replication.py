"""
Operators of a replication vault: report an operation or a job to XCom; start the work on a protected item.

The status operators read once. The operators that act (enable replication, a planned failover,
disable replication) start the service's call, then wait on the job it started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from airflow_provider_datareplication.actions import create_item, delete_item, planned_failover
from airflow_provider_datareplication.job import Job
from airflow_provider_datareplication.mixins import (
    AzureDataReplicationTaskMixin,
    JobTaskMixin,
    OperationTaskMixin,
    ProtectedItemTaskMixin,
)
from airflow_provider_datareplication.protected_item import (
    FAILOVER_JOBS,
    MIGRATED_STATE,
    REMOVAL_JOB,
    job_is_running,
)
from airflow_provider_datareplication.version_compat import conf

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_datareplication.actions import ItemAction
    from airflow_provider_datareplication.exceptions import AzureDataReplicationActionRefusedError
    from airflow_provider_datareplication.identifiers import ProtectedItem, Status
    from airflow_provider_datareplication.protected_item import ProtectedItemStatus


class AzureDataReplicationBaseStatusOperator(AzureDataReplicationTaskMixin):
    """
    Read what the task names once and push the service's body to XCom: the status operators' base.

    It reports and does not judge: a failed operation or job is pushed, not raised. To wait until
    the end and report without judging, use the sensor with ``raise_on_failure=False``.
    """

    def execute(self, context: Context) -> dict[str, Any]:
        """Read once; the service's body is the ``return_value`` XCom."""
        try:
            target = self.target
            self.remember_portal_link(context, target)
            status = self.hook.get_status(target)
            self.log.info("%s is %s", target.describe(), status.state)
            return status.to_dict()
        finally:
            self.close_hook()


class AzureDataReplicationOperationStatusOperator(OperationTaskMixin, AzureDataReplicationBaseStatusOperator):
    """
    Push an operation's ``OperationStatus`` (the service's body) to XCom as ``return_value``.

    One read, whatever the status: a ``Failed`` operation is pushed, not raised. An error reading
    it (403, 404, ...) fails the task, and Airflow's ``retries`` apply as to any operator.

    :param operation_id: The operation id (templated), with ``job_name``: "Workflow Operation
        Status - Get", which only ``2021-02-16-preview`` serves.
    :param job_name: The job (templated), usually a GUID.
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version of the identifiers' call (templated; default
        ``2021-02-16-preview``).
    :param operation_url: Instead of the identifiers: the ``Azure-AsyncOperation`` (or ``Location``)
        URL a long-running call returned, in any api-version (templated).
    :param azure_data_replication_conn_id: The Airflow connection (templated).
    """


class AzureDataReplicationJobStatusOperator(JobTaskMixin, AzureDataReplicationBaseStatusOperator):
    """
    Push a job of a replication vault (its body, exactly as the service sent it) to XCom.

    One read, whatever state the job is in; a failed job is pushed, not raised.

    :param job_name: The job (templated), usually a GUID.
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version (templated): ``2024-09-01`` (default) or ``2026-05-01``.
    :param azure_data_replication_conn_id: The Airflow connection (templated).
    """


@dataclass(frozen=True)
class Plan:
    """
    What an operator that starts work does, given the item as it is now.

    :param action: The call to send (``None``: send nothing).
    :param job_name: The job of work already under way (waited on), or already done (reported).
    :param done: Whether that work is done already: its job is read once and reported, not waited on.
    :param note: Why, for the task log.
    """

    action: ItemAction | None = None
    job_name: str | None = None
    done: bool = False
    note: str = ""


def _scenario(text: Any) -> str:
    return "".join(str(text or "").split()).lower()


class AzureDataReplicationBaseProtectedItemOperator(ProtectedItemTaskMixin):
    """
    Start work on a protected item, then wait on the job it started: the base of the operators that act.

    It reads the item first and refuses, without sending anything, what the service would refuse.
    Work already under way on the item (a call the task's earlier try sent) is waited on, not started
    again; work already done is reported, not redone; a call whose answer was lost is not sent again
    before the item has been read again. The job is judged as the job sensor judges it.
    """

    #: Calls sent at most per run (a lost answer, then the item read again, then sent again).
    MAX_SENDS = 3

    def __init__(
        self,
        *,
        wait_for_termination: bool = True,
        check_interval: float = 60.0,
        timeout: float = 7 * 24 * 3600.0,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        if not float(check_interval) > 0:
            raise ValueError(f"check_interval must be a positive number of seconds, got {check_interval!r}")
        if not float(timeout) >= 0:
            raise ValueError(f"timeout must be a non-negative number of seconds, got {timeout!r}")
        self.wait_for_termination = wait_for_termination
        self.check_interval = float(check_interval)
        self.timeout = float(timeout)
        self.deferrable = deferrable
        super().__init__(**kwargs)

    def plan(self, item: ProtectedItemStatus | None, running: dict[str, Any] | None) -> Plan:
        """
        Decide what to do with the item as it is now; raise what the service would refuse.

        :param item: The item (``None``: there is none).
        :param running: The job running on the item now (``name``, ``scenarioName`` or
            ``displayName``), if any.
        """
        raise NotImplementedError

    def execute(self, context: Context) -> dict[str, Any] | None:
        """Start the work (or find it under way, or done), then wait on its job as asked."""
        try:
            item = cast("ProtectedItem", self.target)
            self.remember_portal_link(context, item)
            job_name, operation_url, done = self._start(context, item)
            ti = context.get("ti")
            if ti is not None:
                ti.xcom_push(key="job_name", value=job_name)
                ti.xcom_push(key="operation_url", value=operation_url)
            if job_name is None:
                return None
            self._job_name = job_name
            job = item.job(job_name)
            if done or not self.wait_for_termination:
                status = self.hook.get_status(job)
                self.log.info("%s is %s", job.describe(), status.state)
                return status.to_dict()
            if self.deferrable:
                self.defer_wait(job, poll_interval=self.check_interval, timeout=self.timeout)
            status = self.hook.wait_for(job, check_interval=self.check_interval, timeout=self.timeout)
            return self.judge(status, job.describe(), kind=job.kind)
        finally:
            self.close_hook()

    def _start(self, context: Context, item: ProtectedItem) -> tuple[str | None, str | None, bool]:
        """
        Send the call once (again only after reading the item again, when its answer was lost).

        Return the job, the operation URL the call answered with, and whether the work was done
        already (nothing sent).
        """
        from airflow_provider_datareplication.exceptions import AzureDataReplicationTransientError

        ti = context.get("ti")
        suspect = ti is not None and int(getattr(ti, "try_number", 1) or 1) > 1
        lost: AzureDataReplicationTransientError | None = None
        for _ in range(self.MAX_SENDS):
            status = self.hook.find_protected_item(item)
            running = status.running_job if status is not None else None
            if running is None and status is not None and (suspect or lost is not None):
                running = self._running_job_in_list(item)
            plan = self.plan(status, running)
            if plan.note:
                self.log.info("%s: %s", item.describe(), plan.note)
            if plan.action is None:
                return plan.job_name, None, plan.done
            self.log.info("Sending: %s %s", plan.action.doing, item.describe())
            try:
                started = self.hook.start(item, plan.action)
            except AzureDataReplicationTransientError as err:
                # The call may have been taken: read the item again before anything is sent again.
                self.log.warning("%s; reading %s again before sending anything again", err, item.describe())
                lost = err
                continue
            self.log.info(
                "%s: %s started job %s (%s)",
                item.describe(),
                plan.action.doing,
                started.job_name,
                started.operation_url,
            )
            return started.job_name, started.operation_url, False
        assert lost is not None
        raise lost

    def _running_job_in_list(self, item: ProtectedItem) -> dict[str, Any] | None:
        """Find the newest running job on the item in its vault's job list (filtered here), if any."""
        name = item.protected_item_name.lower()
        running = []
        for entry in self.hook.list_jobs(item):
            properties = entry.get("properties") or {}
            object_id = str(properties.get("objectId") or "").lower()
            on_item = object_id.endswith(f"/protecteditems/{name}") or name in (
                str(properties.get("objectName") or "").lower(),
                str(properties.get("objectInternalName") or "").lower(),
            )
            if on_item and job_is_running(properties) and entry.get("name"):
                running.append({**properties, "name": entry["name"]})
        running.sort(key=lambda job: str(job.get("startTime") or ""), reverse=True)
        return running[0] if running else None

    @staticmethod
    def runs(job: dict[str, Any] | None, scenario: str) -> bool:
        """
        Whether a job is one of ``scenario`` (by ``scenarioName``, else ``displayName``).

        :param job: ``currentJob``, or a job list entry's properties.
        :param scenario: The scenario (``PlannedFailover``, ``DisableProtection``, ...).
        """
        return job is not None and _scenario(job.get("scenarioName") or job.get("displayName")) == _scenario(
            scenario
        )

    def refuse(self, item: ProtectedItemStatus, wanted: str) -> AzureDataReplicationActionRefusedError:
        """
        Build the error for an action the item does not allow now (nothing was sent).

        :param item: The item.
        :param wanted: What the action needs, in words.
        """
        from airflow_provider_datareplication.exceptions import AzureDataReplicationActionRefusedError

        return AzureDataReplicationActionRefusedError(
            f"Not sent: {self.target.describe()} is {item.describe_state()}; {wanted}"
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Judge the job the trigger waited on."""
        try:
            status, what = self.wait_ended(context, event)
            return self.judge(status, what, kind="job")
        finally:
            self.close_hook()

    def status_from_event(self, body: dict[str, Any]) -> Status:
        """Rebuild the job the trigger waited on."""
        return Job.from_dict(body)

    def on_kill(self) -> None:
        """Say that the job goes on: the service has no call to cancel it."""
        job = getattr(self, "_job_name", None)
        self.log.warning(
            "The task was killed, but Data Replication has no call to cancel a job: %s goes on in Azure "
            "(the task's Azure portal link shows it; a new try of the task waits on it rather than "
            "starting it again)",
            f"job {job!r}" if job else "the work this task started, if any,",
        )


class AzureDataReplicationCreateProtectedItemOperator(AzureDataReplicationBaseProtectedItemOperator):
    """
    Enable replication of a server: create its protected item, then wait on the enable-protection job.

    Sends ``PUT .../protectedItems/{item}`` with ``{"properties": properties}`` (as
    ``New-AzMigrateLocalServerReplication`` does), takes the job from the answer's
    ``Azure-AsyncOperation`` URL and, with ``wait_for_termination``, waits until it has ended (in
    the worker, or deferred). Initial replication follows and takes hours to days: wait for it with
    :class:`~airflow_provider_datareplication.sensors.data_replication.AzureDataReplicationProtectedItemSensor`
    (``until="ready_to_migrate"``). An item that exists is not created again (its enable-protection
    job is waited on if it still runs); an item in a failed state is refused: delete it first.
    ``return_value`` is the job's body (the last one read); the keys ``job_name`` and
    ``operation_url`` hold what the call returned.

    :param protected_item_name: The protected item to create (templated).
    :param properties: The item's ``properties`` as the service takes them (templated):
        ``policyName``, ``replicationExtensionName`` and ``customProperties`` with its
        ``instanceType`` (``HyperVToAzStackHCI``, ``VMwareToAzStackHCI``) and the scenario's fields.
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version (templated): ``2024-09-01`` (default) or ``2026-05-01``.
    :param azure_data_replication_conn_id: The Airflow connection (templated).
    :param wait_for_termination: Wait until the job has ended (else return after starting it).
    :param check_interval: Seconds between reads of the job while waiting.
    :param timeout: Seconds to wait at most (default 7 days); the job goes on in Azure after that.
    :param deferrable: Wait in the triggerer instead of a worker slot; defaults to
        ``[operators] default_deferrable``.
    """

    template_fields: tuple[str, ...] = (*ProtectedItemTaskMixin.template_fields, "properties")

    def __init__(self, *, properties: dict[str, Any], **kwargs: Any) -> None:
        self.properties = properties
        super().__init__(**kwargs)

    def plan(self, item: ProtectedItemStatus | None, running: dict[str, Any] | None) -> Plan:
        """Create the item unless it exists; one in a failed state is refused."""
        if item is None:
            return Plan(create_item(check_properties(self.properties)))
        if item.failed:
            raise self.refuse(item, "delete it first (it exists in a failed state)")
        if running is not None:
            return Plan(
                job_name=str(running["name"]), note=f"exists; waiting on its running job {running['name']}"
            )
        last = item.current_job
        return Plan(
            job_name=str(last["name"]) if last else None, done=True, note="exists already: not created again"
        )


class AzureDataReplicationPlannedFailoverOperator(AzureDataReplicationBaseProtectedItemOperator):
    """
    Migrate a server: start a planned failover of its protected item, then wait on the job.

    Sends ``POST .../protectedItems/{item}/plannedFailover`` with the item's own
    ``customProperties.instanceType`` and ``shutdownSourceVM`` (as
    ``Start-AzMigrateLocalServerMigration`` does), takes the job from the answer's
    ``Azure-AsyncOperation`` URL and, with ``wait_for_termination``, waits until it has ended (a
    planned failover takes half an hour or so). The item must allow it: ``allowedJobs`` has
    ``PlannedFailover`` (or ``Restart``, after a failed one); otherwise nothing is sent and the task
    fails naming the state and what it allows. A failover already under way is waited on; an item
    already ``PlannedFailoverCompleted`` is not failed over again. ``return_value`` is the job's
    body; the keys ``job_name`` and ``operation_url`` hold what the call returned.

    :param protected_item_name: The protected item to fail over (templated).
    :param shutdown_source_vm: Shut the source server down before the cut-over.
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version (templated): ``2024-09-01`` (default) or ``2026-05-01``.
    :param azure_data_replication_conn_id: The Airflow connection (templated).
    :param wait_for_termination: Wait until the job has ended (else return after starting it).
    :param check_interval: Seconds between reads of the job while waiting.
    :param timeout: Seconds to wait at most (default 7 days); the job goes on in Azure after that.
    :param deferrable: Wait in the triggerer instead of a worker slot; defaults to
        ``[operators] default_deferrable``.
    """

    def __init__(self, *, shutdown_source_vm: bool = False, **kwargs: Any) -> None:
        self.shutdown_source_vm = shutdown_source_vm
        super().__init__(**kwargs)

    def plan(self, item: ProtectedItemStatus | None, running: dict[str, Any] | None) -> Plan:
        """Fail over an item that allows it; wait on one under way; report one already migrated."""
        from airflow_provider_datareplication.exceptions import AzureDataReplicationActionRefusedError

        if item is None:
            raise AzureDataReplicationActionRefusedError(f"Not sent: there is no {self.target.describe()}")
        if self.runs(running, "PlannedFailover"):
            assert running is not None
            return Plan(
                job_name=str(running["name"]), note=f"a planned failover is under way: job {running['name']}"
            )
        if (item.protection_state or "").lower() == MIGRATED_STATE.lower():
            last = item.current_job
            return Plan(
                job_name=str(last["name"]) if last else None,
                done=True,
                note="failed over already (PlannedFailoverCompleted): not failed over again",
            )
        if not any(job in item.allowed_jobs for job in FAILOVER_JOBS):
            raise self.refuse(
                item, "a planned failover needs PlannedFailover (or Restart) among its allowed jobs"
            )
        if not item.instance_type:
            raise self.refuse(item, "its customProperties carry no instanceType to fail over with")
        return Plan(
            planned_failover(
                instance_type=item.instance_type, shutdown_source_vm=bool(self.shutdown_source_vm)
            )
        )


class AzureDataReplicationDeleteProtectedItemOperator(AzureDataReplicationBaseProtectedItemOperator):
    """
    Disable replication of a server (after its migration: complete it), then wait on the job.

    Sends ``DELETE .../protectedItems/{item}`` (``forceDelete`` as asked; as
    ``Remove-AzMigrateLocalServerReplication`` does), takes the job from the answer's
    ``Azure-AsyncOperation`` URL and, with ``wait_for_termination``, waits until it has ended; the
    item is then gone. The item must allow it (``DisableProtection`` among its ``allowedJobs``)
    unless ``force_delete``; otherwise nothing is sent and the task fails naming the state and what
    it allows. A removal already under way is waited on; an item already gone is not deleted again.
    ``return_value`` is the job's body; the keys ``job_name`` and ``operation_url`` hold what the
    call returned.

    :param protected_item_name: The protected item to remove (templated).
    :param force_delete: Remove the item whatever its state (``forceDelete=true``).
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version (templated): ``2024-09-01`` (default) or ``2026-05-01``.
    :param azure_data_replication_conn_id: The Airflow connection (templated).
    :param wait_for_termination: Wait until the job has ended (else return after starting it).
    :param check_interval: Seconds between reads of the job while waiting.
    :param timeout: Seconds to wait at most (default 7 days); the job goes on in Azure after that.
    :param deferrable: Wait in the triggerer instead of a worker slot; defaults to
        ``[operators] default_deferrable``.
    """

    def __init__(self, *, force_delete: bool = False, **kwargs: Any) -> None:
        self.force_delete = force_delete
        super().__init__(**kwargs)

    def plan(self, item: ProtectedItemStatus | None, running: dict[str, Any] | None) -> Plan:
        """Remove an item that allows it (or when forced); wait on a removal under way; report one gone."""
        if item is None:
            return Plan(done=True, note="gone already: not deleted again")
        if self.runs(running, "DisableProtection"):
            assert running is not None
            return Plan(job_name=str(running["name"]), note=f"a removal is under way: job {running['name']}")
        if REMOVAL_JOB not in item.allowed_jobs and not self.force_delete:
            raise self.refuse(
                item, "a removal needs DisableProtection among its allowed jobs (or force_delete)"
            )
        return Plan(delete_item(force_delete=bool(self.force_delete)))


#: What the service requires of a new item's ``properties``, by path.
_REQUIRED_PROPERTIES = (("policyName",), ("replicationExtensionName",), ("customProperties", "instanceType"))


def check_properties(properties: Any) -> dict[str, Any]:
    """
    Return a new item's ``properties`` checked for what the service requires, before anything is sent.

    :param properties: The ``properties`` parameter, as rendered.
    """
    if not isinstance(properties, dict):
        raise ValueError(f"properties must be a JSON object (a dict), got {type(properties).__name__}")
    for path in _REQUIRED_PROPERTIES:
        value: Any = properties
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value in (None, ""):
            raise ValueError(f"properties must have {'.'.join(path)} (the service requires it)")
    return properties
