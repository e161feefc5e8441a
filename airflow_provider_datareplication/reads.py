"""
Reads shared by the waits of a process: one read per resource, one list per vault.

The waits (triggers) of one connection in one event loop join groups: the waits on one job,
operation or item share one read a round, and the waits on the items (or jobs) of one vault are
served by the vault's paged list whenever that costs fewer requests than a read per waited item
(the pages of its last list fewer than the items waited on). An item missing from a list is read
alone before anything is concluded, a failed list falls back to reading each alone for that round,
and a job the list shows ended is read alone once (a list leaves its ``tasks`` and ``errors``
null). A job list is read only as far as the oldest job waited on, while it comes newest first.

Each group has one reading task, started by its first wait and ended with its last. A round comes
at the shortest interval among its waits, and its answers go to every wait: each judges them its
own way and keeps its own deadline. Airflow 3.3's shared trigger streams serve event triggers
only (``BaseEventTrigger``), not deferrals, and Airflow 2.11 has none: hence this registry, kept
with the connection's shared client (:mod:`~airflow_provider_datareplication.client_pool`). Each
triggerer reads for the waits it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationAsyncHook
    from airflow_provider_datareplication.identifiers import Target
    from airflow_provider_datareplication.pacing import Pacer

log = logging.getLogger(__name__)

#: Each round's interval varies by this fraction either way, so groups begun together drift apart.
ROUND_JITTER = 0.1
#: A round whose reads take longer than this fraction of its interval is logged (once per group).
STRETCH = 0.5
#: A job list is read back to this long before the oldest job waited on (clocks differ).
JOB_LIST_MARGIN = timedelta(minutes=5)
#: A list that did not pay is tried again once in this many rounds (what it holds changes).
RELIST_ROUNDS = 10
#: The pacers whose rounds were said to take too long (said once per process: a triggerer may
#: hold thousands of groups).
_STRETCHED: set[str] = set()
#: The reads of one round waiting at once (each still leaves by the pacer's door, at its pace).
ROUND_CONCURRENCY = 64


@dataclass(frozen=True)
class Answer:
    """
    What one round read for a target: its status (an item's ``None``: gone), or the error met.

    :param status: The status model of the target's body.
    :param error: The error reading it raised.
    """

    status: Any = None
    error: BaseException | None = None


class Watch:
    """
    One wait's place in its group: the answers for its target, as the rounds bring them.

    :param group: The group.
    :param target: What the wait waits on.
    :param interval: Its poll interval, seconds.
    """

    def __init__(self, group: Group, target: Target, interval: float) -> None:
        self.group, self.target, self.interval = group, target, interval
        self._answer: Answer | None = None
        self._waiter: asyncio.Future[None] | None = None

    def deliver(self, answer: Answer) -> None:
        """Hand the wait a round's answer (the latest one wins: the wait judges what is now)."""
        self._answer = answer
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def next(self, deadline: float) -> Answer | None:
        """
        Return the next answer, or ``None`` at ``deadline`` (``time.monotonic()``).

        A future and a timer, not a task: thousands of waits sleep here.

        :param deadline: When to stop waiting.
        """
        if self._answer is None:
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            timer = loop.call_later(max(deadline - time.monotonic(), 0.0), _wake, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        answer, self._answer = self._answer, None
        return answer

    def seconds_to_next_answer(self) -> float:
        """Seconds until the next answer, about: the next round, and as long as the last one took."""
        return max(self.group.next_round - time.monotonic(), 0.0) + self.group.last_took

    def leave(self) -> None:
        """Leave the group (the last wait to leave ends its reading)."""
        self.group.leave(self)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Group:
    """
    The waits that one read, or one vault's list, serves; and the task that reads for them.

    :param key: What the group reads (:func:`group_key`).
    :param owner: The groups it is one of (it leaves them when its last wait has left).
    :param conn_id: The connection its reads go through.
    :param lists: Serve the waits from the vault's list when it costs fewer requests.
    """

    def __init__(self, key: tuple[Any, ...], owner: dict[Any, Group], conn_id: str, *, lists: bool) -> None:
        self.key, self.owner, self.conn_id, self.lists = key, owner, conn_id, lists
        self.watches: set[Watch] = set()
        self.next_round = float("inf")
        #: The pages the vault's last list took, and how many waited targets it answered.
        self.pages: int | None = None
        self.answered = 0
        self._rounds = 0
        self._started: dict[Any, Any] = {}  # each job waited on: when it began (for the job list)
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: Seconds the last round took (its reads' turns at the pacer's door included).
        self.last_took = 0.0

    def join(self, target: Target, interval: float, first_in: float) -> Watch:
        """
        Add a wait; its first answer comes within ``first_in`` seconds (the next round, or sooner).

        :param target: What it waits on.
        :param interval: Its poll interval.
        :param first_in: Seconds until its first read at the latest.
        """
        watch = Watch(self, target, interval)
        self.watches.add(watch)
        listing = target.listing
        self.what = target.describe() if self.key[0] == "one" or listing is None else listing.describe(target)
        first = time.monotonic() + first_in
        if first < self.next_round:
            self.next_round = first
            self._changed.set()
        if self._task is None or self._task.done():
            self.owner[self.key] = self
            self._task = asyncio.ensure_future(self._run())
        return watch

    def leave(self, watch: Watch) -> None:
        """Remove a wait; with the last one the reading task ends."""
        self.watches.discard(watch)
        if not self.watches:
            self._changed.set()

    async def _run(self) -> None:
        from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationAsyncHook

        try:
            async with AzureDataReplicationAsyncHook(self.conn_id) as hook:
                while self.watches:
                    self._changed.clear()
                    wait = self.next_round - time.monotonic()
                    if wait > 0:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._changed.wait(), wait)
                        continue  # a wait came or went, or the round is due: look again
                    started = time.monotonic()
                    pacer = await self._safe_round(hook)
                    interval = min((watch.interval for watch in self.watches), default=0.0)
                    self.last_took = time.monotonic() - started
                    self._log_stretch(pacer, interval)
                    self.next_round = time.monotonic() + interval * random.uniform(
                        1 - ROUND_JITTER, 1 + ROUND_JITTER
                    )
        except Exception as err:  # the hook could not be built: every wait hears why
            log.exception("Reading for %d wait(s) on %s could not start", len(self.watches), self.what)
            self._deliver_to_all(Answer(error=err))
        finally:
            if not self.watches and self.owner.get(self.key) is self:
                del self.owner[self.key]
            self.next_round = float("inf")

    async def _safe_round(self, hook: AzureDataReplicationAsyncHook) -> Pacer | None:
        """
        Run a round; an error it did not expect goes to every wait as its answer, and reading goes on.

        A reading task that died would leave its waits without answers until their deadlines.
        """
        try:
            return await self._round(hook)
        except Exception as err:
            log.exception("Reading for %d wait(s) on %s failed this round", len(self.watches), self.what)
            self._deliver_to_all(Answer(error=err))
            return None

    def _deliver_to_all(self, answer: Answer) -> None:
        """Hand one answer to every wait of the group (an error none of them can read past)."""
        for watch in list(self.watches):
            watch.deliver(answer)

    def _log_stretch(self, pacer: Pacer | None, interval: float) -> None:
        """Say once per pacer when the reads of a round take longer than half the waits' poll interval."""
        if pacer is None or pacer.name in _STRETCHED or not interval or self.last_took <= STRETCH * interval:
            return
        _STRETCHED.add(pacer.name)
        log.info(
            "Reading for %d wait(s) on %s takes %.3g s a round at this process's read pace for %s "
            "(%.3g reads/s; ceiling %g, the connection's max_reads_per_second), against a poll interval "
            "of %g s: poll less often, or spread the waits over identities or subscriptions "
            "(docs/performance.md)",
            len(self.watches),
            self.what,
            self.last_took,
            pacer.name,
            pacer.rate,
            pacer.ceiling,
            interval,
        )

    async def _round(self, hook: AzureDataReplicationAsyncHook) -> Pacer:
        """
        Read every target once (its vault's list where that pays), hand each wait its answer; the pacer.

        Targets read alone are read side by side and each answer is handed on as it comes: a group's
        reads queue at the pacer's door with every other group's, and read one after another
        they would get one turn in as many as there are groups.
        """
        waits: dict[Any, list[Watch]] = {}
        for watch in self.watches:
            waits.setdefault(watch.target, []).append(watch)
        targets = set(waits)
        example = next(iter(targets))
        listing = example.listing
        answers: dict[Any, Answer] = {}
        listed = False
        self._rounds += 1
        if self.lists and listing is not None and len(targets) > 1 and self._list_pays(len(targets)):
            listed, answers = await self._from_list(hook, targets)
        for target, answer in answers.items():
            self._deliver(waits, target, answer)
        flight = asyncio.Semaphore(ROUND_CONCURRENCY)

        async def read(target: Any) -> None:
            async with flight:
                answer = await read_alone(hook, target, vault_known=listed)
            self._deliver(waits, target, answer)

        # Missing from the list, ended, past the list's reach, or no list: read alone.
        await asyncio.gather(*(read(target) for target in targets - answers.keys()))
        return await hook.pacer(example.subscription_id)

    def _deliver(self, waits: dict[Any, list[Watch]], target: Any, answer: Answer) -> None:
        """Hand a target's answer to its waits (those still here), noting when a job began."""
        if (started := getattr(answer.status, "started", None)) is not None:
            self._started[target] = started
        for watch in waits.get(target, ()):
            if watch in self.watches:
                watch.deliver(answer)

    def _list_pays(self, waited: int) -> bool:
        """
        Whether the vault's list costs fewer requests than a read per waited target.

        Judged by the last list: its pages fewer than the targets it answered (a list that answers
        nothing, its targets not in it, is tried again only every :data:`RELIST_ROUNDS` rounds).
        """
        if self.pages is None:
            return True
        if self.pages < min(self.answered, waited):
            return True
        return self._rounds % RELIST_ROUNDS == 0 and self.pages < waited

    async def _from_list(
        self, hook: AzureDataReplicationAsyncHook, targets: set[Any]
    ) -> tuple[bool, dict[Any, Answer]]:
        """
        Read the vault's list: whether it was read, and the answers it gives.

        A job the list shows ended is left out (read alone for its tasks and errors), and so is one
        not found before the list passes the oldest job waited on. A failed list gives nothing.
        """
        from airflow_provider_datareplication.exceptions import AzureDataReplicationError

        example = next(iter(targets))
        listing = example.listing
        by_name = {listing.name_of(target).lower(): target for target in targets}
        oldest = None
        if listing.newest_first:
            known = [self._started[target] for target in targets if target in self._started]
            if not known:
                return False, {}  # read each alone first, to learn where the list must reach
            # Read back to the oldest known; one not found by then (begun before it) is read alone.
            oldest = min(known) - JOB_LIST_MARGIN
        found: dict[Any, Answer] = {}
        pages, previous, ordered = 0, None, True
        connection = await hook.get_async_connection_settings()
        url, what = listing.url(example, connection.resource_manager_url), listing.describe(example)
        try:
            async for page in hook.list_pages(url, what, example.subscription_id):
                pages += 1
                passed = False
                for entry in page.get("value") or []:
                    status = listing.status_of(type(example), entry) if isinstance(entry, dict) else None
                    if status is None:
                        continue
                    if oldest is not None and (started := status.started) is not None:
                        ordered = ordered and (previous is None or started <= previous)
                        previous, passed = started, passed or started < oldest
                    target = by_name.get(str(entry.get("name") or "").lower())
                    if target is not None and listing.complete(status):
                        found[target] = Answer(status)
                if len(found) == len(targets) or (ordered and passed):
                    break
        except AzureDataReplicationError as err:
            log.warning("Listing %s failed (%s): each waited on is read alone this round", what, err)
            return False, {}
        self.pages, self.answered = pages, len(found)
        return True, found


async def read_alone(
    hook: AzureDataReplicationAsyncHook, target: Any, *, vault_known: bool = False
) -> Answer:
    """
    Read one target by itself: its answer, or the error met.

    :param hook: The hook.
    :param target: What to read.
    :param vault_known: Its vault was just listed (a 404 of a kind that is gone on a 404 is gone).
    """
    from airflow_provider_datareplication.exceptions import AzureDataReplicationError

    try:
        if target.gone_on_404:
            found = await hook.find_protected_item(target, vault_known=vault_known)
            return Answer(found if found is not None else target.status_model())
        return Answer(await hook.get_status(target))
    except (AzureDataReplicationError, ValueError) as err:
        return Answer(error=err)


def group_key(target: Any) -> tuple[Any, ...]:
    """Return what serves a target's waits: its vault's list of its kind, or the target alone."""
    listing = target.listing
    return ("one", target) if listing is None else ("list", *listing.group_of(target))


class SharedReads:
    """
    The groups of one connection's waits in one event loop.

    :param conn_id: The connection.
    """

    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id
        self.groups: dict[tuple[Any, ...], Group] = {}

    def watch(self, target: Any, interval: float, first_in: float) -> Watch:
        """
        Join a target's group (built if needed): the wait's answers come with its rounds.

        :param target: What the wait waits on (resolved).
        :param interval: Its poll interval.
        :param first_in: Seconds until its first read at the latest.
        """
        from airflow_provider_datareplication.pipeline import vault_lists

        key = group_key(target)
        group = self.groups.get(key) or Group(key, self.groups, self.conn_id, lists=vault_lists())
        return group.join(target, interval, first_in)
