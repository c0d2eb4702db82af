"""The schedule table, period keys and the run ledger's once-per-period rule."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text

from flows.deployments import build_deployments, deployment_name
from flows.jobs import JOBS, JobSpec, flow_for, job, period_key, run_once
from flows.runtime import Runtime

NY = ZoneInfo("America/New_York")


def test_period_keys_bucket_by_the_jobs_period() -> None:
    plan = job("plan_care")
    at = datetime(2026, 10, 28, 14, 7, 31, tzinfo=UTC)
    assert period_key(plan, at, "America/New_York") == "2026-10-28T14:05Z"
    assert period_key(job("dispatch_reminders"), at, "America/New_York") == "2026-10-28T14:07Z"
    assert period_key(job("escalate_overdue"), at, "America/New_York") == "2026-10-28T14:00Z"
    assert period_key(JobSpec("x", "* * * * *", 1, ""), at, "UTC") == "2026-10-28T14:07:31Z"


def test_a_daily_job_runs_once_per_clinic_day_across_dst() -> None:
    nightly = job("adherence_report")
    # 23:30 local on the night DST ends is already the next UTC day.
    late = datetime(2026, 11, 1, 23, 30, tzinfo=NY)
    assert late.astimezone(UTC).date().isoformat() == "2026-11-02"
    assert period_key(nightly, late, "America/New_York") == "2026-11-01"
    with pytest.raises(ValueError, match="aware"):
        period_key(nightly, datetime(2026, 11, 1, 23, 30), "UTC")


def test_deployments_have_the_same_schedules_as_the_clock() -> None:
    deployments = {d.name: d for d in build_deployments("America/New_York")}
    installed = [spec for spec in JOBS if flow_for(spec.name) is not None]
    assert {spec.name for spec in installed} >= {
        "plan_care",
        "evaluate_results",
        "dispatch_reminders",
        "escalate_overdue",
    }
    assert set(deployments) == {deployment_name(spec.name) for spec in installed}
    for spec in installed:
        d = deployments[deployment_name(spec.name)]
        assert [(s.schedule.cron, s.schedule.timezone) for s in d.schedules] == [  # type: ignore[union-attr]
            (spec.cron, "America/New_York")
        ]
        assert d.parameters == {"period_key": "@scheduled"}
        assert d.entrypoint == f"flows.{spec.name}.{spec.name}"


def test_the_second_claimant_of_a_period_skips_and_failures_are_recorded(
    runtime: Runtime, engine: Engine
) -> None:
    calls: list[str] = []
    first = run_once(
        runtime, job_name="plan_care", period="P1", body=lambda: calls.append("a") or {"n": 1}
    )
    second = run_once(
        runtime, job_name="plan_care", period="P1", body=lambda: calls.append("b") or {"n": 2}
    )
    assert calls == ["a"]
    assert first == {"n": 1, "period_key": "P1"}
    assert second == {"period_skipped": True, "period_key": "P1"}

    def boom() -> dict[str, int]:
        raise RuntimeError("secret patient value")

    with pytest.raises(RuntimeError):
        run_once(runtime, job_name="plan_care", period="P2", body=boom)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT period_key, status, stats, error, owner FROM run_ledger ORDER BY id")
        ).all()
    assert [(r.period_key, r.status) for r in rows] == [("P1", "done"), ("P2", "failed")]
    assert rows[0].stats == {"n": 1}
    assert rows[1].error == "RuntimeError"  # the type only: a message may quote stored values
    assert rows[0].owner == "test-dispatcher"
