"""
What every ARM call of this provider shares, without importing any Azure SDK.

Its timeouts and retry budget, and the pacing of reads under ARM's limits. Imported at DAG-parse
time, so standard library only. The azure-core pipeline that uses these lives in
:mod:`airflow_provider_datareplication.arm_client`, imported when a client is built.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import re
import threading
import time
from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from airflow_provider_datareplication.exceptions import AzureDataReplicationTransientError

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


class ReadPacer:
    """
    Pace the reads of one (principal, subscription): at most ``rate`` per second, evenly spaced.

    A reader books a slot (:meth:`book`): the earliest time at or after the one it asks for that
    is at least one interval from every other booked read, and never before a ``Retry-After``
    the service gave has elapsed. Booking ahead lets a wait sleep until its slot instead of
    queueing inside a call, and tells it up front how far pacing stretches its poll interval.
    At its slot the reader asks to go (:meth:`go_in`): reads are let go at least one interval
    apart, so readers woken late by a busy event loop still do not go out in a bunch.

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
        self._booked: list[float] = []  # slot times, sorted; those long past are dropped
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

        :param earliest: A time of :attr:`clock` (``time.monotonic()`` by default).
        """
        with self._lock:
            now = self._clock()
            interval = self.interval
            slot = max(now if earliest is None else earliest, self._hold_until)
            booked = self._booked
            # Slots more than an interval past no longer constrain anyone.
            del booked[: bisect_right(booked, now - interval)]
            i = bisect_right(booked, slot - interval)
            while i < len(booked) and booked[i] < slot + interval:
                slot = booked[i] + interval
                i += 1
            insort(booked, slot)
            return slot

    def release(self, slot: float) -> None:
        """
        Give back a booked slot that will not be used (a wait cancelled, or past its deadline).

        :param slot: What :meth:`book` returned.
        """
        with self._lock:
            i = bisect_left(self._booked, slot)
            if i < len(self._booked) and self._booked[i] == slot:
                del self._booked[i]

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
        self._sleep(max(0.0, self.book() - self._clock()))
        self.wait_to_go()

    async def turn(self) -> None:
        """Book the next slot and wait until this read may go (for a coroutine, in any event loop)."""
        await self.leave_at(self.book())

    async def leave_at(self, slot: float) -> None:
        """
        Wait for a booked slot, then until this read may go; the slot is given back if cancelled.

        :param slot: A slot from :meth:`book`, on this pacer's clock.
        """
        import asyncio

        try:
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
