"""escalate_overdue and dispatch_reminders' cores: once per level, retries with backoff, leases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from flows.dispatch_reminders import dispatch_all, send_batch
from flows.escalate_overdue import escalate_now
from flows.plan_care import plan_all
from flows.runtime import Runtime
from models.repositories.audit import Actor
from models.repositories.escalation import EscalationPolicy
from models.repositories.leases import Holder, wait_until_gone
from models.repositories.outbox import claim_reminders, outbox_counts
from models.session import transaction
from tests.flows.conftest import NOON, TODAY
from tests.flows.fakes import RecordingChannel


def test_overdue_tasks_are_reminded_once_and_escalated_once_per_level(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    plan_all(runtime, as_of=TODAY, now=NOON)
    later = NOON + timedelta(days=3)
    first = escalate_now(runtime, now=later)
    assert first["overdue_reminders"] > 0
    assert first["escalated"] > 0
    with engine.connect() as conn:
        escalated = conn.execute(
            text(
                "SELECT role_queue, escalation_level, escalated_at, escalations, due, safety "
                "FROM care_task WHERE escalation_level > 0"
            )
        ).all()
        overdue_open = conn.execute(
            text("SELECT count(*) FROM care_task WHERE due <= :t AND status = 'requested'"),
            {"t": later},
        ).scalar_one()
        reasons = dict(
            conn.execute(text("SELECT reason, count(*) FROM reminder GROUP BY reason")).all()
        )
    assert len(escalated) == first["escalated"]
    for role, level, at, history, due, safety in escalated:
        assert (role, level, at) == ("clinician", 1, later)
        assert len(history) == 1
        step = history[0]
        assert (step["level"], step["from"], step["to"], step["by"]) == (
            1,
            "coordinator",
            "clinician",
            "flow:escalate_overdue",
        )
        assert step["grace_hours"] == (4.0 if safety else 24.0)
        assert due + timedelta(hours=step["grace_hours"]) <= later
    assert reasons["overdue"] == overdue_open == first["overdue_reminders"]
    assert reasons["escalation"] == first["escalation_reminders"] == first["escalated"]

    # At the same instant, nothing is left to do.
    same = escalate_now(runtime, now=later)
    assert same == {**same, "overdue_reminders": 0, "escalated": 0, "escalation_reminders": 0}
    # Days later only tasks that fell overdue since escalate; the ladder ends at the
    # clinician, so no task goes past level 1 and each level is recorded once.
    again = escalate_now(runtime, now=later + timedelta(days=5))
    with engine.connect() as conn:
        levels = conn.execute(
            text(
                "SELECT escalation_level, jsonb_array_length(escalations), escalated_at "
                "FROM care_task WHERE escalation_level > 0"
            )
        ).all()
    assert len(levels) == first["escalated"] + again["escalated"]
    assert {(lvl, n) for lvl, n, _ in levels} == {(1, 1)}
    assert sum(1 for *_, at in levels if at == later) == first["escalated"]


def test_the_grace_is_per_kind_then_safety_then_role(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    policy = EscalationPolicy(grace_hours={"default": 1000.0, "kind:lab_panel": 1.0})
    assert policy.grace_for(kind="lab_panel", role="coordinator", safety=True) == 1.0
    assert EscalationPolicy().grace_for(kind="dose", role="coordinator", safety=True) == 4.0
    assert (
        EscalationPolicy(grace_hours={"default": 24, "role:coordinator": 8}).grace_for(
            kind="dose", role="coordinator", safety=False
        )
        == 8
    )
    plan_all(runtime, as_of=TODAY, now=NOON)
    slow = Runtime(
        **{**runtime.__dict__, "escalation": EscalationPolicy(grace_hours={"default": 1000.0})}
    )
    assert escalate_now(slow, now=NOON + timedelta(days=3))["escalated"] == 0
    fast = Runtime(**{**runtime.__dict__, "escalation": policy})
    assert escalate_now(fast, now=NOON + timedelta(days=3))["escalated"] > 0


def test_reminders_are_sent_once_and_every_attempt_is_recorded(
    runtime: Runtime, engine: Engine, cohort: list[int], channel: RecordingChannel
) -> None:
    planned = plan_all(runtime, as_of=TODAY, now=NOON)
    result = dispatch_all(runtime, clock=lambda: NOON)
    assert result["sent"] == planned["reminders"] == len(channel.sent) > 0
    assert channel.closed == 1
    keys = [m.idempotency_key for m in channel.sent]
    assert len(set(keys)) == len(keys)
    assert all(m.attempt == 1 for m in channel.sent)
    with engine.connect() as conn:
        deliveries = conn.execute(
            text("SELECT outcome, count(*) FROM reminder_delivery GROUP BY outcome")
        ).all()
    assert dict(deliveries) == {"sent": len(keys)}
    assert dispatch_all(runtime, clock=lambda: NOON)["sent"] == 0
    with transaction(engine) as session:
        assert outbox_counts(session)["sent"] == len(keys)


def test_failed_sends_back_off_and_end_failed_after_the_limit(
    runtime: Runtime, engine: Engine, cohort: list[int], channel: RecordingChannel
) -> None:
    planned = plan_all(runtime, as_of=TODAY, now=NOON)
    n = planned["reminders"]
    channel.fail = ConnectionRefusedError("smtp down")
    first = dispatch_all(runtime, clock=lambda: NOON)
    assert (first["retrying"], first["failed"], first["sent"]) == (n, 0, 0)
    with engine.connect() as conn:
        waits = set(
            conn.execute(
                text("SELECT next_attempt_at - :now FROM reminder"), {"now": NOON}
            ).scalars()
        )
    assert waits == {timedelta(seconds=60)}
    # Not ready again before its backoff ends.
    assert dispatch_all(runtime, clock=lambda: NOON + timedelta(seconds=30))["claimed"] == 0
    second = dispatch_all(runtime, clock=lambda: NOON + timedelta(seconds=61))
    assert second["retrying"] == n
    with engine.connect() as conn:
        waits = set(
            conn.execute(
                text("SELECT next_attempt_at - :now FROM reminder"),
                {"now": NOON + timedelta(seconds=61)},
            ).scalars()
        )
    assert waits == {timedelta(seconds=120)}  # doubled
    third = dispatch_all(runtime, clock=lambda: NOON + timedelta(seconds=200))
    assert third["failed"] == n  # max_attempts = 3
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT status, attempts, last_error FROM reminder")).all()
        attempts = conn.execute(
            text("SELECT count(*) FROM reminder_delivery WHERE outcome = 'error'")
        ).scalar_one()
    assert {(r.status, r.attempts) for r in rows} == {("failed", 3)}
    assert all(r.last_error == "ConnectionRefusedError: smtp down" for r in rows)
    assert attempts == 3 * n
    assert dispatch_all(runtime, clock=lambda: NOON + timedelta(days=1))["claimed"] == 0


def test_a_permanent_error_fails_at_once(
    runtime: Runtime, engine: Engine, cohort: list[int], channel: RecordingChannel
) -> None:
    plan_all(runtime, as_of=TODAY, now=NOON)
    error = ValueError("recipient refused")
    error.permanent = True  # type: ignore[attr-defined]
    channel.fail = error
    result = dispatch_all(runtime, clock=lambda: NOON)
    assert result["failed"] == result["claimed"] > 0 and result["retrying"] == 0


def test_a_reminder_whose_task_closed_is_skipped(
    runtime: Runtime, engine: Engine, cohort: list[int], channel: RecordingChannel
) -> None:
    planned = plan_all(runtime, as_of=TODAY, now=NOON)
    with transaction(engine) as session:
        closed = session.execute(
            text(
                "UPDATE care_task SET status = 'completed', completed_at = :now "
                "WHERE id IN (SELECT task_id FROM reminder ORDER BY id LIMIT 3) RETURNING id"
            ),
            {"now": NOON},
        ).all()
    result = dispatch_all(runtime, clock=lambda: NOON)
    assert result["skipped"] == len(closed) == 3
    assert result["sent"] == planned["reminders"] - 3
    with transaction(engine) as session:
        assert outbox_counts(session)["skipped"] == 3


def _claim_all(engine: Engine, holder: Holder) -> int:
    with transaction(engine) as session:
        return len(
            claim_reminders(
                session,
                owner="other",
                now=NOON,
                lease=timedelta(seconds=60),
                limit=1000,
                actor=Actor.system("dispatch_reminders"),
                lock_key=holder.key,
            ).messages
        )


def test_a_stuck_dispatchers_claims_are_taken_again_after_the_lease(
    runtime: Runtime, engine: Engine, cohort: list[int], channel: RecordingChannel
) -> None:
    planned = plan_all(runtime, as_of=TODAY, now=NOON)
    with Holder(engine) as stuck:  # alive (its lock held) but never sends
        assert _claim_all(engine, stuck) == planned["reminders"]
        assert send_batch(runtime, clock=lambda: NOON + timedelta(seconds=30))["claimed"] == 0
        result = dispatch_all(runtime, clock=lambda: NOON + timedelta(seconds=61))
    assert result["sent"] == planned["reminders"]
    assert {m.attempt for m in channel.sent} == {2}  # the lost attempt counts


def test_a_dead_dispatchers_claims_are_taken_again_at_once(
    runtime: Runtime, engine: Engine, cohort: list[int], channel: RecordingChannel
) -> None:
    """Its session, and so its lock, ended with it: no need to wait out the lease."""
    planned = plan_all(runtime, as_of=TODAY, now=NOON)
    with Holder(engine) as dead:
        assert _claim_all(engine, dead) == planned["reminders"]
    assert wait_until_gone(engine, dead.key)  # its session ends a moment after it
    result = dispatch_all(runtime, clock=lambda: NOON + timedelta(seconds=1))
    assert result["sent"] == planned["reminders"]
    assert {m.attempt for m in channel.sent} == {2}


@pytest.mark.parametrize("lease", [0.0])
def test_claims_the_dispatcher_cannot_send_in_time_are_released(
    runtime: Runtime, engine: Engine, cohort: list[int], lease: float
) -> None:
    from flows.runtime import ReminderPolicy

    planned = plan_all(runtime, as_of=TODAY, now=NOON)
    rt = Runtime(**{**runtime.__dict__, "reminders": ReminderPolicy(lease_seconds=lease)})
    result = send_batch(rt, clock=lambda: NOON)
    assert result["released"] == result["claimed"] == min(planned["reminders"], 100)
    with transaction(engine) as session:
        counts = outbox_counts(session)
    assert counts["pending"] == planned["reminders"] and counts["sending"] == 0
