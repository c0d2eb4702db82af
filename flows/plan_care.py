"""plan_care: every active patient's tasks, planned by the engine and upserted in batches.

The story: cut the active patients into pages, and for each page lock the
patients, load them as snapshots, ask the engine for the tasks of each
patient whose inputs changed since their last plan, and write the page in
set-based statements (``models.repositories.planning``). A patient whose facts
cannot be loaded or planned becomes a task for a human and a log line naming
only the patient id; the rest of the page is planned.

Two pages run at once: on two cores, one page's PostgreSQL work overlaps the
other page's Python (the engine, the rows). Pages hold disjoint patients, so
they never wait on each other.

``plan_batch`` is the plain-function core (no Prefect): tests and the demo's
simulated days call it directly; the flow wraps each page in a Prefect task.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from time import perf_counter
from typing import Any

from prefect import flow, get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner
from sqlalchemy.exc import SQLAlchemyError

import pathways
from flows._tasks import io_task
from flows.jobs import job, resolve_period, run_once
from flows.runtime import Runtime, current_runtime
from models.repositories.audit import Actor
from models.repositories.planning import (
    DataProblem,
    PatientPlan,
    PlanCounts,
    PlannedRow,
    lock_patients,
    patient_ids_between,
    patient_pages,
    planned_rows,
    stored_fingerprints,
    write_plans,
)
from models.session import transaction
from models.snapshots import Snapshot, load_snapshots
from pathways.definition import Definition
from pathways.policy import Policy
from pathways.vocab import Role

JOB = "plan_care"
ACTOR = Actor.system(JOB)
CONCURRENT_PAGES = 2
log = logging.getLogger("carepath.flows.plan_care")


@lru_cache(maxsize=1)
def engine_source_digest() -> bytes:
    """A digest of the engine's code and shipped definitions: a new engine re-plans everyone."""
    root = Path(pathways.__file__).parent
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".yaml"):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.digest()


_definition_digests: dict[int, bytes] = {}


def _definition_digest(definition: Definition | None) -> bytes:
    if definition is None:
        return b"-"
    key = id(definition)
    if key not in _definition_digests:
        defaults = sorted((name, repr(d.value)) for name, d in definition.defaults.items())
        _definition_digests[key] = hashlib.blake2b(
            repr((definition.name, definition.version, defaults)).encode(), digest_size=16
        ).digest()
    return _definition_digests[key]


