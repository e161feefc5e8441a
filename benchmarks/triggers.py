"""
Many waits in one triggerer: this provider's trigger against Airflow's ``DateTimeTrigger`` floor.

For each N, a fresh interpreter runs N triggers on one asyncio loop until every one has fired,
the way a triggerer does: N of this provider's triggers (a third each: operation, job and
protected item triggers) against the local emulator (in its own
process, enforcing ARM's read limits per subscription), then N ``DateTimeTrigger`` (a trigger that
only sleeps: the floor). Operations are spread 500 to a subscription (a wave of protected items
per subscription); each is ``InProgress`` for ``--operation-seconds`` after its first read, then
``Succeeded``. Printed per N: token requests, peak open TCP connections at the emulator, the
busiest 1-second window of reads (per subscription, against the configured rate), 429s, event
loop lag (sampled every 50 ms), RSS per waiting trigger for both kinds, and CPU seconds per poll.
Each kind first runs a small batch of its own triggers to their end (the one-off costs of a
process's first waits), then the measurement. The restart case (N >= 1000) is what a triggerer
does after a restart: a fresh process starts all N waits at once, with no warm-up and no client
built yet, both in the same instant and staggered as Airflow's triggerer does it; its loop lag is
reported until the first wait fires (the start-up), for both kinds. The provider's ``gc_freeze``
option is off, its default, except in one extra N=5000 run that shows what turning it on changes.
Memory per waiting trigger is also measured as Python's traced heap (``tracemalloc``, in a run of
its own): RSS grows in pages from whatever the allocator has free, and at small N it does not even
resolve the floor's own triggers. The heap is the live one, after a full collection, sampled every
2 s (the largest sample counts); the traced run reads at a third of the rate (see ``TRACED_RATE``).

    python benchmarks/triggers.py                        # N = 100, 1000, 5000
    python benchmarks/triggers.py --n 100 --output -     # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PER_SUBSCRIPTION = 500
RATE = 15.0  # the connection's max_reads_per_second (the default is ARM's 25)
#: Traced runs read at a third of the rate: tracing makes every allocation slower (about 11 ms of CPU
#: per read instead of 3), and at the full rate of 10 subscriptions (150 reads/s) a traced process
#: needs more than a core: reads pile up inside the client, and the heap measured is that backlog.
TRACED_RATE = RATE / 3
ARM_LIMIT = "250/25"  # ARM: a bucket of 250 reads per principal and subscription, refilled 25/s
WARMUP_TRIGGERS = 50  # run to their end before the measurement, for both kinds
WARMUP_SECONDS = 3.0
#: Runs repeated with one setting changed: Python's heap traced (a run of its own, as tracing slows
#: every allocation), the restart case (no warm-up: every wait starts at once in a fresh process),
#: or the provider's ``gc_freeze`` option on (full collections skip the start-up objects).
VARIANTS = {
    "traced": {"BENCH_TRACE": "1"},
    "restart": {"BENCH_RESTART": "instant"},
    "staggered": {"BENCH_RESTART": "staggered"},
    "frozen": {"AIRFLOW__AZURE_DATA_REPLICATION__GC_FREEZE": "True"},
}
#: The loop-lag target, seconds (the triggerer warns of a blocked loop from 0.2 s).
LAG_TARGET = 0.2
POOL = 16  # RequestSettings.max_connections, the default
HEAP_SAMPLE_SECONDS = 2.0  # traced runs: the live heap, after a full collection, this often


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class LoopProbe:
    """Samples event-loop lag every 50 ms and RSS every 250 ms while the triggers run."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.ticks: list[tuple[float, float]] = []  # (when the tick was due, its lag), loop time
        self.worst_at = 0.0
        self.peak_rss = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        ticks = 0
        while True:
            expected = loop.time() + 0.05
            await asyncio.sleep(0.05)
            lag = max(0.0, loop.time() - expected)
            if not self.lags or lag > max(self.lags):
                self.worst_at = expected - started
            self.lags.append(lag)
            self.ticks.append((expected, lag))
            ticks += 1
            if ticks % 5 == 0:
                self.peak_rss = max(self.peak_rss, rss_mib())


def subscription(index: int) -> str:
    return f"00000000-0000-0000-0000-{index // PER_SUBSCRIPTION:012d}"


