"""
Protected-item waits against the real service's quota: single GETs against shared reads and lists.

N waits on protected items spread over 10 vaults, polling every 300 s, run on one asyncio loop as a
triggerer runs them, against the emulator counting Microsoft.DataReplication's requests as the real
service does (its own quota per principal and subscription, 1,100 over an hour, a 429 with
``Retry-After`` to the window's end once spent). Each item is in initial replication and becomes
ready to migrate at a moment spread evenly over the second hour; each wait fires when it sees its
item ready. Requests are counted over the first hour, every wait waiting (from one poll
interval after the last wait began, should the waits' process start late), per hour; 429s over
the whole run. Run twice per N: with the vaults' lists (the default) and with single GETs
(``[azure_data_replication] vault_lists = False``: one GET per waited item a round, still one per
item however many wait on it). Printed per run: requests per hour, 429s, and how late each wait
fired after its item was ready, in poll intervals.

Time runs 60 times faster than on Azure (``--scale``): the poll interval, the quota's window, the
pacer's rates (its start, floor and ceiling) and the trigger's first-read spread are all scaled
together, so a run of two hours takes two minutes and the counts per (scaled) hour are those a
deployment would see. The emulator serves lists of 100 items a page (assumed: the real service
answered 70 jobs in one page, the largest list recorded).

    python benchmarks/reads.py                      # N = 1,000 and 5,000; writes docs/performance.md
    python benchmarks/reads.py --n 200 --output -   # a quick look
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
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[1]
VAULTS = 10
INTERVAL = 300.0  # seconds, as the migration wave example polls
HOUR = 3600.0
QUOTA = 1100  # Microsoft.DataReplication's requests per principal and subscription per hour
PAGE_SIZE = 100
MODES = {"lists": "True", "single GETs": "False"}
#: Targets for the runs with lists.
LIST_SHARE = 0.10  # requests per hour at most this share of one GET per wait per interval
LATE_INTERVALS = 2.0  # every wait fired within this many poll intervals of its item being ready


def worker(args: argparse.Namespace) -> int:
    """Run the waits in this process (one loop), print when each fired."""
    logging.basicConfig(level=logging.WARNING)
    from airflow_provider_datareplication import pacing
    from airflow_provider_datareplication.triggers import data_replication as triggers
    from airflow_provider_datareplication.triggers.data_replication import (
        AzureDataReplicationProtectedItemTrigger,
    )

    scale = args.scale
    # Time runs `scale` times faster: so do the pacer's rates and the first reads' spread.
    rules = pacing.RULES
    pacing.RULES = pacing.PacingRules(
        start=rules.start * scale, full=rules.full, reserve=rules.reserve, floor=rules.floor * scale
    )
    triggers.FIRST_POLL_SPREAD /= scale
    triggers.JOIN_SECONDS /= scale
    items = json.loads(Path(args.items).read_text())

    async def run() -> dict[str, Any]:
        fired: dict[str, float] = {}

        async def wait(name: str, vault: str) -> None:
            trigger = AzureDataReplicationProtectedItemTrigger(
                protected_item_name=name, vault_name=vault, poll_interval=INTERVAL / scale
            )
            async for event in trigger.run():
                if event.payload.get("event") == "terminal":
                    fired[name] = time.time()
                return

        tasks = [asyncio.ensure_future(wait(item["name"], item["vault"])) for item in items]
        await asyncio.sleep(0)  # every wait under way
        waiting_from = time.time()
        _, pending = await asyncio.wait(tasks, timeout=args.limit)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return {"fired": fired, "waiting_from": waiting_from}

    print(json.dumps(asyncio.run(run())))
    return 0


_SESSIONS: dict[str, Any] = {}


def admin(info: dict[str, Any], method: str, path: str, body: Any = None) -> Any:
    import requests

    session = _SESSIONS.setdefault(info["url"], requests.Session())
    answer = session.request(
        method, f"{info['url']}/_emulator/{path}", json=body or {}, verify=info["ca_file"], timeout=300
    )
    answer.raise_for_status()
    return answer.json()


@contextmanager
def started_emulator(scale: float) -> Iterator[dict[str, Any]]:
    """Run the emulator in a process of its own, counting the provider's quota in scaled hours."""
    with tempfile.TemporaryDirectory() as tmp:
        info_file = Path(tmp) / "emulator.json"
        emulator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airflow_provider_datareplication.testing",
                "--rp-quota",
                f"{QUOTA}/{HOUR / scale}",
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
            admin(info, "POST", "settings", {"page_size": PAGE_SIZE})
            yield info
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)


