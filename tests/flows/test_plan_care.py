"""plan_care's core: set-based, idempotent, concurrent-safe, never deletes, survives bad data."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from flows.plan_care import plan_all
from flows.runtime import Runtime
from models.repositories.plan_rows import PatientPlan, planned_rows
from models.session import transaction
from models.snapshots import load_snapshots
from pathways.policy import Policy
from tests.flows.conftest import NOON, TODAY


def task_state(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT dedupe_key, plan_hash, status, status_reason, role_queue, due, "
                    "updated_at FROM care_task ORDER BY dedupe_key"
                )
            )
        ]


def reminder_keys(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT idempotency_key FROM reminder ORDER BY 1")).scalars())


def expected_rows(rt: Runtime, engine: Engine, as_of=TODAY) -> dict[str, str]:
    """What the fake engine plans for every patient, computed without the flow."""
    with transaction(engine) as session:
        ids = list(session.execute(text("SELECT id FROM patient ORDER BY id")).scalars())
        snapshots, _ = load_snapshots(session, patient_ids=ids, as_of=as_of, timezone=rt.timezone)
    expected: dict[str, str] = {}
    for snap in snapshots:
        definition = rt.definition(snap.pathway_version)
        plan = PatientPlan(
            patient_id=snap.patient_id,
            pathway_version=snap.pathway_version or "",
            tasks=rt.planner(snap.facts, definition, Policy(definition)),
            instance_id=snap.instance_id,
            course_id=snap.course_id,
        )
        for row in planned_rows(plan, now=NOON):
            expected[row.dedupe_key] = row.plan_hash
    return expected


def test_first_run_creates_and_second_run_changes_nothing(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    first = plan_all(runtime, as_of=TODAY, now=NOON)
    assert first["patients"] == len(cohort) == 25
    assert first["batches"] == 3  # batch size 10
    assert first["created"] > 0
    assert first["updated"] == first["cancelled"] == first["problems"] == 0
    state, reminders = task_state(engine), reminder_keys(engine)

    # Nothing changed: every patient's inputs match their last plan, nobody is re-planned.
    second = plan_all(runtime, as_of=TODAY, now=NOON)
    assert second["created"] == second["updated"] == second["cancelled"] == 0
    assert second["reminders"] == 0
    assert second["skipped"] == 25 and second["unchanged"] == 0
    assert task_state(engine) == state
    assert reminder_keys(engine) == reminders

    # Re-planned in full (the digests forgotten), the engine's plan matches every row.
    with transaction(engine) as session:
        session.execute(text("DELETE FROM plan_state"))
    third = plan_all(runtime, as_of=TODAY, now=NOON)
    assert third["skipped"] == 0 and third["unchanged"] == first["created"]
    assert third["created"] == third["updated"] == third["cancelled"] == third["reminders"] == 0
    assert task_state(engine) == state

    with engine.connect() as conn:
        keys = dict(conn.execute(text("SELECT dedupe_key, plan_hash FROM care_task")).all())
    assert keys == expected_rows(runtime, engine)


def test_planned_keys_name_patient_version_and_engine_key(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    plan_all(runtime, as_of=TODAY, now=NOON)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT patient_id, dedupe_key, pathway_version FROM care_task")
        ).all()
    assert rows
    for pid, key, version in rows:
        assert key.startswith(f"p{pid}:{version}:fake:")


def test_due_reminders_are_queued_with_the_plan_for_open_windows_only(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    plan_all(runtime, as_of=TODAY, now=NOON)
    with engine.connect() as conn:
        due_now = conn.execute(
            text(
                "SELECT count(*) FROM care_task WHERE not_before <= :now AND due > :now "
                "AND status = 'requested'"
            ),
            {"now": NOON},
        ).scalar_one()
        rows = conn.execute(
            text(
                "SELECT r.reason, r.channel, r.recipient, t.role_queue, r.payload "
                "FROM reminder r JOIN care_task t ON t.id = r.task_id"
            )
        ).all()
    assert due_now > 0
    assert len(rows) == due_now  # one route per role
    for reason, channel, recipient, role, payload in rows:
        assert reason == "due"
        assert channel == "file"
        assert recipient == {"coordinator": "coordinators", "clinician": "clinicians"}[role]
        assert set(payload) >= {"task_id", "title", "rule_id", "due", "reason"}
        assert "patient" not in " ".join(payload)


def test_tasks_no_longer_planned_are_cancelled_with_a_reason_never_deleted(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    plan_all(runtime, as_of=TODAY, now=NOON)
    before = len(task_state(engine))
    pid = cohort[0]
    with transaction(engine) as session:  # the fake keys its tasks on the phase
        session.execute(
            text("UPDATE pathway_instance SET phase = 'palliative' WHERE patient_id = :p"),
            {"p": pid},
        )
    result = plan_all(runtime, as_of=TODAY, now=NOON)
    assert result["cancelled"] > 0
    assert result["created"] == result["cancelled"]  # the same weeks under new keys
    with engine.connect() as conn:
        cancelled = conn.execute(
            text("SELECT status_reason, closed_as, due FROM care_task WHERE status = 'cancelled'")
        ).all()
        total = conn.execute(text("SELECT count(*) FROM care_task")).scalar_one()
    assert len(cancelled) == result["cancelled"]
    horizon_start, horizon_end = runtime.horizon(TODAY)
    for reason, marker, due in cancelled:
        assert reason == f"no longer planned by the pathway as of {TODAY.isoformat()}"
        assert marker == "unplanned"
        assert horizon_start <= due < horizon_end
    assert total == before + result["created"]


def shift_windows(session: Any, pid: int) -> None:
    """Move the patient's course and relapse a day: every planned window of theirs changes."""
    session.execute(
        text("UPDATE course SET anchor_date = anchor_date + 1 WHERE patient_id = :p"), {"p": pid}
    )
    session.execute(
        text("UPDATE relapse SET relapse_date = relapse_date + 1 WHERE patient_id = :p"),
        {"p": pid},
    )


