"""Where the benchmarks write their output: a section each of ``docs/performance.md``."""

from __future__ import annotations

import re
import time
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
TITLE = "# Performance\n\nEach section is a benchmark's own output, on this project's 2-core machine.\n"


def write_section(name: str, command: str, text: str, path: Path = DOC) -> None:
    """
    Replace the section ``name`` of the performance document (or add it), keeping the others.

    :param name: The section's marker (``triggers``, ``processes``).
    :param command: The command that produced it.
    :param text: The benchmark's output.
    """
    start, end = f"<!-- benchmark:{name} -->", f"<!-- /benchmark:{name} -->"
    section = (
        f"{start}\nFrom `{command}` ({time.strftime('%Y-%m-%d')}; `bash scripts/benchmark.sh` runs every "
        f"benchmark).\n\n{text.rstrip()}\n{end}"
    )
    current = path.read_text() if path.exists() else TITLE
    if start in current:
        current = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: section, current, flags=re.S)
    else:
        current = current.rstrip() + "\n\n" + section + "\n"
    path.write_text(current)
