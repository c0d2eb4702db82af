"""The periodic jobs, their schedules, and once-per-period runs.

One table of schedules serves both owners: the APScheduler clock of
`carepath serve` and the Prefect deployments of `carepath worker`. Whichever
owns them, a run first claims ``(job, period key)`` in the run ledger; the
unique constraint makes the second claimant of a period skip.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flows.runtime import Runtime
from models.repositories.runs import claim_period, finish_run
from models.session import transaction
from pathways.clock import local_date

if TYPE_CHECKING:
    from prefect import Flow

# The parameter value a deployment passes: "derive the key from my scheduled start".
SCHEDULED = "@scheduled"


@dataclass(frozen=True)
class JobSpec:
    name: str  # the flow's name, the ledger's job, the deployment's name
    cron: str  # in the clinic's zone
    period_seconds: int  # once per this long; >= 1 day means once per clinic day
    description: str

    @property
    def every(self) -> str:
        """``every 5 minutes``: the period in words, for the console and readiness."""
        for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
            if self.period_seconds >= size and self.period_seconds % size == 0:
                count = self.period_seconds // size
                return f"every {unit}" if count == 1 else f"every {count} {unit}s"
        return f"every {self.period_seconds} seconds"


JOBS: tuple[JobSpec, ...] = (
    JobSpec("plan_care", "*/5 * * * *", 300, "plan every patient's tasks"),
    JobSpec("evaluate_results", "2-59/5 * * * *", 300, "evaluate new results and assessments"),
    JobSpec("dispatch_reminders", "* * * * *", 60, "send queued reminders"),
    JobSpec("escalate_overdue", "7 * * * *", 3600, "remind about and escalate overdue tasks"),
    JobSpec("adherence_report", "30 2 * * *", 86400, "nightly pathway-adherence report"),
)


def job(name: str) -> JobSpec:
    for spec in JOBS:
        if spec.name == name:
            return spec
    raise KeyError(name)


def period_key(spec: JobSpec, instant: datetime, timezone: str) -> str:
    """The period ``instant`` falls in: a clinic date for daily jobs, else a UTC bucket start."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    if spec.period_seconds >= 86400:
        return local_date(instant, timezone).isoformat()
    seconds = int(instant.timestamp()) // spec.period_seconds * spec.period_seconds
    shape = "%Y-%m-%dT%H:%MZ" if spec.period_seconds % 60 == 0 else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.fromtimestamp(seconds, UTC).strftime(shape)


def flow_for(name: str) -> Flow[..., Any] | None:
    """The flow of a job, or None when its module is not part of this installation."""
    # Prefect is imported here, not with the schedule table: the web app reads the
    # table (readiness) and must start in seconds.
    from prefect import Flow

    try:
        module = importlib.import_module(f"flows.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"flows.{name}":
            return None
        raise
    found = getattr(module, name, None)
    return found if isinstance(found, Flow) else None


def resolve_period(spec: JobSpec, key: str, timezone: str) -> str:
    """A deployment run's key from its scheduled start time; any other key is used as given."""
    if key != SCHEDULED:
        return key
    from prefect.runtime import flow_run

    scheduled = flow_run.scheduled_start_time
    return period_key(spec, scheduled, timezone)


def run_for_period(
    rt: Runtime,
    *,
    job_name: str,
    period_key: str | None,
    body: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """A flow's body: now for a manual run (no period key), else once for its ledger period."""
    if period_key is None:
        return body()
    return run_once(
        rt,
        job_name=job_name,
        period=resolve_period(job(job_name), period_key, rt.timezone),
        body=body,
    )


def run_once(
    rt: Runtime,
    *,
    job_name: str,
    period: str,
    body: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Run ``body`` only if this caller wins ``(job, period)`` in the ledger; record how it ended."""
    with transaction(rt.engine) as session:
        run_id = claim_period(
            session, job=job_name, period_key=period, owner=rt.owner, at=rt.clock()
        )
    if run_id is None:
        return {"period_skipped": True, "period_key": period}
    try:
        stats = body()
    except BaseException as exc:
        with transaction(rt.engine) as session:
            finish_run(
                session,
                run_id=run_id,
                status="failed",
                at=rt.clock(),
                # The type only: a message may quote stored values.
                error=type(exc).__name__,
            )
        raise
    with transaction(rt.engine) as session:
        finish_run(session, run_id=run_id, status="done", at=rt.clock(), stats=stats)
    return {**stats, "period_key": period}
