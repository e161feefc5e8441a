"""Read pacing: one door per principal, subscription and provider; every throttling header read."""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import logging
import threading
import time

import pytest

from airflow_provider_datareplication.exceptions import AzureDataReplicationTransientError
from airflow_provider_datareplication.pacing import RULES, Pacer, Pacers, process_pacers
from airflow_provider_datareplication.pipeline import retry_after_seconds

RP = "x-ms-ratelimit-remaining-subscription-resource-requests"
READS = "x-ms-ratelimit-remaining-subscription-reads"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def answered(pacer: Pacer, status: int = 200, **headers: str) -> None:
    pacer.observe(status, {name.replace("_", "-").lower(): value for name, value in headers.items()})


def test_reads_leave_in_order_spaced_at_the_pace_with_slack():
    pacer = Pacer("sub / rp", 10, adaptive=False)
    left: list[tuple[float, int]] = []

    def read(i: int) -> None:
        pacer.wait()
        left.append((time.monotonic(), i))

    threads = [threading.Thread(target=read, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
        time.sleep(0.005)  # take the tickets in order
    for thread in threads:
        thread.join()
    assert [i for _, i in left] == list(range(6))  # in arrival order
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(left)]
    assert min(gaps) >= 0.11 - 0.01  # (1 + 10 %) / 10 reads/s


async def test_async_readers_in_any_loop_and_threads_share_one_door():
    pacer = Pacer("sub / rp", 20, adaptive=False)
    times: list[float] = []

    async def reads(n: int) -> None:
        for _ in range(n):
            await pacer.go()
            times.append(time.monotonic())

    def other_loop() -> None:
        asyncio.run(reads(5))

    thread = threading.Thread(target=other_loop)
    thread.start()
    await reads(5)
    thread.join()
    times.sort()
    assert len(times) == 10 and min(b - a for a, b in itertools.pairwise(times)) >= 0.055 - 0.01


async def test_a_cancelled_reader_gives_up_its_turn():
    pacer = Pacer("sub / rp", 2, adaptive=False)
    await pacer.go()  # the door's next turn is 0.55 s away
    queued = asyncio.ensure_future(pacer.go())
    await asyncio.sleep(0.05)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    started = time.monotonic()
    await pacer.go()  # not held up behind the one that left
    assert time.monotonic() - started < 0.6


def test_a_read_whose_turn_is_past_its_timeout_is_refused_at_once():
    pacer = Pacer("sub / rp", 10, adaptive=False)
    pacer.hold(5.0)
    started = time.monotonic()
    with pytest.raises(AzureDataReplicationTransientError, match="past its timeout") as info:
        pacer.wait(timeout=2)
    assert time.monotonic() - started < 0.1
    assert 4.9 <= info.value.retry_after <= 5.0


def test_a_429_holds_every_read_of_the_subscription_and_provider_for_its_retry_after():
    clock = Clock()
    pacer = Pacer("sub / rp", 10, clock=clock)
    answered(pacer, 429, Retry_After="30")
    assert pacer.held_for() == 30
    answered(pacer, 503, Retry_After="5")  # never shortened
    assert pacer.held_for() == 30
    clock.now += 31
    assert pacer.held_for() == 0


def test_the_provider_s_quota_is_learnt_from_its_header_and_the_pace_falls_with_it_before_a_429(caplog):
    caplog.set_level(logging.INFO, logger="airflow_provider_datareplication.pacing")
    pacer = Pacer("sub / Microsoft.DataReplication", 25)
    assert pacer.rate == RULES.start  # nothing heard yet: the conservative start
    answered(pacer, X_Ms_Throttling_Version="v1", **{RP.replace("-", "_"): "1099"})
    assert pacer.quotas[RP] == 1099 and pacer.rate == 25  # all of it left: the ceiling
    answered(pacer, **{RP.replace("-", "_"): "660"})  # 60 % left: half the way to the reserve
    assert pacer.rate == pytest.approx(25 * (0.6 - 0.3) / 0.6, rel=0.01)
    answered(pacer, **{RP.replace("-", "_"): "300"})  # 27 % left: the floor, no 429 yet
    assert pacer.rate == RULES.floor
    said = [r.getMessage() for r in caplog.records]
    assert any("x-ms-throttling-version v1" in line and RP in line for line in said)
    assert sum("down to the reserve" in line for line in said) == 1


def test_the_smallest_share_of_every_header_the_answer_carries_sets_the_pace():
    pacer = Pacer("sub / Microsoft.Migrate", 25)
    answered(
        pacer, **{READS.replace("-", "_"): "249"}, X_Ms_Ratelimit_Remaining_Subscription_Global_Reads="3749"
    )
    assert pacer.rate == 25
    answered(
        pacer, **{READS.replace("-", "_"): "100"}, X_Ms_Ratelimit_Remaining_Subscription_Global_Reads="3700"
    )
    assert pacer.rate == pytest.approx(25 * (100 / 249 - 0.3) / 0.6)  # 40 % of ARM's reads: the smaller share
    pacer = Pacer("sub / Microsoft.DataReplication", 25)
    answered(pacer, X_Ms_Ratelimit_Remaining_Subscription_Resource_Entities_Read="500")  # a list's
    answered(pacer, X_Ms_Ratelimit_Remaining_Subscription_Resource_Entities_Read="50")
    assert pacer.rate == RULES.floor


def test_an_answer_that_says_nothing_keeps_the_pace_and_a_fixed_pacer_ignores_the_headers():
    pacer = Pacer("sub / rp", 25)
    answered(pacer)
    assert pacer.rate == RULES.start
    fixed = Pacer("sub / rp", 15, adaptive=False)
    answered(fixed, **{RP.replace("-", "_"): "1"})
    assert fixed.rate == 15 and fixed.quotas[RP] == 1


def test_pacers_are_per_subscription_and_provider_and_the_process_keys_them_by_principal_only():
    pacers = Pacers(25)
    a = pacers.get("ABC-1")
    assert pacers.get("abc-1", "microsoft.datareplication") is a
    assert pacers.get("abc-1", "Microsoft.OffAzure") is not a
    principal = ("login.microsoftonline.com", "tenant", "client", None, None)
    first = process_pacers(principal, 25, adaptive=True)
    assert process_pacers(principal, 25, adaptive=True) is first
    # Another connection of the same identity: the same pacers, at the more careful ceiling.
    assert process_pacers(principal, 10, adaptive=True) is first and first.get("abc-1").ceiling == 10
    with pytest.raises(ValueError, match="max_reads_per_second"):
        Pacer("x", 0)


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
    moment = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= retry_after_seconds({"retry-after": moment}) <= 30
