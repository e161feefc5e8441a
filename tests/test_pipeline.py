from __future__ import annotations

import itertools

import pytest

from airflow_provider_datareplication.exceptions import AzureDataReplicationTransientError
from airflow_provider_datareplication.pipeline import (
    ADAPTIVE_PACING,
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
    spacing = 1.15 / 4  # the bookings' slack (15 %) for delays on the way
    assert [b - a for a, b in itertools.pairwise(sent)] == pytest.approx([spacing] * 3)


def test_a_late_reader_does_not_make_a_bunch():
    clock = Clock()
    pacer = ReadPacer(10, clock=clock, sleep=Sleeper(clock))
    first, second, third = pacer.book(), pacer.book(), pacer.book()
    assert [second - first, third - second] == pytest.approx([0.115, 0.115])
    clock.now = third + 1.0  # the loop was busy: all three wake late, at once
    sleeper = Sleeper(clock)
    pacer._sleep = sleeper
    sent = []
    for _ in range(3):
        pacer.wait_to_go()
        sent.append(clock.now)
    # They still leave spaced, one departure spacing apart (the rate, with its 10 % slack): not in
    # one burst, and not pushed further apart either.
    assert [b - a for a, b in itertools.pairwise(sent)] == pytest.approx([0.11, 0.11])


def test_no_departure_is_promised_further_ahead_than_one_spacing():
    clock = Clock()
    pacer = ReadPacer(10, clock=clock)
    assert pacer.go_in() == (0.0, True)
    assert pacer.go_in() == (pytest.approx(0.11), True)
    seconds, counted = pacer.go_in()  # two spacings away: ask again, nothing promised
    assert not counted and 0.11 <= seconds <= 0.22
    # A reader that waited while the pace was low goes as soon as it rises.
    slow, _ = adaptive()
    slow.observe(60, None, throttled=False)  # 24 %: the floor, 0.5 reads/s
    assert slow.go_in() == (0.0, True)
    assert slow.go_in() == (pytest.approx(2.2), True)  # one spacing away: counted
    assert not slow.go_in()[1]  # two: not promised
    slow.observe(250, None, throttled=False)  # the bucket refilled: the ceiling again
    slow._sleep = Sleeper(slow._clock)
    started = slow._clock.now
    slow.wait_to_go()  # not 2.2 s after the one promised at the floor: two spacings at 25/s
    assert slow._clock.now - started < 0.1


def test_booking_ahead_leaves_the_present_free():
    clock = Clock()
    pacer = ReadPacer(10, clock=clock)
    later = [pacer.book(clock.now + 30) for _ in range(5)]  # waits booking their next poll
    assert later[0] == 130 and later[-1] == pytest.approx(130.46)
    now = pacer.book()  # a read wanted now is not queued behind them
    assert now == 100
    assert pacer.book(130.2) == pytest.approx(130.575)  # past the booked run


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
    # 600 reads at 10/s (with slack) take 69 s: the last one books 69 s past its wish.
    assert slots[-1] - 130 == pytest.approx(599 * 0.115)
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
    assert sum(sleeper.slept) == pytest.approx(5.115)
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
    assert min(gaps) >= 1.1 / 50 - 0.005  # the rate held across every loop and thread


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


def test_an_adaptive_pacer_reads_at_its_ceiling_while_the_bucket_is_nearly_full():
    pacer, _ = adaptive()
    assert pacer.rate == 10  # before any answer
    pacer.observe(240, 3700, throttled=False)  # 96 % left
    assert pacer.rate == 25  # the ceiling (max_reads_per_second), from the first answer
    pacer.observe(225, None, throttled=False)  # 90 %
    assert pacer.rate == 25
    assert ReadPacer(4, adaptive=True).rate == 4  # never starts above its ceiling


def test_below_that_it_reads_its_share_of_what_is_left_above_the_reserve_at_once():
    pacer, _ = adaptive()
    pacer.observe(150, None, throttled=False)  # 60 %: halfway from the reserve (30 %) to 90 %
    assert pacer.rate == pytest.approx(12.5)
    pacer.observe(100, 500, throttled=False)  # the global bucket is the lower: 13 %
    assert pacer.rate == 0.5  # at or below the reserve: the floor
    pacer.observe(200, None, throttled=False)  # the bucket refilled: straight back up
    assert pacer.rate == pytest.approx(25 * (0.8 - 0.3) / 0.6)
    pacer.observe(None, None, throttled=True)  # a 429
    assert pacer.rate == 0.5


def test_processes_sharing_a_bucket_settle_above_the_reserve():
    # K processes at the same rate, each setting it from the bucket: the bucket settles where
    # together they read what ARM refills (25/s), above the 75 reads kept for bursts.
    for k in (1, 2, 4, 8, 16):
        pacer, _ = adaptive()
        level = 250.0
        for _ in range(2000):  # 10 ms steps
            pacer.observe(level, None, throttled=False)
            sustained = pacer.rate / (1 + ReadPacer.BOOKING_MARGIN)
            level = min(250.0, max(0.0, level + (25 - k * sustained) * 0.01))
        assert level > 75 + 10, (k, level)
        if k == 1:
            assert pacer.rate == 25


def test_the_adapted_rate_paces_the_next_bookings_smoothed():
    pacer, clock = adaptive(ceiling=10)
    pacer.observe(250, None, throttled=False)
    first = pacer.book()
    assert pacer.pace == 10
    clock.now += 0.1
    pacer.observe(0, None, throttled=True)  # a moment at the floor hardly moves the bookings' pace
    assert pacer.rate == 0.5 and pacer.pace > 9.8
    for _ in range(30):  # half the ceiling, held: the bookings follow within seconds
        clock.now += 1
        pacer.observe(150, None, throttled=False)  # 60 %: half the ceiling
    assert pacer.rate == pytest.approx(5) and pacer.pace == pytest.approx(5, rel=0.01)
    later = pacer.book(first + 100)
    assert pacer.book(first + 100) - later == pytest.approx(1.15 / 5, rel=0.01)


def test_a_fixed_pacer_ignores_the_bucket():
    pacer = ReadPacer(15)
    pacer.observe(0, 0, throttled=True)
    assert pacer.rate == 15


def test_each_change_of_regime_is_logged_once(caplog):
    import logging

    caplog.set_level(logging.INFO, logger="airflow_provider_datareplication.pipeline")
    pacer, _ = adaptive(ceiling=12)
    for left in (240, 230, 250, 220):  # at the ceiling (88 % stays there: within the hysteresis)
        pacer.observe(left, None, throttled=False)
    for left in (150, 140, 160, 150):  # sharing
        pacer.observe(left, None, throttled=False)
    pacer.observe(None, None, throttled=True)  # a 429: the floor
    pacer.observe(80, None, throttled=False)  # 32 %: still the floor's regime (hysteresis)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert "sub-1" in lines[0] and "96% of ARM's read bucket left, at the ceiling (10 -> 12" in lines[0]
    assert "60% of ARM's read bucket left, sharing it with other readers" in lines[1]
    assert "(11.6 -> 6 reads/s" in lines[1]
    assert "a 429 from ARM, down to the reserve, at the floor" in lines[2] and "ceiling 12" in lines[2]


def test_reads_counted_together_and_held_up_by_a_busy_loop_still_leave_spaced():
    import asyncio
    import time

    pacer = ReadPacer(20)  # a spacing of 55 ms
    left: list[float] = []

    async def read() -> None:
        await pacer.go()
        left.append(time.monotonic())

    async def main() -> None:
        readers = [asyncio.create_task(read()) for _ in range(2)]  # counted now and in 55 ms
        await asyncio.sleep(0)
        time.sleep(0.3)  # the loop is busy: both wake about 0.3 s late, together
        await asyncio.gather(*readers)

    asyncio.run(main())
    assert left[1] - left[0] >= 0.04  # a spacing (55 ms), less what the loop takes to resume A


# -- reads booked at a low pace move up when it rises ------------------------------------------------


def at_the_floor(ceiling=25.0):
    """An adaptive pacer that has just had a 429: its pace is at the floor, 0.5 reads/s."""
    pacer, clock = adaptive(ceiling)
    pacer.observe(None, None, throttled=True)
    assert pacer.pace == 0.5
    return pacer, clock


def test_a_read_booked_behind_the_floor_moves_up_once_the_pace_has_risen():
    pacer, clock = at_the_floor()
    for _ in range(50):  # fifty reads booked ahead of it, 2.3 s apart
        pacer.book()
    wanted = clock.now
    slot = pacer.book(wanted)
    assert slot - wanted == pytest.approx(50 * 2.3)

    answers = []

    def sleep(seconds: float) -> None:  # each nap, an answer: ARM's bucket full again from 110 s
        clock.now += seconds
        pacer.observe(250 if clock.now >= 110 else 0, None, throttled=False)
        answers.append(clock.now)

    pacer._sleep = sleep
    pacer.wait_at(slot, wanted)  # how the sync hook waits for its turn
    left = clock.now
    # Not at the 215 s the floor promised: soon after the bucket was full again (its place, 50
    # reads at 25/s, came long before).
    assert left < 110 + 10
    assert left > 110  # nothing made it go while the floor held
    assert len(answers) < 20  # it looked a few times, not every moment


def test_a_read_at_or_near_its_place_sleeps_to_its_slot():
    pacer, clock = adaptive()
    pacer.observe(250, None, throttled=False)  # the ceiling: 25 reads/s
    slots = [pacer.book(clock.now + 30) for _ in range(600)]  # 28 s of reads a poll interval ahead
    # Booked at the ceiling, a read is at its place: it wakes once, at its slot, as before.
    assert [pacer.look_at(slot, clock.now + 30) for slot in slots] == slots

    slow, slow_clock = at_the_floor()
    wanted = slow_clock.now
    floor_slots = [slow.book(wanted) for _ in range(200)]
    looks = [slow.look_at(slot, wanted) for slot in floor_slots]
    # Booked at the floor, it looks when its place would come at the ceiling (1.15 / 25 s a read),
    # unless that would bring it less than MOVE_UP_GAIN seconds sooner.
    assert looks[-1] - wanted == pytest.approx(199 * 1.15 / 25)
    near = [slot for slot, look in zip(floor_slots, looks, strict=True) if look == slot]
    assert near == floor_slots[: len(near)] and len(near) <= 3


def test_a_read_moves_up_at_the_pace_of_the_moment_never_before_it_is_wanted_nor_a_retry_after():
    pacer, clock = at_the_floor()
    wanted = clock.now + 30  # a poll interval ahead
    slots = [pacer.book(wanted) for _ in range(100)]  # 230 s of reads at the floor
    for _ in range(40):  # the bucket refills: answers say so for 20 s
        clock.now += 0.5
        pacer.observe(250, None, throttled=False)
    pacer.hold_off(15)  # and a Retry-After then holds every reader until 135 s
    moved = []
    for slot in slots:  # each looks, in the order of their places
        new, look = pacer.move_up(slot, wanted)
        assert look >= clock.now and (new == slot or new <= slot - ReadPacer.MOVE_UP_GAIN)
        moved.append(new)
    assert all(new >= 135 for new in moved[3:])  # past the Retry-After, and so the time wanted
    assert moved[:3] == slots[:3]  # those already within MOVE_UP_GAIN of their place stay
    gaps = [b - a for a, b in itertools.pairwise(sorted(moved))]
    assert min(gaps) >= 1.15 / 25 - 1e-9  # still spaced at the pace, with the slack
    assert max(moved) < 135 + 100 * 1.15 / 25 + ReadPacer.MOVE_UP_GAIN  # not the floor's 230 s
    assert len(pacer._booked) == 100  # the slots left behind were given back


def test_a_read_that_cannot_move_up_looks_again_soon_only_while_the_pace_may_rise():
    pacer, clock = at_the_floor()
    ahead = [pacer.book() for _ in range(30)]
    wanted = clock.now
    slot = pacer.book(wanted)
    # At the floor, only the next answer can tell that the bucket refilled: look again soon.
    assert pacer.move_up(slot, wanted) == (slot, clock.now + ReadPacer.LOOK_SOON)
    steady, steady_clock = adaptive()
    for _ in range(30):  # sharing the bucket with other processes, steadily: 12.5 reads/s
        steady_clock.now += 1
        steady.observe(150, None, throttled=False)
    ahead = [steady.book() for _ in range(1000)]
    wanted = steady_clock.now
    slot = steady.book(wanted)
    assert slot - wanted > 90 and ahead
    # Nothing to gain now, and the pace is not rising: look again in LOOK_EVERY seconds.
    assert steady.move_up(slot, wanted) == (slot, steady_clock.now + ReadPacer.LOOK_EVERY)


async def test_async_readers_booked_at_the_floor_go_when_the_pace_rises():
    import asyncio
    import time

    pacer = ReadPacer(25, adaptive=True, name="sub-1")
    pacer.observe(None, None, throttled=True)  # the floor: 2.3 s between booked reads
    left: list[float] = []

    async def read() -> None:
        await pacer.turn()
        left.append(time.monotonic())

    started = time.monotonic()
    readers = [asyncio.create_task(read()) for _ in range(12)]  # 25 s of reads at the floor
    await asyncio.sleep(0.2)
    for _ in range(10):  # answers: the bucket is full again
        pacer.observe(250, None, throttled=False)
        await asyncio.sleep(0.3)
    await asyncio.gather(*readers)
    assert len(left) == 12
    # The readers whose places came more than MOVE_UP_GAIN (5 s) after the rise moved up; the
    # last promised at the floor came 25 s out.
    assert max(left) - started < 15
    assert min(b - a for a, b in itertools.pairwise(sorted(left))) >= 1.1 / 25 - 0.005


def test_the_slot_book_finds_what_a_walk_over_every_slot_finds():
    import bisect
    import random

    from airflow_provider_datareplication.pipeline import SlotBook

    def walk(booked: list[float], slot: float, interval: float) -> float:
        i = bisect.bisect_right(booked, slot - interval)
        while i < len(booked) and booked[i] < slot + interval:
            slot = booked[i] + interval
            i += 1
        return slot

    rng = random.Random(16)
    for _ in range(40):
        book, plain = SlotBook(), []
        for _ in range(800):
            interval = rng.choice([0.046, 0.115, 1.0, 2.3])
            choice = rng.random()
            if choice < 0.55:
                wanted = rng.uniform(0, 100)
                slot = book.first_free(wanted, interval)
                assert slot == pytest.approx(walk(plain, wanted, interval), abs=1e-9)
                book.add(slot)
                bisect.insort(plain, slot)
            elif choice < 0.8 and plain:
                slot = plain.pop(rng.randrange(len(plain)))
                assert book.remove(slot) and not book.remove(slot)
            elif choice < 0.85:
                moment = rng.uniform(0, 40)
                book.drop_through(moment)
                del plain[: bisect.bisect_right(plain, moment)]
            else:
                start = rng.uniform(0, 120)
                end = start + rng.uniform(0, 60)
                expected = bisect.bisect_left(plain, end) - bisect.bisect_left(plain, start)
                assert book.count(start, end) == expected
        assert list(book) == plain and len(book) == len(plain)
    # A run with one slot given back has room for exactly one again (a gap of two intervals).
    book, run = SlotBook(), []
    for _ in range(300):  # 300 readers asking for the same moment: one dense run
        run.append(book.first_free(100.0, 0.115))
        book.add(run[-1])
    assert run[-1] == pytest.approx(100 + 299 * 0.115)
    assert book.remove(run[150])
    assert book.first_free(100.0, 0.115) == run[150]


def test_without_arm_s_header_a_429_does_not_leave_the_pace_at_the_floor():
    clock = Clock()
    pacer = ReadPacer(25, clock=clock, adaptive=True)
    assert pacer.rate == 10  # the start, before any answer
    pacer.observe(None, None, throttled=True)
    assert pacer.rate == ADAPTIVE_PACING.floor
    clock.now += 3
    pacer.observe(None, None, throttled=False)  # an answer that says nothing of the bucket
    assert pacer.rate == pacer.pace == 10
    pacer.observe(250, None, throttled=False)  # ARM's header: the bucket is full
    assert pacer.rate == 25
    pacer.observe(None, None, throttled=False)  # says nothing: the pace read off the bucket stays
    assert pacer.rate == 25


def test_without_arms_headers_the_pace_stays_at_its_start():
    # A private cloud, a proxy that strips them, an emulator without them: nothing to follow.
    pacer, clock = adaptive()
    for _ in range(100):
        clock.now += 0.1
        pacer.observe(None, None, throttled=False)
    assert pacer.rate == pacer.pace == 10  # AdaptivePacing.start, as documented
    assert adaptive(ceiling=4)[0].rate == 4  # or the ceiling, if lower
