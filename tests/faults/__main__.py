"""`python -m tests.faults`: the fault tests at full size, with their figures (make fault-test)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tests.faults import dispatcher, planning
from tests.faults.server import start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=200, help="SIGKILLs of the dispatcher")
    parser.add_argument("--restarts", type=int, default=10, help="PostgreSQL restarts mid-plan")
    parser.add_argument("--patients", type=int, default=3000, help="patients planned each time")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="carepath-faults-") as folder:
        server = start(Path(folder))
        try:
            figures = dispatcher.run(server, Path(folder), kills=args.kills, seed_value=args.seed)
            print(figures.line(), flush=True)
            restarts = planning.run(
                server, restarts=args.restarts, patients=args.patients, seed_value=args.seed
            )
            print(restarts.line(), flush=True)
        finally:
            server.stop()
    ok = figures.lost == figures.delivered_twice == figures.recorded_twice == 0
    ok = ok and figures.runs_left_running == 0 and restarts.lost == restarts.doubled == 0
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