def test_completed_tasks_are_never_rewritten_and_plan_cancelled_ones_reopen(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    plan_all(runtime, as_of=TODAY, now=NOON)
    pid = cohort[0]
    with transaction(engine) as session:
        done_id = session.execute(
            text(
                "UPDATE care_task SET status = 'completed', completed_by = 'nurse', "
                "completed_at = :now WHERE id = (SELECT min(id) FROM care_task WHERE patient_id = :p) "
                "RETURNING id"
            ),
            {"p": pid, "now": NOON},
        ).scalar_one()
        shift_windows(session, pid)
    with engine.connect() as conn:
        done_before = conn.execute(
            text("SELECT * FROM care_task WHERE id = :id"), {"id": done_id}
        ).one()
    changed = plan_all(runtime, as_of=TODAY, now=NOON)
    assert changed["updated"] > 0
    with engine.connect() as conn:
        done_after = conn.execute(
            text("SELECT * FROM care_task WHERE id = :id"), {"id": done_id}
        ).one()
    assert done_after == done_before

    # A phase change cancels the patient's tasks; the phase back reopens them.
    with transaction(engine) as session:
        phase = session.execute(
            text("SELECT phase FROM pathway_instance WHERE patient_id = :p"), {"p": pid}
        ).scalar_one()
        session.execute(
            text("UPDATE pathway_instance SET phase = 'palliative' WHERE patient_id = :p"),
            {"p": pid},
        )
    assert plan_all(runtime, as_of=TODAY, now=NOON)["cancelled"] > 0
    with transaction(engine) as session:
        session.execute(
            text("UPDATE pathway_instance SET phase = :ph WHERE patient_id = :p"),
            {"p": pid, "ph": phase},
        )
    back = plan_all(runtime, as_of=TODAY, now=NOON)
    assert back["reopened"] > 0
    with engine.connect() as conn:
        reopened = conn.execute(
            text(
                "SELECT status, status_reason FROM care_task WHERE patient_id = :p "
                "AND dedupe_key LIKE :k AND id <> :done"
            ),
            {"p": pid, "k": f"p{pid}:%:fake:{phase}:%", "done": done_id},
        ).all()
    assert reopened and all(r == ("requested", None) for r in reopened)


def test_an_escalated_task_keeps_its_queue_when_its_plan_changes(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    plan_all(runtime, as_of=TODAY, now=NOON)
    pid = cohort[0]
    with transaction(engine) as session:
        task_id = session.execute(
            text(
                "UPDATE care_task SET role_queue = 'clinician', escalation_level = 1 "
                "WHERE id = (SELECT min(id) FROM care_task WHERE patient_id = :p "
                "AND role_queue = 'coordinator') RETURNING id"
            ),
            {"p": pid},
        ).scalar_one()
        shift_windows(session, pid)
    later = NOON + timedelta(hours=1)
    assert plan_all(runtime, as_of=TODAY, now=later)["updated"] > 0
    with engine.connect() as conn:
        role, level, updated = conn.execute(
            text("SELECT role_queue, escalation_level, updated_at FROM care_task WHERE id = :id"),
            {"id": task_id},
        ).one()
    assert (role, level) == ("clinician", 1)
    assert updated == later  # the new plan was written, the queue kept


def test_two_runs_at_once_end_like_one(runtime: Runtime, engine: Engine, cohort: list[int]) -> None:
    barrier = threading.Barrier(2)
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(plan_all(runtime, as_of=TODAY, now=NOON))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with engine.connect() as conn:
        keys = dict(conn.execute(text("SELECT dedupe_key, plan_hash FROM care_task")).all())
        reminders = conn.execute(text("SELECT count(*) FROM reminder")).scalar_one()
    expected = expected_rows(runtime, engine)
    assert keys == expected
    assert sum(r["created"] for r in results) == len(expected)
    assert sum(r["updated"] for r in results) == 0
    # One reminder per open window, whichever run wrote it.
    assert reminders == sum(r["reminders"] for r in results) > 0
    again = plan_all(runtime, as_of=TODAY, now=NOON)
    assert again["created"] == again["updated"] == again["cancelled"] == again["reminders"] == 0


def test_a_patient_with_unusable_facts_is_reported_and_the_rest_planned(
    runtime: Runtime, engine: Engine, cohort: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    broken_engine, broken_facts = cohort[3], cohort[7]
    with transaction(engine) as session:
        session.execute(
            text("DELETE FROM disease_facts WHERE patient_id = :p"), {"p": broken_facts}
        )
        names = dict(session.execute(text("SELECT id, display_name FROM patient")).all())
        mrns = list(session.execute(text("SELECT mrn FROM patient")).scalars())

    def planner(facts, definition, policy):  # type: ignore[no-untyped-def]
        if facts.patient.birth_date == birth:
            raise ValueError("contradictory facts: relapse before diagnosis")
        return runtime.planner(facts, definition, policy)

    with engine.connect() as conn:
        birth = conn.execute(
            text("SELECT birth_date FROM patient WHERE id = :p"), {"p": broken_engine}
        ).scalar_one()
    rt = Runtime(**{**runtime.__dict__, "planner": planner})
    with caplog.at_level(logging.WARNING, logger="carepath.flows"):
        result = plan_all(rt, as_of=TODAY, now=NOON)
    assert result["problems"] == 2
    assert sorted(result["problem_patients"]) == sorted([broken_engine, broken_facts])
    assert result["patients"] == 25
    with engine.connect() as conn:
        planned = set(
            conn.execute(
                text("SELECT DISTINCT patient_id FROM care_task WHERE dedupe_key LIKE 'p%'")
            ).scalars()
        )
        problems = conn.execute(
            text(
                "SELECT patient_id, role_queue, kind, rule_id, detail->>'source', detail->>'problem' "
                "FROM care_task WHERE dedupe_key LIKE 'dq:%' ORDER BY patient_id"
            )
        ).all()
    assert planned and not planned & {broken_engine, broken_facts}
    assert len(planned) >= 20
    assert {(p[0], p[1], p[2], p[4]) for p in problems} == {
        (broken_engine, "clinician", "clinician_review", "engine"),
        (broken_facts, "coordinator", "clinician_review", "snapshot"),
    }
    assert "contradictory facts" in next(p[5] for p in problems if p[0] == broken_engine)
    # The log names the patients by id and nothing else.
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"patient {broken_engine} " in m for m in messages)
    assert any(f"patient {broken_facts} " in m for m in messages)
    for message in messages:
        assert "contradictory" not in message
        assert not any(name in message for name in names.values())
        assert not any(mrn in message for mrn in mrns)

    # Re-running raises no second task; fixing the facts resolves the task.
    assert plan_all(rt, as_of=TODAY, now=NOON)["problems"] == 2
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM care_task WHERE dedupe_key LIKE 'dq:%'")
            ).scalar_one()
            == 2
        )
    fixed = plan_all(runtime, as_of=TODAY, now=NOON)
    assert fixed["problems"] == 1
    with engine.connect() as conn:
        status = conn.execute(
            text("SELECT status, status_reason FROM care_task WHERE dedupe_key LIKE :k"),
            {"k": f"dq:p{broken_engine}:%"},
        ).one()
    assert status[0] == "cancelled" and status[1].startswith("resolved")