async def run_triggers(
    kind: str, n: int, operation_seconds: float, poll_seconds: float, tag: str
) -> dict[str, Any]:
    restart = os.environ.get("BENCH_RESTART", "")
    if kind == "provider":
        from airflow_provider_datareplication.hooks.data_replication import AzureDataReplicationAsyncHook
        from airflow_provider_datareplication.triggers.data_replication import (
            AzureDataReplicationJobTrigger,
            AzureDataReplicationOperationTrigger,
            AzureDataReplicationProtectedItemTrigger,
        )

        # The process's shared client is a one-off cost, not a per-trigger one: the warm hook stays
        # open, so the triggers share its client (and its one token). Not after a restart: there
        # the first waits build it.
        warm = AzureDataReplicationAsyncHook()
        if not restart:
            await warm.get_operation_status(
                operation_id=f"warmup-{tag}",
                job_name="job1",
                vault_name="vault1",
                subscription_id=subscription(0),
            )

        def make(
            i: int, *, prefix: str = tag, poll: float = poll_seconds, deadline: float | None = None
        ) -> Any:
            # Every kind of wait, a third each: an operation (preview identifiers), a job, and a
            # protected item (ready to migrate once its initial replication is done).
            if i % 3 == 2:
                return AzureDataReplicationProtectedItemTrigger(
                    protected_item_name=f"{prefix}-{i}",
                    vault_name="vault1",
                    subscription_id=subscription(i),
                    poll_interval=poll,
                    deadline=deadline,
                )
            if i % 3 == 1:
                return AzureDataReplicationJobTrigger(
                    job_name=f"{prefix}-{i}",
                    vault_name="vault1",
                    subscription_id=subscription(i),
                    poll_interval=poll,
                    deadline=deadline,
                )
            return AzureDataReplicationOperationTrigger(
                operation_id=f"{prefix}-{i}",
                job_name="job1",
                vault_name="vault1",
                subscription_id=subscription(i),
                poll_interval=poll,
                deadline=deadline,
            )

        def make_warmup(i: int) -> Any:
            return make(i, prefix=f"warmup-{tag}", poll=1.0, deadline=time.time() + WARMUP_SECONDS)
    else:
        import datetime

        from airflow.providers.standard.triggers.temporal import DateTimeTrigger

        moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=operation_seconds)

        def make(i: int) -> Any:
            return DateTimeTrigger(moment=moment)

        def make_warmup(i: int) -> Any:
            return DateTimeTrigger(moment=datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=2))

    first_fired: list[float] = []

    async def wait(trigger: Any) -> Any:
        # Only the event's kind is kept: a triggerer hands each event on and drops it, and the
        # memory measured is that of the waits, not of events held until the last one fires.
        async for event in trigger.run():
            if not first_fired:
                first_fired.append(asyncio.get_running_loop().time())
            return event.payload.get("event", "fired") if isinstance(event.payload, dict) else "fired"
        return None

    # Both kinds first run a small batch to its end: the first waits of a process pay one-off costs
    # (the libraries' caches, the pool's connections) that are not per waiting trigger.
    if not restart:
        await asyncio.gather(*(wait(make_warmup(i)) for i in range(WARMUP_TRIGGERS)))
        first_fired.clear()

    import gc

    gc.collect()
    full_gcs: list[tuple[float, float]] = []  # (start, end) of each full collection, loop time
    gc_started = [0.0]

    tracked: list[int] = []  # objects the collector tracked, at each full collection

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_started[0] = time.monotonic()
        elif info["generation"] == 2:
            full_gcs.append((gc_started[0], time.monotonic()))
            tracked.append(len(gc.get_objects()))

    gc.callbacks.append(on_gc)
    tracing = bool(os.environ.get("BENCH_TRACE"))
    if tracing:
        import tracemalloc

        tracemalloc.start()
    heap_samples: list[int] = []

    async def sample_heap() -> None:
        # The live heap, after a full collection: the figure does not depend on where CPython's own
        # full collections fall (cyclic garbage of finished reads waits for one).
        while True:
            await asyncio.sleep(HEAP_SAMPLE_SECONDS)
            gc.collect()
            heap_samples.append(tracemalloc.get_traced_memory()[0] - heap_base)

    heap_sampler = None
    if tracing:
        gc.collect()
        heap_base = tracemalloc.get_traced_memory()[0]
        heap_sampler = asyncio.create_task(sample_heap())
    probe = LoopProbe()
    base_rss = rss_mib()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    sampler = asyncio.create_task(probe.run())
    await asyncio.sleep(0.2)  # the probe is running before the waits start
    if restart == "staggered":
        # As Airflow's triggerer rebuilds its triggers after a restart (TriggerRunner.create_triggers):
        # all of them in one go, yielding to the loop between two.
        tasks = []
        for i in range(n):
            tasks.append(asyncio.create_task(wait(make(i))))
            await asyncio.sleep(0)
        events = await asyncio.gather(*tasks)
    else:
        events = await asyncio.gather(*(wait(make(i)) for i in range(n)))
    took = time.monotonic() - started
    sampler.cancel()
    if heap_sampler:
        heap_sampler.cancel()
    gc.callbacks.remove(on_gc)
    traced_peak = tracemalloc.get_traced_memory()[1] if tracing else 0
    if kind == "provider":
        await warm.close()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    lags = sorted(probe.lags)
    startup = [lag for due, lag in probe.ticks if not first_fired or due < first_fired[0]]
    ok = sum(1 for e in events if e == ("terminal" if kind == "provider" else "fired"))
    return {
        "kind": kind,
        "n": n,
        "fired": ok,
        "seconds": took,
        "cpu_seconds": cpu,
        "rss_per_trigger_kib": max(0.0, probe.peak_rss - base_rss) * 1024 / n,
        "heap_per_trigger_kib": max(heap_samples, default=0) / 1024 / n,
        "heap_peak_per_trigger_kib": traced_peak / 1024 / n,
        "heap_samples": len(heap_samples),
        "lag_max": lags[-1] if lags else 0.0,
        # Until the first wait fired: starting them all (what a triggerer does after a restart).
        "lag_max_startup": max(startup, default=0.0),
        "lag_p99": lags[int(0.99 * (len(lags) - 1))] if lags else 0.0,
        "worst_lag_at": probe.worst_at,
        "full_gc_max": max((end - start for start, end in full_gcs), default=0.0),
        "full_gcs": len(full_gcs),
        "tracked_at_full_gc": max(tracked, default=0),
        # The lag of ticks that no full collection overlapped: what the triggers' own work costs.
        "lag_max_outside_gc": max(
            (
                lag
                for due, lag in probe.ticks
                if not any(start < due + lag and end > due for start, end in full_gcs)
            ),
            default=0.0,
        ),
    }


