from __future__ import annotations

import itertools

import pytest

from airflow_provider_datareplication.exceptions import AzureDataReplicationTransientError
from airflow_provider_datareplication.pipeline import ReadPacer, ReadPacers, shared_read_pacers


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Sleeper:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.slept: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.now += seconds


def test_reads_are_spaced_at_the_rate_with_slack():
    clock = Clock()
    sleeper = Sleeper(clock)
    pacer = ReadPacer(4, clock=clock, sleep=sleeper)
    sent = []
    for _ in range(4):
        pacer.wait_turn()
        sent.append(clock.now)
    spacing = 1.1 / 4  # a tenth of slack for delays on the way
    assert [b - a for a, b in itertools.pairwise(sent)] == pytest.approx([spacing] * 3)


def test_a_late_reader_does_not_make_a_bunch():
    clock = Clock()
    pacer = ReadPacer(10, clock=clock, sleep=Sleeper(clock))
    pacer.wait_turn()
    clock.now += 5  # the loop was busy: the next read counts from the last one let go
    pacer.wait_turn()
    start = clock.now
    pacer.wait_turn()
    assert clock.now - start == pytest.approx(0.11)


def test_retry_after_holds_every_reader_and_is_never_shortened():
    clock = Clock()
    sleeper = Sleeper(clock)
    pacer = ReadPacer(10, clock=clock, sleep=sleeper)
    pacer.hold_off(5)
    pacer.hold_off(1)
    assert pacer.held_for() == 5
    with pytest.raises(AzureDataReplicationTransientError, match="Not sent") as info:
        pacer.check()
    assert info.value.retry_after == 5
    pacer.wait_turn()
    assert sleeper.slept == [5]
    pacer.check()


async def test_async_readers_take_turns_in_order():
    import asyncio
    import time

    pacer = ReadPacer(20)
    order: list[int] = []
    stamps: list[float] = []

    async def read(i: int) -> None:
        await pacer.turn()
        order.append(i)
        stamps.append(time.monotonic())

    await asyncio.gather(*(read(i) for i in range(6)))
    assert order == list(range(6))
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= 1.1 / 20 - 0.005


def test_pacers_are_per_subscription_any_case():
    pacers = ReadPacers(2)
    a = pacers.for_url("https://arm/subscriptions/ABC-1/resourceGroups/rg?api-version=1")
    assert pacers.for_subscription("abc-1") is a
    assert pacers.for_url("https://arm/subscriptions/other/x") is not a
    assert pacers.for_url("https://arm/providers/x") is pacers.for_subscription("")
    with pytest.raises(ValueError, match="max_reads_per_second"):
        ReadPacers(0)


def test_process_shares_pacers_by_principal_and_rate():
    principal = ("login.microsoftonline.com", "tenant", "client", None, None)
    first = shared_read_pacers(principal, 15)
    assert shared_read_pacers(principal, 15) is first
    assert shared_read_pacers(("other",), 15) is not first
