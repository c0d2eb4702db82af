"""adherence_report: the nightly pathway-adherence snapshot (RULES.md §8).

The story: find the months whose figures are still settling, compute every
indicator for each of them in SQL, and store each month's figures as its
snapshot, replacing that month's earlier snapshot in the same transaction.

A month is still settling while it is the current month, has no snapshot yet,
or its last snapshot counted units whose window had not closed (``pending``),
up to ``lookback_months`` back. Once a month's snapshot has nothing pending,
the nightly run leaves it alone: editing an old task later does not move the
trend. Any period can be recomputed on demand (``period_start`` and
``period_end``); its snapshot is replaced whole, never merged.

``snapshot_adherence`` is the plain core (an engine, the definition, the zone
and an instant in; counts out); the Prefect flow wraps it in one task, retried
on transient database faults. Run by the clock or the worker at 02:30 (the
``adherence_report`` job of ``flows.jobs``), where a run first claims its clinic
day in the run ledger. Neither logs patient data: only periods and counts.
"""

from __future__ import annotations

from datetime import date, datetime
from time import perf_counter
from typing import Any

from prefect import flow, get_run_logger
from sqlalchemy import Engine

from flows._tasks import io_task
from flows.jobs import run_for_period
from flows.runtime import current_runtime
from models.repositories.adherence import (
    compute_report,
    monthly_reports,
    snapshot_pending,
    store_snapshot,
)
from models.repositories.audit import Actor
from models.session import transaction
from pathways.clock import local_date, month_of
from pathways.definition import Definition

JOB = "adherence_report"
ACTOR = Actor.system(JOB)
LOOKBACK_MONTHS = 3

Period = tuple[date, date]


def settling_months(session: Any, *, today: date, lookback_months: int) -> list[Period]:
    """The current month and the earlier ones whose stored snapshot is missing or still pending."""
    periods = []
    for back in range(lookback_months, -1, -1):
        start, end = month_of(today, back)
        if back == 0 or snapshot_pending(session, start=start, end=end) != 0:
            periods.append((start, end))
    return periods


def snapshot_adherence(
    engine: Engine,
    *,
    definition: Definition,
    timezone: str,
    now: datetime,
    periods: list[Period] | None = None,
    lookback_months: int = LOOKBACK_MONTHS,
) -> dict[str, Any]:
    """Compute and store the snapshots of ``periods`` (default: the settling months), all or nothing.

    Calendar months are computed together (one statement per indicator for all of
    them); any other period on its own.
    """
    started = perf_counter()
    today = local_date(now, timezone)
    with transaction(engine) as session:
        chosen = periods or settling_months(session, today=today, lookback_months=lookback_months)
        months = [p for p in chosen if p == month_of(p[0])]
        reports = monthly_reports(
            session, definition=definition, timezone=timezone, months=months, now=now
        )
        for start, end in chosen:
            if (start, end) not in months:
                reports.append(
                    compute_report(
                        session,
                        definition=definition,
                        timezone=timezone,
                        start=start,
                        end=end,
                        now=now,
                        prepared=bool(months),
                    )
                )
        stored = 0
        for report in reports:
            stored += store_snapshot(session, report=report, actor=ACTOR)
    return {
        "periods": [f"{start.isoformat()}..{end.isoformat()}" for start, end in chosen],
        "indicators": stored,
        "seconds": round(perf_counter() - started, 3),
    }


@io_task("snapshot-months")
def snapshot_task(
    now: datetime, periods: list[Period] | None, lookback_months: int
) -> dict[str, Any]:
    rt = current_runtime()
    return snapshot_adherence(
        rt.engine,
        definition=rt.definition(None),
        timezone=rt.timezone,
        now=now,
        periods=periods,
        lookback_months=lookback_months,
    )


@flow(name=JOB, log_prints=False)
def adherence_report(
    now: datetime | None = None,
    period_key: str | None = None,
    period_start: date | None = None,
    period_end: date | None = None,
    lookback_months: int = LOOKBACK_MONTHS,
) -> dict[str, Any]:
    """Store the adherence snapshot of each settling month (or of the one period given)."""
    rt = current_runtime()
    instant = rt.at(None, now).now
    periods = None
    if period_start is not None or period_end is not None:
        if period_start is None or period_end is None or period_end < period_start:
            raise ValueError("period_start and period_end go together, start first")
        periods = [(period_start, period_end)]
    stats = run_for_period(
        rt,
        job_name=JOB,
        period_key=period_key,
        body=lambda: snapshot_task(instant, periods, lookback_months),
    )
    if not stats.get("period_skipped"):
        get_run_logger().info(
            "adherence snapshots stored for %s (%s indicator rows, %.1f s)",
            ", ".join(stats["periods"]),
            stats["indicators"],
            stats["seconds"],
        )
    return stats
