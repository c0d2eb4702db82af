"""plan_care: every active patient's tasks, planned by the engine and upserted in batches.

The story: take the next page of active patients, load them as snapshots,
ask the engine for each patient's tasks, and write the page in set-based
statements (``models.repositories.planning``). A patient whose facts cannot
be loaded or planned becomes a task for a human and a log line naming only
the patient id; the rest of the page is planned.

``plan_batch`` is the plain-function core (no Prefect): tests and the demo's
simulated days call it directly; the flow wraps each page in a Prefect task.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from time import perf_counter
from typing import Any

from prefect import flow, get_run_logger
from sqlalchemy.exc import SQLAlchemyError

from flows._tasks import io_task
from flows.jobs import job, resolve_period, run_once
from flows.runtime import Runtime, current_runtime
from models.repositories.audit import Actor
from models.repositories.patients import patient_ids_page
from models.repositories.planning import (
    DataProblem,
    PatientPlan,
    PlanCounts,
    planned_rows,
    write_plans,
)
from models.session import transaction
from models.snapshots import load_snapshots
from pathways.policy import Policy
from pathways.vocab import Role

JOB = "plan_care"
ACTOR = Actor.system(JOB)
log = logging.getLogger("carepath.flows.plan_care")


def plan_patients(
    session: Any, rt: Runtime, *, patient_ids: list[int], as_of: date, now: datetime
) -> PlanCounts:
    """Plan these patients in the caller's transaction."""
    snapshots, snapshot_problems = load_snapshots(
        session, patient_ids=patient_ids, as_of=as_of, timezone=rt.timezone
    )
    problems = [
        DataProblem(p.patient_id, "snapshot", p.problem, Role.COORDINATOR)
        for p in snapshot_problems
    ]
    for p in snapshot_problems:
        log.warning("plan_care: patient %d not planned (stored facts unusable)", p.patient_id)
    rows: list[dict[str, Any]] = []
    planned: list[int] = []
    for snap in snapshots:
        try:
            if snap.pathway_version is None:
                tasks: list[Any] = []  # tracking ended: nothing is planned any more
                version = ""
            else:
                version = snap.pathway_version
                definition = rt.definition(version)
                tasks = list(rt.planner(snap.facts, definition, Policy(definition)))
            rows.extend(
                planned_rows(
                    PatientPlan(
                        patient_id=snap.patient_id,
                        pathway_version=version,
                        tasks=tasks,
                        instance_id=snap.instance_id,
                        course_id=snap.course_id,
                    ),
                    now=now,
                )
            )
        except (
            ImportError,
            SQLAlchemyError,
        ):  # a missing engine or a database fault: not one patient's
            raise
        except Exception as exc:  # one patient's facts or an engine error must not stop the batch
            problems.append(
                DataProblem(
                    snap.patient_id, "engine", f"{type(exc).__name__}: {exc}", Role.CLINICIAN
                )
            )
            log.warning(
                "plan_care: patient %d not planned (%s)", snap.patient_id, type(exc).__name__
            )
            continue
        planned.append(snap.patient_id)
    return write_plans(
        session,
        rows=rows,
        planned_patients=planned,
        problems=problems,
        horizon=rt.horizon(as_of),
        as_of=as_of,
        now=now,
        routes=rt.routes,
        actor=ACTOR,
    )


def plan_batch(rt: Runtime, *, after_id: int, as_of: date, now: datetime) -> dict[str, Any]:
    """Plan the next page of active patients after ``after_id``, in one transaction."""
    started = perf_counter()
    with transaction(rt.engine) as session:
        ids = list(patient_ids_page(session, after_id=after_id, limit=rt.batch_size))
        counts = (
            plan_patients(session, rt, patient_ids=ids, as_of=as_of, now=now)
            if ids
            else PlanCounts()
        )
    return {
        **counts.as_dict(),
        "last_id": ids[-1] if ids else None,
        "seconds": perf_counter() - started,
    }


def plan_all(rt: Runtime, *, as_of: date, now: datetime, batch: Any = None) -> dict[str, Any]:
    """Every page, one after another; ``batch`` runs a page (default: the plain core)."""
    run_page = batch or (lambda after: plan_batch(rt, after_id=after, as_of=as_of, now=now))
    totals = PlanCounts()
    after, batches, inner = 0, 0, 0.0
    while True:
        result = run_page(after)
        if result["last_id"] is None:
            break
        batches += 1
        inner += result["seconds"]
        totals.add(_counts(result))
        after = result["last_id"]
    return {
        **totals.as_dict(),
        "as_of": as_of.isoformat(),
        "batches": batches,
        "batch_seconds": inner,
    }


def _counts(result: dict[str, Any]) -> PlanCounts:
    return PlanCounts(
        **{k: result[k] for k in PlanCounts.__dataclass_fields__ if k != "problem_patients"},
        problem_patients=list(result["problem_patients"]),
    )


@io_task("plan-batch")
def plan_batch_task(after_id: int, as_of: date, now: datetime) -> dict[str, Any]:
    return plan_batch(current_runtime(), after_id=after_id, as_of=as_of, now=now)


@flow(name=JOB, log_prints=False)
def plan_care(
    as_of: date | None = None, now: datetime | None = None, period_key: str | None = None
) -> dict[str, Any]:
    """Plan every active patient's tasks as of a clinic day (default: today)."""
    rt = current_runtime()
    clock = rt.at(as_of, now)

    def run() -> dict[str, Any]:
        return plan_all(
            rt,
            as_of=clock.as_of,
            now=clock.now,
            batch=lambda after: plan_batch_task(after, clock.as_of, clock.now),
        )

    if period_key is None:
        stats = run()
    else:
        stats = run_once(
            rt, job_name=JOB, period=resolve_period(job(JOB), period_key, rt.timezone), body=run
        )
    if not stats.get("period_skipped"):
        get_run_logger().info(
            "planned %s patients in %s batches: %s created, %s updated, %s cancelled, %s unchanged, %s problems",
            stats["patients"],
            stats["batches"],
            stats["created"],
            stats["updated"],
            stats["cancelled"],
            stats["unchanged"],
            stats["problems"],
        )
    return stats
