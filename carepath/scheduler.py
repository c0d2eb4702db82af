"""The clock inside `carepath serve`: APScheduler ticks the flows, PostgreSQL decides who runs.

APScheduler (≥ 3.11.2) has no safe multi-process job store, so it keeps no
state here: it is only a tick. Each tick names a job and the period it falls
in (``flows.jobs.period_key``); the run ledger's unique ``(job, period_key)``
lets exactly one clock of all those running on the database run it, and the
others skip. The schedules are those of ``flows.jobs.JOBS`` — the same table
the Prefect deployments are built from — and ``CAREPATH_SCHEDULE_OWNER``
decides which of the two owns them; this clock starts only for
``apscheduler``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from carepath.settings import Settings
from flows.jobs import JOBS, JobSpec, flow_for, period_key, run_once
from flows.runtime import Runtime

if TYPE_CHECKING:
    from prefect import Flow

log = logging.getLogger("carepath.clock")

RunJob = Callable[[str], dict[str, Any]]


def run_flow(name: str) -> dict[str, Any]:
    """Run a job's Prefect flow once, now."""
    # Every job's flow is called with no argument and returns its counts; said here because
    # Prefect types a call of a Flow[..., Any] as returning None (its NoReturn overload).
    flow: Flow[[], dict[str, Any]] | None = flow_for(name)
    if flow is None:
        raise LookupError(f"no flow {name!r} in this installation")
    return flow()


def crontab(spec: JobSpec, timezone: str) -> BaseTrigger:
    return CronTrigger.from_crontab(spec.cron, timezone=timezone)


class Clock:
    """Ticks the periodic jobs; each tick runs its job only if it wins the period."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        jobs: Sequence[JobSpec] = JOBS,
        run_job: RunJob = run_flow,
        trigger_for: Callable[[JobSpec, str], BaseTrigger] = crontab,
    ) -> None:
        self.runtime = runtime
        self.run_job = run_job
        # A job whose flow is not installed (adherence_report before its issue) gets no slot.
        self.jobs = [
            spec for spec in jobs if run_job is not run_flow or flow_for(spec.name) is not None
        ]
        self.scheduler = BackgroundScheduler(
            timezone=runtime.timezone,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        )
        for spec in self.jobs:
            self.scheduler.add_job(
                self.tick,
                trigger_for(spec, runtime.timezone),
                args=[spec],
                id=spec.name,
                name=spec.description,
                # Each job's first tick is at start-up, not at its next slot: the
                # periods missed while nothing ran (last night's report, the
                # reminders due meanwhile) are caught up now, and the ledger
                # still lets the period run only once.
                next_run_time=datetime.now(UTC),
            )

    def tick(self, spec: JobSpec, at: datetime | None = None) -> dict[str, Any]:
        """Claim this period for the job and run it, or skip when another clock has it."""
        key = period_key(spec, at or self.runtime.clock(), self.runtime.timezone)
        try:
            return run_once(
                self.runtime,
                job_name=spec.name,
                period=key,
                body=lambda: self.run_job(spec.name),
            )
        except Exception as exc:  # a failed run is in the ledger; the clock keeps ticking
            log.warning("clock: %s for %s failed (%s)", spec.name, key, type(exc).__name__)
            return {"failed": type(exc).__name__, "period_key": key}

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self, wait: bool = True) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)


def describe(jobs: Sequence[JobSpec]) -> str:
    """``plan_care every 5 min, ...`` for the console."""
    return ", ".join(f"{spec.name} {spec.every}" for spec in jobs)


@contextmanager
def running_clock(
    settings: Settings,
    say: Callable[[str], None] = log.info,
    stop: threading.Event | None = None,
) -> Iterator[Clock | None]:
    """The flow runtime, a Prefect API and the clock, for as long as the block runs
    (None, and no clock, when ``stop`` was set while the Prefect API was starting)."""
    from carepath.orchestration import prefect_api, prepare_prefect

    prepare_prefect(settings)
    from carepath.runtime import build_runtime
    from flows.runtime import configure

    runtime = build_runtime(settings)
    with ExitStack() as stack:
        configure(runtime)
        stack.callback(configure, None)
        api = stack.enter_context(prefect_api(settings))
        say(f"the flows' Prefect API is up at {api}")
        if stop is not None and stop.is_set():
            yield None
            return
        clock = Clock(runtime)
        clock.start()
        stack.callback(clock.shutdown)
        say(
            f"the clock is running: {len(clock.jobs)} jobs, each run once now, then on "
            f"schedule ({describe(clock.jobs)})"
        )
        yield clock
