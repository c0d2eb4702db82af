"""The clock: two clocks (two processes) on one database run each period once; serve starts it."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, text

from flows.jobs import JobSpec
from tests.flows.conftest import NOON, TODAY, TZ

PER_SECOND = JobSpec("plan_care", "* * * * *", 1, "plan every second (test)")


def _clock_process(url: str, name: str, seconds: float, out: str) -> None:
    """One clock in its own process, planning with the fake engine every second."""
    from carepath.scheduler import Clock
    from flows.plan_care import plan_all
    from flows.runtime import Runtime
    from models.session import engine_for
    from pathways.definition import load_definition
    from tests.flows.fakes import fake_classifier, fake_evaluator, fake_planner

    definition = load_definition()
    runtime = Runtime(
        engine=engine_for(url),
        timezone=TZ,
        definition=lambda version: definition,
        clock=lambda: datetime.now(UTC),
        batch_size=10,
        planner=fake_planner,
        evaluator=fake_evaluator,
        classifier=fake_classifier,
        owner=name,
    )
    ran: list[str] = []
    skipped: list[str] = []

    class RecordingClock(Clock):
        def tick(self, spec: JobSpec, at: datetime | None = None) -> dict[str, Any]:
            result = super().tick(spec, at)
            (skipped if result.get("period_skipped") else ran).append(result["period_key"])
            return result

    clock = RecordingClock(
        runtime,
        jobs=[PER_SECOND],
        run_job=lambda job: plan_all(runtime, as_of=TODAY, now=NOON),
        trigger_for=lambda spec, tz: CronTrigger(second="*", timezone=tz),
    )
    clock.start()
    time.sleep(seconds)
    clock.shutdown(wait=True)
    Path(out).write_text(json.dumps({"ran": ran, "skipped": skipped}))


@pytest.mark.slow
def test_two_clocks_on_one_database_plan_once_per_period(
    database_url: str, engine: Engine, cohort: list[int], tmp_path: Path
) -> None:
    spawn = multiprocessing.get_context("spawn")
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    procs = [
        spawn.Process(target=_clock_process, args=(database_url, name, 6.0, str(out)))
        for name, out in zip(("clock-a", "clock-b"), outs, strict=True)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    a, b = (json.loads(out.read_text()) for out in outs)
    with engine.connect() as conn:
        ledger = conn.execute(
            text("SELECT period_key, owner, status FROM run_ledger WHERE job = 'plan_care'")
        ).all()
        created = conn.execute(text("SELECT count(*) FROM care_task")).scalar_one()
        distinct = conn.execute(
            text("SELECT count(DISTINCT dedupe_key) FROM care_task")
        ).scalar_one()

    # Both clocks ticked every second; for each period exactly one of them planned.
    assert len(a["ran"]) + len(a["skipped"]) >= 3 and len(b["ran"]) + len(b["skipped"]) >= 3
    assert not set(a["ran"]) & set(b["ran"])
    assert set(a["skipped"]) <= set(b["ran"]) and set(b["skipped"]) <= set(a["ran"])
    assert a["skipped"] or b["skipped"]  # they did compete for the same periods
    assert sorted(r.period_key for r in ledger) == sorted(a["ran"] + b["ran"])
    assert {(r.owner, r.status) for r in ledger} <= {("clock-a", "done"), ("clock-b", "done")}
    assert created == distinct > 0


def test_a_tick_that_fails_is_logged_by_id_and_recorded(
    runtime: Any, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    from carepath.scheduler import Clock

    def boom(job: str) -> dict[str, Any]:
        raise ValueError("patient Alma Reyes")

    clock = Clock(runtime, jobs=[PER_SECOND], run_job=boom)
    result = clock.tick(PER_SECOND, at=NOON)
    assert result["failed"] == "ValueError"
    assert "Alma" not in caplog.text and "ValueError" in caplog.text
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status, error FROM run_ledger")).one() == (
            "failed",
            "ValueError",
        )


def test_serve_starts_the_clock_behind_the_app_only_when_it_owns_the_schedules(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, prefect_harness: None
) -> None:
    import asyncio

    from carepath.cli.serve import background_lifespan, running_background
    from carepath.settings import get_settings
    from carepath.web.app import create_app
    from flows.runtime import current_runtime

    settings = get_settings()
    app = create_app(settings, lifespans=[background_lifespan(settings)])
    seen: dict[str, Any] = {}

    async def serve_briefly() -> None:
        async with app.router.lifespan_context(app):
            # The lifespan returns at once: the clock comes up in its thread behind the app.
            seen["started_at_once"] = app.state.background.clock is None
            deadline = time.monotonic() + 120
            while app.state.background.clock is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            clock = app.state.background.clock
            # The request clock stays the app's own: a callable instant, not the scheduler.
            seen["request_clock"] = app.state.clock()
            seen["running"] = clock.scheduler.running
            seen["jobs"] = {j.id for j in clock.scheduler.get_jobs()}
            seen["database"] = current_runtime().engine.url.database
            seen["clock"] = clock

    # In a thread of its own: other tests (the browser's) may hold an event loop in this one.
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(serve_briefly())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(180)
    assert not errors, errors
    assert seen["started_at_once"]
    assert isinstance(seen["request_clock"], datetime)
    assert seen["running"]
    assert seen["jobs"] == {
        "plan_care",
        "evaluate_results",
        "dispatch_reminders",
        "escalate_overdue",
        "adherence_report",
    }
    assert seen["database"] == cli_env.split("?")[0].rsplit("/", 1)[1]
    assert not seen["clock"].scheduler.running  # stopped with the app

    monkeypatch.setenv("CAREPATH_SCHEDULE_OWNER", "prefect")
    get_settings.cache_clear()
    with running_background(get_settings()) as background:
        assert background is None  # Prefect deployments own the schedules: no clock here