def test_an_invalid_task_from_the_engine_is_a_problem_not_a_crash(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    from dataclasses import replace

    def planner(facts, definition, policy):  # type: ignore[no-untyped-def]
        tasks = runtime.planner(facts, definition, policy)
        if tasks and facts.phase and facts.phase.value == "induction":
            tasks[0] = replace(tasks[0], due=tasks[0].not_before - timedelta(hours=1))
        return tasks

    rt = Runtime(**{**runtime.__dict__, "planner": planner})
    result = plan_all(rt, as_of=TODAY, now=NOON)
    assert result["problems"] > 0
    assert result["created"] > 0


def test_only_patients_whose_inputs_changed_are_replanned(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    plan_all(runtime, as_of=TODAY, now=NOON)
    with transaction(engine) as session:
        session.execute(
            text("UPDATE course SET anchor_date = anchor_date + 7 WHERE patient_id = :p"),
            {"p": cohort[0]},
        )
    changed = plan_all(runtime, as_of=TODAY, now=NOON)
    assert changed["skipped"] == 24
    assert changed["updated"] > 0
    # A new clinic day is a new input for everyone (the horizon moves).
    next_day = plan_all(runtime, as_of=TODAY + timedelta(days=1), now=NOON + timedelta(days=1))
    assert next_day["skipped"] == 0


def test_titles_and_details_round_trip_through_copy_exactly(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    from dataclasses import replace

    odd = 'Tab\there, newline\nthere, back\\slash, "quotes", \\N and émoji ✓'

    def planner(facts, definition, policy):  # type: ignore[no-untyped-def]
        return [
            replace(t, title=odd, detail={**t.detail, "note": odd, "n": 1.5})
            for t in runtime.planner(facts, definition, policy)
        ]

    rt = Runtime(**{**runtime.__dict__, "planner": planner})
    assert plan_all(rt, as_of=TODAY, now=NOON)["created"] > 0
    with engine.connect() as conn:
        titles = set(conn.execute(text("SELECT title FROM care_task")).scalars())
        notes = set(conn.execute(text("SELECT detail->>'note' FROM care_task")).scalars())
    assert titles == {odd} and notes == {odd}
    # Same plan again, forced through the engine: every hash matches what was stored.
    with transaction(engine) as session:
        session.execute(text("DELETE FROM plan_state"))
    again = plan_all(rt, as_of=TODAY, now=NOON)
    assert again["updated"] == again["created"] == 0 and again["unchanged"] > 0


def test_a_key_that_appears_meanwhile_goes_through_the_merge(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    from models.repositories.plan_writes import _insert_new, _merge

    plan_all(runtime, as_of=TODAY, now=NOON)
    with transaction(engine) as session:
        snapshots, _ = load_snapshots(
            session, patient_ids=[cohort[0]], as_of=TODAY, timezone=runtime.timezone
        )
        snap = snapshots[0]
        definition = runtime.definition(snap.pathway_version)
        rows = planned_rows(
            PatientPlan(
                snap.patient_id,
                snap.pathway_version or "",
                runtime.planner(snap.facts, definition, Policy(definition)),
                snap.instance_id,
                snap.course_id,
            ),
            now=NOON,
        )
        suffix = f"\trequested\t0\t{NOON.isoformat()}\t{NOON.isoformat()}\t{NOON.isoformat()}\n"
        # The rows exist already: the direct COPY is refused and undone, nothing else is.
        assert _insert_new(session, rows, suffix) == rows
        assert _merge(session, rows, suffix, now=NOON) == {}  # same hashes: nothing to write


def test_a_database_without_patients_plans_nothing_and_does_not_fail(runtime: Runtime) -> None:
    # A new installation: the clock's first plan_care must not fail (readiness reads it).
    stats = plan_all(runtime, as_of=TODAY, now=NOON)
    assert (stats["patients"], stats["batches"], stats["created"]) == (0, 0, 0)
