"""
What a DAG file pays to import this provider: wall time and peak memory on top of ``import airflow.sdk``.

Each sample is a fresh interpreter (``python -c``) that imports ``airflow.sdk`` and then the
modules measured, timing both steps and reading the peak RSS after each, so the ratio comes from
one run and the machine's drift between runs cancels out. Prints the medians over the runs;
with ``--compare-azure`` also the microsoft-azure provider's Data Factory sensor, operator and
trigger, for scale. Bytecode is compiled first, as an installed wheel would have it.

    python benchmarks/parse_time.py --runs 7
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

MEASURE = """
import resource, time
t0 = time.perf_counter()
import airflow.sdk
t1 = time.perf_counter()
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
{imports}
t2 = time.perf_counter()
rss2 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print({{"base": t1 - t0, "added": t2 - t1, "base_rss_kib": rss1, "added_rss_kib": rss2 - rss1}})
"""

OURS = """
import airflow_provider_datareplication.hooks.data_replication
import airflow_provider_datareplication.sensors.data_replication
import airflow_provider_datareplication.operators.data_replication
import airflow_provider_datareplication.triggers.data_replication
"""

AZURE_DATA_FACTORY = """
import airflow.providers.microsoft.azure.sensors.data_factory
import airflow.providers.microsoft.azure.operators.data_factory
import airflow.providers.microsoft.azure.triggers.data_factory
"""


def sample(imports: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE.format(imports=imports)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1].replace("'", '"'))


def measure(runs: int, imports: str) -> dict[str, float]:
    """Median base time, added time, added ratio and added peak RSS over ``runs`` interpreters."""
    samples = [sample(imports) for _ in range(runs)]
    return {
        "base_seconds": statistics.median(s["base"] for s in samples),
        "added_seconds": statistics.median(s["added"] for s in samples),
        "added_ratio": statistics.median(s["added"] / s["base"] for s in samples),
        "base_rss_mib": statistics.median(s["base_rss_kib"] for s in samples) / 1024,
        "added_rss_mib": statistics.median(s["added_rss_kib"] for s in samples) / 1024,
    }


def report(runs: int, compare_azure: bool) -> tuple[list[str], dict[str, float]]:
    """Measure; return the report's lines and this provider's numbers."""
    import compileall
    import pathlib

    import airflow_provider_datareplication

    compileall.compile_dir(str(pathlib.Path(airflow_provider_datareplication.__file__).parent), quiet=1)
    sample("")  # warm the file cache
    variants = {"this provider (hook, sensor, operator, trigger)": OURS}
    if compare_azure:
        variants["azure Data Factory (sensor, operator, trigger)"] = AZURE_DATA_FACTORY
    results = {name: measure(runs, imports) for name, imports in variants.items()}
    lines = [
        f"Parse-time cost on top of `import airflow.sdk` (median of {runs} fresh interpreters; "
        "ratio within each run):",
        "",
        "| imports | `import airflow.sdk` | added wall time | added / airflow.sdk | added peak RSS |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['base_seconds']:.3f} s | {r['added_seconds'] * 1000:.0f} ms "
            f"| {r['added_ratio']:.1%} | {r['added_rss_mib']:+.1f} MiB |"
        )
    return lines, results[next(iter(variants))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--compare-azure", action="store_true")
    args = parser.parse_args()
    lines, _ = report(args.runs, args.compare_azure)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
