"""The run ledger: once-per-period uniqueness of the periodic jobs, kept in PostgreSQL.

A clock (APScheduler inside `carepath serve`, or a Prefect deployment) claims
``(job, period_key)`` with one INSERT; the unique constraint lets exactly one
claimant win, whatever process or machine it runs in. The loser skips.

A run is alive while its holder's advisory lock is held and its heartbeat
keeps the lease ahead of the server's clock (``models.repositories.leases``).
Each claimant first marks the job's runs that lost both as failed
(``LOST``): their process died. A period whose attempts all failed may be
claimed again, up to ``MAX_ATTEMPTS``, so a run killed mid-way is redone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlmodel import Session, col

from models.ops import RunLedger
from models.repositories.leases import holder_alive

# The error of a run whose holder is gone: the type-like name the ledger keeps for failures.
LOST = "LeaseExpired"
MAX_ATTEMPTS = 3

_REAP = (
    "UPDATE run_ledger SET status = 'failed', finished_at = :at, error = :lost "  # noqa: S608 (fixed SQL)
    "WHERE job = :job AND status = 'running' AND (lease_expires_at IS NULL "
    f"OR lease_expires_at <= clock_timestamp() OR NOT {holder_alive('lock_key')})"
)
_CLAIM = (
    "INSERT INTO run_ledger (job, period_key, attempt, owner, status, started_at, lock_key, "
    "heartbeat_at, lease_expires_at) "
    "SELECT CAST(:job AS text), CAST(:period_key AS text), COALESCE(max(attempt), 0) + 1, "
    "CAST(:owner AS text), 'running', CAST(:at AS timestamptz), CAST(:lock_key AS integer), "
    "clock_timestamp(), clock_timestamp() + make_interval(secs => CAST(:lease AS float8)) "
    "FROM run_ledger WHERE job = CAST(:job AS text) AND period_key = CAST(:period_key AS text) "
    "HAVING COALESCE(bool_and(status = 'failed'), true) AND count(*) < :max_attempts "
    "ON CONFLICT ON CONSTRAINT uq_run_ledger_job_period_attempt DO NOTHING RETURNING id"
)
# Run by the holder's heartbeat: the lease moves ahead on the server's clock.
HEARTBEAT = (
    "UPDATE run_ledger SET heartbeat_at = clock_timestamp(), "
    "lease_expires_at = clock_timestamp() + make_interval(secs => CAST(:lease AS float8)) "
    "WHERE id = :id AND status = 'running'"
)


def claim_period(
    session: Session,
    *,
    job: str,
    period_key: str,
    owner: str,
    at: datetime,
    lock_key: int,
    lease: timedelta,
) -> int | None:
    """The ledger id when this caller won the period, None when someone else has (or had) it."""
    session.execute(text(_REAP), {"job": job, "at": at, "lost": LOST})
    return session.execute(
        text(_CLAIM),
        {
            "job": job,
            "period_key": period_key,
            "owner": owner[:120],
            "at": at,
            "lock_key": lock_key,
            "lease": lease.total_seconds(),
            "max_attempts": MAX_ATTEMPTS,
        },
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
    query = select(RunLedger).order_by(col(RunLedger.started_at).desc(), col(RunLedger.id).desc())
    if job is not None:
        query = query.where(col(RunLedger.job) == job)
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
            .where(col(RunLedger.job) == job)
            # The latest period's last attempt (a dead run's period is redone as attempt 2).
            .order_by(col(RunLedger.period_key).desc(), col(RunLedger.attempt).desc())
            .limit(1)
        ).scalar_one_or_none()
        if row is not None:
            latest[job] = row
    return latest


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, default=str, sort_keys=True)
