"""/healthz is liveness; /readyz answers 200 only when the tracker does its work, else 503 and why."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from carepath.web.health import allowance_seconds
from flows.jobs import JOBS
from tests.web.support import Web

PROBLEM = "application/problem+json"


def ran(
    web: Web, job: str, *, ago: timedelta, status: str = "done", error: str | None = None
) -> None:
    started = web.clock() - ago
    with web.db() as session:
        session.execute(
            text(
                "INSERT INTO run_ledger (job, period_key, owner, status, started_at, error) "
                "VALUES (:job, :key, 'test', :status, :at, :error)"
            ),
            {
                "job": job,
                "key": started.isoformat(),
                "status": status,
                "at": started,
                "error": error,
            },
        )


def test_ready_only_once_every_job_has_run_within_its_period(web: Web) -> None:
    client = web.client()
    assert client.get("/healthz").status_code == 200  # alive, whatever else
    fresh = client.get("/readyz")
    assert fresh.status_code == 503 and fresh.headers["content-type"] == PROBLEM
    reasons = fresh.json()["reasons"]
    assert [r.split(":")[0] for r in reasons] == [spec.name for spec in JOBS]
    assert (
        "plan_care: no run yet (the clock of `carepath serve` runs it every 5 minutes)" in reasons
    )

    for spec in JOBS:
        ran(web, spec.name, ago=timedelta(seconds=30))
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"

    # A clock that stopped: dispatch_reminders (every minute) is the first to be late.
    web.clock.advance(seconds=allowance_seconds(JOBS[2]) + 1)
    late = client.get("/readyz").json()["reasons"]
    assert late == [
        "dispatch_reminders: its last run began 3 minutes ago; "
        "the clock of `carepath serve` runs it every minute"
    ]


def test_a_failed_last_run_and_an_old_schema_are_named(web: Web, owner_database_url: str) -> None:
    from models.session import engine_for

    for spec in JOBS:
        ran(web, spec.name, ago=timedelta(seconds=10))
    ran(web, "plan_care", ago=timedelta(seconds=5), status="failed", error="OperationalError")
    with engine_for(owner_database_url).begin() as conn:  # the schema is the owner's
        conn.execute(text("UPDATE alembic_version SET version_num = '0004_old'"))
    answer = web.client().get("/readyz")
    assert answer.status_code == 503
    reasons = answer.json()["reasons"]
    assert reasons[0].startswith("migrations: the database is at 0004_old, this version needs 00")
    assert reasons[1:] == ["plan_care: its last run failed (OperationalError)"]
    assert "carepath db upgrade" in answer.json()["detail"]
