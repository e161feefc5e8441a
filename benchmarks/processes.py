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

The recovery case (``--recovery``) is one triggerer's N waits that start right after a burst of
reads, as the same identity on the same subscription, has emptied ARM's bucket (the workers'
first checks of N deferrable sensors, say): the process's first answers put its pace at the floor
(0.1 reads/s) while its waits queue at the door, and the bucket is full again seconds later. Each wait needs
one read (its target has already ended). Printed per N: the time until every wait fired, against
(reads needed / 25 per second) + the poll interval + 30 s, the waits' 429s, their busiest second
and mean reads per second, and the burst's reads and 429s. It writes a section of its own.

    python benchmarks/processes.py                      # K = 1, 2, 4; N = 2000
    python benchmarks/processes.py --k 2 --n 400 --output -
    python benchmarks/processes.py --recovery           # N = 1000, 5000 after a burst
    python benchmarks/processes.py --recovery --recovery-n 200 --output -
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

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
#: The recovery case: N waits started right after a burst emptied ARM's bucket.
RECOVERY_NS = (1000, 5000)
#: Its target: every wait fires within (reads needed / ARM's refill) + the poll interval + this.
RECOVERY_SLACK = 30.0
#: Threads the burst reads from: enough to empty the bucket faster than ARM refills it.
BURST_THREADS = 8


async def run_waits(
    first: int, count: int, tag: str, poll_seconds: float, limit: float | None = None
) -> dict[str, Any]:
    """Run this process's share of the waits, on one loop, until every one has fired (or ``limit`` s)."""
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

    fired_at: list[float] = []

    async def wait(trigger: Any) -> bool:
        async for event in trigger.run():
            fired_at.append(time.time())
            return bool(event.payload.get("event") == "terminal")
        return False

    started = time.time()
    tasks = [asyncio.ensure_future(wait(make(i))) for i in range(first, first + count)]
    done, pending = await asyncio.wait(tasks, timeout=limit)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    fired = sum(1 for task in done if task.result())
    finished = max(fired_at) if not pending and fired_at else time.time()
    return {"started": started, "finished": finished, "fired": fired, "waits": count}


def worker(args: argparse.Namespace) -> int:
    """One process's share (prints one JSON line); for the recovery case, it starts when told to."""
    logging.basicConfig(level=logging.WARNING)
    if args.recovery:
        # Imports first, then "ready": the waits start the moment the burst has emptied the bucket.
        import airflow_provider_datareplication.triggers.data_replication  # noqa: F401

        print("ready", flush=True)
        sys.stdin.readline()
    limit = args.limit or None
    result = asyncio.run(run_waits(args.first, args.count, args.tag, args.poll_seconds, limit))
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


