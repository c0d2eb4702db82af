"""plan_care: every active patient's tasks, planned by the engine and upserted in batches.

The story: cut the active patients into pages, and for each page lock the
patients, load them as snapshots, ask the engine for the tasks of each
patient whose inputs changed since their last plan, and write the page in
set-based statements (``models.repositories.plan_writes``). A patient whose facts
cannot be loaded or planned becomes a task for a human and a log line naming
only the patient id; the rest of the page is planned.

Two pages run at once, each in a planning worker process when the runtime
allows it (``Runtime.plan_processes``, ``CAREPATH_PLAN_PROCESSES``): one page's
PostgreSQL work overlaps the other page's Python, and the Python of the two
pages runs on two cores rather than under one GIL. Pages hold disjoint
patients, so they never wait on each other.

The core — ``plan_batch``, fingerprints, the workers — is ``flows.plan_core``
(no Prefect); tests and the demo's simulated days call ``plan_batch`` or
``plan_all`` directly; the flow wraps each page in a Prefect task.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows._tasks import io_task
from flows.jobs import run_for_period
from flows.plan_core import (
    ACTOR,
    JOB,
    engine_source_digest,
    fingerprint,
    pages,
    plan_all,
    plan_batch,
    plan_patients,
    run_page,
    summarize,
)
from flows.runtime import current_runtime

__all__ = [
    "ACTOR",
    "CONCURRENT_PAGES",
    "JOB",
    "engine_source_digest",
    "fingerprint",
    "plan_all",
    "plan_batch",
    "plan_care",
    "plan_patients",
    "summarize",
]

CONCURRENT_PAGES = 2
# flow() takes a TaskRunner[PrefectFuture[Any]] (invariant), which no concrete runner is typed as;
# Prefect casts its own default runner the same way.
_PAGE_RUNNER = cast(
    "TaskRunner[PrefectFuture[Any]]", ThreadPoolTaskRunner(max_workers=CONCURRENT_PAGES)
)


@io_task("plan-batch")
def plan_batch_task(after_id: int, last_id: int, as_of: date, now: datetime) -> dict[str, Any]:
    return run_page(current_runtime(), after_id=after_id, last_id=last_id, as_of=as_of, now=now)


@io_task("patient-pages")
def pages_task() -> list[tuple[int, int]]:
    return pages(current_runtime())


@flow(name=JOB, log_prints=False, task_runner=_PAGE_RUNNER)
def plan_care(
    as_of: date | None = None, now: datetime | None = None, period_key: str | None = None
) -> dict[str, Any]:
    """Plan every active patient's tasks as of a clinic day (default: today)."""
    rt = current_runtime()
    clock = rt.at(as_of, now)

    def run() -> dict[str, Any]:
        futures = [plan_batch_task.submit(a, b, clock.as_of, clock.now) for a, b in pages_task()]
        return summarize([f.result() for f in futures], clock.as_of)

    stats = run_for_period(rt, job_name=JOB, period_key=period_key, body=run)
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
