"""
One asyncio ARM client per (connection, event loop), shared by every trigger that uses it.

A triggerer may hold thousands of waits on one connection. They share one credential (one token
while it is valid), one aiohttp connection pool, and the read pacers of their principal. The
client is reference-counted and closed when the last user leaves; a connection edited in Airflow
(a new secret, say) has a new fingerprint, so new triggers get a new client while the old one
serves the triggers that still hold it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core import AsyncPipelineClient
    from azure.core.credentials_async import AsyncTokenCredential

    from airflow_provider_datareplication.connection import AzureDataReplicationConnection
    from airflow_provider_datareplication.pipeline import ReadPacers, RequestSettings

log = logging.getLogger(__name__)


@dataclass(eq=False, slots=True)
class ClientLease:
    """
    One user's hold on a shared client; give it back with :meth:`AsyncClientPool.release`.

    :param key: Which shared client.
    :param client: The ARM client.
    :param pacers: Read pacing of the connection's principal.
    :param connection: The connection's settings, one copy shared by every holder.
    """

    key: tuple[Any, ...]
    client: AsyncPipelineClient
    pacers: ReadPacers
    connection: AzureDataReplicationConnection
    released: bool = False


@dataclass(eq=False)
class _Shared:
    key: tuple[Any, ...]
    client: AsyncPipelineClient
    credential: AsyncTokenCredential
    pacers: ReadPacers
    connection: AzureDataReplicationConnection
    users: int = 0


_process_prepared = False


async def _prepare_process() -> None:
    """Once per process: import azure-identity, azure-core and aiohttp off the event loop, then freeze."""
    global _process_prepared
    if not _process_prepared:

        def load() -> None:
            import aiohttp  # noqa: F401
            import azure.core.pipeline.transport
            import azure.identity.aio
            import azure.mgmt.core.policies  # noqa: F401

        # A first import takes long enough to trip the triggerer's blocked-loop warning.
        await asyncio.to_thread(load)
        _process_prepared = True
        _freeze_start_up_objects()


def _freeze_start_up_objects() -> None:
    """
    Take the objects start-up left out of the garbage collector's way, unless configured not to.

    With Airflow loaded a process tracks 200,000 objects or more, and a full collection walks them
    all while the event loop waits (200-300 ms on a 2-core machine): every wait in the triggerer
    stalls, and the triggerer warns of a blocked loop. Frozen, full collections walk only what came
    after. Objects alive now that later become unreachable cycles are never reclaimed; a young
    collection first spares what is already garbage.
    """
    import gc

    from airflow_provider_datareplication.get_provider_info import CONFIG_SECTION
    from airflow_provider_datareplication.version_compat import conf

    if not conf.getboolean(CONFIG_SECTION, "gc_freeze", fallback=True):
        return
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
        from airflow_provider_datareplication.pipeline import build_async_client, shared_read_pacers

        loop = asyncio.get_running_loop()
        key = (connection.fingerprint, settings, loop)
        if key not in self._shared:
            await _prepare_process()
        shared = self._shared.get(key)  # checked again: another user may have built it meanwhile
        if shared is None:
            credential = connection.async_credential(**settings.transport_kwargs())
            pacers = shared_read_pacers(connection.principal, connection.max_reads_per_second)
            client = build_async_client(
                base_url=connection.resource_manager_url,
                credential=credential,
                token_scope=connection.token_scope,
                settings=settings,
                pacers=pacers,
                ca_bundle=connection.ca_bundle,
            )
            shared = self._shared[key] = _Shared(key, client, credential, pacers, connection)
        shared.users += 1
        # Holders with equal settings share the first holder's copy rather than keep one each:
        # thousands of waiting triggers add up. (Equal credentials under another conn id, or with
        # other default vault or subscription, keep their own.)
        if connection == shared.connection:
            connection = shared.connection
        return ClientLease(shared.key, shared.client, shared.pacers, connection)

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

_READS_UNDER_WAY: dict[
    tuple[str, asyncio.AbstractEventLoop], asyncio.Future[AzureDataReplicationConnection]
] = {}


async def read_connection(conn_id: str, hook: Any) -> AzureDataReplicationConnection:
    """
    Read a connection with Airflow's async API; a read already under way is shared, not repeated.

    Thousands of triggers rebuilt together after a triggerer restart would otherwise queue
    thousands of identical reads (Airflow serves them one at a time). A read that has finished is
    not reused: a trigger that starts later reads again, and sees the connection as edited since.

    :param conn_id: The Airflow connection id.
    :param hook: The hook (class) whose connection lookup to use.
    """
    key = (conn_id, asyncio.get_running_loop())
    pending = _READS_UNDER_WAY.get(key)
    if pending is None:

        async def read() -> AzureDataReplicationConnection:
            from airflow.providers.common.compat.connection import get_async_connection

            from airflow_provider_datareplication.connection import AzureDataReplicationConnection

            return AzureDataReplicationConnection.from_connection(
                await get_async_connection(conn_id, hook=hook)
            )

        pending = asyncio.ensure_future(read())
        _READS_UNDER_WAY[key] = pending
        pending.add_done_callback(lambda _: _READS_UNDER_WAY.pop(key, None))
    # Shielded: one waiter cancelled (its trigger gone) must not cancel the read for the others.
    return await asyncio.shield(pending)
