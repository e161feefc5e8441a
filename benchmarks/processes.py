"""
Several processes, one ARM read budget: K triggerers sharing the waits of one identity and subscription.

N waits in total (half operations, half jobs) are split over K processes, each its own event loop
of N/K triggers, as K triggerers would hold them, all reading as one principal on one subscription
from the local emulator, which throttles as ARM does (one bucket of 250 reads refilled 25 per
second for the principal and subscription, whichever process reads). Each wait's target is
``InProgress`` (``Started``) for ``--operation-seconds`` after its first read, then ``Succeeded``.

Run twice per K: with adaptive pacing (the default: each process's pace follows the reads ARM
says are left, under ``max_reads_per_second`` = 25 as the ceiling) and with the fixed pacing of
before (``adaptive_read_pacing = False``, 15 reads/s per process). Printed per run: 429s,
aggregate reads per second (busiest second, and the mean over the run), the time until every wait
fired, the poll interval each wait really got (median and 95th percentile of the waits' own
medians), and token requests per process.

    python benchmarks/processes.py                      # K = 1, 2, 4; N = 2000
    python benchmarks/processes.py --k 2 --n 400 --output -
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ARM_LIMIT = "250/25"
ARM_REFILL = 25.0
SUBSCRIPTION = "930CEC23-4430-4513-B855-DBA237E2F3BF"
#: The pacing modes compared: the connection's ceiling and whether the pace adapts.
MODES = {
    "adaptive": {"max_reads_per_second": 25.0, "adaptive": True},
    "fixed (before)": {"max_reads_per_second": 15.0, "adaptive": False},
}
#: At most this many 429s per run with adaptive pacing ("a handful", each honoured).
MOST_429S = 5


async def run_waits(first: int, count: int, tag: str, poll_seconds: float) -> dict[str, Any]:
    """Run this process's share of the waits, on one loop, until every one has fired."""
    from airflow_provider_datareplication.triggers.data_replication import (
        AzureDataReplicationJobTrigger,
        AzureDataReplicationOperationTrigger,
    )

    def make(i: int) -> Any:
        if i % 2:
            return AzureDataReplicationJobTrigger(
                job_name=f"{tag}-{i}", vault_name="vault1", poll_interval=poll_seconds
            )
        return AzureDataReplicationOperationTrigger(
            operation_id=f"{tag}-{i}", job_name="job1", vault_name="vault1", poll_interval=poll_seconds
        )

    async def wait(trigger: Any) -> bool:
        async for event in trigger.run():
            return bool(event.payload.get("event") == "terminal")
        return False

    started = time.time()
    fired = await asyncio.gather(*(wait(make(i)) for i in range(first, first + count)))
    return {"started": started, "finished": time.time(), "fired": sum(fired), "waits": count}


def worker(args: argparse.Namespace) -> int:
    """One process's share (prints one JSON line)."""
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(run_waits(args.first, args.count, args.tag, args.poll_seconds))
    print(json.dumps(result))
    return 0


def _emulator(info: dict[str, Any], method: str, path: str) -> Any:
    import requests

    answer = requests.request(
        method, f"{info['url']}/_emulator/{path}", json={}, verify=info["ca_file"], timeout=120
    )
    answer.raise_for_status()
    return answer.json()


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + 1.0:
            j += 1
        best = max(best, j - i)
    return best


def effective_intervals(reads: list[dict[str, Any]]) -> list[float]:
    """Each wait's median time between two of its answered reads."""
    by_target: dict[str, list[float]] = {}
    for read in reads:
        if read["status"] == 200:
            by_target.setdefault(read["path"], []).append(read["at"])
    medians = []
    for times in by_target.values():
        gaps = [b - a for a, b in zip(sorted(times), sorted(times)[1:], strict=False)]
        if gaps:
            medians.append(statistics.median(gaps))
    return sorted(medians)


