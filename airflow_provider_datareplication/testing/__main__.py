"""
Run the Data Replication emulator in the foreground.

``python -m airflow_provider_datareplication.testing --operation op1=InProgress,InProgress,Succeeded``
prints the connection to use (``AIRFLOW_CONN_...`` JSON) and the CA file to trust, then serves
until interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any


def _parse_operation(text: str) -> tuple[str, list[Any]]:
    operation_id, sep, statuses = text.partition("=")
    if not sep or not operation_id or not statuses:
        raise argparse.ArgumentTypeError(f"expected OPERATION_ID=STATUS[,STATUS...], got {text!r}")
    return operation_id, [status or None for status in statuses.split(",")]


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted; print the connection and environment to use."""
    from airflow_provider_datareplication.testing.emulator import DataReplicationEmulator

    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_datareplication.testing", description=__doc__
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    parser.add_argument(
        "--operation",
        action="append",
        type=_parse_operation,
        default=[],
        metavar="ID=STATUS,...",
        help="script an operation: each GET answers the next status, the last one repeats",
    )
    parser.add_argument(
        "--unknown-operations", default=None, help="status for unscripted operations (default: 404)"
    )
    parser.add_argument(
        "--auto-progress",
        type=float,
        default=None,
        metavar="SECONDS",
        help="unscripted operations answer InProgress until SECONDS after their first read, then Succeeded",
    )
    parser.add_argument(
        "--arm-read-limit",
        default=None,
        metavar="BUCKET/REFILL",
        help="throttle reads per subscription as ARM does, e.g. 250/25 (default: no limit)",
    )
    parser.add_argument(
        "--throttling",
        choices=("v1", "v2"),
        default="v1",
        help="how Microsoft.DataReplication counts requests: v1, its own quota (the real service's), or v2, "
        "ARM's read bucket",
    )
    parser.add_argument(
        "--rp-quota",
        default="1100/3600",
        metavar="REQUESTS/SECONDS",
        help="Microsoft.DataReplication's quota per principal and subscription, and its window",
    )
    parser.add_argument("--vault-name", default=None, help="default vault to put in the connection")
    parser.add_argument("--client-secret", default=None, help="the secret to accept (default: random)")
    parser.add_argument("--info-file", default=None, help="also write the printed JSON to this file")
    args = parser.parse_args(argv)

    limit = tuple(float(part) for part in args.arm_read_limit.split("/")) if args.arm_read_limit else None
    emulator = DataReplicationEmulator(
        port=args.port,
        unknown_operations=args.unknown_operations,
        auto_progress=args.auto_progress,
        arm_read_limit=limit,  # type: ignore[arg-type]
        throttling=args.throttling,
        rp_quota=(int(args.rp_quota.split("/")[0]), float(args.rp_quota.split("/")[1])),
        client_secret=args.client_secret,
    )
    emulator.start()
    for operation_id, statuses in args.operation:
        emulator.script_operation(operation_id, statuses)
    info = {
        "url": emulator.url,
        "ca_file": emulator.ca_file,
        "environment": emulator.environment(),
        "connection": emulator.connection(vault_name=args.vault_name),
    }
    text = json.dumps(info, indent=2)
    if args.info_file:
        with open(args.info_file, "w") as handle:
            handle.write(text)
    print(text, flush=True)
    print(f"Serving on {emulator.url}; Ctrl-C to stop.", file=sys.stderr, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