def burst(info: dict[str, Any], tag: str) -> dict[str, Any]:
    """
    Read as the connection's identity, from several threads, until ARM's bucket is empty (a 429).

    What the first checks of many deferrable sensors do in the workers: plain GETs of targets that
    have ended, as fast as the emulator answers.
    """
    import threading

    import requests

    connection = info["connection"]
    extra = connection["extra"]
    token = requests.post(
        f"{info['url']}/{extra['tenantId']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": connection["login"],
            "client_secret": connection["password"],
            "scope": f"{info['url']}/.default",
        },
        verify=info["ca_file"],
        timeout=60,
    ).json()["access_token"]
    path = (
        f"{info['url']}/subscriptions/{SUBSCRIPTION}/resourceGroups/rg1/providers/Microsoft.DataReplication"
        "/replicationVaults/vault1/jobs/job1/operations"
    )
    empty = threading.Event()
    counts = {"reads": 0, "429s": 0}
    lock = threading.Lock()

    def read(thread: int) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {token}"
            i = 0
            while not empty.is_set():
                answer = session.get(
                    f"{path}/burst-{tag}-{thread}-{i}?api-version=2021-02-16-preview",
                    verify=info["ca_file"],
                    timeout=60,
                )
                i += 1
                with lock:
                    counts["reads"] += 1
                    if answer.status_code == 429:
                        counts["429s"] += 1
                        empty.set()

    started = time.time()
    threads = [threading.Thread(target=read, args=(i,)) for i in range(BURST_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {**counts, "seconds": time.time() - started}


def run_recovery(n: int, info: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """N waits in one process, started right after a burst emptied the bucket; what the emulator saw."""
    settings = MODES["adaptive"]
    connection = json.loads(json.dumps(info["connection"]))
    connection["extra"]["max_reads_per_second"] = settings["max_reads_per_second"]
    env = {
        **os.environ,
        "AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT": json.dumps(connection),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__AZURE_DATA_REPLICATION__ADAPTIVE_READ_PACING": "True",
    }
    target = n / ARM_REFILL + args.poll_seconds + RECOVERY_SLACK
    tag = f"recovery{n}-{int(time.time())}"
    _emulator(info, "POST", "reset")
    process = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--worker",
            "--recovery",
            "--count",
            str(n),
            "--tag",
            tag,
            "--poll-seconds",
            str(args.poll_seconds),
            "--limit",
            str(max(args.recovery_limit, 2 * target)),
        ],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        raise SystemExit(f"the recovery worker did not start (N={n}):\n{process.stderr.read()[-3000:]}")
    drained = burst(info, tag)
    go = time.time()
    process.stdin.write("go\n")
    process.stdin.flush()
    out, err = process.communicate(timeout=7200)
    if process.returncode != 0:
        raise SystemExit(f"the recovery worker failed (N={n}):\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    stats = _emulator(info, "GET", "stats")
    reads = [r for r in stats["requests"] if r["kind"] == "arm" and "burst-" not in r["path"]]
    times = [r["at"] for r in reads]
    span = max(times) - min(times) if len(times) > 1 else 1.0
    return {
        "n": n,
        "fired": result["fired"],
        "seconds": result["finished"] - go,
        "complete": result["fired"] == n,
        "target": target,
        "reads": len(reads),
        "status_429": sum(1 for r in reads if r["status"] == 429),
        "busiest": busiest_second(times),
        "mean": len(reads) / span,
        "burst_reads": drained["reads"],
        "burst_429s": drained["429s"],
        "burst_seconds": drained["seconds"],
    }


def render_recovery(rows: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    lines = [
        "One process (as one triggerer) starts N waits, half operations and half jobs, right after a "
        "burst of reads as the same identity on the same subscription has emptied the emulator's "
        f"bucket ({ARM_LIMIT}, as ARM's): {BURST_THREADS} threads reading as fast as the emulator "
        "answers until the first 429, as the first checks of N deferrable sensors would in the "
        "workers. The process's first answers put its pace at the floor (0.1 reads/s) while its waits "
        "queue at the door; the bucket is full again within seconds. Each wait needs one read "
        f"(its target has ended); poll interval {args.poll_seconds:g} s, `max_reads_per_second` 25, "
        "adaptive pacing. Target: every wait fires within N / 25 s + the poll interval + "
        f"{RECOVERY_SLACK:g} s. The 429s, busiest second and mean count the waits' reads (the "
        "burst's are apart).",
        "",
        "| N | fired | until every wait fired (target) | 429s | reads/s busiest 1 s | reads/s mean "
        "| burst before: reads, 429s, seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        took = f"{row['seconds']:.0f} s" if row["complete"] else f"more than {row['seconds']:.0f} s"
        lines.append(
            f"| {row['n']} | {row['fired']}/{row['n']} | {took} ({row['target']:.0f} s) "
            f"| {row['status_429']} | {row['busiest']} | {row['mean']:.1f} "
            f"| {row['burst_reads']}, {row['burst_429s']}, {row['burst_seconds']:.1f} s |"
        )
    return lines


def recovery_targets(rows: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    checks = []
    for row in rows:
        n = row["n"]
        if row["complete"]:
            took = f"{row['seconds']:.0f} s"
        else:
            took = f"{row['fired']} fired after {row['seconds']:.0f} s"
        checks += [
            (f"recovery, N={n}: every wait fired", row["complete"]),
            (
                f"recovery, N={n}: every wait fired within {n} / 25 + {args.poll_seconds:g} + "
                f"{RECOVERY_SLACK:g} = {row['target']:.0f} s ({took})",
                row["complete"] and row["seconds"] <= row["target"],
            ),
            (
                f"recovery, N={n}: at most {MOST_429S} 429s ({row['status_429']})",
                row["status_429"] <= MOST_429S,
            ),
        ]
    return [f"- [{'x' if ok else ' '}] {text}" for text, ok in checks]


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


@contextlib.contextmanager
def started_emulator(operation_seconds: float) -> Iterator[dict[str, Any]]:
    """
    Run the emulator in a process of its own, throttling as ARM does; yield its info.

    :param operation_seconds: How long each target runs after its first read (0: ended already).
    """
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
            yield json.loads(info_file.read_text())
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--k", type=int, action="append", help="processes (repeatable; default 1, 2, 4)")
    parser.add_argument("--n", type=int, default=2000, help="waits in all")
    parser.add_argument("--operation-seconds", type=float, default=30.0)
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    parser.add_argument("--output", default="docs", help="- to print only (default: docs/performance.md)")
    parser.add_argument(
        "--recovery", action="store_true", help="the recovery case only: waits started after a burst"
    )
    parser.add_argument(
        "--recovery-n", type=int, action="append", help="waits in the recovery case (repeatable; 1000, 5000)"
    )
    parser.add_argument(
        "--recovery-limit",
        type=float,
        default=600.0,
        help="give up on a recovery run after this many seconds, or twice its target if longer",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.recovery:
        return recovery(args)

    ks = args.k or [1, 2, 4]
    rows = []
    with started_emulator(args.operation_seconds) as info:
        for mode in MODES:
            for k in ks:
                row = run(k, mode, args.n, info, args)
                print(json.dumps(row), flush=True)
                rows.append(row)
    checks = targets(rows, args.n)
    text = "\n".join([*render(rows, args.n, args), "", "Targets:", "", *checks])
    print(text)
    if args.output != "-":
        sys.path.insert(0, str(Path(__file__).parent))
        from report import write_section

        command = "python benchmarks/processes.py" + "".join(f" --k {k}" for k in (args.k or []))
        write_section("processes", command, "## Several processes, one ARM read budget\n\n" + text)
    return 0 if all(line.startswith("- [x]") for line in checks) else 1


def recovery(args: argparse.Namespace) -> int:
    """Run the recovery case: its own emulator (every target ended), its own section of the document."""
    rows = []
    with started_emulator(0.0) as info:
        for n in args.recovery_n or RECOVERY_NS:
            row = run_recovery(n, info, args)
            print(json.dumps(row), flush=True)
            rows.append(row)
    checks = recovery_targets(rows, args)
    text = "\n".join([*render_recovery(rows, args), "", "Targets:", "", *checks])
    print(text)
    if args.output != "-":
        sys.path.insert(0, str(Path(__file__).parent))
        from report import write_section

        command = "python benchmarks/processes.py --recovery" + "".join(
            f" --recovery-n {n}" for n in (args.recovery_n or [])
        )
        write_section("recovery", command, "## Waits that start after ARM's read bucket ran low\n\n" + text)
    return 0 if all(line.startswith("- [x]") for line in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