def run(k: int, mode: str, n: int, info: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """One run: K processes, N waits in all, one pacing mode; return what the emulator saw."""
    settings = MODES[mode]
    connection = json.loads(json.dumps(info["connection"]))
    connection["extra"]["max_reads_per_second"] = settings["max_reads_per_second"]
    env = {
        **os.environ,
        "AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT": json.dumps(connection),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__AZURE_DATA_REPLICATION__ADAPTIVE_READ_PACING": str(settings["adaptive"]),
    }
    _emulator(info, "POST", "reset")
    tag = f"k{k}-{mode.split()[0]}-{int(time.time())}"
    share = n // k
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                "--first",
                str(i * share),
                "--count",
                str(share),
                "--tag",
                tag,
                "--poll-seconds",
                str(args.poll_seconds),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(k)
    ]
    results = []
    for process in workers:
        out, err = process.communicate(timeout=3600)
        if process.returncode != 0:
            raise SystemExit(f"a worker failed (K={k}, {mode}):\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    stats = _emulator(info, "GET", "stats")
    reads = [r for r in stats["requests"] if r["kind"] == "arm"]
    times = [r["at"] for r in reads]
    span = max(times) - min(times) if len(times) > 1 else 1.0
    intervals = effective_intervals(reads)
    return {
        "k": k,
        "mode": mode,
        "fired": sum(r["fired"] for r in results),
        "seconds": max(r["finished"] for r in results) - min(r["started"] for r in results),
        "reads": len(reads),
        "status_429": sum(1 for r in reads if r["status"] == 429),
        "busiest": busiest_second(times),
        "mean": len(reads) / span,
        "interval_median": statistics.median(intervals) if intervals else 0.0,
        "interval_p95": intervals[int(0.95 * (len(intervals) - 1))] if intervals else 0.0,
        "tokens_per_process": stats["token_requests"] / k,
    }


def render(rows: list[dict[str, Any]], n: int, args: argparse.Namespace) -> list[str]:
    lines = [
        f"{n} waits in all (half operations, half jobs), split over K processes of one event loop each (as K "
        f"triggerers), one principal and one subscription, against the emulator throttling as ARM does "
        f"({ARM_LIMIT}: one bucket for every process). Targets InProgress for "
        f"{args.operation_seconds:g} s after their first read; poll interval {args.poll_seconds:g} s. "
        "Adaptive: each process's pace follows the reads ARM says are left, ceiling 25 reads/s "
        "(`max_reads_per_second`); fixed (before): 15 reads/s per process, `adaptive_read_pacing = False`.",
        "",
        "| pacing | K | fired | 429s | reads/s busiest 1 s | reads/s mean | until every wait fired "
        "| poll interval each wait got (median / p95) | token requests per process |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['mode']} | {row['k']} | {row['fired']}/{n} | {row['status_429']} | {row['busiest']} "
            f"| {row['mean']:.1f} | {row['seconds']:.0f} s | {row['interval_median']:.0f} / "
            f"{row['interval_p95']:.0f} s | {row['tokens_per_process']:g} |"
        )
    return lines


def targets(rows: list[dict[str, Any]], n: int) -> list[str]:
    checks = []
    adaptive = {row["k"]: row for row in rows if row["mode"] == "adaptive"}
    fixed = {row["k"]: row for row in rows if row["mode"] != "adaptive"}
    for k, row in sorted(adaptive.items()):
        checks += [
            (f"adaptive, K={k}: every wait fired", row["fired"] == n),
            (
                f"adaptive, K={k}: at most {MOST_429S} 429s ({row['status_429']})",
                row["status_429"] <= MOST_429S,
            ),
            (
                f"adaptive, K={k}: aggregate mean within ARM's 25 reads/s ({row['mean']:.1f})",
                row["mean"] <= ARM_REFILL,
            ),
        ]
    if 1 in adaptive and 1 in fixed:
        faster = adaptive[1]["seconds"] < fixed[1]["seconds"]
        checks.append(
            (
                f"adaptive, K=1, full bucket: faster than before ({adaptive[1]['seconds']:.0f} s against "
                f"{fixed[1]['seconds']:.0f} s)",
                faster,
            )
        )
    return [f"- [{'x' if ok else ' '}] {text}" for text, ok in checks]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--k", type=int, action="append", help="processes (repeatable; default 1, 2, 4)")
    parser.add_argument("--n", type=int, default=2000, help="waits in all")
    parser.add_argument("--operation-seconds", type=float, default=30.0)
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    parser.add_argument("--output", default="docs", help="- to print only (default: docs/performance.md)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    ks = args.k or [1, 2, 4]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        info_file = Path(tmp) / "emulator.json"
        emulator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airflow_provider_datareplication.testing",
                "--auto-progress",
                str(args.operation_seconds),
                "--arm-read-limit",
                ARM_LIMIT,
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
            for mode in MODES:
                for k in ks:
                    row = run(k, mode, args.n, info, args)
                    print(json.dumps(row), flush=True)
                    rows.append(row)
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)
    checks = targets(rows, args.n)
    text = "\n".join([*render(rows, args.n, args), "", "Targets:", "", *checks])
    print(text)
    if args.output != "-":
        sys.path.insert(0, str(Path(__file__).parent))
        from report import write_section

        command = "python benchmarks/processes.py" + "".join(f" --k {k}" for k in (args.k or []))
        write_section("processes", command, "## Several processes, one ARM read budget\n\n" + text)
    return 0 if all(line.startswith("- [x]") for line in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
