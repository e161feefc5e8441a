"""
One asyncio ARM client per (connection, event loop), shared by every trigger that uses it.

A triggerer may hold thousands of waits on one connection. They share one credential (one token
while it is valid), one aiohttp connection pool, the read pacers of their principal, and their
reads (:mod:`~airflow_provider_datareplication.reads`: one read per resource, one list per vault). The
client is reference-counted and closed when the last user leaves; a connection edited in Airflow
(a new secret, say) has a new fingerprint, so new triggers get a new client while the old one
serves the triggers that still hold it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core import AsyncPipelineClient

    from airflow_provider_datareplication.arm_client import AsyncRenewableCredential
    from airflow_provider_datareplication.connection import AzureDataReplicationConnection
    from airflow_provider_datareplication.pacing import Pacers
    from airflow_provider_datareplication.pipeline import RequestSettings
    from airflow_provider_datareplication.reads import SharedReads

log = logging.getLogger(__name__)


@dataclass(eq=False, slots=True)
class ClientLease:
    """
    One user's hold on a shared client; give it back with :meth:`AsyncClientPool.release`.

    :param key: Which shared client.
    :param client: The ARM client.
    :param credential: Its credential.
    :param pacers: Read pacing of the connection's principal.
    :param connection: The connection's settings, one copy shared by every holder.
    :param reads: The reads the connection's waits share in this event loop.
    """

    key: tuple[Any, ...]
    client: AsyncPipelineClient
    credential: AsyncRenewableCredential
    pacers: Pacers
    connection: AzureDataReplicationConnection
    reads: SharedReads
    released: bool = False


@dataclass(eq=False)
class _Shared:
    key: tuple[Any, ...]
    client: AsyncPipelineClient
    credential: AsyncRenewableCredential
    pacers: Pacers
    connection: AzureDataReplicationConnection
    reads: SharedReads
    users: int = 0


_preparation: concurrent.futures.Future[None] | None = None
_preparation_lock = threading.Lock()


def _load_async_stack() -> None:
    import aiohttp  # noqa: F401
    import azure.core.pipeline.transport
    import azure.identity.aio
    import azure.mgmt.core.policies
    import azure.mgmt.core.tools  # noqa: F401
    from airflow.providers.microsoft.azure import utils  # noqa: F401

    import airflow_provider_datareplication.arm_client  # noqa: F401


_frozen = False


async def _prepare_process() -> None:
    """
    Once per process: import azure-identity, azure-core and aiohttp off the event loop.

    A first import takes long enough to trip the triggerer's blocked-loop warning. Every wait that
    arrives while it runs (a triggerer rebuilds all of its waits at once after a restart) waits for
    that one run, in whichever event loop or thread it is.
    """
    global _preparation
    with _preparation_lock:
        preparation = _preparation
        if preparation is None:
            preparation = _preparation = concurrent.futures.Future()
            preparation.set_running_or_notify_cancel()  # so a waiter's cancellation cannot cancel it
            threading.Thread(
                target=_run_preparation, args=(preparation,), name="datareplication-prepare", daemon=True
            ).start()
    if not preparation.done():
        await asyncio.wrap_future(preparation)
    preparation.result()


def _run_preparation(preparation: concurrent.futures.Future[None]) -> None:
    global _preparation
    try:
        _load_async_stack()
    except BaseException as err:
        with _preparation_lock:
            _preparation = None  # the next wait tries again
        preparation.set_exception(err)
    else:
        preparation.set_result(None)


def _freeze_start_up_objects() -> None:
    """
    Once per process, take the objects start-up left out of the garbage collector's way, when configured to.

    With Airflow loaded a process tracks 200,000 objects or more, and a full collection walks them
    all while the event loop waits (200-300 ms on a 2-core machine). Frozen, full collections walk
    only what came after. Objects alive now that later become unreachable cycles are never
    reclaimed; a young collection first spares what is already garbage. Process-wide, so off
    unless ``[azure_data_replication] gc_freeze`` turns it on.
    """
    import gc

    from airflow_provider_datareplication.get_provider_info import CONFIG_SECTION
    from airflow_provider_datareplication.version_compat import conf

    global _frozen
    with _preparation_lock:
        if _frozen or not conf.getboolean(CONFIG_SECTION, "gc_freeze", fallback=False):
            return
        _frozen = True
    gc.collect(1)
    gc.freeze()
    log.info(
        "Froze %d start-up objects out of the garbage collector's way ([%s] gc_freeze)",
        gc.get_freeze_count(),
        CONFIG_SECTION,
    )


class AsyncClientPool:
    """The shared asyncio clients of this process, by (connection fingerprint, settings, event loop)."""

    def __init__(self) -> None:
        self._shared: dict[tuple[Any, ...], _Shared] = {}

    def __len__(self) -> int:
        return len(self._shared)

    async def acquire(
        self, connection: AzureDataReplicationConnection, settings: RequestSettings
    ) -> ClientLease:
        """
        Take a hold on the client of ``connection`` in the running event loop, building it if needed.

        :param connection: The connection's settings.
        :param settings: Timeouts and retry budget.
        """
        from airflow_provider_datareplication.pacing import process_pacers
        from airflow_provider_datareplication.pipeline import adaptive_read_pacing

        loop = asyncio.get_running_loop()
        key = (connection.fingerprint, settings, loop)
        if key not in self._shared:
            await _prepare_process()
        shared = self._shared.get(key)  # checked again: another user may have built it meanwhile
        if shared is None:
            from airflow_provider_datareplication.arm_client import (
                AsyncRenewableCredential,
                build_async_client,
            )

            credential = AsyncRenewableCredential(
                lambda: connection.async_credential(**settings.transport_kwargs())
            )
            pacers = process_pacers(
                connection.principal, connection.max_reads_per_second, adaptive=adaptive_read_pacing()
            )
            client = build_async_client(
                base_url=connection.resource_manager_url,
                credential=credential,
                token_scope=connection.token_scope,
                settings=settings,
                ca_bundle=connection.ca_bundle,
                http_logging=connection.http_logging,
            )
            from airflow_provider_datareplication.reads import SharedReads

            shared = self._shared[key] = _Shared(
                key, client, credential, pacers, connection, SharedReads(connection.conn_id)
            )
            # After the first client is built, so its modules and Airflow's connection machinery
            # are among the start-up objects.
            _freeze_start_up_objects()
        shared.users += 1
        # Holders with equal settings share the first holder's copy rather than keep one each:
        # thousands of waiting triggers add up. (Equal credentials under another conn id, or with
        # other default vault or subscription, keep their own.)
        if connection == shared.connection:
            connection = shared.connection
        return ClientLease(
            shared.key, shared.client, shared.credential, shared.pacers, connection, shared.reads
        )

    async def release(self, lease: ClientLease) -> None:
        """
        Give a hold back; the last one closes the client's connection pool and credential.

        :param lease: What :meth:`acquire` returned.
        """
        if lease.released:
            return
        lease.released = True
        shared = self._shared[lease.key]
        shared.users -= 1
        if shared.users > 0:
            return
        del self._shared[lease.key]
        try:
            await shared.client.close()
        finally:
            await shared.credential.close()


#: The process's pool (a triggerer's triggers all go through it).
CLIENT_POOL = AsyncClientPool()

#: Connection reads by (conn id, event loop): the read, and when it finished (loop time).
_READS: dict[tuple[str, asyncio.AbstractEventLoop], tuple[asyncio.Future[Any], list[float]]] = {}


#: How long a finished connection read serves the triggers that start after it.
CONNECTION_REUSE_SECONDS = 5.0


async def read_connection(conn_id: str, hook: Any) -> AzureDataReplicationConnection:
    """
    Read a connection with Airflow's async API; a read under way, or just done, is shared.

    Thousands of triggers rebuilt together after a triggerer restart would otherwise queue
    thousands of identical reads (Airflow serves them one at a time, through its API server) and
    leave the garbage of each. A read serves the triggers that start while it runs and for
    :data:`CONNECTION_REUSE_SECONDS` after; a trigger that starts later reads again, and sees the
    connection as edited since.

    :param conn_id: The Airflow connection id.
    :param hook: The hook (class) whose connection lookup to use.
    """
    await _prepare_process()  # reading a connection imports the Azure SDKs: not on the event loop
    loop = asyncio.get_running_loop()
    key = (conn_id, loop)
    entry = _READS.get(key)
    if entry is None or (entry[0].done() and loop.time() - entry[1][0] > CONNECTION_REUSE_SECONDS):

        async def read() -> AzureDataReplicationConnection:
            from airflow.providers.common.compat.connection import get_async_connection

            from airflow_provider_datareplication.connection import AzureDataReplicationConnection

            try:
                conn = await get_async_connection(conn_id, hook=hook)
                # Off the event loop: reading a connection may read a file (an azure connection's
                # key_path, a service principal's auth file).
                return await asyncio.to_thread(AzureDataReplicationConnection.from_connection, conn)
            finally:
                finished[0] = loop.time()

        for closed in [other for other in _READS if other[1].is_closed()]:
            del _READS[closed]
        finished = [float("inf")]
        entry = _READS[key] = (asyncio.ensure_future(read()), finished)
    # Shielded: one waiter cancelled (its trigger gone) must not cancel the read for the others.
    return await asyncio.shield(entry[0])
