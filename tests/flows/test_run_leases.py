"""The run ledger notices a dead run: its lock went with its process, or its heartbeat stopped.

A run that died is marked failed (``LeaseExpired``) by the next claimant of
its job, so it does not stay ``running``; its period may be claimed again as
the next attempt, up to three; a live run keeps its period, and its heartbeat
keeps its lease ahead of the server's clock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from flows.jobs import run_once
from flows.runtime import Runtime
from models.repositories.leases import Holder, wait_until_gone
from models.repositories.runs import LOST, MAX_ATTEMPTS, claim_period
from models.session import transaction
from tests.flows.conftest import NOON


def _claim(engine: Engine, holder: Holder, period: str, lease: float = 60.0) -> int | None:
    with transaction(engine) as session:
        return claim_period(
            session,
            job="dispatch_reminders",
            period_key=period,
            owner="someone",
            at=NOON,
            lock_key=holder.key,
            lease=timedelta(seconds=lease),
        )


def _ledger(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT period_key, attempt, status, error FROM run_ledger ORDER BY id")
            ).all()
        )


def test_a_run_whose_holder_is_gone_is_marked_failed_and_its_period_redone(
    runtime: Runtime, engine: Engine
) -> None:
    with Holder(engine) as dead:
        assert _claim(engine, dead, "12:03") is not None
    assert wait_until_gone(engine, dead.key)
    # The next period's run marks it failed; the same period may run again.
    assert run_once(runtime, job_name="dispatch_reminders", period="12:04", body=dict) == {
        "period_key": "12:04"
    }
    assert _ledger(engine) == [("12:03", 1, "failed", LOST), ("12:04", 1, "done", None)]
    run_once(runtime, job_name="dispatch_reminders", period="12:03", body=lambda: {"n": 1})
    assert _ledger(engine)[-1] == ("12:03", 2, "done", None)


def test_a_live_run_keeps_its_period_until_its_lease_runs_out(
    runtime: Runtime, engine: Engine
) -> None:
    with Holder(engine) as alive:
        assert _claim(engine, alive, "P", lease=0.5) is not None
        skipped = run_once(runtime, job_name="dispatch_reminders", period="P", body=dict)
        assert skipped == {"period_skipped": True, "period_key": "P"}
        time.sleep(0.6)  # no heartbeat: alive but stuck, or cut off from the server
        assert run_once(runtime, job_name="dispatch_reminders", period="P", body=dict)
    assert _ledger(engine) == [("P", 1, "failed", LOST), ("P", 2, "done", None)]


def test_the_heartbeat_keeps_a_long_run_alive_past_its_lease(
    runtime: Runtime, engine: Engine
) -> None:
    seen: dict[str, Any] = {}
    inside = threading.Event()

    def long_body() -> dict[str, Any]:
        inside.set()
        time.sleep(1.5)  # three leases of 0.5 s, renewed every 0.125 s
        return {"n": 1}

    worker = threading.Thread(
        target=lambda: seen.update(
            run_once(
                runtime,
                job_name="plan_care",
                period="P",
                body=long_body,
                lease=timedelta(seconds=0.5),
            )
        )
    )
    worker.start()
    assert inside.wait(30)
    time.sleep(1.0)
    second = run_once(runtime, job_name="plan_care", period="P", body=dict)
    worker.join(30)
    assert second == {"period_skipped": True, "period_key": "P"}
    assert seen == {"n": 1, "period_key": "P"}
    with engine.connect() as conn:
        heartbeat, lease_end = conn.execute(
            text("SELECT heartbeat_at, lease_expires_at FROM run_ledger")
        ).one()
    assert heartbeat is not None and lease_end > heartbeat


def test_a_period_that_keeps_failing_is_given_up_after_three_attempts(
    runtime: Runtime, engine: Engine
) -> None:
    def boom() -> dict[str, Any]:
        raise RuntimeError("no")

    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(RuntimeError):
            run_once(runtime, job_name="plan_care", period="P", body=boom)
    assert run_once(runtime, job_name="plan_care", period="P", body=dict)["period_skipped"]
    assert [r.attempt for r in _ledger(engine)] == [1, 2, 3]


KILLED_RUN = """
import sys, time
from datetime import UTC, datetime
from flows.jobs import run_once
from flows.runtime import Runtime
from models.session import engine_for

rt = Runtime(engine=engine_for(sys.argv[1]), timezone="UTC", definition=lambda v: None,
             clock=lambda: datetime.now(UTC), owner="doomed")
def body():
    print("running", flush=True)
    time.sleep(600)
    return {}
run_once(rt, job_name="dispatch_reminders", period="12:03", body=body)
"""


@pytest.mark.slow
def test_a_sigkilled_run_is_failed_by_the_next_period_and_redone(
    runtime: Runtime, engine: Engine, database_url: str
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, database_url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "running"
        assert _ledger(engine) == [("12:03", 1, "running", None)]
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)
        assert child.stdout is not None
        child.stdout.close()
    # Right away, not a lease later: the lock went with the process (its session
    # ends a moment after it).
    with engine.connect() as conn:
        key = conn.execute(text("SELECT lock_key FROM run_ledger")).scalar_one()
    assert wait_until_gone(engine, key, seconds=10)
    run_once(runtime, job_name="dispatch_reminders", period="12:04", body=dict)
    run_once(runtime, job_name="dispatch_reminders", period="12:03", body=dict)
    assert _ledger(engine) == [
        ("12:03", 1, "failed", LOST),
        ("12:04", 1, "done", None),
        ("12:03", 2, "done", None),
    ]