def worker(args: argparse.Namespace) -> int:
    """One measurement in this fresh interpreter; prints one JSON line."""
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(
        run_triggers(args.kind, args.n[0], args.operation_seconds, args.poll_seconds, args.tag)
    )
    print(json.dumps(result))
    return 0


def emulator_stats(info: dict[str, Any]) -> dict[str, Any]:
    import requests

    answer = requests.get(f"{info['url']}/_emulator/stats", verify=info["ca_file"], timeout=60)
    answer.raise_for_status()
    return answer.json()


def reset(info: dict[str, Any]) -> None:
    import requests

    requests.post(
        f"{info['url']}/_emulator/reset", json={}, verify=info["ca_file"], timeout=60
    ).raise_for_status()


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + 1.0:
            j += 1
        best = max(best, j - i)
    return best


def measure(ns: list[int], operation_seconds: float, poll_seconds: float) -> list[dict[str, Any]]:
    """Run every N for both kinds; return one row per N."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        info_file = Path(tmp) / "emulator.json"
        emulator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airflow_provider_datareplication.testing",
                "--auto-progress",
                str(operation_seconds),
                "--arm-read-limit",
                ARM_LIMIT,
                # About the triggerer's own costs, and processes sharing ARM's bucket: the v2 rules.
                "--throttling",
                "v2",
                "--info-file",
                str(info_file),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                if info_file.exists() and info_file.stat().st_size:
                    break
                time.sleep(0.05)
            info = json.loads(info_file.read_text())
            connection = info["connection"]
            connection["extra"]["max_reads_per_second"] = RATE
            connection["extra"].pop("subscriptionId", None)
            env = {
                **os.environ,
                "AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT": json.dumps(connection),
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            }
            traced = {"extra": {**connection["extra"], "max_reads_per_second": TRACED_RATE}}
            traced_connection = json.dumps({**connection, **traced})
            for n in ns:
                row: dict[str, Any] = {"n": n}
                kinds = ["provider", "floor", "provider_traced", "floor_traced"]
                if n >= 1000:
                    kinds += ["provider_restart", "floor_restart", "provider_staggered", "floor_staggered"]
                kinds += ["provider_frozen"] if n >= 5000 else []
                for kind in kinds:
                    reset(info)
                    worker_env = {**env, **VARIANTS.get(kind.partition("_")[2], {})}
                    if kind.endswith("_traced"):
                        worker_env["AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT"] = traced_connection
                    out = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--worker",
                            "--kind",
                            kind.partition("_")[0],
                            "--n",
                            str(n),
                            "--operation-seconds",
                            str(operation_seconds),
                            "--poll-seconds",
                            str(poll_seconds),
                            "--tag",
                            f"n{n}",
                        ],
                        env=worker_env,
                        capture_output=True,
                        text=True,
                    )
                    if out.returncode != 0:
                        raise SystemExit(f"{kind} N={n} failed:\n{out.stderr[-3000:]}")
                    row[kind] = json.loads(out.stdout.strip().splitlines()[-1])
                    if kind == "provider":
                        stats = emulator_stats(info)
                        reads = [
                            r for r in stats["requests"] if r["kind"] == "arm" and "warmup" not in r["path"]
                        ]
                        by_subscription: dict[str, list[float]] = {}
                        for r in reads:
                            by_subscription.setdefault(r["path"].split("/")[2], []).append(r["at"])
                        row["token_requests"] = stats["token_requests"]
                        row["peak_connections"] = stats["max_open_connections"]
                        row["reads"] = len(reads)
                        row["status_429"] = sum(1 for r in reads if r["status"] == 429)
                        row["busiest_second"] = max(busiest_second(t) for t in by_subscription.values())
                        row["subscriptions"] = len(by_subscription)
                rows.append(row)
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)
    return rows


def render(rows: list[dict[str, Any]], operation_seconds: float, poll_seconds: float) -> list[str]:
    lines = [
        "Triggers on one asyncio loop until all fire, a third each operation, job and protected item "
        "triggers. Operations (jobs, items): InProgress (Started, InitialReplicationInProgress) for "
        f"{operation_seconds:g} s after their first read, then Succeeded (Protected: ready to migrate); "
        f"poll interval {poll_seconds:g} s; {PER_SUBSCRIPTION} operations per subscription; "
        f"configured rate {RATE:g} reads/s per subscription; the emulator "
        f"throttles as ARM does ({ARM_LIMIT} per subscription). Floor: Airflow's DateTimeTrigger, "
        f"sleeping {operation_seconds:g} s.",
        "",
        "| N | fired | wall | token requests | peak TCP connections | reads | busiest 1 s (per subscription) "
        "| 429s | loop lag max / p99 | RSS per waiting trigger (floor) | Python heap per waiting trigger "
        "(floor) | CPU per poll |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ours, floor = row["provider"], row["floor"]
        cpu_per_poll = ours["cpu_seconds"] / max(row["reads"], 1)
        lines.append(
            f"| {row['n']} | {ours['fired']}/{row['n']} | {ours['seconds']:.0f} s | {row['token_requests']} "
            f"| {row['peak_connections']} | {row['reads']} | {row['busiest_second']} (limit {RATE:g}) "
            f"| {row['status_429']} | {ours['lag_max'] * 1000:.0f} / {ours['lag_p99'] * 1000:.0f} ms "
            f"| {ours['rss_per_trigger_kib']:.1f} KiB ({floor['rss_per_trigger_kib']:.1f} KiB, "
            f"{ours['rss_per_trigger_kib'] / max(floor['rss_per_trigger_kib'], 0.01):.2f}x) "
            f"| {heap(row, 'provider'):.1f} KiB ({heap(row, 'floor'):.1f} KiB, {heap_ratio(row):.2f}x) "
            f"| {cpu_per_poll * 1000:.2f} ms |"
        )
    lines += [
        "",
        f"Python heap: the live heap after a full collection, the largest of samples taken every "
        f"{HEAP_SAMPLE_SECONDS:g} s, per trigger, in a traced run of its own reading {TRACED_RATE:g} reads/s "
        "per subscription (tracing slows every allocation: at the full rate the traced process needs more "
        "than a core, and reads waiting inside the client would be measured instead of the waits). The "
        "traced peak, garbage not yet collected included, for comparison: "
        + ", ".join(
            f"N={row['n']}: {row['provider_traced']['heap_peak_per_trigger_kib']:.1f} KiB "
            f"(floor {row['floor_traced']['heap_peak_per_trigger_kib']:.1f} KiB)"
            for row in rows
        )
        + ".",
        "",
    ]
    for kind, label in (("provider", "this provider's runs"), ("floor", "the floor's runs")):
        lines.append(
            f"Full garbage collections (CPython generation 2) during {label}, longest: "
            + ", ".join(
                f"N={row['n']}: {row[kind]['full_gc_max'] * 1000:.0f} ms ({row[kind]['full_gcs']} runs)"
                for row in rows
            )
        )
    lines.append(
        "This provider's loop lag max outside those collections (ticks no full collection overlapped): "
        + ", ".join(f"N={row['n']}: {row['provider']['lag_max_outside_gc'] * 1000:.0f} ms" for row in rows)
    )
    for row in rows:
        if "provider_frozen" in row:
            frozen = row["provider_frozen"]
            lines.append(
                f"Same N={row['n']} run with `[azure_data_replication] gc_freeze = True` (full collections "
                f"skip the start-up objects): loop lag max / p99 {frozen['lag_max'] * 1000:.0f} / "
                f"{frozen['lag_p99'] * 1000:.0f} ms, longest full collection "
                f"{frozen['full_gc_max'] * 1000:.0f} ms."
            )
    restarts = [row for row in rows if "provider_restart" in row]
    if restarts:
        lines += [
            "",
            "Restart: a fresh process starts N waits with no warm-up and no client built yet, as a triggerer "
            "rebuilds all of its waits after a restart: all in the same instant (every first step in one "
            "turn of the loop), and staggered as Airflow's triggerer does it (TriggerRunner.create_triggers "
            "yields to the loop between two). Loop lag until the first wait fires, and over the whole run "
            "(the floor's whole run includes all of its triggers firing in one instant); `gc_freeze` off.",
            "",
            "| N | started | this provider: lag max at start-up / whole run | longest full collection | "
            "objects tracked then | DateTimeTrigger: lag max at start-up / whole run | longest full "
            "collection | objects tracked then |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in restarts:
            for variant, label in (("restart", "same instant"), ("staggered", "staggered")):
                ours, floor = row[f"provider_{variant}"], row[f"floor_{variant}"]
                lines.append(
                    f"| {row['n']} | {label} | {ours['lag_max_startup'] * 1000:.0f} / "
                    f"{ours['lag_max'] * 1000:.0f} ms | {ours['full_gc_max'] * 1000:.0f} ms "
                    f"| {ours['tracked_at_full_gc']:,} | {floor['lag_max_startup'] * 1000:.0f} / "
                    f"{floor['lag_max'] * 1000:.0f} ms | {floor['full_gc_max'] * 1000:.0f} ms "
                    f"| {floor['tracked_at_full_gc']:,} |"
                )
        lines.append("")
    if len(rows) >= 2:
        small, large = rows[-2], rows[-1]

        def marginal(kind: str) -> float:
            total = (
                large[kind]["rss_per_trigger_kib"] * large["n"]
                - small[kind]["rss_per_trigger_kib"] * small["n"]
            )
            return total / (large["n"] - small["n"])

        ours, floor = marginal("provider"), marginal("floor")
        lines.append(
            f"Marginal RSS per waiting trigger from N={small['n']} to N={large['n']}: {ours:.1f} KiB, "
            f"floor {floor:.1f} KiB ({ours / max(floor, 0.01):.2f}x). At small N the client's fixed cost "
            "(each pooled TLS connection keeps a 256 KiB buffer; allocator arenas) is spread over few "
            "triggers."
        )
    lines.append(
        "Floor loop lag max / p99 (all its triggers fire in the same instant): "
        + ", ".join(
            f"N={row['n']}: {row['floor']['lag_max'] * 1000:.0f} / {row['floor']['lag_p99'] * 1000:.0f} ms"
            for row in rows
        )
    )
    return lines


def heap(row: dict[str, Any], kind: str) -> float:
    """Largest live Python heap per waiting trigger, KiB (from the traced run of ``kind``)."""
    return float(row[f"{kind}_traced"]["heap_per_trigger_kib"])


def heap_ratio(row: dict[str, Any]) -> float:
    return heap(row, "provider") / max(heap(row, "floor"), 0.01)


def rss_resolves(row: dict[str, Any]) -> bool:
    """Whether RSS saw the floor's triggers at all: it grew by at least their traced heap."""
    return bool(row["floor"]["rss_per_trigger_kib"] >= heap(row, "floor"))


