from __future__ import annotations

import itertools

import pytest

from airflow_provider_datareplication.exceptions import AzureDataReplicationTransientError
from airflow_provider_datareplication.pipeline import (
    ReadPacer,
    ReadPacers,
    retry_after_seconds,
    shared_read_pacers,
)


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
    first, second, third = pacer.book(), pacer.book(), pacer.book()
    assert [second - first, third - second] == pytest.approx([0.11, 0.11])
    clock.now = third + 1.0  # the loop was busy: all three wake late, at once
    gaps = [pacer.go_in() for _ in range(3)]
    # They still leave spaced (by the rate, with half the slack), not in one burst.
    assert gaps == pytest.approx([0.0, 0.105, 0.21])


def test_booking_ahead_leaves_the_present_free():
    clock = Clock()
    pacer = ReadPacer(10, clock=clock)
    later = [pacer.book(clock.now + 30) for _ in range(5)]  # waits booking their next poll
    assert later[0] == 130 and later[-1] == pytest.approx(130.44)
    now = pacer.book()  # a read wanted now is not queued behind them
    assert now == 100
    assert pacer.book(130.2) == pytest.approx(130.55)  # past the booked run


def test_a_released_slot_is_booked_again():
    clock = Clock()
    pacer = ReadPacer(10, clock=clock)
    first = pacer.book()
    second = pacer.book()
    pacer.release(second)
    assert pacer.book() == second
    assert first == 100


def test_more_waits_than_the_rate_stretch_into_the_future():
    clock = Clock()
    pacer = ReadPacer(10, clock=clock)
    slots = [pacer.book(clock.now + 30) for _ in range(600)]
    # 600 reads at 10/s (with slack) take 66 s: the last one books about 36 s past its wish.
    assert slots[-1] - 130 == pytest.approx(599 * 0.11)
    assert len(set(slots)) == 600


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
    assert pacer.book() == 105  # nothing booked before it ends
    pacer.wait_turn()
    assert sum(sleeper.slept) == pytest.approx(5.11)
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
    assert min(gaps) >= 1.05 / 20 - 0.005


def test_one_pacer_serves_any_number_of_event_loops_and_threads():
    import asyncio
    import threading
    import time

    pacer = ReadPacer(50)
    stamps: list[float] = []

    async def readers(n: int) -> None:
        async def read() -> None:
            await pacer.turn()
            stamps.append(time.monotonic())

        await asyncio.gather(*(read() for _ in range(n)))

    # A contended first loop, then another asyncio.run() in this thread (an asyncio.Lock would be
    # bound to the first loop and refuse the second) ...
    asyncio.run(readers(5))
    asyncio.run(readers(5))
    # ... then two loops in two threads at once, beside a thread that reads without asyncio.
    errors: list[BaseException] = []

    def in_thread(target) -> None:
        try:
            target()
        except BaseException as err:
            errors.append(err)

    def blocking() -> None:
        for _ in range(5):
            pacer.wait_turn()
            stamps.append(time.monotonic())

    threads = [
        threading.Thread(target=in_thread, args=(lambda: asyncio.run(readers(5)),)),
        threading.Thread(target=in_thread, args=(lambda: asyncio.run(readers(5)),)),
        threading.Thread(target=in_thread, args=(blocking,)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(stamps) == 25
    gaps = [b - a for a, b in itertools.pairwise(sorted(stamps))]
    assert min(gaps) >= 1.05 / 50 - 0.005  # the rate held across every loop and thread


def test_pacers_are_per_subscription_any_case():
    pacers = ReadPacers(2)
    a = pacers.for_url("https://arm/subscriptions/ABC-1/resourceGroups/rg?api-version=1")
    assert pacers.for_subscription("abc-1") is a
    assert pacers.for_url("https://arm/subscriptions/other/x") is not a
    assert pacers.for_url("https://arm/providers/x") is pacers.for_subscription("")
    with pytest.raises(ValueError, match="max_reads_per_second"):
        ReadPacers(0)
    with pytest.raises(ValueError, match="max_reads_per_second"):
        ReadPacer(-1)


def test_process_shares_pacers_by_principal_and_rate():
    principal = ("login.microsoftonline.com", "tenant", "client", None, None)
    first = shared_read_pacers(principal, 15)
    assert shared_read_pacers(principal, 15) is first
    assert shared_read_pacers(("other",), 15) is not first


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"retry-after-ms": "1200", "Retry-After": "9"}, 1.2),  # ARM's precedence
        ({"x-ms-retry-after-ms": "300"}, 0.3),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_in_every_form(headers, seconds):
    assert retry_after_seconds({k.lower(): v for k, v in headers.items()}) == seconds


