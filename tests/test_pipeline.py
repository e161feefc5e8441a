from __future__ import annotations

import pytest

from airflow_provider_datareplication.exceptions import AzureDataReplicationTransientError
from airflow_provider_datareplication.pipeline import ReadPacer, ReadPacers, shared_read_pacers


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_reads_are_spaced_at_the_rate():
    clock = Clock()
    pacer = ReadPacer(4, clock=clock)
    spacing = 1.1 / 4  # a tenth of slack for delays on the way
    assert [pacer.reserve() for _ in range(4)] == pytest.approx([0.0, spacing, 2 * spacing, 3 * spacing])
    clock.now += 2
    assert pacer.reserve() == 0.0


def test_retry_after_holds_every_reader_and_is_never_shortened():
    clock = Clock()
    pacer = ReadPacer(10, clock=clock)
    pacer.hold_off(5)
    pacer.hold_off(1)
    assert pacer.held_for() == 5
    with pytest.raises(AzureDataReplicationTransientError, match="Not sent") as info:
        pacer.check()
    assert info.value.retry_after == 5
    assert pacer.reserve() == 5
    assert pacer.reserve() == pytest.approx(5.11)
    clock.now += 6
    assert pacer.check() == pytest.approx(0.0, abs=0.2)


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
