"""
What every ARM call of this provider shares, without importing any Azure SDK.

Its timeouts and retry budget, and the pacing of reads under ARM's limits. Imported at DAG-parse
time, so standard library only. The azure-core pipeline that uses these lives in
:mod:`airflow_provider_datareplication.arm_client`, imported when a client is built.
"""

from __future__ import annotations

import email.utils
import itertools
import logging
import math
import random
import re
import threading
import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from airflow_provider_datareplication.exceptions import AzureDataReplicationTransientError

if TYPE_CHECKING:
    from collections.abc import Iterator

_RETRY_AFTER_MS_HEADERS = ("retry-after-ms", "x-ms-retry-after-ms")
#: ARM's answers say how many reads are left in the buckets they are counted against.
READS_LEFT_HEADER = "x-ms-ratelimit-remaining-subscription-reads"
GLOBAL_READS_LEFT_HEADER = "x-ms-ratelimit-remaining-subscription-global-reads"

log = logging.getLogger(__name__)

#: The logger that azure-core's HTTP logging policy of this provider's clients and credentials is
#: given while ``http_logging`` is off: made outside logging's hierarchy (no parent, no handler,
#: out of reach of any logging configuration) and enabled for no level. Those policies then log
#: nothing, and no logger the process shares changes.
HTTP_LOGGING_OFF = logging.Logger("airflow_provider_datareplication.http_logging_off", logging.CRITICAL + 1)


@dataclass(frozen=True)
class AdaptivePacing:
    """
    How a process's read rate follows ARM's read bucket: a share of what is left above a reserve.

    ARM counts reads per principal and subscription in one bucket (250 reads, refilled 25 per
    second; a global bucket per subscription is 15 times that), whichever process sends them, and
    reports the reads left on every answer. Every process reading as the principal sees the same
    number, so each sets its own rate from it, at once, on every answer: the ceiling while the
    bucket is nearly full, nothing above the floor once it is down to the reserve, and in between
    in proportion. K processes so settle where together they read what ARM refills, with the bucket
    above the reserve (at ``reserve + (full - reserve) * 25 / (K * ceiling)``), and one process
    alone reads at its ceiling. A rate that only reacted in steps (halving, then waiting to see)
    lets processes that were idle at their ceiling drain the bucket together when their waits all
    come due; a rate read off the bucket on every answer does not.

    :param bucket: ARM's bucket of reads per principal and subscription.
    :param global_bucket: ARM's bucket per subscription, for every principal.
    :param start: Reads per second a pacer starts at, before its first answer (never above its
        ceiling).
    :param full: At or above this fraction of the bucket left, the ceiling.
    :param reserve: At or below this fraction left (or on a 429), the floor: what is kept for
        bursts (waits woken together, other tools reading as the same identity).
    :param floor: The slowest rate, reads per second.
    :param hysteresis: How far past a boundary the fraction left must go before a change of
        regime is logged (the rate itself follows every answer).
    :param booking_smoothing: Seconds over which the pace that bookings a poll interval ahead use
        follows the rate (a moment at the floor must not push a wait's next read minutes away).
    """

    bucket: float = 250.0
    global_bucket: float = 3750.0
    start: float = 10.0
    full: float = 0.9
    reserve: float = 0.3
    floor: float = 0.5
    hysteresis: float = 0.05
    booking_smoothing: float = 5.0

    def rate(self, left: float, ceiling: float) -> float:
        """
        Return the rate for a fraction of the bucket left.

        :param left: The fraction of the bucket left (0 on a 429).
        :param ceiling: The connection's ``max_reads_per_second``.
        """
        share = (left - self.reserve) / (self.full - self.reserve)
        return min(ceiling, max(self.floor, ceiling * share))

    def regime(self, left: float, current: str) -> str:
        """
        Return the regime for a fraction of the bucket left, given the current one (with hysteresis).

        :param left: The fraction of the bucket left (0 on a 429).
        :param current: The regime until now.
        """
        margin = self.hysteresis
        if left >= self.full or (current == "ceiling" and left >= self.full - margin):
            return "ceiling"
        if left <= self.reserve or (current == "floor" and left <= self.reserve + margin):
            return "floor"
        return "sharing"


ADAPTIVE_PACING = AdaptivePacing()


