"""The flows run under Prefect for real: one task run per batch, retries on transient faults."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from flows.dispatch_reminders import dispatch_reminders
from flows.escalate_overdue import escalate_overdue
from flows.evaluate_results import evaluate_results
from flows.plan_care import plan_care
from flows.runtime import Runtime, use_runtime
from tests.flows.conftest import NOON, TODAY
from tests.flows.fakes import RecordingChannel

pytestmark = pytest.mark.usefixtures("prefect_harness")


def task_runs(flow_run_id: UUID, expected: int, timeout: float = 10.0) -> list[Any]:
    """The flow run's task runs (recorded from events, so they may take a moment to appear)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                limit=200,
                sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            )
            if len(runs) >= expected or time.monotonic() > deadline:
                return runs
            time.sleep(0.2)


def test_plan_care_runs_one_prefect_task_per_batch_not_per_patient(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    state = plan_care(as_of=TODAY, now=NOON, return_state=True)
    assert state.is_completed()
    stats = state.result()
    assert stats["patients"] == 25 and stats["batches"] == 3 and stats["created"] > 0
    runs = task_runs(state.state_details.flow_run_id, expected=4)
    names = sorted(r.name.rsplit("-", 1)[0] for r in runs)
    # One read of the page bounds, then three pages of at most ten patients.
    assert names == ["patient-pages"] + ["plan-batch"] * 3
    assert all(r.state.is_completed() for r in runs)

    again = plan_care(as_of=TODAY, now=NOON)
    assert again["created"] == again["updated"] == again["cancelled"] == 0
    assert again["skipped"] == 25


def test_a_transient_database_fault_is_retried_by_prefect(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    calls = {"n": 0}

    def flaky(facts, definition, policy):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return runtime.planner(facts, definition, policy)

    # A stand-in for a dropped connection in the middle of a page: a database
    # fault is never one patient's problem, it fails the page, and Prefect retries it.
    rt = Runtime(**{**runtime.__dict__, "planner": flaky})
    with use_runtime(rt):
        state = plan_care(as_of=TODAY, now=NOON, return_state=True)
    assert state.is_completed()
    runs = task_runs(state.state_details.flow_run_id, expected=4)
    assert max(r.run_count for r in runs) == 2  # the first page ran twice
    assert state.result()["problems"] == 0


def test_a_deployment_run_claims_its_period(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    first = escalate_overdue(now=NOON, period_key="2026-10-28T16:00Z")
    second = escalate_overdue(now=NOON, period_key="2026-10-28T16:00Z")
    assert "escalated" in first and second == {
        "period_skipped": True,
        "period_key": "2026-10-28T16:00Z",
    }


def test_the_whole_day_under_prefect(
    runtime: Runtime, engine: Engine, cohort: list[int], channel: RecordingChannel
) -> None:
    planned = plan_care(as_of=TODAY, now=NOON)
    evaluated = evaluate_results(now=NOON)
    assert evaluated["assessments"] == 4  # the cohort's signed history
    sent = dispatch_reminders(now=NOON)
    assert sent["sent"] == planned["reminders"] == len(channel.sent)
    later = NOON + timedelta(days=3)
    escalated = escalate_overdue(now=later)
    assert escalated["escalated"] > 0
    assert dispatch_reminders(now=later)["sent"] == (
        escalated["overdue_reminders"] + escalated["escalation_reminders"]
    )
    with engine.connect() as conn:
        audit = dict(
            conn.execute(
                text(
                    "SELECT action, count(*) FROM audit_event WHERE channel = 'flow' GROUP BY action"
                )
            ).all()
        )
    assert {"plan", "notify", "remind", "escalate", "evaluate"} <= set(audit)
