"""
Operators of a replication vault: report an operation or a job to XCom; start the work on a protected item.

The status operators read once. The operators that act (enable replication, a planned failover,
disable replication) start the service's call, then wait on the job it started.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, cast

from airflow_provider_datareplication.actions import create_item, delete_item, planned_failover, update_item
from airflow_provider_datareplication.arguments import as_bool, as_bool_or_template, check_wait
from airflow_provider_datareplication.identifiers import JOB_API_VERSION, ReplicationVault, VaultJob
from airflow_provider_datareplication.job import Job
from airflow_provider_datareplication.mixins import (
    AzureDataReplicationTaskMixin,
    InVaultTaskMixin,
    JobTaskMixin,
    OperationTaskMixin,
    ProtectedItemTaskMixin,
)
from airflow_provider_datareplication.protected_item import (
    COMMIT_JOB,
    DISABLE_PROTECTION,
    ENABLE_PROTECTION,
    FAILING_OVER,
    FAILOVER_JOBS,
    PLANNED_FAILOVER,
    REMOVAL_JOB,
    REMOVING,
    UPDATE_PROTECTED_ITEM,
    job_is_on_item,
    job_is_running,
    job_started,
)
from airflow_provider_datareplication.version_compat import conf

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_datareplication.actions import ItemAction
    from airflow_provider_datareplication.exceptions import (
        AzureDataReplicationActionRefusedError,
        AzureDataReplicationError,
    )
    from airflow_provider_datareplication.identifiers import ProtectedItem, Status
    from airflow_provider_datareplication.protected_item import ProtectedItemStatus, Scenario


#: Before any job (a job that says no start time sorts as the oldest).
_LONG_AGO = datetime.min.replace(tzinfo=UTC)


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


class AzureDataReplicationListProtectedItemsOperator(InVaultTaskMixin):
    """
    Push one row per protected item (server) of a vault to XCom, and log them as a table: a wave's state.

    Reads the vault's list ("Protected Item - List", every page; never one read per item) once.
    Each row (``return_value``, a list) holds the item, its source VM's name, ``protectionState``,
    the replication's progress in percent (a resynchronization's while one runs), its
    ``replicationHealth`` and first health error, its ``allowedJobs``, and its current job (else
    the newest last job it names) with that job's state. It reports and does not judge: a failed
    item is a row like any other.

    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version (templated): ``2024-09-01`` (default) or ``2026-05-01``.
    :param azure_data_replication_conn_id: The Airflow connection (templated).
    """

    target_class = ReplicationVault
    template_fields: tuple[str, ...] = (*ReplicationVault.task_parameters(), "azure_data_replication_conn_id")

    def __init__(self, *, api_version: str = JOB_API_VERSION, **kwargs: Any) -> None:
        self.api_version = api_version
        super().__init__(**kwargs)

    def execute(self, context: Context) -> list[dict[str, Any]]:
        """Read the vault's list; the rows are the ``return_value`` XCom."""
        from airflow_provider_datareplication.protected_item import format_table

        try:
            vault = cast("ReplicationVault", self.target)
            self.remember_portal_link(context, vault)
            rows = [item.row() for item in self.hook.list_protected_items(**vault.to_dict())]
            self.log.info("%d protected item(s) in %s:\n%s", len(rows), vault.describe(), format_table(rows))
            return rows
        finally:
            self.close_hook()


@dataclass(frozen=True)
class Plan:
    """
    What an operator that starts work does, given the item as it is now.

    :param action: The call to send (``None``: send nothing).
    :param job_name: The job of work already under way (waited on), or of this attempt's work that
        has ended (judged: a failure fails the task).
    :param done: Whether that work has ended: its job is read once and judged, not waited on.
    :param note: Why, for the task log.
    """

    action: ItemAction | None = None
    job_name: str | None = None
    done: bool = False
    note: str = ""