@dataclass(frozen=True)
class RequestSettings:
    """
    Timeouts and retry budget of one call.

    :param connect_timeout: Seconds to open a connection.
    :param read_timeout: Seconds to wait for the answer once sent.
    :param retries: Transient failures retried inside one call.
    :param backoff_factor: Base of the exponential backoff, in seconds.
    :param backoff_max: Cap of one backoff, in seconds.
    :param max_retry_after: The longest ``Retry-After`` slept through inside a call; a longer one
        ends the call with a transient error carrying it, for the caller to wait out.
    :param call_timeout: Seconds one call may take, its turn under the read pacing, retries and
        waits included.
    :param max_connections: Most connections one asyncio client keeps open (its pool size; paced
        reads need few, and each TLS connection holds a 256 KiB buffer).
    """

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    retries: int = 3
    backoff_factor: float = 0.8
    backoff_max: float = 30.0
    max_retry_after: float = 60.0
    call_timeout: float = 120.0
    max_connections: int = 16

    def transport_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for an azure-core transport or azure-identity credential."""
        return {"connection_timeout": self.connect_timeout, "read_timeout": self.read_timeout}


class SlotBook:
    """
    Booked read slots (times), sorted, in blocks that each know their widest gap.

    A reader books the first time at least an interval from every booked slot. Walking the slots
    one by one to find it costs as many steps as slots lie in the way, and thousands of readers
    booking into the same dense queue (waits begun together, or moving up together when the pace
    rises) would cost steps in the square of their number. Here a block whose widest gap (and the
    gap before it) is too narrow to hold a slot is stepped over whole: a booking scans the slots of
    the blocks where it starts and ends, and looks once at each block in between (with blocks of
    about 64 slots, some 150 steps among 5,000 slots rather than up to 5,000).

    Not thread-safe: :class:`ReadPacer` holds its lock around every call.
    """

    #: Slots per block, about: a block is split above twice this, and merged below a quarter.
    BLOCK = 64
    #: Seconds: more than the rounding of a sum of slot times.
    ROUNDING = 1e-6

    def __init__(self) -> None:
        self._blocks: list[list[float]] = []
        self._lasts: list[float] = []  # each block's last slot, to find a block by bisection
        self._widest: list[float] = []  # each block's widest gap between two of its slots

    def __len__(self) -> int:
        return sum(map(len, self._blocks))

    def __iter__(self) -> Iterator[float]:
        for block in self._blocks:
            yield from block

    def _update(self, b: int) -> None:
        block = self._blocks[b]
        self._lasts[b] = block[-1]
        self._widest[b] = max((y - x for x, y in itertools.pairwise(block)), default=0.0)

    def add(self, slot: float) -> None:
        """
        Add a slot.

        :param slot: Its time.
        """
        blocks = self._blocks
        if not blocks:
            self._blocks, self._lasts, self._widest = [[slot]], [slot], [0.0]
            return
        b = min(bisect_left(self._lasts, slot), len(blocks) - 1)
        block = blocks[b]
        i = bisect_right(block, slot)
        block.insert(i, slot)
        if len(block) > 2 * self.BLOCK:
            blocks.insert(b + 1, block[self.BLOCK :])
            del block[self.BLOCK :]
            self._lasts.insert(b + 1, 0.0)
            self._widest.insert(b + 1, 0.0)
            self._update(b + 1)
            self._update(b)
        elif 0 < i < len(block) - 1 and block[i + 1] - block[i - 1] >= self._widest[b]:
            self._update(b)  # it split the widest gap
        else:
            self._lasts[b] = block[-1]
            self._widest[b] = max(
                self._widest[b],
                slot - block[i - 1] if i else 0.0,
                block[i + 1] - slot if i < len(block) - 1 else 0.0,
            )

    def remove(self, slot: float) -> bool:
        """
        Remove a slot; return whether it was booked.

        :param slot: Its time, exactly as booked.
        """
        b = bisect_left(self._lasts, slot)
        if b == len(self._blocks):
            return False
        block = self._blocks[b]
        i = bisect_left(block, slot)
        if i == len(block) or block[i] != slot:
            return False
        del block[i]
        if len(block) < self.BLOCK // 4 and b + 1 < len(self._blocks):
            block.extend(self._blocks.pop(b + 1))
            del self._lasts[b + 1], self._widest[b + 1]
            self._update(b)
        elif not block:
            del self._blocks[b], self._lasts[b], self._widest[b]
        elif 0 < i < len(block):
            self._widest[b] = max(self._widest[b], block[i] - block[i - 1])
        else:
            self._update(b)  # an end slot: its gap may have been the widest
        return True

    def drop_through(self, moment: float) -> None:
        """
        Remove every slot at or before a moment.

        :param moment: A time.
        """
        gone = bisect_right(self._lasts, moment)
        del self._blocks[:gone], self._lasts[:gone], self._widest[:gone]
        if self._blocks and self._blocks[0][0] <= moment:
            del self._blocks[0][: bisect_right(self._blocks[0], moment)]
            self._update(0)

    def count(self, start: float, end: float) -> int:
        """
        Return how many slots lie at or after ``start`` and before ``end``.

        :param start: A time.
        :param end: A later time.
        """
        return self._rank(end) - self._rank(start)

    def _rank(self, moment: float) -> int:
        b = bisect_left(self._lasts, moment)
        before = sum(map(len, self._blocks[:b]))
        return before + (bisect_left(self._blocks[b], moment) if b < len(self._blocks) else 0)

    def first_free(self, slot: float, interval: float) -> float:
        """
        Return the first time from ``slot`` on that is at least ``interval`` from every slot.

        :param slot: The earliest time wanted.
        :param interval: The least distance to every booked slot.
        """
        blocks, lasts, widest = self._blocks, self._lasts, self._widest
        # A block is stepped over only when its widest gap is short of two intervals by more than
        # rounding: a gap of exactly two (a slot released from a run) is found by the walk.
        narrow = 2 * interval - self.ROUNDING
        b = bisect_right(lasts, slot - interval)
        if b == len(blocks):
            return slot
        block = blocks[b]
        i = bisect_right(block, slot - interval)
        while True:
            for other in block[i:] if i else block:
                if other >= slot + interval:
                    return slot
                slot = other + interval
            b += 1
            while b < len(blocks) and blocks[b][0] < slot + interval and widest[b] < narrow:
                slot = lasts[b] + interval  # no room before its first slot, nor between two of its own
                b += 1
            if b == len(blocks):
                return slot
            block, i = blocks[b], 0


class ReadPacer:
    """
    Pace the reads of one (principal, subscription): at most ``rate`` per second, evenly spaced.

    A reader books a slot (:meth:`book`): the earliest time at or after the one it asks for that
    is at least one interval from every other booked read, and never before a ``Retry-After``
    the service gave has elapsed. Booking ahead lets a wait sleep until its slot instead of
    queueing inside a call, and tells it up front how far pacing stretches its poll interval.
    A slot is booked at the pace of its moment, and a departure promised at a low pace must not
    outlive it: a reader whose slot lies further out than the ceiling would put it wakes to look
    again (:meth:`look_at`) and books again sooner once the pace has risen (:meth:`move_up`);
    :meth:`wait_at` and :meth:`leave_at` do both. At its slot the reader asks to go
    (:meth:`go_in`): reads are let go at least one interval apart, so readers woken late by a busy
    event loop still do not go out in a bunch.

    Thread-safe, and bound to no event loop: any number of loops and threads may share a pacer
    (a lock is held only for the bookkeeping, never across a wait).

    With ``adaptive``, the rate follows the reads ARM says are left (:meth:`observe`,
    :class:`AdaptivePacing`), with ``rate`` as its ceiling; each change of regime is logged once.

    :param rate: Most reads per second (with ``adaptive``, the ceiling).
    :param adaptive: Follow ARM's read bucket rather than keep ``rate``.
    :param name: What the pacer paces, for its log lines (the subscription).
    :param pacing: The adaptation's constants.
    :param clock: A monotonic clock (for tests).
    :param sleep: A blocking sleep (for tests).
    """

    #: Slack in the spacing of departures, so a request delayed on its way (a TLS handshake, a busy
    #: loop) never lets the server see more than ``rate`` reads in one second: ``rate + 1``
    #: departures span 1.1 s, leaving 100 ms for a read's way to the wire to vary. With 5 % (the
    #: value before), the server saw 16 reads in one second at 15 reads/s with 5,000 waits.
    MARGIN = 0.1
    #: Slack in the spacing of bookings: more than the departures', so the door catches up with
    #: reads a busy loop held back.
    BOOKING_MARGIN = 0.15
    #: A booked read wakes before its slot to look whether it can go sooner (:meth:`look_at`) only
    #: when that could bring it at least this many seconds sooner, and moves up (:meth:`move_up`)
    #: only when it gains that much.
    MOVE_UP_GAIN = 5.0
    #: Seconds until a read that could not move up looks again while the pace may rise soon.
    LOOK_SOON = 2.5
    #: Seconds until it looks again otherwise: the longest it sleeps on a slot booked at a pace
    #: that has since risen.
    LOOK_EVERY = 30.0
    #: The pace is on its way up while the rate of the last answer exceeds it by this factor.
    RISING = 1.5

    def __init__(
        self,
        rate: float,
        clock: Any = time.monotonic,
        sleep: Any = time.sleep,
        *,
        adaptive: bool = False,
        name: str = "",
        pacing: AdaptivePacing = ADAPTIVE_PACING,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"max_reads_per_second must be positive, got {rate!r}")
        self.ceiling = float(rate)
        self.adaptive = adaptive
        self.rate = min(self.ceiling, pacing.start) if adaptive else self.ceiling
        #: The pace bookings use: :attr:`rate`, smoothed over ``pacing.booking_smoothing`` seconds.
        self.pace = self.rate
        self._observed_at: float | None = None
        self.name = name
        self._pacing = pacing
        self._regime = "starting"
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._booked = SlotBook()  # those long past are dropped
        self._last_go = float("-inf")
        self._hold_until = 0.0

    @property
    def interval(self) -> float:
        """Seconds between two booked reads at the booking pace, with the slack."""
        return (1.0 + self.BOOKING_MARGIN) / self.pace

    @property
    def spacing(self) -> float:
        """Seconds between two departures at the pace of the moment, with the slack."""
        return (1.0 + self.MARGIN) / self.rate

    def book(self, earliest: float | None = None) -> float:
        """
        Book the earliest free slot at or after ``earliest`` (default: now); return its time.

        A slot booked while the pace is low may lie far beyond what the pace allows once it has
        risen: its reader wakes to look again first (:meth:`look_at`, :meth:`move_up`).

        :param earliest: A time of :attr:`clock` (``time.monotonic()`` by default).
        """
        with self._lock:
            now = self._clock()
            interval = self.interval
            # Slots more than an interval past no longer constrain anyone.
            self._booked.drop_through(now - interval)
            slot = self._booked.first_free(
                max(now if earliest is None else earliest, self._hold_until), interval
            )
            self._booked.add(slot)
            return slot

    def look_at(self, slot: float, wanted: float) -> float:
        """
        Return when the reader of a booked slot should wake to look whether it can go sooner.

        It looks with :meth:`move_up`.

        A slot is a place in a queue, booked at the pace of its moment: reads booked ahead of it
        at a low pace push it far out, and once the pace has risen it would keep that distance.
        So its reader looks when its place would come were the reads ahead of it served at the
        ceiling (no sooner can it go): a read booked at the floor (0.5 reads/s under a ceiling of
        25) looks after a fiftieth of its wait. A slot that could come at most
        :attr:`MOVE_UP_GAIN` seconds sooner is slept to: at the ceiling, a reader wakes once per
        read, as before.

        :param slot: What :meth:`book` or :meth:`move_up` returned.
        :param wanted: The time the reader asked :meth:`book` for (it never goes before).
        """
        with self._lock:
            return self._look_at(slot, wanted, self._clock())

    def _look_at(self, slot: float, wanted: float, now: float) -> float:
        start = max(wanted, now, self._hold_until)
        if slot - start < self.MOVE_UP_GAIN:
            return slot
        at_ceiling = start + self._booked.count(start, slot) * (1.0 + self.BOOKING_MARGIN) / self.ceiling
        return slot if slot - at_ceiling < self.MOVE_UP_GAIN else at_ceiling

    def move_up(self, slot: float, wanted: float) -> tuple[float, float]:
        """
        Book a read again if that brings it sooner; return its slot and when to look again.

        The read books the first free slot from the time it wants (or now) at the faster of the
        pace and the rate of the last answer, and takes it when it is at least
        :attr:`MOVE_UP_GAIN` seconds sooner (never before ``wanted`` nor a ``Retry-After``). The
        rate, because moving up is what follows a rise, and the pace trails the rate by seconds:
        reads moved at the pace of a rise would stay spaced for a slower pace than the one that
        follows it. Either way the departures stay spaced at the door (:meth:`go_in`).

        A read that could not move looks again :attr:`LOOK_SOON` seconds later while the pace may
        rise soon: on its way up (the rate above the pace), or at the floor, where only the next
        answer can tell that ARM's bucket has refilled. Otherwise it looks again within
        :attr:`LOOK_EVERY` seconds.

        :param slot: What :meth:`book` or :meth:`move_up` returned (still booked).
        :param wanted: The time the reader asked :meth:`book` for.
        """
        with self._lock:
            now = self._clock()
            booked = self._booked
            if booked.remove(slot):
                interval = (1.0 + self.BOOKING_MARGIN) / max(self.pace, self.rate)
                moved = booked.first_free(max(wanted, now, self._hold_until), interval)
                if moved <= slot - self.MOVE_UP_GAIN:
                    booked.add(moved)
                    return moved, self._look_at(moved, wanted, now)
                booked.add(slot)
            rising = self.adaptive and (
                self.rate > self.pace * self.RISING or self.rate <= self._pacing.floor
            )
            return slot, min(slot, now + (self.LOOK_SOON if rising else self.LOOK_EVERY))

    def release(self, slot: float) -> None:
        """
        Give back a booked slot that will not be used (a wait cancelled, or past its deadline).

        :param slot: What :meth:`book` returned.
        """
        with self._lock:
            self._booked.remove(slot)

    def go_in(self) -> tuple[float, bool]:
        """
        Seconds to wait, and whether this read is counted as leaving once they have passed.

        A read is counted only when it may leave within one spacing at the current rate;
        otherwise the reader waits the seconds returned and asks again. No departure is promised
        further ahead: one promised while the rate was low would hold the read back after it rose,
        and one promised while it was high would send the read after it fell.
        """
        with self._lock:
            now = self._clock()
            spacing = self.spacing
            wait = max(now, self._last_go + spacing, self._hold_until) - now
            if wait <= spacing + 1e-9:
                self._last_go = now + wait
                return wait, True
        # A random part of a spacing more, so readers waiting together do not all ask together.
        return wait - spacing + random.uniform(0.0, spacing), False

    def late(self, due: float) -> bool:
        """
        Whether a read counted to leave at ``due`` woke more than a spacing after it.

        Such a read asks again (once): reads promised one after another and held up together by
        a busy event loop would otherwise leave in a bunch when it frees up.

        :param due: When the read was counted to leave (on this pacer's clock).
        """
        return self._clock() - due > self.spacing

    def wait_to_go(self) -> None:
        """Block until this read may leave (for a thread): see :meth:`go_in` and :meth:`late`."""
        asked_again = False
        while True:
            seconds, counted = self.go_in()
            due = self._clock() + seconds
            self._sleep(seconds)
            if counted and (asked_again or not self.late(due)):
                return
            asked_again = asked_again or counted

    async def go(self) -> None:
        """Wait until this read may leave (for a coroutine, any loop): see :meth:`go_in`, :meth:`late`."""
        import asyncio

        asked_again = False
        while True:
            seconds, counted = self.go_in()
            due = self._clock() + seconds
            await asyncio.sleep(seconds)
            if counted and (asked_again or not self.late(due)):
                return
            asked_again = asked_again or counted

    def wait_turn(self) -> None:
        """Book the next slot and block until this read may go (for a thread)."""
        wanted = self._clock()
        self.wait_at(self.book(wanted), wanted)

    def wait_at(self, slot: float, wanted: float | None = None) -> None:
        """
        Block until a booked slot, moving up when the pace rises, then until this read may go (for a thread).

        :param slot: A slot from :meth:`book`, on this pacer's clock.
        :param wanted: The time asked of :meth:`book` (``None``: the slot is kept as booked).
        """
        try:
            wake = slot if wanted is None else self.look_at(slot, wanted)
            while wanted is not None and wake < slot:
                self._sleep(max(0.0, wake - self._clock()))
                slot, wake = self.move_up(slot, wanted)
            self._sleep(max(0.0, slot - self._clock()))
        except BaseException:
            self.release(slot)
            raise
        self.wait_to_go()

    async def turn(self) -> None:
        """Book the next slot and wait until this read may go (for a coroutine, in any event loop)."""
        wanted = self._clock()
        await self.leave_at(self.book(wanted), wanted)

    async def leave_at(self, slot: float, wanted: float | None = None) -> None:
        """
        Wait for a booked slot, moving up when the pace rises, then until this read may go.

        The slot is given back if the wait is cancelled.

        :param slot: A slot from :meth:`book`, on this pacer's clock.
        :param wanted: The time asked of :meth:`book` (``None``: the slot is kept as booked).
        """
        import asyncio

        try:
            wake = slot if wanted is None else self.look_at(slot, wanted)
            while wanted is not None and wake < slot:
                await asyncio.sleep(max(0.0, wake - self._clock()))
                slot, wake = self.move_up(slot, wanted)
            await asyncio.sleep(max(0.0, slot - self._clock()))
        except BaseException:
            self.release(slot)
            raise
        await self.go()

    def hold_off(self, seconds: float) -> None:
        """Send nothing for ``seconds`` from now (never shortens an earlier hold)."""
        with self._lock:
            self._hold_until = max(self._hold_until, self._clock() + seconds)

    def held_for(self) -> float:
        """Seconds until a ``Retry-After`` has elapsed, 0 when none is pending."""
        return max(0.0, self._hold_until - self._clock())

    def observe(self, reads_left: float | None, global_reads_left: float | None, *, throttled: bool) -> None:
        """
        Follow ARM's read bucket, from one answer (adaptive pacers only).

        :param reads_left: ``x-ms-ratelimit-remaining-subscription-reads``, if the answer had it.
        :param global_reads_left: ``x-ms-ratelimit-remaining-subscription-global-reads``, if any.
        :param throttled: Whether the answer was a 429.
        """
        if not self.adaptive:
            return
        pacing = self._pacing
        fractions = [
            left / size
            for left, size in ((reads_left, pacing.bucket), (global_reads_left, pacing.global_bucket))
            if left is not None
        ]
        if not fractions and not throttled:
            # An answer that says nothing of the bucket (an endpoint that does not send ARM's
            # header) and is no 429: the pace a 429 dropped goes back to the start, not lower.
            with self._lock:
                now, start = self._clock(), min(self.ceiling, pacing.start)
                if self.rate < start:
                    if self._last_go > now:
                        self._last_go = now + (self._last_go - now) * self.rate / start
                    self.rate = self.pace = start
            return
        left = 0.0 if throttled else min(fractions)
        with self._lock:
            now = self._clock()
            previous, self.rate = self.rate, pacing.rate(left, self.ceiling)
            if self._observed_at is None:
                self.pace = self.rate
            else:
                weight = 1.0 - math.exp(-max(0.0, now - self._observed_at) / pacing.booking_smoothing)
                self.pace += (self.rate - self.pace) * weight
            self._observed_at = now
            if self._last_go > now:  # the next departure follows the new rate at once
                self._last_go = now + (self._last_go - now) * previous / self.rate
            regime = pacing.regime(left, self._regime)
            changed = regime != self._regime
            self._regime = regime
        if changed:
            why = "a 429 from ARM" if throttled else f"{left:.0%} of ARM's read bucket left"
            log.info(
                "Read pacing for subscription %s: %s, %s (%.3g -> %.3g reads/s; ceiling %g, the "
                "connection's max_reads_per_second)",
                self.name or "(none)",
                why,
                {
                    "ceiling": "at the ceiling",
                    "sharing": "sharing it with other readers of this identity",
                    "floor": "down to the reserve, at the floor",
                }[regime],
                previous,
                self.rate,
                self.ceiling,
            )

    def check(self) -> None:
        """Raise a transient error carrying the wait while a ``Retry-After`` runs (nothing is sent)."""
        held = self.held_for()
        if held > 0:
            raise AzureDataReplicationTransientError(
                "Not sent: the service asked to wait (Retry-After) and that time has not elapsed",
                retry_after=round(held, 3),
            )


_SUBSCRIPTION = re.compile(r"/subscriptions/([^/?#]+)", re.IGNORECASE)


class ReadPacers:
    """
    One :class:`ReadPacer` per subscription, for one principal.

    :param rate: Most reads per second, per subscription (with ``adaptive``, the ceiling).
    :param adaptive: Follow ARM's read bucket (:class:`AdaptivePacing`).
    """

    def __init__(self, rate: float, *, adaptive: bool = False) -> None:
        if not rate > 0:
            raise ValueError(f"max_reads_per_second must be positive, got {rate!r}")
        self.rate = rate
        self.adaptive = adaptive
        self._pacers: dict[str, ReadPacer] = {}
        self._lock = threading.Lock()

    def for_subscription(self, subscription_id: str) -> ReadPacer:
        """Return the pacer of one subscription (any case)."""
        key = subscription_id.lower()
        pacer = self._pacers.get(key)
        if pacer is None:
            with self._lock:
                pacer = self._pacers.setdefault(
                    key, ReadPacer(self.rate, adaptive=self.adaptive, name=subscription_id or "(none)")
                )
        return pacer

    def for_url(self, url: str) -> ReadPacer:
        """Return the pacer of the subscription a request URL is under (one shared for the rest)."""
        match = _SUBSCRIPTION.search(url)
        return self.for_subscription(unquote(match.group(1)) if match else "")


#: The process's pacers, one set per principal (and pace). Kept for the process's life, not only
#: while a client holds them: a client built after another one let go still paces against the
#: reads that one sent (a few floats per identity and subscription).
_SHARED_PACERS: dict[tuple[Any, ...], ReadPacers] = {}
_SHARED_PACERS_LOCK = threading.Lock()


def shared_read_pacers(principal: tuple[Any, ...], rate: float, *, adaptive: bool = False) -> ReadPacers:
    """
    Return the process's pacers for one principal (one set for the process's life).

    :param principal: Who signs in (see ``AzureDataReplicationConnection.principal``).
    :param rate: Most reads per second, per subscription (with ``adaptive``, the ceiling).
    :param adaptive: Follow ARM's read bucket (:class:`AdaptivePacing`).
    """
    key = (*principal, rate, adaptive)
    with _SHARED_PACERS_LOCK:
        pacers = _SHARED_PACERS.get(key)
        if pacers is None:
            pacers = ReadPacers(rate, adaptive=adaptive)
            _SHARED_PACERS[key] = pacers
    return pacers


def _seconds(value: str, *, scale: float = 1.0) -> float | None:
    try:
        return max(0.0, float(value) / scale)
    except ValueError:
        pass
    if scale != 1.0:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - time.time())


def retry_after_seconds(headers: Any) -> float | None:
    """
    Seconds to wait from an answer's headers (``None`` when it gives none).

    ``retry-after-ms`` / ``x-ms-retry-after-ms`` first (ARM's precedence), then ``Retry-After``
    (seconds or an HTTP-date).

    :param headers: The response headers (case-insensitive mapping).
    """
    for name in _RETRY_AFTER_MS_HEADERS:
        value = headers.get(name)
        if value and (seconds := _seconds(str(value), scale=1000.0)) is not None:
            return seconds
    value = headers.get("retry-after")
    return _seconds(str(value)) if value else None


def _count(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def reads_left(headers: Any) -> tuple[float | None, float | None]:
    """
    Return the reads ARM says are left: this principal's on the subscription, and the global ones.

    :param headers: The response headers (case-insensitive mapping).
    """
    return _count(headers.get(READS_LEFT_HEADER)), _count(headers.get(GLOBAL_READS_LEFT_HEADER))


def adaptive_read_pacing() -> bool:
    """Whether ``[azure_data_replication] adaptive_read_pacing`` is on (the default)."""
    from airflow_provider_datareplication.get_provider_info import CONFIG_SECTION
    from airflow_provider_datareplication.version_compat import conf

    return conf.getboolean(CONFIG_SECTION, "adaptive_read_pacing", fallback=True)


def http_logging_configured() -> bool:
    """Whether ``[azure_data_replication] http_logging`` is on (off by default)."""
    from airflow_provider_datareplication.get_provider_info import CONFIG_SECTION
    from airflow_provider_datareplication.version_compat import conf

    return conf.getboolean(CONFIG_SECTION, "http_logging", fallback=False)