def run(n: int, mode: str, info: dict[str, Any], args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """One run: N items replicating, their waits in one process; what the emulator and the waits saw."""
    scale = args.scale
    hour = HOUR / scale
    # The hour begins once the items are seeded and the waits' process has started: how long
    # seeding takes on this machine, from 50 items seeded in a vault nothing waits on.
    probe_started = time.time()
    for i in range(50):
        admin(info, "POST", f"protected-items/probe-{i}", {"vault_name": "probe", "replicating_for": 1.0})
    per_item = (time.time() - probe_started) / 50
    begins = time.time() + 45.0 + n * per_item * 1.5
    items, ready_at = [], {}
    for i in range(n):
        name, vault = f"server-{i:05d}", f"vault{i % VAULTS}"
        # Every wait waits through the first hour (the one counted); the items become ready evenly
        # over the second.
        ready_at[name] = begins + hour + hour * (i + 0.5) / n
        items.append({"name": name, "vault": vault})
    for item in items:
        replicating_for = ready_at[item["name"]] - time.time()
        admin(
            info,
            "POST",
            f"protected-items/{item['name']}",
            {"vault_name": item["vault"], "replicating_for": replicating_for},
        )
    admin(info, "POST", "reset")  # the counters: the seeding is not counted
    time.sleep(max(begins - time.time() - 5.0, 0.0))
    items_file = tmp / f"items-{mode.split()[0]}-{n}.json"
    items_file.write_text(json.dumps(items))
    connection = json.loads(json.dumps(info["connection"]))
    connection["extra"]["max_reads_per_second"] = 25 * scale
    env = {
        **os.environ,
        "AIRFLOW_CONN_AZURE_DATA_REPLICATION_DEFAULT": json.dumps(connection),
        "AIRFLOW__AZURE_DATA_REPLICATION__VAULT_LISTS": MODES[mode],
        "PYTHONPATH": str(ROOT),
    }
    started = time.time()
    result = subprocess.run(
        [
            *(sys.executable, __file__, "--worker", "--items", str(items_file)),
            *("--scale", str(scale), "--limit", str(args.hours * hour)),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    fired = report["fired"]
    stats = admin(info, "GET", "stats")
    # The first hour, none of the items ready yet, from a poll interval after every wait was under
    # way (on a loaded machine the waits' process may start late): counted per hour.
    counted_from = max(begins, report["waiting_from"] + INTERVAL / scale)
    counted = begins + hour - counted_from
    if counted < hour / 2:
        late_by = counted_from - begins
        raise SystemExit(f"N={n}: the waits started {late_by:.0f} s late: too little left to count")
    arm = [r for r in stats["requests"] if r["kind"] == "arm" and counted_from <= r["wall"] < begins + hour]
    late = sorted((fired[name] - ready_at[name]) / (INTERVAL / scale) for name in fired)
    return {
        "n": n,
        "mode": mode,
        "fired": len(fired),
        "seconds": time.time() - started,
        "requests_per_hour": len(arm) * hour / counted,
        "counted_hours": counted / hour,
        "gets_per_interval": n * (HOUR / INTERVAL),  # one GET per wait per interval, an hour of it
        "status_429": sum(1 for r in stats["requests"] if r["kind"] == "arm" and r["status"] == 429),
        "lists": sum(1 for r in arm if r["path"].endswith("/protectedItems")),
        "late_median": statistics.median(late) if late else None,
        "late_p95": late[int(0.95 * (len(late) - 1))] if late else None,
        "late_max": late[-1] if late else None,
    }


def render(rows: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    lines = [
        f"N protected-item waits over {VAULTS} vaults, polling every {INTERVAL:g} s, their items ready "
        f"at moments spread over the second hour (requests counted over the first, every wait waiting); "
        f"the emulator counting Microsoft.DataReplication's quota "
        f"({QUOTA} requests per principal and subscription per hour; lists of {PAGE_SIZE} a page); time "
        f"{args.scale:g} times faster, every count per real hour. One GET per wait per interval would be "
        f"N x {HOUR / INTERVAL:g} an hour.",
        "",
        "| N | reads | requests / hour | of one GET per wait per interval | 429s | fired "
        "| late: median / p95 / max (intervals) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        late = (
            "/".join(f"{row[key]:.2f}" for key in ("late_median", "late_p95", "late_max"))
            if row["late_max"] is not None
            else "-"
        )
        lines.append(
            f"| {row['n']:,} | {row['mode']} | {row['requests_per_hour']:,.0f} | "
            f"{row['requests_per_hour'] / row['gets_per_interval']:.1%} | {row['status_429']} | "
            f"{row['fired']:,} of {row['n']:,} | {late} |"
        )
    return lines


def targets(rows: list[dict[str, Any]]) -> list[str]:
    checks = []
    for row in rows:
        if row["mode"] != "lists":
            continue
        n = row["n"]
        share = row["requests_per_hour"] / row["gets_per_interval"]
        for text, ok in (
            (
                f"N={n:,}, lists: requests per hour {share:.1%} of one GET per wait per interval (<= 10 %)",
                share <= LIST_SHARE,
            ),
            (f"N={n:,}, lists: no 429 within the quota ({row['status_429']})", row["status_429"] == 0),
            (
                f"N={n:,}, lists: every wait fired within two intervals of its item being ready "
                f"({row['fired']:,} fired, the latest {row['late_max']:.2f} intervals late)",
                row["fired"] == n and (row["late_max"] or 0) <= LATE_INTERVALS,
            ),
        ):
            checks.append(f"- [{'x' if ok else ' '}] {text}")
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, action="append", help="waits (repeatable; default 1,000 and 5,000)")
    parser.add_argument("--scale", type=float, default=60.0, help="how much faster time runs than on Azure")
    parser.add_argument("--hours", type=float, default=3.0, help="(scaled) hours a run lasts at most")
    parser.add_argument("--output", default="docs", help="- to print only (default: docs/performance.md)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--items", default="", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.n or [1000, 5000]:
            for mode in MODES:
                with started_emulator(args.scale) as info:  # a fresh one: its vaults hold this run's items
                    row = run(n, mode, info, args, Path(tmp))
                print(json.dumps(row), flush=True)
                rows.append(row)
    checks = targets(rows)
    text = "\n".join([*render(rows, args), "", "Targets:", "", *checks])
    print(text)
    if args.output != "-":
        sys.path.insert(0, str(Path(__file__).parent))
        from report import write_section

        command = "python benchmarks/reads.py" + "".join(f" --n {n}" for n in (args.n or []))
        write_section(
            "reads",
            command,
            "## Many waits against the service's quota: lists against single GETs\n\n" + text,
        )
    return 0 if all(line.startswith("- [x]") for line in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
