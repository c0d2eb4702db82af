"""Liveness and readiness of `carepath serve`.

``/healthz`` answers while the process serves (liveness: restart it when this
fails). ``/readyz`` answers 200 only when the tracker does its work: the
database answers, its schema is at this version's migration head, and every
periodic job (``flows.jobs.JOBS``) began a run within its period — run by the
clock of `carepath serve` or by the Prefect deployments of `carepath worker`,
whichever owns the schedules; both write the run ledger, which is what is read
here, so every web worker process answers the same. Otherwise 503, a problem
document listing each failing reason in plain words.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from psycopg.errors import UndefinedTable
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from flows.jobs import JOBS, JobSpec
from models.repositories.runs import latest_runs


def allowance_seconds(spec: JobSpec) -> int:
    """How long after a run began the next one may still be on its way (its period plus a tick)."""
    return spec.period_seconds + max(120, spec.period_seconds // 10)


def _ago(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} minutes ago"
    return f"{minutes // 60} hours ago"


@lru_cache(maxsize=1)
def _head() -> str | None:
    from alembic.script import ScriptDirectory

    from carepath.database import alembic_config

    return ScriptDirectory.from_config(alembic_config("postgresql://")).get_current_head()


def readiness(
    engine: Engine, *, now: datetime, schedule_owner: str, jobs: Sequence[JobSpec] = JOBS
) -> list[str]:
    """What keeps the tracker from doing its work now; empty when it is ready."""
    owner = (
        "the clock of `carepath serve`"
        if schedule_owner == "apscheduler"
        else "the Prefect deployments of `carepath worker`"
    )
    try:
        with Session(engine) as session:
            session.execute(text("SET LOCAL statement_timeout = '5s'"))
            revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
            runs = latest_runs(session, jobs=[spec.name for spec in jobs])
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        if isinstance(cause, UndefinedTable):
            return ["migrations: the database has no schema yet; run `carepath db upgrade`"]
        return [f"database: not reachable ({type(cause).__name__})"]
    reasons: list[str] = []
    head = _head()
    if revision != head:
        reasons.append(
            f"migrations: the database is at {revision or 'no revision'}, this version needs "
            f"{head}; run `carepath db upgrade`"
        )
    for spec in jobs:
        run = runs.get(spec.name)
        schedule = spec.every
        if run is None:
            reasons.append(f"{spec.name}: no run yet ({owner} runs it {schedule})")
        elif (age := (now - run.started_at).total_seconds()) > allowance_seconds(spec):
            reasons.append(
                f"{spec.name}: its last run began {_ago(age)}; {owner} runs it {schedule}"
            )
        elif run.status == "failed":
            reasons.append(f"{spec.name}: its last run failed ({run.error or 'no reason kept'})")
    return reasons