def fingerprint(snap: Snapshot, definition: Definition | None, planner: Callable[..., Any]) -> str:
    """A digest of everything the plan of this patient depends on.

    The facts (which include the clinic day and zone), the ids the rows link
    to, the definition with the institution's policy values, and the engine:
    its code and which planner function runs. Equal digests mean an equal plan.
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(engine_source_digest())
    digest.update(f"{planner.__module__}.{planner.__qualname__}".encode())
    digest.update(_definition_digest(definition))
    digest.update(
        repr(
            (
                snap.instance_id,
                snap.pathway_version,
                snap.course_id,
                snap.cns_track,
                snap.testis_track,
                snap.facts,
            )
        ).encode()
    )
    return digest.hexdigest()


def plan_patients(
    session: Any, rt: Runtime, *, patient_ids: list[int], as_of: date, now: datetime
) -> PlanCounts:
    """Plan these patients in the caller's transaction."""
    lock_patients(session, patient_ids=patient_ids)
    snapshots, snapshot_problems = load_snapshots(
        session, patient_ids=patient_ids, as_of=as_of, timezone=rt.timezone
    )
    problems = [
        DataProblem(p.patient_id, "snapshot", p.problem, Role.COORDINATOR)
        for p in snapshot_problems
    ]
    for p in snapshot_problems:
        log.warning("plan_care: patient %d not planned (stored facts unusable)", p.patient_id)
    stored = stored_fingerprints(session, patient_ids=[s.patient_id for s in snapshots])
    rows: list[PlannedRow] = []
    planned: list[int] = []
    skipped: list[int] = []
    digests: dict[int, str] = {}
    for snap in snapshots:
        pid = snap.patient_id
        try:
            definition = (
                None if snap.pathway_version is None else rt.definition(snap.pathway_version)
            )
            digest = fingerprint(snap, definition, rt.planner)
            if stored.get(pid) == digest:
                skipped.append(pid)
                continue
            # Tracking ended (no open instance): nothing is planned any more.
            tasks = (
                [] if definition is None else rt.planner(snap.facts, definition, Policy(definition))
            )
            rows.extend(
                planned_rows(
                    PatientPlan(
                        patient_id=pid,
                        pathway_version=snap.pathway_version or "",
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
                DataProblem(pid, "engine", f"{type(exc).__name__}: {exc}", Role.CLINICIAN)
            )
            log.warning("plan_care: patient %d not planned (%s)", pid, type(exc).__name__)
            continue
        planned.append(pid)
        digests[pid] = digest
    return write_plans(
        session,
        rows=rows,
        planned_patients=planned,
        skipped_patients=skipped,
        fingerprints=digests,
        problems=problems,
        horizon=rt.horizon(as_of),
        as_of=as_of,
        now=now,
        routes=rt.routes,
        actor=ACTOR,
    )


def pages(rt: Runtime) -> list[tuple[int, int]]:
    with transaction(rt.engine) as session:
        return patient_pages(session, size=rt.batch_size)


def plan_batch(
    rt: Runtime, *, after_id: int, last_id: int, as_of: date, now: datetime
) -> dict[str, Any]:
    """Plan the active patients with ids in (after_id, last_id], in one transaction."""
    started = perf_counter()
    with transaction(rt.engine) as session:
        ids = patient_ids_between(session, after_id=after_id, last_id=last_id)
        counts = plan_patients(session, rt, patient_ids=ids, as_of=as_of, now=now)
    ended = perf_counter()
    return {**counts.as_dict(), "seconds": ended - started, "window": (started, ended)}


def plan_all(rt: Runtime, *, as_of: date, now: datetime) -> dict[str, Any]:
    """Every page, one after another, without Prefect (tests and the demo's days)."""
    return summarize(
        [plan_batch(rt, after_id=a, last_id=b, as_of=as_of, now=now) for a, b in pages(rt)],
        as_of,
    )


def summarize(results: list[dict[str, Any]], as_of: date) -> dict[str, Any]:
    totals = PlanCounts()
    for result in results:
        totals.add(
            PlanCounts(
                **{
                    k: result[k] for k in PlanCounts.__dataclass_fields__ if k != "problem_patients"
                },
                problem_patients=list(result["problem_patients"]),
            )
        )
    return {
        **totals.as_dict(),
        "as_of": as_of.isoformat(),
        "batches": len(results),
        # Wall time during which at least one page was being planned (pages overlap).
        "batch_seconds": _union([tuple(r["window"]) for r in results]),
    }


def _union(windows: list[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for start, end in sorted(windows):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


@io_task("plan-batch")
def plan_batch_task(after_id: int, last_id: int, as_of: date, now: datetime) -> dict[str, Any]:
    return plan_batch(current_runtime(), after_id=after_id, last_id=last_id, as_of=as_of, now=now)


@io_task("patient-pages")
def pages_task() -> list[tuple[int, int]]:
    return pages(current_runtime())


@flow(name=JOB, log_prints=False, task_runner=ThreadPoolTaskRunner(max_workers=CONCURRENT_PAGES))
def plan_care(
    as_of: date | None = None, now: datetime | None = None, period_key: str | None = None
) -> dict[str, Any]:
    """Plan every active patient's tasks as of a clinic day (default: today)."""
    rt = current_runtime()
    clock = rt.at(as_of, now)

    def run() -> dict[str, Any]:
        futures = [plan_batch_task.submit(a, b, clock.as_of, clock.now) for a, b in pages_task()]
        return summarize([f.result() for f in futures], clock.as_of)

    if period_key is None:
        stats = run()
    else:
        stats = run_once(
            rt, job_name=JOB, period=resolve_period(job(JOB), period_key, rt.timezone), body=run
        )
    if not stats.get("period_skipped"):
        get_run_logger().info(
            "planned %s patients in %s batches (%s unchanged since their last plan): "
            "%s tasks created, %s updated, %s cancelled, %s unchanged; %s problems",
            stats["patients"],
            stats["batches"],
            stats["skipped"],
            stats["created"],
            stats["updated"],
            stats["cancelled"],
            stats["unchanged"],
            stats["problems"],
        )
    return stats
