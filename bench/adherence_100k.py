"""How long the full pathway-adherence report takes over a synthetic history of 100,000 patients.

    make bench-adherence      (or: .venv/bin/python bench/adherence_100k.py --help)

1. Starts a private embedded PostgreSQL in a temporary folder (or uses
   ``--database-url``, an empty database), migrates it, and writes with COPY a
   two-year history: patients with their facts, fitness assessments, relapses,
   pathway instances and phase events (signed relapses start second episodes,
   some patients enter trials), induction courses by disease (blinatumomab,
   inotuzumab, CAR-T, revumenib, nelarabine, chemotherapy), the tasks the
   engine plans for them (workup, LP and IT, doses and their LFTs,
   premedication and observation, inpatient stays, CRS checks, response
   marrows, maintenance, HCT decisions, surveillance) in every state — on
   time, late, missed, cancelled, held, skipped, still open — and the lab
   results, marrow assessments and TKI prescriptions behind the indicators.
   Every name is invented.
2. Times what a user waits for: the full report (every indicator, one year,
   with its regimen and month breakdowns), one drill-down page, and the nightly
   snapshot of the settling months. Prints the figures; they also go to
   bench/output/adherence_100k.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.adherence_cohort import SEQUENCES, TABLES, TZ, batches, midnight  # noqa: E402 - after the path is set


def load(url: str, patients: int, seed: int, today: date, now: datetime) -> dict[str, int]:
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    counts: dict[str, int] = dict.fromkeys(TABLES, 0)
    with psycopg.connect(libpq) as conn:
        for batch in batches(patients, seed, today, now):
            with conn.cursor() as cur:
                for table, columns in TABLES.items():
                    rows = batch.rows.get(table, [])
                    if not rows:
                        continue
                    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                    counts[table] += len(rows)
            conn.commit()
            print(f"  {counts['patient']:>7} patients, {counts['care_task']:>9} tasks", flush=True)
        with conn.cursor() as cur:
            for table, sequence in SEQUENCES.items():
                cur.execute(f"SELECT setval('{sequence}', (SELECT max(id) FROM {table}))")  # noqa: S608
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    return counts


def existing(url: str) -> dict[str, int]:
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]  # noqa: S608
            for table in TABLES
        }


def measure(url: str, today: date, now: datetime) -> dict[str, Any]:
    from models.repositories.adherence import compute_report, drill_down, prepare
    from models.repositories.audit import Actor
    from models.session import engine_for, transaction
    from pathways.definition import shipped_definition
    from pathways.engine import indicators_of

    definition = shipped_definition()
    engine = engine_for(url)
    start = date(today.year - 1, today.month, 1)
    results: dict[str, Any] = {"period": f"{start}..{today}"}
    # Warm the server's caches once, as a running clinic's database would be.
    with transaction(engine) as session:
        compute_report(session, definition=definition, timezone=TZ, start=start, end=today, now=now)
        session.rollback()
    runs = []
    for _ in range(3):
        with transaction(engine) as session:
            t0 = time.perf_counter()
            prepare(session, definition=definition, timezone=TZ, now=now)
            t1 = time.perf_counter()
            report = compute_report(session, definition=definition, timezone=TZ, start=start,
                                    end=today, now=now, prepared=True)  # fmt: skip
            t2 = time.perf_counter()
            session.rollback()
        runs.append({"prepare": t1 - t0, "indicators": t2 - t1, "total": t2 - t0})
    results["full_report_seconds"] = [round(r["total"], 2) for r in runs]
    results["prepare_seconds"] = round(min(r["prepare"] for r in runs), 2)
    results["indicator_statements_seconds"] = round(min(r["indicators"] for r in runs), 2)
    results["units"] = {
        r.indicator.id: {"numerator": r.counts.numerator, "denominator": r.counts.denominator,
                         "excused": r.counts.excused, "pending": r.counts.pending}
        for r in report.results if r.counts is not None
    }  # fmt: skip
    per: dict[str, float] = {}
    with transaction(engine) as session:
        prepare(session, definition=definition, timezone=TZ, now=now)
        for ind in indicators_of(definition):
            if not ind.computable:
                continue
            t0 = time.perf_counter()
            compute_report(session, definition=definition, timezone=TZ, start=start, end=today,
                           now=now, indicator_ids=[ind.id], prepared=True)  # fmt: skip
            per[ind.id] = round(time.perf_counter() - t0, 3)
        session.rollback()
    results["per_indicator_seconds"] = per
    with transaction(engine) as session:
        t0 = time.perf_counter()
        drill = drill_down(session, definition=definition, timezone=TZ, indicator_id="QM-13",
                           start=start, end=today, now=now, actor=Actor("bench", "quality", "cli"),
                           show="missed", limit=100)  # fmt: skip
        results["drill_down_seconds"] = round(time.perf_counter() - t0, 2)
        results["drill_down_rows"] = [len(drill.rows), drill.total]
        session.rollback()
    from flows.adherence_report import snapshot_adherence

    t0 = time.perf_counter()
    stats = snapshot_adherence(engine, definition=definition, timezone=TZ, now=now)
    results["nightly_snapshot_seconds"] = round(time.perf_counter() - t0, 2)
    results["nightly_snapshot_periods"] = stats["periods"]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--database-url", help="an empty postgresql+psycopg:// database to fill")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--measure-only", action="store_true",
                        help="with --database-url: measure a database this script filled before")  # fmt: skip
    parser.add_argument("--today", type=date.fromisoformat, default=None,
                        help="the clinic date of the report (default: today)")  # fmt: skip
    args = parser.parse_args()
    from pathways.clock import local_date

    now = datetime.now(UTC)
    today = args.today or local_date(now, TZ)
    if args.today:
        now = midnight(today) + timedelta(hours=12)

    from carepath.database import upgrade
    from carepath.embedded_db import ensure_database, sqlalchemy_url
    from carepath.embedded_db import start_server as start_pg

    workdir = Path(tempfile.mkdtemp(prefix="carepath-bench-adherence-"))
    try:
        if args.database_url:
            url = args.database_url
        else:
            print("starting a private embedded PostgreSQL ...", flush=True)
            admin = start_pg(workdir / "pgdata", cleanup_mode="delete")
            ensure_database(admin, "carepath_bench")
            url = sqlalchemy_url(admin, "carepath_bench")
        upgrade(url)
        if args.measure_only and args.database_url:
            counts, load_seconds = existing(url), 0.0
        else:
            print(f"writing the synthetic history of {args.patients} patients with COPY ...")
            started = time.perf_counter()
            counts = load(url, args.patients, args.seed, today, now)
            load_seconds = time.perf_counter() - started
            print(f"loaded {counts} in {load_seconds:.0f} s", flush=True)
        results = measure(url, today, now)
        print()
        print(f"full adherence report, {len(results['units'])} computable indicators, "
              f"period {results['period']}, {args.patients} patients, {counts['care_task']} tasks:")  # fmt: skip
        print(f"  {min(results['full_report_seconds']):.2f} s (best of 3: {results['full_report_seconds']}), "
              f"of which {results['prepare_seconds']:.2f} s building episodes and classed tasks "
              f"and {results['indicator_statements_seconds']:.2f} s the indicator statements")  # fmt: skip
        slowest = sorted(results["per_indicator_seconds"].items(), key=lambda kv: -kv[1])[:5]
        print("  slowest indicators: " + ", ".join(f"{k} {v:.2f} s" for k, v in slowest))
        print(f"one drill-down page (QM-13 missed): {results['drill_down_seconds']:.2f} s")
        print(f"nightly snapshot of {len(results['nightly_snapshot_periods'])} settling months: "
              f"{results['nightly_snapshot_seconds']:.2f} s")  # fmt: skip
        out = ROOT / "bench" / "output"
        out.mkdir(parents=True, exist_ok=True)
        document = {
            "measured_at": datetime.now(UTC).isoformat(),
            "machine": {"cpus": os.cpu_count()},
            "patients": args.patients,
            "rows": counts,
            "load_seconds": round(load_seconds, 1),
        } | results
        (out / "adherence_100k.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
        return 0
    finally:
        if not args.database_url:
            from carepath.embedded_db import stop_server

            stop_server(workdir / "pgdata")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
