"""How soon `carepath serve` answers: seconds from the command to the sign-in page's 200.

    make bench-start          (or: .venv/bin/python bench/serve_start.py --runs 5)

Each run is a fresh installation in a temporary folder (its embedded PostgreSQL
started and migrated first by `carepath db upgrade`, as after `make demo`),
then `carepath serve` with default settings, polled every 0.1 s, the same way
the acceptance harness starts it. Prints each run, the median and the worst,
with the load average beside them: on a shared machine the figure means little
without it. The Prefect server and the clock come up behind the web app and
are not waited for.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.acceptance import harness  # noqa: E402 - after the path is set


def one_run(root: Path) -> float:
    installation = harness.Carepath(root)
    try:
        installation.start(ready=False)
        assert installation.first_answer is not None  # noqa: S101 - set by start()
        return installation.first_answer
    finally:
        installation.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    harness.POLL_SECONDS = 0.1
    figures = []
    with tempfile.TemporaryDirectory(prefix="carepath-start-") as tmp:
        for n in range(args.runs):
            seconds = one_run(Path(tmp) / f"run{n}")
            load = os.getloadavg()[0]
            figures.append(seconds)
            print(
                f"run {n + 1}: the sign-in page answered {seconds:.1f} s after the start "
                f"(load average {load:.1f}, {os.cpu_count()} cores)",
                flush=True,
            )
    print(
        f"carepath serve, start to the sign-in page's 200: median {statistics.median(figures):.1f} s, "
        f"worst {max(figures):.1f} s over {len(figures)} runs (load average now "
        f"{os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
