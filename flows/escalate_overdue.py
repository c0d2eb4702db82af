"""escalate_overdue: remind about tasks past due, escalate those past due plus their grace.

The story: in one transaction, queue an "overdue" reminder for every open
task past its due instant (once per task and due), then move every open task
past due + grace one step up the ladder (coordinator → clinician), recording
the escalation on the task and queuing its reminder. The grace is operational
policy per kind, safety and role (``CAREPATH_ESCALATION_GRACE_HOURS``).
"""

from __future__ import annotations

from datetime import datetime
from time import perf_counter
from typing import Any

from prefect import flow, get_run_logger

from flows._tasks import io_task
from flows.jobs import run_for_period
from flows.runtime import Runtime, current_runtime
from models.repositories.audit import Actor
from models.repositories.escalation import escalate, queue_overdue_reminders
from models.session import transaction

JOB = "escalate_overdue"
ACTOR = Actor.system(JOB)


def escalate_now(rt: Runtime, *, now: datetime) -> dict[str, Any]:
    started = perf_counter()
    with transaction(rt.engine) as session:
        overdue = queue_overdue_reminders(session, now=now, routes=rt.routes, actor=ACTOR)
        counts = escalate(session, now=now, policy=rt.escalation, routes=rt.routes, actor=ACTOR)
    counts.overdue_reminders = overdue
    return {**counts.as_dict(), "seconds": perf_counter() - started}


@io_task("escalate")
def escalate_task(now: datetime) -> dict[str, Any]:
    return escalate_now(current_runtime(), now=now)


@flow(name=JOB, log_prints=False)
def escalate_overdue(now: datetime | None = None, period_key: str | None = None) -> dict[str, Any]:
    """Remind about overdue tasks and escalate those past their grace."""
    rt = current_runtime()
    clock = rt.at(None, now)
    stats = run_for_period(
        rt, job_name=JOB, period_key=period_key, body=lambda: escalate_task(clock.now)
    )
    if not stats.get("period_skipped"):
        get_run_logger().info(
            "%s overdue reminders, %s tasks escalated",
            stats["overdue_reminders"],
            stats["escalated"],
        )
    return stats
