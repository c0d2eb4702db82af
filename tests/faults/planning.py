"""Restart PostgreSQL in the middle of planning: no task lost or doubled, the period completes.

Two databases on the fault test's server start from the same synthetic
cohort (the generator of ``bench/plan_care_100k.py``). The reference is
planned undisturbed. The other is planned by the run-ledger path a clock
takes (``run_once`` around ``plan_all``, the flow's core without its Prefect
task retries) while the server is restarted at a random moment, ``fast`` (every
session ended) or ``immediate`` (a crash, recovered from the WAL). Then the
same period is claimed again, as a clock restarting in it would: a run that
died or failed is redone as its next attempt, a finished one is skipped. After
each round both databases must hold the same tasks (key, status, window and
planned content) and the same reminders.
"""

from __future__ import annotations

import importlib.util
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.faults.server import Server

ROOT = Path(__file__).resolve().parents[2]
TZ = "America/New_York"
TASKS = (
    "SELECT patient_id, dedupe_key, status, status_reason, not_before, due, expires, plan_hash "
    "FROM care_task ORDER BY patient_id, dedupe_key"
)
REMINDERS = "SELECT idempotency_key, status FROM reminder ORDER BY idempotency_key"


@dataclass
class PlanningFigures:
    restarts: int
    completed_through: int
    failed_and_redone: int
    finished_before: int  # rounds whose plan was done before the restart came (not counted)
    tasks: int
    lost: int
    doubled: int
    differing: int
    seconds: float

    def line(self) -> str:
        return (
            f"planning: {self.restarts} PostgreSQL restarts mid-plan: "
            f"{self.completed_through} runs completed through them, {self.failed_and_redone} "
            f"failed and were redone ({self.finished_before} more came after the plan had "
            f"finished); {self.tasks} tasks: {self.lost} lost, {self.doubled} "
            f"doubled, {self.differing} different from the undisturbed plan; {self.seconds:.1f} s"
        )


def _generate(owner_url: str, patients: int, seed: int, as_of: date) -> None:
    spec = importlib.util.spec_from_file_location(
        "plan_bench", ROOT / "bench" / "plan_care_100k.py"
    )
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.generate(owner_url.replace("+psycopg", ""), patients, seed, as_of)


def _runtime(app_url: str) -> Any:
    from flows.runtime import Runtime
    from models.session import engine_for
    from pathways.definition import load_definition

    definition = load_definition()
    return Runtime(
        engine=engine_for(app_url),
        timezone=TZ,
        definition=lambda v: definition,
        clock=lambda: datetime.now(UTC),
        batch_size=200,
        owner="fault-planner",
    )


def _snapshot(app_url: str) -> tuple[list[Any], list[Any]]:
    from models.session import engine_for

    with engine_for(app_url).connect() as conn:
        return list(conn.execute(text(TASKS)).all()), list(conn.execute(text(REMINDERS)).all())


def run(server: Server, *, restarts: int, patients: int, seed_value: int = 7) -> PlanningFigures:
    from flows.plan_core import plan_all

    started = time.perf_counter()
    rng = random.Random(seed_value)
    as_of = datetime.now(UTC).date()
    ref_app, ref_owner = server.database("faults_plan_ref")
    _generate(ref_owner, patients, seed_value, as_of)
    app, _ = server.database("faults_plan", template="faults_plan_ref")
    reference, disturbed = _runtime(ref_app), _runtime(app)
    outcomes: list[str] = []
    lost = doubled = differing = tasks = 0
    for round_ in range(restarts):
        day = as_of + timedelta(days=round_)
        now = datetime.now(UTC) + timedelta(days=round_)
        plan_all(reference, as_of=day, now=now)
        outcomes.append(_disturbed_round(server, disturbed, f"restart-{round_}", day, now, rng))
        expected, got = _snapshot(ref_app), _snapshot(app)
        keys = [(r.patient_id, r.dedupe_key) for r in got[0]]
        tasks = len(got[0])
        lost += len({(r.patient_id, r.dedupe_key) for r in expected[0]} - set(keys))
        doubled += len(keys) - len(set(keys))
        differing += len(set(expected[0]) ^ set(got[0])) + len(set(expected[1]) ^ set(got[1]))
    reference.engine.dispose()
    disturbed.engine.dispose()
    return PlanningFigures(
        restarts=outcomes.count("through") + outcomes.count("redone"),
        completed_through=outcomes.count("through"),
        failed_and_redone=outcomes.count("redone"),
        finished_before=outcomes.count("before"),
        tasks=tasks,
        lost=lost,
        doubled=doubled,
        differing=differing,
        seconds=time.perf_counter() - started,
    )


def _disturbed_round(
    server: Server, rt: Any, period: str, day: date, now: datetime, rng: random.Random
) -> str:
    """Plan ``period`` while the server restarts, then claim it again.

    "redone", "through" (it completed across the restart), or "before" (it was
    done before the restart came: this round tested nothing).
    """
    from flows.jobs import run_once
    from flows.plan_core import plan_all

    def body() -> dict[str, Any]:
        return plan_all(rt, as_of=day, now=now)

    outcome: dict[str, Any] = {}

    def first_attempt() -> None:
        try:
            outcome["stats"] = run_once(rt, job_name="plan_care", period=period, body=body)
        except Exception as exc:  # the restart broke it: recorded, or its lease will tell
            outcome["error"] = type(exc).__name__

    thread = threading.Thread(target=first_attempt)
    thread.start()
    time.sleep(rng.uniform(0.2, 1.5))
    in_flight = thread.is_alive()
    server.restart(rng.choice(("fast", "immediate")))
    thread.join(600)
    again = _retry(lambda: run_once(rt, job_name="plan_care", period=period, body=body))
    # A finished period is skipped; a failed or dead one is redone, as its next attempt.
    assert ("error" in outcome) != bool(again.get("period_skipped")), (outcome, again)
    if "error" in outcome:
        return "redone"
    return "through" if in_flight else "before"


def _retry(call: Any) -> dict[str, Any]:
    """The clock's next tick: the server may still be recovering for a moment."""
    from sqlalchemy.exc import OperationalError

    for _ in range(30):
        try:
            result: dict[str, Any] = call()
            return result
        except OperationalError:
            time.sleep(1)
    raise RuntimeError("the database did not come back")