class AzureDataReplicationBaseProtectedItemOperator(ProtectedItemTaskMixin):
    """
    Start work on a protected item, then wait on the job it started: the base of the operators that act.

    It reads the item first and refuses, without sending anything, what the service would refuse.
    Work is never started twice, and what this attempt's work came to is the task's outcome:

    - the item's job of this kind (found in the vault's job list, newest first, as Azure's tools
      find it) that still runs is waited on, whoever started it;
    - one that began since this attempt began and has ended is judged: a success is reported, a
      failure fails the task with the job's errors, and nothing is sent again;
    - older work is history: a failed one may be restarted where the item allows it.

    An attempt begins with the task's first try: the first try itself (Airflow's first try number,
    ``max_tries - retries + 1``, which a person's clear moves on), whose own start it reads; a later
    try cannot read its first try's start and takes the DAG run's start, which is earlier, so that in
    doubt nothing is sent again. :attr:`CLOCK_SKEW` seconds are allowed between Airflow's clock and
    the service's. A call whose answer was lost is not sent again before the item (and the job list)
    has been read again; a 409 from the service is waited through when the item now shows the same
    work under way.
    """

    #: The work this operator starts, and how its jobs are named.
    scenario: ClassVar[Scenario]
    #: Calls sent at most per try (a lost answer or a 409, then the item read again, then sent again).
    MAX_SENDS = 3
    #: Seconds a job of this attempt may seem to begin before it, by the service's clock.
    CLOCK_SKEW = 60.0
    template_fields: tuple[str, ...] = (*ProtectedItemTaskMixin.template_fields, "check_interval", "timeout")

    def __init__(
        self,
        *,
        wait_for_termination: bool = True,
        check_interval: float = 60.0,
        timeout: float = 7 * 24 * 3600.0,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        self.wait_for_termination = as_bool("wait_for_termination", wait_for_termination)
        self.deferrable = as_bool("deferrable", deferrable)
        checked = check_wait("check_interval", check_interval, "timeout", timeout)
        self.check_interval: Any = checked[0] if checked else check_interval
        self.timeout: Any = checked[1] if checked else timeout
        super().__init__(**kwargs)

    def check_arguments(self) -> None:
        """Check the arguments as rendered, before anything is sent (each literal one was, when built)."""
        checked = check_wait("check_interval", self.check_interval, "timeout", self.timeout)
        if checked is None:
            raise ValueError(
                f"check_interval and timeout must be numbers of seconds once rendered, got "
                f"{self.check_interval!r} and {self.timeout!r}"
            )
        self.check_interval, self.timeout = checked

    def plan(self, item: ProtectedItemStatus | None, job: dict[str, Any] | None) -> Plan:
        """
        Decide what to do with the item as it is now; raise what the service would refuse.

        :param item: The item (``None``: there is none, its vault there).
        :param job: The item's job of :attr:`scenario` that runs now, or that began in this attempt
            (its ``properties``, with its ``name``), if any.
        """
        raise NotImplementedError

    def follow(self, job: dict[str, Any] | None) -> Plan | None:
        """
        Plan for the item's job of this kind, if there is one to follow: wait on it, or judge it.

        :param job: What :meth:`plan` was given.
        """
        if job is None:
            return None
        name, words, started = str(job["name"]), self.scenario.words, job_started(job)
        when = f"begun {started:%Y-%m-%d %H:%M:%S} UTC" if started else "begun at a time not given"
        if job_is_running(job):
            return Plan(job_name=name, note=f"its {words} is under way (job {name}, {when}): waiting on it")
        return Plan(
            job_name=name,
            done=True,
            note=f"its {words} of this attempt (job {name}, {when}) has ended {job.get('state')}: "
            "judged, not sent again",
        )

    def execute(self, context: Context) -> dict[str, Any] | None:
        """Start the work (or find it under way, or ended), then wait on its job as asked."""
        try:
            self.check_arguments()
            item = cast("ProtectedItem", self.target)
            self.remember_portal_link(context, item)
            job_name, operation_url, done = self._start(context, item)
            job = item.job(job_name) if job_name else None
            status = None
            if job is not None and (operation_url is None or done or not self.wait_for_termination):
                status = self.hook.get_status(job)
                if operation_url is None and status.vault_guid:
                    # The same URL the call that started it answered with, as a retry of it pushes it.
                    operation_url = item.operation_results_url(
                        self.hook.connection.resource_manager_url, job.job_name, status.vault_guid
                    )
            ti = context.get("ti")
            if ti is not None:
                ti.xcom_push(key="job_name", value=job_name)
                ti.xcom_push(key="operation_url", value=operation_url)
            if job is None:
                return None
            self._job_name = job.job_name
            if status is not None and done:
                return self.judge(status, job.describe(), failure=job.failure_error)
            if status is not None and not self.wait_for_termination:
                self.log.info("%s is %s", job.describe(), status.state)
                return status.to_dict()
            if status is not None and status.is_terminal:  # work found under way has ended since
                return self.judge(status, job.describe(), failure=job.failure_error)
            if self.deferrable:
                self.defer_wait(job, poll_interval=self.check_interval, timeout=self.timeout)
            status = self.hook.wait_for(job, check_interval=self.check_interval, timeout=self.timeout)
            return self.judge(status, job.describe(), failure=job.failure_error)
        finally:
            self.close_hook()

    def _start(self, context: Context, item: ProtectedItem) -> tuple[str | None, str | None, bool]:
        """
        Send the call once (again only after reading the item again, when its answer was lost).

        Return the job, the operation URL the call answered with (``None`` for work found, not
        started), and whether that work has ended.
        """
        from airflow_provider_datareplication.exceptions import (
            AzureDataReplicationClientError,
            AzureDataReplicationTransientError,
        )

        began = self.attempt_began(context)
        ti = context.get("ti")
        retried = ti is not None and int(getattr(ti, "try_number", 1) or 1) > 1
        trouble: AzureDataReplicationError | None = None
        for _ in range(self.MAX_SENDS):
            status = self.hook.find_protected_item(item)
            job = self._job_of(item, status, began, look=retried or trouble is not None)
            plan = self.plan(status, job)
            if plan.note:
                self.log.info("%s: %s", item.describe(), plan.note)
            if plan.action is None:
                return plan.job_name, None, plan.done
            if isinstance(trouble, AzureDataReplicationClientError):
                if status is None:
                    raise trouble
                raise self.refuse(
                    status, f"the service refused it ({trouble}) and no {self.scenario.words} runs"
                )
            self.log.info("Sending: %s %s", plan.action.doing, item.describe())
            try:
                started = self.hook.start(item, plan.action)
            except AzureDataReplicationTransientError as err:
                # The call may have been taken: read the item again before anything is sent again.
                self.log.warning("%s; reading %s again before sending anything again", err, item.describe())
                trouble = err
                continue
            except AzureDataReplicationClientError as err:
                if err.http_status != 409:
                    raise
                # Another task's call may have been taken first: the same work then runs already.
                self.log.warning("%s; reading %s again", err, item.describe())
                trouble = err
                continue
            self.log.info(
                "%s: %s started job %s (%s)",
                item.describe(),
                plan.action.doing,
                started.job_name,
                started.operation_url,
            )
            return started.job_name, started.operation_url, False
        assert trouble is not None
        raise trouble

    def attempt_began(self, context: Context) -> datetime:
        """
        Return when this attempt at the work began (less :attr:`CLOCK_SKEW`): jobs since are its own.

        :param context: The task's context (its task instance and DAG run).
        """
        now = datetime.now(UTC)
        ti = context.get("ti")
        try_number = int(getattr(ti, "try_number", 1) or 1)
        max_tries = getattr(ti, "max_tries", None)
        first_try = max_tries - (self.retries or 0) + 1 if isinstance(max_tries, int) else 1
        if ti is None or try_number <= first_try:
            began = getattr(ti, "start_date", None) or now
        else:
            began = getattr(context.get("dag_run"), "start_date", None) or now
        if began.tzinfo is None:
            began = began.replace(tzinfo=UTC)
        return min(began, now) - timedelta(seconds=self.CLOCK_SKEW)

    def _job_of(
        self, item: ProtectedItem, status: ProtectedItemStatus | None, began: datetime, *, look: bool
    ) -> dict[str, Any] | None:
        """
        Find the item's job of :attr:`scenario` that runs now, or that began since ``began``.

        The item's own references are read first; the vault's job list when this may be a later
        try, after a lost answer or a 409, or when the item shows such work under way (the service's
        items name no running job: the list does).
        """
        scenario = self.scenario
        jobs = []
        if status is not None:
            for key in ("currentJob", scenario.last_failed):
                ref = status.properties.get(key) if key else None
                if isinstance(ref, dict) and ref.get("name") and scenario.runs(ref):
                    jobs.append(ref)
        under_way = status is not None and status.phase == scenario.running_phase
        if (look or under_way) and (listed := self._job_in_list(item, began, under_way=under_way)):
            jobs.append(listed)
        for job in jobs:
            if job_is_running(job):
                return job
        newest = max(jobs, key=lambda job: job_started(job) or _LONG_AGO, default=None)
        started = job_started(newest)
        return newest if started is not None and started >= began else None

    def _job_in_list(self, item: ProtectedItem, began: datetime, *, under_way: bool) -> dict[str, Any] | None:
        """
        Find the item's newest job of :attr:`scenario` in its vault's job list (filtered here).

        The service lists jobs newest first (every recording shows it; the API does not promise
        it): paging stops at the first such job, or at jobs older than ``began`` unless the item
        shows the work under way. A list found out of order is read to its end.
        """
        newest: dict[str, Any] | None = None
        ordered, previous = True, None
        for entry in self.hook.iter_jobs(item):
            properties = entry.get("properties") or {}
            started = job_started(properties)
            if started is not None:
                ordered = ordered and (previous is None or started <= previous)
                previous = started
            if (
                entry.get("name")
                and job_is_on_item(properties, item.resource_id, item.protected_item_name)
                and self.scenario.runs(properties)
            ):
                job = {**properties, "name": entry["name"]}
                if newest is None or (job_started(job) or began) > (job_started(newest) or began):
                    newest = job
                if ordered:
                    break
            if ordered and not under_way and started is not None and started < began:
                break
        return newest

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
            return self.judge(status, what, failure=VaultJob.failure_error)
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


#: The create operator's machine inputs (``New-AzMigrateLocalServerReplication``'s), in its order.
MACHINE_INPUTS = (
    "machine_id",
    "target_storage_path_id",
    "target_resource_group_id",
    "target_vm_name",
    "target_virtual_switch_id",
    "os_disk_id",
    "source_appliance_name",
    "target_appliance_name",
    "target_test_virtual_switch_id",
    "target_vm_cpu_cores",
    "target_vm_ram_mb",
    "is_dynamic_memory_enabled",
    "disks",
    "nics",
)
#: Those a machine's replication needs.
_REQUIRED_MACHINE_INPUTS = MACHINE_INPUTS[1:4] + MACHINE_INPUTS[6:8]


class AzureDataReplicationCreateProtectedItemOperator(AzureDataReplicationBaseProtectedItemOperator):
    """
    Enable replication of a server: create its protected item, then wait on the enable-protection job.

    Sends ``PUT .../protectedItems/{item}`` with ``{"properties": properties}`` (as
    ``New-AzMigrateLocalServerReplication`` does), takes the job from the answer's
    ``Azure-AsyncOperation`` URL and, with ``wait_for_termination``, waits until it has ended (in
    the worker, or deferred). Initial replication follows and takes hours to days: wait for it with
    :class:`~airflow_provider_datareplication.sensors.data_replication.AzureDataReplicationProtectedItemSensor`
    (``until="ready_to_migrate"``).

    An item that exists is compared with ``properties`` first: every field given that the item
    carries (ids and names case-insensitively, as ARM treats them; lists of disks and NICs by their
    ids) must match, else nothing is sent and the task fails naming each difference. A matching item
    is not created again: its enable-protection job of this attempt is waited on or judged, an item
    failed over already is reported with its state (no job); an item whose removal or failover is
    under way, or in a failed state, is refused. ``return_value`` is the job's body (the last one
    read); the keys ``job_name`` and ``operation_url`` name the job and its operation, whichever try
    started it.

    The ``properties`` come from a discovered machine, as ``New-AzMigrateLocalServerReplication``
    builds them (``machine_id`` and the inputs below: read and checked in the worker, nothing at
    parse time; see the hook's ``resolve_replication``), or are given whole (``properties``), not
    both. With ``machine_id`` the vault and its resource group are the Migrate project's, and
    ``protected_item_name`` defaults to the machine's name (as the cmdlet's).

    :param protected_item_name: The protected item to create (templated); with ``machine_id``,
        defaults to the machine's name.
    :param properties: Instead of a machine: the item's ``properties`` as the service takes them
        (templated): ``policyName``, ``replicationExtensionName`` and ``customProperties`` with its
        ``instanceType`` (``HyperVToAzStackHCI``, ``VMwareToAzStackHCI``) and the scenario's fields.
    :param machine_id: The discovered machine (``.../Microsoft.OffAzure/{HyperVSites|VMwareSites}/
        {site}/machines/{machine}``; templated).
    :param target_storage_path_id: The Azure Local storage path (``storageContainers``; templated).
    :param target_resource_group_id: The resource group the VM lands in (templated).
    :param target_vm_name: The VM's name on Azure Local (templated; the cmdlet's rules).
    :param target_virtual_switch_id: The logical network every NIC goes to (templated; the default
        mapping, with ``os_disk_id``).
    :param os_disk_id: The OS disk: a Hyper-V disk's ``instanceId``, a VMware disk's ``uuid``
        (templated).
    :param source_appliance_name: The discovery appliance (templated).
    :param target_appliance_name: The Azure Local appliance (templated).
    :param target_test_virtual_switch_id: The test failover's logical network (default: the target's).
    :param target_vm_cpu_cores: CPU cores, 1 to 64 (default: the machine's).
    :param target_vm_ram_mb: Memory in MB (default: the machine's, at least 1 GB).
    :param is_dynamic_memory_enabled: Dynamic memory (default: the machine's; off for VMware).
    :param disks: The power-user mapping (with ``nics``, instead of ``os_disk_id`` and
        ``target_virtual_switch_id``): each disk in the service's words (``diskId``, ``diskSizeGB``,
        ``diskFileFormat``, ``isDynamic``, ``isOsDisk``...), one the OS disk.
    :param nics: The power-user mapping's NICs (``nicId``, ``targetNetworkId``, optionally
        ``testNetworkId``, ``selectionTypeForFailover``).
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version (templated): ``2024-09-01`` (default) or ``2026-05-01``.
    :param azure_data_replication_conn_id: The Airflow connection (templated).
    :param wait_for_termination: Wait until the job has ended (else return after starting it).
    :param check_interval: Seconds between reads of the job while waiting (templated).
    :param timeout: Seconds to wait at most (default 7 days; templated); the job goes on in Azure after that.
    :param deferrable: Wait in the triggerer instead of a worker slot; defaults to
        ``[operators] default_deferrable``.
    """

    scenario = ENABLE_PROTECTION
    template_fields: tuple[str, ...] = (
        *AzureDataReplicationBaseProtectedItemOperator.template_fields,
        "properties",
        *MACHINE_INPUTS,
    )
    template_fields_renderers = {"properties": "json", "disks": "json", "nics": "json"}

    def __init__(
        self,
        *,
        protected_item_name: str | None = None,
        properties: dict[str, Any] | None = None,
        machine_id: str | None = None,
        target_storage_path_id: str | None = None,
        target_resource_group_id: str | None = None,
        target_vm_name: str | None = None,
        target_virtual_switch_id: str | None = None,
        os_disk_id: str | None = None,
        source_appliance_name: str | None = None,
        target_appliance_name: str | None = None,
        target_test_virtual_switch_id: str | None = None,
        target_vm_cpu_cores: int | None = None,
        target_vm_ram_mb: int | None = None,
        is_dynamic_memory_enabled: bool | None = None,
        disks: list[dict[str, Any]] | None = None,
        nics: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        from airflow_provider_datareplication.arguments import literal

        given = {
            "machine_id": machine_id,
            "target_storage_path_id": target_storage_path_id,
            "target_resource_group_id": target_resource_group_id,
            "target_vm_name": target_vm_name,
            "target_virtual_switch_id": target_virtual_switch_id,
            "os_disk_id": os_disk_id,
            "source_appliance_name": source_appliance_name,
            "target_appliance_name": target_appliance_name,
            "target_test_virtual_switch_id": target_test_virtual_switch_id,
            "target_vm_cpu_cores": target_vm_cpu_cores,
            "target_vm_ram_mb": target_vm_ram_mb,
            "is_dynamic_memory_enabled": is_dynamic_memory_enabled,
            "disks": disks,
            "nics": nics,
        }
        check_machine_inputs(properties, protected_item_name, given)
        if literal(is_dynamic_memory_enabled):
            given["is_dynamic_memory_enabled"] = as_bool(
                "is_dynamic_memory_enabled", is_dynamic_memory_enabled
            )
        self.properties: Any = properties
        self.machine_id: Any = machine_id
        for name, value in given.items():
            setattr(self, name, value)
        super().__init__(protected_item_name=cast("str", protected_item_name), **kwargs)

    def check_arguments(self) -> None:
        """
        Check the rendered arguments; with ``machine_id``, resolve the ``properties`` as the cmdlet does.

        The resolution reads the machine, its project, the vault and the infrastructure (the hook's
        :meth:`~airflow_provider_datareplication.hooks.data_replication.AzureDataReplicationHook.resolve_replication`)
        and refuses, before anything is written, what the cmdlet refuses.
        """
        super().check_arguments()
        if self.machine_id is not None:
            self._resolve_machine()
        check_properties(self.properties)

    def _resolve_machine(self) -> None:
        inputs = {name: getattr(self, name) for name in MACHINE_INPUTS}
        if inputs["is_dynamic_memory_enabled"] is not None:
            inputs["is_dynamic_memory_enabled"] = as_bool(
                "is_dynamic_memory_enabled", inputs["is_dynamic_memory_enabled"]
            )
        replication = self.hook.resolve_replication(
            **inputs,
            protected_item_name=self.protected_item_name,
            vault_name=self.vault_name,
            resource_group_name=self.resource_group_name,
            subscription_id=self.subscription_id,
            api_version=self.api_version,
        )
        for warning in replication.warnings:
            self.log.warning("%s: %s", self.machine_id, warning)
        self.properties = replication.properties
        self.protected_item_name = replication.protected_item_name
        self.vault_name = replication.vault_name
        self.resource_group_name = replication.resource_group_name
        self.subscription_id = replication.subscription_id
        self.__dict__.pop("target", None)

    def plan(self, item: ProtectedItemStatus | None, job: dict[str, Any] | None) -> Plan:
        """Create the item unless it exists as asked; refuse one that differs, is failed or busy."""
        if item is None:
            return Plan(create_item(self.properties))
        if item.phase in (REMOVING, FAILING_OVER):
            raise self.refuse(item, f"it is {item.phase}: create it again once that has ended")
        if differences := properties_differences(self.properties, item):
            raise self.refuse(
                item, "it exists with other properties than the task's: " + "; ".join(differences)
            )
        if (followed := self.follow(job)) is not None:
            return followed
        if item.failed:
            raise self.refuse(item, "delete it first (it exists in a failed state)")
        if item.failed_over:
            return Plan(note=f"failed over already ({item.protection_state}): not created again")
        return Plan(note="exists already with the task's properties: not created again")


class AzureDataReplicationPlannedFailoverOperator(AzureDataReplicationBaseProtectedItemOperator):
    """
    Migrate a server: start a planned failover of its protected item, then wait on the job.

    Sends ``POST .../protectedItems/{item}/plannedFailover`` with the item's own
    ``customProperties.instanceType`` and ``shutdownSourceVM`` (as
    ``Start-AzMigrateLocalServerMigration`` does), takes the job from the answer's
    ``Azure-AsyncOperation`` URL and, with ``wait_for_termination``, waits until it has ended (a
    planned failover takes half an hour or so). The item must allow it: ``allowedJobs`` has
    ``PlannedFailover`` (or ``Restart``, after a failed one); otherwise nothing is sent and the task
    fails naming the state and what it allows. A failover under way is waited on; one of this
    attempt that failed fails the task with its errors and is not restarted (a failed one from
    before the attempt is: a new DAG run, or a person's clear of the task, begins a new attempt); an
    item already failed over is not failed over again. ``return_value`` is the job's body; the keys
    ``job_name`` and ``operation_url`` name the job and its operation, whichever try started it.

    :param protected_item_name: The protected item to fail over (templated).
    :param shutdown_source_vm: Shut the source server down before the cut-over (templated: ``true``
        or ``false`` once rendered, in any case; anything else is refused).
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version (templated): ``2024-09-01`` (default) or ``2026-05-01``.
    :param azure_data_replication_conn_id: The Airflow connection (templated).
    :param wait_for_termination: Wait until the job has ended (else return after starting it).
    :param check_interval: Seconds between reads of the job while waiting (templated).
    :param timeout: Seconds to wait at most (default 7 days; templated); the job goes on in Azure after that.
    :param deferrable: Wait in the triggerer instead of a worker slot; defaults to
        ``[operators] default_deferrable``.
    """

    scenario = PLANNED_FAILOVER
    template_fields: tuple[str, ...] = (
        *AzureDataReplicationBaseProtectedItemOperator.template_fields,
        "shutdown_source_vm",
    )

    def __init__(self, *, shutdown_source_vm: bool = False, **kwargs: Any) -> None:
        self.shutdown_source_vm: Any = as_bool_or_template("shutdown_source_vm", shutdown_source_vm)
        super().__init__(**kwargs)

    def check_arguments(self) -> None:
        """Check the rendered arguments: ``shutdown_source_vm`` is true or false."""
        super().check_arguments()
        self.shutdown_source_vm = as_bool("shutdown_source_vm", self.shutdown_source_vm)

    def plan(self, item: ProtectedItemStatus | None, job: dict[str, Any] | None) -> Plan:
        """Fail over an item that allows it; wait on one under way; judge this attempt's; report one done."""
        from airflow_provider_datareplication.exceptions import AzureDataReplicationActionRefusedError

        if item is None:
            raise AzureDataReplicationActionRefusedError(f"Not sent: there is no {self.target.describe()}")
        if (followed := self.follow(job)) is not None:
            return followed
        if item.failed_over:
            return Plan(note=f"failed over already ({item.protection_state}): not failed over again")
        if not any(allowed in item.allowed_jobs for allowed in FAILOVER_JOBS):
            raise self.refuse(
                item, "a planned failover needs PlannedFailover (or Restart) among its allowed jobs"
            )
        if not item.instance_type:
            raise self.refuse(item, "its customProperties carry no instanceType to fail over with")
        return Plan(
            planned_failover(instance_type=item.instance_type, shutdown_source_vm=self.shutdown_source_vm)
        )


class AzureDataReplicationDeleteProtectedItemOperator(AzureDataReplicationBaseProtectedItemOperator):
    """
    Disable replication of a server (after its migration: complete it), then wait on the job.

    Sends ``DELETE .../protectedItems/{item}`` (``forceDelete`` as asked; as
    ``Remove-AzMigrateLocalServerReplication`` does), takes the job from the answer's
    ``Azure-AsyncOperation`` URL and, with ``wait_for_termination``, waits until it has ended; the
    item is then gone. The item must allow it (``DisableProtection`` among its ``allowedJobs``)
    unless ``force_delete``; otherwise nothing is sent and the task fails naming the state and what
    it allows. A removal under way is waited on; one of this attempt that failed fails the task with
    its errors; an item already gone (a 404, its vault there: a missing vault or resource group
    fails the task naming it) is not deleted again. ``return_value`` is the job's body; the keys
    ``job_name`` and ``operation_url`` name the job and its operation, whichever try started it.

    :param protected_item_name: The protected item to remove (templated).
    :param force_delete: Remove the item whatever its state (``forceDelete=true``; a running job of
        the item is cancelled). Templated: ``true`` or ``false`` once rendered, in any case.
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version (templated): ``2024-09-01`` (default) or ``2026-05-01``.
    :param azure_data_replication_conn_id: The Airflow connection (templated).
    :param wait_for_termination: Wait until the job has ended (else return after starting it).
    :param check_interval: Seconds between reads of the job while waiting (templated).
    :param timeout: Seconds to wait at most (default 7 days; templated); the job goes on in Azure after that.
    :param deferrable: Wait in the triggerer instead of a worker slot; defaults to
        ``[operators] default_deferrable``.
    """

    scenario = DISABLE_PROTECTION
    template_fields: tuple[str, ...] = (
        *AzureDataReplicationBaseProtectedItemOperator.template_fields,
        "force_delete",
    )

    def __init__(self, *, force_delete: bool = False, **kwargs: Any) -> None:
        self.force_delete: Any = as_bool_or_template("force_delete", force_delete)
        super().__init__(**kwargs)

    def check_arguments(self) -> None:
        """Check the rendered arguments: ``force_delete`` is true or false."""
        super().check_arguments()
        self.force_delete = as_bool("force_delete", self.force_delete)

    def plan(self, item: ProtectedItemStatus | None, job: dict[str, Any] | None) -> Plan:
        """Remove an item that allows it (or when forced); wait on a removal under way; report one gone."""
        if (followed := self.follow(job)) is not None:
            return followed
        if item is None:
            return Plan(note="gone already: not deleted again")
        if REMOVAL_JOB not in item.allowed_jobs and not self.force_delete:
            raise self.refuse(
                item, "a removal needs DisableProtection among its allowed jobs (or force_delete)"
            )
        return Plan(delete_item(force_delete=self.force_delete))


#: The update operator's parameters that change the server, as its ``__init__`` takes them.
_UPDATES = (
    "target_vm_cpu_cores",
    "target_vm_ram_mb",
    "is_dynamic_memory_enabled",
    "dynamic_memory_config",
    "nics",
    "os_type",
    "target_vm_security_option",
)


class AzureDataReplicationUpdateProtectedItemOperator(AzureDataReplicationBaseProtectedItemOperator):
    """
    Change a replicating server before its cut-over (CPU, memory, NICs, OS type...), then wait on the job.

    As ``Set-AzMigrateLocalServerReplication`` does: reads the item, refuses unless its
    ``allowedJobs`` has ``DisableProtection`` (initial replication has begun) and not
    ``CommitFailover`` (the migration is not done), checks CPU cores (1 to 64), memory (512 MB to
    1 TB for a Hyper-V generation 1 VM, 32 MB to 12 TB otherwise) and dynamic memory (the minimum
    at most, the maximum at least the target memory; the buffer 5 to 2000 %), the NICs (each among
    the discovered machine's, read at the item's ``fabricDiscoveryMachineId``, none twice, a network
    for each ``SelectedByUser``), then sends ``PATCH .../protectedItems/{item}`` with the
    ``customProperties`` update model of the item's ``instanceType``: only the fields given, never
    ``hyperVGeneration`` (it cannot change). Dynamic memory turned on without a configuration takes
    the item's, else the cmdlet's default (1 GB or less, 1 TB or more, 20 %). The job the answer
    names ("Update protected item") is waited on as the other operators do: an update of this
    attempt under way is waited on, one ended is judged and not sent again. ``return_value`` is the
    job's body; the keys ``job_name`` and ``operation_url`` name the job and its operation.

    :param protected_item_name: The protected item to change (templated).
    :param target_vm_cpu_cores: The target VM's CPU cores (templated).
    :param target_vm_ram_mb: The target VM's memory in MB (templated).
    :param is_dynamic_memory_enabled: Dynamic memory on or off (templated: ``true``/``false`` once rendered).
    :param dynamic_memory_config: ``{"minimumMemoryInMegaBytes", "maximumMemoryInMegaBytes",
        "targetMemoryBufferPercentage"}`` (templated); needs dynamic memory on.
    :param nics: The NICs to include, in the service's words (templated): each ``nicId``,
        ``targetNetworkId`` (logical network), optionally ``testNetworkId`` (defaults to the target
        one) and ``selectionTypeForFailover`` (``SelectedByUser``, the default, or ``NotSelected``).
    :param os_type: ``WindowsGuest`` or ``LinuxGuest`` (templated).
    :param target_vm_security_option: ``None``, ``SecureBootEnabled`` or ``TrustedLaunch``
        (templated); a generation 1 VM takes ``None`` only.
    :param vault_name: The replication vault; defaults to the connection's ``vault_name`` (templated).
    :param resource_group_name: Defaults to the connection's ``resource_group_name`` (templated).
    :param subscription_id: Defaults to the connection's ``subscriptionId`` (templated).
    :param api_version: The api-version (templated): ``2024-09-01`` (default) or ``2026-05-01``.
    :param azure_data_replication_conn_id: The Airflow connection (templated).
    :param wait_for_termination: Wait until the job has ended (else return after starting it).
    :param check_interval: Seconds between reads of the job while waiting (templated).
    :param timeout: Seconds to wait at most (default 7 days; templated); the job goes on in Azure after that.
    :param deferrable: Wait in the triggerer instead of a worker slot; defaults to
        ``[operators] default_deferrable``.
    """

    scenario = UPDATE_PROTECTED_ITEM
    template_fields: tuple[str, ...] = (
        *AzureDataReplicationBaseProtectedItemOperator.template_fields,
        *_UPDATES,
    )
    template_fields_renderers = {"dynamic_memory_config": "json", "nics": "json"}

    def __init__(
        self,
        *,
        protected_item_name: str,
        target_vm_cpu_cores: int | None = None,
        target_vm_ram_mb: int | None = None,
        is_dynamic_memory_enabled: bool | None = None,
        dynamic_memory_config: dict[str, Any] | None = None,
        nics: list[dict[str, Any]] | None = None,
        os_type: str | None = None,
        target_vm_security_option: str | None = None,
        **kwargs: Any,
    ) -> None:
        from airflow_provider_datareplication.azure_local import check_update_arguments

        given = {
            "target_vm_cpu_cores": target_vm_cpu_cores,
            "target_vm_ram_mb": target_vm_ram_mb,
            "is_dynamic_memory_enabled": is_dynamic_memory_enabled,
            "dynamic_memory_config": dynamic_memory_config,
            "nics": nics,
            "os_type": os_type,
            "target_vm_security_option": target_vm_security_option,
        }
        if all(value is None for value in given.values()):
            raise ValueError(f"nothing to update: give at least one of {', '.join(_UPDATES)}")
        checked = check_update_arguments(given)
        self.target_vm_cpu_cores: Any = checked["target_vm_cpu_cores"]
        self.target_vm_ram_mb: Any = checked["target_vm_ram_mb"]
        self.is_dynamic_memory_enabled: Any = checked["is_dynamic_memory_enabled"]
        self.dynamic_memory_config: Any = checked["dynamic_memory_config"]
        self.nics: Any = checked["nics"]
        self.os_type: Any = checked["os_type"]
        self.target_vm_security_option: Any = checked["target_vm_security_option"]
        super().__init__(protected_item_name=protected_item_name, **kwargs)

    def check_arguments(self) -> None:
        """Check the rendered arguments by themselves (the item's own limits come once it is read)."""
        from airflow_provider_datareplication.azure_local import check_update_arguments

        super().check_arguments()
        for name, value in check_update_arguments({name: getattr(self, name) for name in _UPDATES}).items():
            setattr(self, name, value)

    def plan(self, item: ProtectedItemStatus | None, job: dict[str, Any] | None) -> Plan:
        """Update an item that allows it (the cmdlet's rule); wait on this attempt's update or judge it."""
        from airflow_provider_datareplication.exceptions import AzureDataReplicationActionRefusedError

        if item is None:
            raise AzureDataReplicationActionRefusedError(f"Not sent: there is no {self.target.describe()}")
        if (followed := self.follow(job)) is not None:
            return followed
        if REMOVAL_JOB not in item.allowed_jobs or COMMIT_JOB in item.allowed_jobs:
            raise self.refuse(
                item,
                "an update needs DisableProtection and not CommitFailover among its allowed jobs, as "
                "Set-AzMigrateLocalServerReplication's (initial replication has begun, the migration is "
                "not complete)",
            )
        return Plan(update_item(self.update_properties(item)))

    def update_properties(self, item: ProtectedItemStatus) -> dict[str, Any]:
        """
        Build the ``customProperties`` to send for the item as it is (its machine read for ``nics``).

        :param item: The item.
        """
        from airflow_provider_datareplication.azure_local import (
            OFFAZURE_API_VERSION,
            update_custom_properties,
        )

        custom = item.custom_properties
        machine_nic_ids = None
        if self.nics is not None:
            machine_id = custom.get("fabricDiscoveryMachineId")
            machine = (
                self.hook.get_resource(str(machine_id), api_version=OFFAZURE_API_VERSION)
                if machine_id
                else None
            )
            if machine is None:
                raise self.refuse(
                    item, f"its discovered machine {machine_id!r} was not found, to check nics against"
                )
            adapters = (machine.get("properties") or {}).get("networkAdapters") or []
            machine_nic_ids = [str(nic.get("nicId")) for nic in adapters if isinstance(nic, dict)]
        try:
            return update_custom_properties(
                custom, **{name: getattr(self, name) for name in _UPDATES}, machine_nic_ids=machine_nic_ids
            )
        except ValueError as err:
            raise self.refuse(item, str(err)) from None


def check_machine_inputs(properties: Any, protected_item_name: Any, given: dict[str, Any]) -> None:
    """
    Check the create operator's choice: ``properties`` (with ``protected_item_name``) or a machine's inputs.

    :param properties: The ``properties`` parameter.
    :param protected_item_name: The ``protected_item_name`` parameter.
    :param given: The machine inputs, by name.
    """
    from airflow_provider_datareplication.arguments import literal
    from airflow_provider_datareplication.azure_local import check_cpu_cores, check_target_vm_name

    machine = {name: value for name, value in given.items() if value is not None}
    if properties is not None and machine:
        raise ValueError(
            "give properties or machine_id and its inputs, not both "
            f"(got properties and {', '.join(machine)})"
        )
    if properties is None and given.get("machine_id") is None:
        raise ValueError("give machine_id (a discovered machine) and its inputs, or properties")
    if properties is not None and protected_item_name is None:
        raise ValueError("protected_item_name is required with properties")
    if properties is not None:
        return
    if missing := [name for name in _REQUIRED_MACHINE_INPUTS if given.get(name) is None]:
        raise ValueError(f"with machine_id, give {', '.join(missing)}")
    power_user = given.get("disks") is not None or given.get("nics") is not None
    if power_user and (given.get("disks") is None or given.get("nics") is None):
        raise ValueError("the power-user mapping takes both disks and nics")
    if power_user and (
        given.get("os_disk_id") is not None or given.get("target_virtual_switch_id") is not None
    ):
        raise ValueError("give disks and nics, or os_disk_id and target_virtual_switch_id, not both")
    if not power_user and (given.get("os_disk_id") is None or given.get("target_virtual_switch_id") is None):
        raise ValueError("with machine_id, give os_disk_id and target_virtual_switch_id (or disks and nics)")
    if literal(given["target_vm_name"]):
        check_target_vm_name(given["target_vm_name"])
    if literal(given.get("target_vm_cpu_cores")):
        check_cpu_cores(given["target_vm_cpu_cores"])


#: What the service requires of a new item's ``properties``, by path.
_REQUIRED_PROPERTIES = (("policyName",), ("replicationExtensionName",), ("customProperties", "instanceType"))
#: The key that identifies an entry of a list in ``properties`` (disks, NICs), compared by it alone.
_ENTRY_IDS = ("diskId", "nicId", "id", "name")


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


def _as_compared(value: Any) -> Any:
    """Return a value as compared: text, case-insensitively (the service sends booleans as text)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return sorted(str(_as_compared(_entry_id(entry))) for entry in value)
    return str(value).strip().lower()


def _entry_id(entry: Any) -> Any:
    if isinstance(entry, dict):
        return next((entry[key] for key in _ENTRY_IDS if entry.get(key) is not None), entry)
    return entry


def properties_differences(given: dict[str, Any], item: ProtectedItemStatus) -> list[str]:
    """
    List how an existing item differs from the ``properties`` a task gives, field by field.

    Every field given that the item's body carries (not null) is compared: as text,
    case-insensitively (ids and names as ARM treats them; the service sends booleans and numbers
    as text); lists (disks, NICs) by the ids of their entries; objects field by field. A field the
    item does not carry is not compared.

    :param given: The task's ``properties``.
    :param item: The item.
    """
    found: list[str] = []

    def walk(given: dict[str, Any], have: dict[str, Any], path: str) -> None:
        for key, value in given.items():
            current = have.get(key)
            if current is None or value is None:
                continue
            where = f"{path}{key}"
            if isinstance(value, dict) and isinstance(current, dict):
                walk(value, current, f"{where}.")
            elif _as_compared(value) != _as_compared(current):
                found.append(f"{where} is {current!r} on the item, {value!r} in the task")

    walk(given, item.properties, "")
    return found
