"""plan_care's core, without Prefect: fingerprints, a page planned in one transaction, and the planning processes.

``plan_batch`` is the plain function tests and the demo's simulated days call
directly; the flow (``flows.plan_care``) runs each page through ``run_page``.

Why worker processes: a page is half Python (loading snapshots, the engine,
building the COPY rows) and half PostgreSQL. In threads, the Python of every
page shares one core under the GIL — about 60 s of the cold plan of 100,000
patients, more than the whole target. With ``Runtime.plan_processes`` set and
a runtime that can be rebuilt elsewhere (``Runtime.rebuild``, a picklable
factory), each page is planned end to end — its own connection, transaction,
engine and rows — in one of that many worker processes, and the flow's threads
only wait for them. Pages hold disjoint patients, so nothing changes in what
is written; a page is still one transaction.

The pool is started on the first page of a process and kept for the next runs
(a running ``carepath serve`` plans every few minutes), so its start-up (about
a second: imports and the pathway definition) is paid once. Its workers hold
one page at a time: their memory grows with the batch size, not the cohort.
A failure inside a worker comes back as ``PageFault``, marked transient when
a retry can fix it. A worker that died breaks the pool: the page is then
planned in the flow's own thread (one transaction either way; the dead
worker's transaction ended with its connection), and so are the rest of this
process's pages, with a warning — a pool that breaks once (a crash, a main
module that is not import-safe under ``spawn``) is not started again.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import resource
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

import pathways
from flows._faults import PageFault, is_transient
from flows.runtime import Runtime
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
from pathways.engine import Policy
from pathways.vocab import Role

JOB = "plan_care"
ACTOR = Actor.system(JOB)
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
        # The largest peak resident memory of a planning worker (0: none ran).
        "worker_peak_rss_mb": max((r.get("worker_peak_rss_mb", 0.0) for r in results), default=0.0),
    }


def _union(windows: list[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for start, end in sorted(windows):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


# --- planning processes ----------------------------------------------------

_pool_lock = threading.Lock()
_pool: tuple[Any, int, ProcessPoolExecutor] | None = None
_pool_broken = False
_worker_runtime: Runtime | None = None


def _start_worker(rebuild: Callable[[], Runtime]) -> None:
    global _worker_runtime
    _worker_runtime = rebuild()


def _plan_page_in_worker(after_id: int, last_id: int, as_of: date, now: datetime) -> dict[str, Any]:
    if _worker_runtime is None:  # pragma: no cover - the initializer always ran
        raise PageFault("planning worker has no runtime", transient=False)
    try:
        result = plan_batch(
            _worker_runtime, after_id=after_id, last_id=last_id, as_of=as_of, now=now
        )
    except Exception as exc:  # sent back as a plain, picklable fault that keeps its nature
        raise PageFault(f"{type(exc).__name__}: {exc}", transient=is_transient(exc)) from None
    # Peak resident memory of this worker so far (Linux: KiB).
    result["worker_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _pool_for(rt: Runtime) -> ProcessPoolExecutor | None:
    """The worker pool for this runtime, started on first use; None: plan in this process."""
    global _pool
    if rt.plan_processes < 1 or rt.rebuild is None or _pool_broken:
        return None
    with _pool_lock:
        if _pool is not None and (_pool[0], _pool[1]) != (rt.rebuild, rt.plan_processes):
            _pool[2].shutdown(wait=True)
            _pool = None
        if _pool is None:
            executor = ProcessPoolExecutor(
                max_workers=rt.plan_processes,
                # A fresh interpreter: forking a process with Prefect's threads running
                # could copy a lock some thread holds.
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(rt.rebuild,),
            )
            _pool = (rt.rebuild, rt.plan_processes, executor)
        return _pool[2]


def _give_up_pool(executor: ProcessPoolExecutor, reason: BaseException) -> None:
    global _pool, _pool_broken
    with _pool_lock:
        if not _pool_broken:
            log.warning(
                "plan_care: planning workers failed (%s); pages are planned in-process", reason
            )
        _pool_broken = True
        if _pool is not None and _pool[2] is executor:
            _pool = None
    executor.shutdown(wait=False, cancel_futures=True)


def shutdown_pool() -> None:
    """Stop the planning workers; the next page starts them again (even after a failure)."""
    global _pool, _pool_broken
    with _pool_lock:
        current, _pool, _pool_broken = _pool, None, False
    if current is not None:
        current[2].shutdown(wait=True)


def run_page(
    rt: Runtime, *, after_id: int, last_id: int, as_of: date, now: datetime
) -> dict[str, Any]:
    """Plan one page: in a planning worker when the runtime allows, else in this thread."""
    executor = _pool_for(rt)
    if executor is None:
        return plan_batch(rt, after_id=after_id, last_id=last_id, as_of=as_of, now=now)
    try:
        return executor.submit(_plan_page_in_worker, after_id, last_id, as_of, now).result()
    except BrokenProcessPool as exc:
        _give_up_pool(executor, exc)
    return plan_batch(rt, after_id=after_id, last_id=last_id, as_of=as_of, now=now)