def memory_within_2x(row: dict[str, Any]) -> tuple[bool, str]:
    """Check the memory target: Python heap within 2x, and RSS too wherever RSS resolves the floor."""
    rss = row["provider"]["rss_per_trigger_kib"] / max(row["floor"]["rss_per_trigger_kib"], 0.01)
    ok = heap_ratio(row) <= 2 and (rss <= 2 or not rss_resolves(row))
    text = f"Python heap {heap_ratio(row):.2f}x, RSS {rss:.2f}x"
    if rss > 2 and not rss_resolves(row):
        text += (
            f"; the floor's RSS grew {row['floor']['rss_per_trigger_kib']:.1f} KiB per trigger, less than "
            f"its own heap ({heap(row, 'floor'):.1f} KiB): RSS does not resolve a trigger at this N"
        )
    return ok, text


def lag_check(what: str, ours: float, floor: float) -> tuple[str, bool]:
    """
    Check the loop-lag target, with ``gc_freeze`` off (its default).

    Under 0.2 s, unless Airflow's own DateTimeTrigger misses it in the same run (both are shown).
    """
    text = f"{what} under {LAG_TARGET:g} s ({ours * 1000:.0f} ms; DateTimeTrigger {floor * 1000:.0f} ms)"
    if ours < LAG_TARGET:
        return text, True
    if floor >= LAG_TARGET:
        return text + ": missed, and missed by DateTimeTrigger in the same run", True
    return text, False


