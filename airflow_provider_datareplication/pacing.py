"""
Read pacing: one door per (principal, subscription, resource provider) that a process's reads leave by.

ARM throttles a principal's reads per subscription, and a resource provider may count them itself:
Microsoft.DataReplication answers with its own quota (``x-ms-throttling-version: v1``,
``x-ms-ratelimit-remaining-subscription-resource-requests``; per principal and per hour, ARM's
documentation says), other providers with ARM's bucket (``v2``, ``...-subscription-reads``). A
:class:`Pacer` lets reads through one at a time, spaced at its pace, and reads every throttling
header on every answer: each remaining count against the largest seen for it (the quota, learned),
the pace falling as the smallest share left falls, and a 429's ``Retry-After`` holding every read
of that subscription and provider in the process. The rules and numbers are in
``docs/performance.md``. Standard library only: DAG parsing imports this module.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from airflow_provider_datareplication.exceptions import (
    TRANSIENT_STATUS_CODES,
    AzureDataReplicationTransientError,
)
from airflow_provider_datareplication.pipeline import retry_after_seconds

log = logging.getLogger(__name__)

#: The throttling headers that say how much is left, and what each counts (ARM's throttling page).
REMAINING_HEADERS = {
    "x-ms-ratelimit-remaining-subscription-reads": "ARM's reads",
    "x-ms-ratelimit-remaining-subscription-global-reads": "ARM's reads for every principal",
    "x-ms-ratelimit-remaining-subscription-resource-requests": "the resource provider's requests",
    "x-ms-ratelimit-remaining-subscription-resource-entities-read": "the resource provider's list reads",
    "x-ms-ratelimit-remaining-tenant-reads": "ARM's tenant reads",
    "x-ms-ratelimit-remaining-tenant-resource-requests": "the resource provider's tenant requests",
    "x-ms-ratelimit-remaining-tenant-resource-entities-read": "the resource provider's tenant list reads",
}
THROTTLING_VERSION_HEADER = "x-ms-throttling-version"
#: The provider this provider's waits read.
DATA_REPLICATION = "Microsoft.DataReplication"


@dataclass(frozen=True)
class PacingRules:
    """
    How a pace follows what the answers say is left: a share of it above a reserve.

    :param start: Reads per second before any answer said anything (never above the ceiling):
        conservative, as the quota of a provider that counts itself is small (about 1,100 an hour).
    :param full: At or above this share left, the ceiling.
    :param reserve: At or below this share left (or on a 429), the floor.
    :param floor: The slowest pace, reads per second.
    :param hysteresis: How far past a boundary the share must go before a change is logged again.
    """

    start: float = 0.5
    full: float = 0.9
    reserve: float = 0.3
    floor: float = 0.1
    hysteresis: float = 0.05

    def rate(self, left: float, ceiling: float) -> float:
        """
        Return the pace for a share left: the ceiling, the floor, or in proportion between.

        :param left: The smallest share left (0 on a 429).
        :param ceiling: The most reads per second.
        """
        share = (left - self.reserve) / (self.full - self.reserve)
        return min(ceiling, max(self.floor, ceiling * share))

    def regime(self, left: float, current: str) -> str:
        """
        Return ``ceiling``, ``sharing`` or ``floor`` for a share left, with hysteresis.

        :param left: The smallest share left (0 on a 429).
        :param current: The regime until now.
        """
        margin = self.hysteresis
        if left >= self.full or (current == "ceiling" and left >= self.full - margin):
            return "ceiling"
        if left <= self.reserve or (current == "floor" and left <= self.reserve + margin):
            return "floor"
        return "sharing"


RULES = PacingRules()
_REGIMES = {
    "ceiling": "at the ceiling",
    "sharing": "sharing it with other readers of this identity",
    "floor": "down to the reserve, at the floor",
}


class Pacer:
    """
    The door a process's reads of one (principal, subscription, provider) leave by, one at a time.

    A read takes a ticket and leaves in ticket order, each at least a spacing after the one before
    (``(1 + MARGIN) / pace`` seconds) and not before a ``Retry-After`` has elapsed. A read that
    waits looks at the door again at least every :attr:`NAP` seconds, so a change of pace reaches
    it soon; a read whose turn would come after its timeout is refused at once, with that wait as
    its ``retry_after``. Thread-safe and bound to no event loop (:meth:`wait` blocks a thread,
    :meth:`go` awaits in any loop; a lock is held only for the bookkeeping).

    :param name: What it paces, for log lines (``<subscription> / <provider>``).
    :param ceiling: The most reads per second (the connection's ``max_reads_per_second``).
    :param adaptive: Follow what the answers say is left (else keep the ceiling).
    :param rules: How the pace follows it (default: :data:`RULES`, as the module holds it then).
    :param clock: A monotonic clock (for tests).
    """

    #: Slack in the spacing, so a read delayed on its way to the wire never lets the server see
    #: more than the pace in one second.
    MARGIN = 0.1
    #: The longest a waiting read sleeps before it looks at the door again.
    NAP = 2.0

    def __init__(
        self,
        name: str,
        ceiling: float,
        *,
        adaptive: bool = True,
        rules: PacingRules | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        if not ceiling > 0:
            raise ValueError(f"max_reads_per_second must be positive, got {ceiling!r}")
        self.name, self.ceiling, self.adaptive = name, float(ceiling), adaptive
        self.rules = rules or RULES
        self.rate = min(self.ceiling, self.rules.start) if adaptive else self.ceiling
        self._clock = clock
        self._lock = threading.Lock()
        self._issued = self._serving = 0
        self._abandoned: set[int] = set()
        self._last = float("-inf")
        self._hold_until = 0.0
        #: The largest count each remaining header has shown: its quota, as far as this process knows.
        self.quotas: dict[str, float] = {}
        self._regime = "starting"
        self._version: str | None = None

    @property
    def spacing(self) -> float:
        """Seconds between two reads at the pace of the moment."""
        return (1.0 + self.MARGIN) / self.rate

    # -- the door -----------------------------------------------------------------------------------

    def _take(self, timeout: float) -> int:
        with self._lock:
            now = self._clock()
            turn = max(self._last + self.spacing, self._hold_until) - now
            wait = max(turn, 0.0) + (self._issued - self._serving) * self.spacing
            if wait > timeout:
                raise AzureDataReplicationTransientError(
                    f"Not sent: at this process's read pace for {self.name} ({self.rate:.3g} reads/s), "
                    f"this read's turn comes in {wait:.0f} s, past its timeout ({timeout:g} s)",
                    retry_after=round(wait, 3),
                )
            self._issued += 1
            return self._issued - 1

    def _ask(self, ticket: int) -> float:
        """Let the ticket leave now (0), or return how long it sleeps before asking again."""
        with self._lock:
            while self._serving in self._abandoned:
                self._abandoned.discard(self._serving)
                self._serving += 1
            now = self._clock()
            turn = max(self._last + self.spacing, self._hold_until) - now
            ahead = ticket - self._serving
            if ahead == 0 and turn <= 0:
                self._last, self._serving = now, self._serving + 1
                return 0.0
            return min(max(turn, 0.0) + ahead * self.spacing, self.NAP) or 1e-3

    def _abandon(self, ticket: int) -> None:
        with self._lock:
            if ticket >= self._serving:
                self._abandoned.add(ticket)

    def wait(self, timeout: float = float("inf")) -> None:
        """
        Block until this read may leave (a thread).

        :param timeout: Refuse at once (a transient error) if the turn comes later than this.
        """
        ticket = self._take(timeout)
        try:
            while (nap := self._ask(ticket)) > 0:
                time.sleep(nap)
        except BaseException:
            self._abandon(ticket)
            raise

    async def go(self, timeout: float = float("inf")) -> None:
        """
        Wait until this read may leave (a coroutine, in any event loop).

        :param timeout: Refuse at once (a transient error) if the turn comes later than this.
        """
        ticket = self._take(timeout)
        try:
            while (nap := self._ask(ticket)) > 0:
                await asyncio.sleep(nap)
        except BaseException:
            self._abandon(ticket)
            raise

    def hold(self, seconds: float) -> None:
        """Let nothing leave for ``seconds`` from now (a ``Retry-After``; never shortens an earlier one)."""
        with self._lock:
            self._hold_until = max(self._hold_until, self._clock() + seconds)

    def held_for(self) -> float:
        """Seconds until a ``Retry-After`` has elapsed, 0 when none runs."""
        return max(0.0, self._hold_until - self._clock())

    def check(self, longest: float) -> None:
        """
        Refuse a read at once while a ``Retry-After`` longer than ``longest`` seconds runs (transiently).

        :param longest: The longest hold a call waits out itself (``max_retry_after``).
        """
        if (held := self.held_for()) > longest:
            raise AzureDataReplicationTransientError(
                f"Not sent: the service asked to wait (Retry-After) for {self.name}; {held:.0f} s are left",
                retry_after=round(held, 3),
            )

    # -- what the answers say -----------------------------------------------------------------------

    def observe(self, status: int, headers: Any) -> None:
        """
        Learn from one answer: its ``Retry-After``, its throttling version, what it says is left.

        :param status: The HTTP status.
        :param headers: The answer's headers (a case-insensitive mapping).
        """
        retry_after = retry_after_seconds(headers) if status in TRANSIENT_STATUS_CODES else None
        throttled = status == 429
        if retry_after or throttled:
            # The rule: nothing of this subscription and provider leaves before it has elapsed.
            self.hold(retry_after or self.spacing)
        left: dict[str, float] = {}
        for header in REMAINING_HEADERS:
            count = _count(headers.get(header))
            if count is not None:
                quota = self.quotas[header] = max(self.quotas.get(header, 0.0), count)
                left[header] = count / quota if quota > 0 else 0.0
        version = headers.get(THROTTLING_VERSION_HEADER)
        if version and version != self._version:
            self._version = str(version)
            log.info(
                "Throttling for %s: x-ms-throttling-version %s, counted in %s",
                self.name,
                version,
                ", ".join(f"{header} ({REMAINING_HEADERS[header]})" for header in left) or "no header",
            )
        if throttled:
            log.info("Read pacing for %s: a 429, every read held %.3g s", self.name, self.held_for())
        if not self.adaptive or not left:
            return  # an answer that says nothing of what is left keeps the pace
        with self._lock:
            share = min(left.values())
            previous, self.rate = self.rate, self.rules.rate(share, self.ceiling)
            regime = self.rules.regime(share, self._regime)
            changed, self._regime = regime != self._regime, regime
        if changed:
            why = f"{share:.0%} of {min(left, key=left.__getitem__)} left"
            log.info(
                "Read pacing for %s: %s, %s (%.3g -> %.3g reads/s; ceiling %g)",
                self.name,
                why,
                _REGIMES[regime],
                previous,
                self.rate,
                self.ceiling,
            )


def _count(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class Pacers:
    """
    One principal's pacers in this process: one per subscription and resource provider.

    :param ceiling: The most reads per second of each (the lowest any connection of the principal asks).
    :param adaptive: Follow what the answers say is left.
    """

    def __init__(self, ceiling: float, *, adaptive: bool = True) -> None:
        self.ceiling, self.adaptive = float(ceiling), adaptive
        self._pacers: dict[tuple[str, str], Pacer] = {}
        self._lock = threading.Lock()

    def get(self, subscription_id: str, provider: str = DATA_REPLICATION) -> Pacer:
        """
        Return the pacer of a subscription and a resource provider (any case).

        :param subscription_id: The subscription the read is under (``""`` for none: a tenant read).
        :param provider: The resource provider that answers it.
        """
        key = (subscription_id.lower(), provider.lower())
        pacer = self._pacers.get(key)
        if pacer is None:
            with self._lock:
                pacer = self._pacers.setdefault(
                    key,
                    Pacer(
                        f"{subscription_id or '(tenant)'} / {provider}", self.ceiling, adaptive=self.adaptive
                    ),
                )
        return pacer

    def lower_ceiling(self, ceiling: float) -> None:
        """Take a lower ceiling (a connection of the principal that asks for fewer reads per second)."""
        with self._lock:
            if ceiling < self.ceiling:
                self.ceiling = ceiling
                for pacer in self._pacers.values():
                    pacer.ceiling, pacer.rate = ceiling, min(pacer.rate, ceiling)


#: The process's pacers by principal, for the process's life (a few numbers per subscription).
_PACERS: dict[Any, Pacers] = {}
_PACERS_LOCK = threading.Lock()


def process_pacers(principal: Any, ceiling: float, *, adaptive: bool) -> Pacers:
    """
    Return this process's pacers of a principal: every client, hook and trigger reading as it shares them.

    :param principal: Who signs in (``AzureDataReplicationConnection.principal``).
    :param ceiling: The connection's ``max_reads_per_second``.
    :param adaptive: ``[azure_data_replication] adaptive_read_pacing``.
    """
    with _PACERS_LOCK:
        pacers = _PACERS.get(principal)
        if pacers is None or pacers.adaptive != adaptive:
            pacers = _PACERS[principal] = Pacers(ceiling, adaptive=adaptive)
    pacers.lower_ceiling(ceiling)
    return pacers