def test_retry_after_as_a_future_http_date():
    import email.utils
    import time

    moment = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= retry_after_seconds({"retry-after": moment}) <= 30


# -- adaptive pacing: following ARM's read bucket ---------------------------------------------------


def adaptive(ceiling=25.0, **kwargs):
    clock = Clock()
    return ReadPacer(ceiling, clock=clock, adaptive=True, name="sub-1", **kwargs), clock


def test_an_adaptive_pacer_starts_low_and_speeds_up_while_plenty_is_left():
    pacer, clock = adaptive()
    assert pacer.rate == 10
    for _ in range(30):
        pacer.observe(240, 3700, throttled=False)  # many answers in the same second: one step
        clock.now += 0.1
    assert pacer.rate == 13  # +1 read/s per second
    for _ in range(30):
        pacer.observe(240, None, throttled=False)
        clock.now += 1
    assert pacer.rate == 25  # the ceiling (max_reads_per_second)
    assert ReadPacer(4, adaptive=True).rate == 4  # never starts above its ceiling


def test_it_halves_as_the_bucket_runs_low_or_on_a_429_then_waits_for_the_bucket_to_show_it():
    pacer, clock = adaptive()
    pacer.rate = 20
    pacer.observe(40, None, throttled=False)  # 16 % left
    assert pacer.rate == 10
    pacer.observe(30, None, throttled=False)  # within the cool-down: the halving has not shown yet
    assert pacer.rate == 10
    clock.now += 3
    pacer.observe(None, None, throttled=True)
    assert pacer.rate == 5
    clock.now += 3
    pacer.observe(100, 500, throttled=False)  # the global bucket is the lower: 13 %
    assert pacer.rate == 2.5
    for _ in range(20):
        clock.now += 3
        pacer.observe(0, 0, throttled=False)
    assert pacer.rate == 0.5  # the floor
    clock.now += 1
    pacer.observe(100, None, throttled=False)  # 40 %: hold
    assert pacer.rate == 0.5


def test_the_adapted_rate_paces_the_next_bookings():
    pacer, _ = adaptive(ceiling=10)
    first = pacer.book()
    pacer.observe(10, None, throttled=False)
    assert pacer.rate == 5
    assert pacer.book() - first == pytest.approx(1.1 / 5)


def test_a_fixed_pacer_ignores_the_bucket():
    pacer = ReadPacer(15)
    pacer.observe(0, 0, throttled=True)
    assert pacer.rate == 15


def test_each_change_of_regime_is_logged_once(caplog):
    import logging

    caplog.set_level(logging.INFO, logger="airflow_provider_datareplication.pipeline")
    pacer, clock = adaptive(ceiling=12)
    for _ in range(10):
        clock.now += 1
        pacer.observe(240, None, throttled=False)  # speeding up, then at the ceiling
    for _ in range(3):
        clock.now += 3
        pacer.observe(20, None, throttled=False)  # slowing down, three times
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert "sub-1" in lines[0] and "96% of ARM's read bucket left, speeding up (10 -> 11 reads/s" in lines[0]
    assert "at the ceiling" in lines[1]
    assert "8% of ARM's read bucket left, slowing down (12 -> 6 reads/s; ceiling 12" in lines[2]