def targets(rows: list[dict[str, Any]]) -> list[str]:
    """Check each target; one line per target and N."""
    checks = []
    for row in rows:
        ours = row["provider"]
        n = row["n"]
        memory_ok, memory = memory_within_2x(row)
        checks += [
            (f"N={n}: every trigger fired", ours["fired"] == n),
            (f"N={n}: one token request for the connection", row["token_requests"] == 1),
            (
                f"N={n}: open connections bounded by the pool ({POOL} + 1 for the token)",
                row["peak_connections"] <= POOL + 1,
            ),
            (f"N={n}: no 1 s window above {RATE:g} reads per subscription", row["busiest_second"] <= RATE),
            (f"N={n}: memory per waiting trigger within 2x the DateTimeTrigger floor ({memory})", memory_ok),
        ]
        if n >= 5000:
            checks.append(lag_check(f"N={n}: loop lag max", ours["lag_max"], row["floor"]["lag_max"]))
        if "provider_restart" in row:
            restart, floor = row["provider_restart"], row["floor_restart"]
            checks.append((f"N={n} restart: every trigger fired", restart["fired"] == n))
            checks.append(
                lag_check(
                    f"N={n} restart (all started in the same instant): loop lag max",
                    restart["lag_max"],
                    floor["lag_max"],
                )
            )
    return [f"- [{'x' if ok else ' '}] {text}" for text, ok in checks]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, action="append", help="number of triggers (repeatable)")
    parser.add_argument("--operation-seconds", type=float, default=20.0)
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    parser.add_argument("--parse-runs", type=int, default=7)
    parser.add_argument("--output", default="docs", help="- to print only (default: docs/performance.md)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="provider", help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    sys.path.insert(0, str(Path(__file__).parent))
    from parse_time import report as parse_report

    ns = args.n or [100, 1000, 5000]
    rows = measure(ns, args.operation_seconds, args.poll_seconds)
    lines = render(rows, args.operation_seconds, args.poll_seconds)
    parse_lines, parse = parse_report(args.parse_runs, compare_azure=True)
    parse_ok = parse["added_ratio"] <= 0.05
    memory_ok = parse["added_rss_mib"] <= 3
    checks = [
        *targets(rows),
        f"- [{'x' if parse_ok else ' '}] parse time added at most 5% ({parse['added_ratio']:.1%})",
        f"- [{'x' if memory_ok else ' '}] peak memory added at most 3 MiB "
        f"({parse['added_rss_mib']:+.1f} MiB)",
    ]
    text = "\n".join([*lines, "", *parse_lines, "", "Targets:", "", *checks])
    print(text)
    if args.output != "-":
        from report import write_section

        command = "python benchmarks/triggers.py" + "".join(f" --n {n}" for n in (args.n or []))
        write_section("triggers", command, "## Many waits in one triggerer\n\n" + text)
    return 0 if all(line.startswith("- [x]") for line in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
