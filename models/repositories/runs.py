"""The run ledger: once-per-period uniqueness of the periodic jobs, kept in PostgreSQL.

A clock (APScheduler inside `carepath serve`, or a Prefect deployment) claims
``(job, period_key)`` with one INSERT; the unique constraint lets exactly one
claimant win, whatever process or machine it runs in. The loser skips.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlmodel import Session

from models.ops import RunLedger


def claim_period(
    session: Session, *, job: str, period_key: str, owner: str, at: datetime
) -> int | None:
    """The ledger id when this caller won the period, None when someone else already has it."""
    return session.execute(
        text(
            "INSERT INTO run_ledger (job, period_key, owner, status, started_at) "
            "VALUES (:job, :period_key, :owner, 'running', :at) "
            "ON CONFLICT ON CONSTRAINT uq_run_ledger_job_period DO NOTHING RETURNING id"
        ),
        {"job": job, "period_key": period_key, "owner": owner[:120], "at": at},
    ).scalar_one_or_none()


def finish_run(
    session: Session,
    *,
    run_id: int,
    status: str,
    at: datetime,
    stats: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    session.execute(
        text(
            "UPDATE run_ledger SET status = :status, finished_at = :at, "
            "stats = CAST(:stats AS jsonb), error = :error WHERE id = :id"
        ),
        {
            "id": run_id,
            "status": status,
            "at": at,
            "stats": None if stats is None else _json(stats),
            "error": None if error is None else error[:2000],
        },
    )


def recent_runs(
    session: Session, *, job: str | None = None, limit: int = 20
) -> Sequence[RunLedger]:
    query = select(RunLedger).order_by(RunLedger.started_at.desc(), RunLedger.id.desc())  # type: ignore[attr-defined, union-attr]
    if job is not None:
        query = query.where(RunLedger.job == job)
    return session.execute(query.limit(limit)).scalars().all()


def latest_runs(session: Session, *, jobs: Sequence[str]) -> dict[str, RunLedger]:
    """The run of each job's latest period (what readiness checks the schedules by).

    Period keys are ISO dates or UTC instants, so within a job the greatest key is
    the latest period; the ledger's unique (job, period_key) index finds it without
    scanning the years of runs behind it.
    """
    latest: dict[str, RunLedger] = {}
    for job in jobs:
        row = session.execute(
            select(RunLedger)
            .where(RunLedger.job == job)
            .order_by(RunLedger.period_key.desc())  # type: ignore[attr-defined]
            .limit(1)
        ).scalar_one_or_none()
        if row is not None:
            latest[job] = row
    return latest


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, default=str, sort_keys=True)
