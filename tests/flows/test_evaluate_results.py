"""evaluate_results' core: alerts become review tasks, suggestions become signature tasks, phases stay."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, text

from flows.evaluate_results import evaluate_all
from flows.runtime import Runtime
from models.observation import ObservationCreate
from models.pathway import ResponseAssessmentRecord
from models.repositories.audit import Actor
from models.repositories.observations import add_observations
from models.repositories.transitions import apply_transition
from models.repositories.users import Signature
from models.session import transaction
from pathways.definition import Definition
from pathways.vocab import ResponseCategory
from tests.flows.conftest import NOON, TODAY, TZ

NURSE = Actor("nurse", "coordinator", "cli")


def phases(engine: Engine) -> tuple[list[Any], int]:
    with engine.connect() as conn:
        return (
            conn.execute(text("SELECT patient_id, phase FROM pathway_instance ORDER BY 1")).all(),
            conn.execute(text("SELECT count(*) FROM phase_event")).scalar_one(),
        )


def add_labs(engine: Engine, pid: int, *values: tuple[str, float, float | None]) -> list[int]:
    with transaction(engine) as session:
        rows = add_observations(
            session,
            patient_id=pid,
            observations=[
                ObservationCreate(
                    code=code,
                    value=value,
                    unit="x",
                    uln=uln,
                    observed_at=NOON - timedelta(hours=3, minutes=i),
                )
                for i, (code, value, uln) in enumerate(values)
            ],
            actor=NURSE,
        )
        return [int(r.id or 0) for r in rows]


def test_an_abnormal_result_becomes_a_clinician_review_task_with_its_values(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    pid = cohort[1]
    before = phases(engine)
    normal, high = add_labs(engine, pid, ("alt", 30.0, 40.0), ("total_bilirubin", 2.4, 1.2))

    result = evaluate_all(runtime, now=NOON)
    assert result["observations"] == 2
    assert result["alerts"] == 1
    assert result["reminders"] == 1
    with engine.connect() as conn:
        alert = conn.execute(
            text("SELECT rule_id, severity, observation_id, task_id, inputs FROM clinical_alert")
        ).one()
        task = conn.execute(
            text(
                "SELECT id, patient_id, kind, role_queue, rule_id, status, detail, not_before, due "
                "FROM care_task WHERE id = :id"
            ),
            {"id": alert.task_id},
        ).one()
        evaluated = conn.execute(
            text("SELECT count(*) FROM observation WHERE evaluated_at = :now"), {"now": NOON}
        ).scalar_one()
        reminder = conn.execute(
            text("SELECT reason, recipient FROM reminder WHERE task_id = :id"), {"id": task.id}
        ).one()
    assert evaluated == 2
    assert (alert.rule_id, alert.severity, alert.observation_id) == ("MON-05", "warning", high)
    assert (task.patient_id, task.kind, task.role_queue, task.rule_id, task.status) == (
        pid,
        "clinician_review",
        "clinician",
        "MON-05",
        "requested",
    )
    assert task.detail["inputs"] == {"test": "total_bilirubin", "value": 2.4, "uln": 1.2}
    assert task.detail["observation_id"] == high != normal
    assert task.not_before == NOON and task.due == NOON + timedelta(hours=24)
    assert tuple(reminder) == ("due", "clinicians")
    # A lab value never moves a phase.
    assert phases(engine) == before

    # Nothing new: nothing happens. A new result re-raises the old alert, which is deduplicated.
    assert evaluate_all(runtime, now=NOON)["observations"] == 0
    add_labs(engine, pid, ("alt", 31.0, 40.0))
    again = evaluate_all(runtime, now=NOON + timedelta(hours=1))
    assert again["observations"] == 1 and again["alerts"] == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM clinical_alert")).scalar_one() == 1


def test_a_critical_alert_is_a_safety_task_due_now(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    add_labs(engine, cohort[1], ("total_bilirubin", 9.0, 1.2))
    evaluate_all(runtime, now=NOON)
    with engine.connect() as conn:
        safety, due = conn.execute(
            text("SELECT safety, due FROM care_task WHERE dedupe_key LIKE 'alert:%'")
        ).one()
    assert safety and due == NOON  # due the moment it is raised, not within the hour or tomorrow


def test_a_response_assessment_becomes_a_signature_task_and_the_signature_closes_it(
    runtime: Runtime, engine: Engine, cohort: list[int], definition: Definition
) -> None:
    pid = cohort[20]  # DEMO-021, in response assessment
    # The cohort's signed assessments (from its history) are evaluated first: signed, no task.
    first = evaluate_all(runtime, now=NOON - timedelta(hours=1))
    assert first["assessments"] == 4 and first["signature_tasks"] == 0
    with transaction(engine) as session:
        session.add(
            ResponseAssessmentRecord(
                patient_id=pid,
                assessed_on=TODAY,
                marrow_blast_pct=2.0,
                trilineage_hematopoiesis=True,
                anc_per_ul=1500,
                platelets_per_ul=120000,
                recorded_by="lab",
            )
        )
    before = phases(engine)
    result = evaluate_all(runtime, now=NOON)
    assert result["assessments"] == 1 and result["signature_tasks"] == 1
    with engine.connect() as conn:
        suggested, suggestion, signed = conn.execute(
            text(
                "SELECT suggested_category, suggestion, signed_category FROM response_assessment "
                "WHERE patient_id = :p"
            ),
            {"p": pid},
        ).one()
        task = conn.execute(
            text(
                "SELECT role_queue, rule_id, status, detail FROM care_task "
                "WHERE dedupe_key LIKE 'resp:%'"
            )
        ).one()
    assert (suggested, signed) == ("CR", None)
    assert suggestion["rule_ids"] == ["DEF-15"]
    assert (task.role_queue, task.rule_id, task.status) == ("clinician", "RESP-04", "requested")
    assert task.detail["suggested_category"] == "CR"
    assert phases(engine) == before  # a suggestion is not a signature

    with transaction(engine) as session:
        apply_transition(
            session,
            patient_id=pid,
            event="remission_to_hct",
            actor=Actor("Dr Sign", "clinician", "cli"),
            reason="CR confirmed",
            definition=definition,
            as_of=TODAY,
            timezone=TZ,
            signed_response=ResponseCategory.CR,
            # The repository takes the proof of the signer's step-up (carepath.reauth makes it).
            signature=Signature("Dr Sign", "clinician", "cli", "password"),
            at=NOON + timedelta(hours=1),
        )
    # Signing closed the signature task at once (RESP-04); the next run finds nothing to close.
    closed = evaluate_all(runtime, now=NOON + timedelta(hours=2))
    assert closed["signed"] == 0 and closed["signature_tasks"] == 0
    with engine.connect() as conn:
        status, by = conn.execute(
            text("SELECT status, completed_by FROM care_task WHERE dedupe_key LIKE 'resp:%'")
        ).one()
    assert (status, by) == ("completed", "Dr Sign")


def test_two_evaluators_at_once_claim_each_result_once(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    for pid in cohort:
        add_labs(engine, pid, *[("alt", 50.0 + i, 40.0) for i in range(8)])
    barrier = threading.Barrier(2)
    results: list[dict[str, Any]] = []

    def run() -> None:
        barrier.wait()
        results.append(evaluate_all(runtime, now=NOON))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # SKIP LOCKED: every result was claimed by exactly one of the two.
    assert sum(r["observations"] for r in results) == 8 * len(cohort)
    with engine.connect() as conn:
        evaluated = conn.execute(
            text("SELECT count(*) FROM observation WHERE evaluated_at IS NOT NULL")
        ).scalar_one()
        tasks = conn.execute(
            text(
                "SELECT count(DISTINCT patient_id), count(*) FROM care_task WHERE dedupe_key LIKE 'alert:%'"
            )
        ).one()
    assert evaluated == 8 * len(cohort)
    assert tuple(tasks) == (len(cohort), len(cohort))  # one open review task per condition


def test_an_engine_error_for_one_patient_is_a_task_and_the_others_are_evaluated(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    bad, good = cohort[0], cohort[1]
    add_labs(engine, bad, ("alt", 90.0, 40.0))
    add_labs(engine, good, ("alt", 90.0, 40.0))

    def evaluator(facts, definition, policy):  # type: ignore[no-untyped-def]
        if facts.history.dx_date == bad_dx:
            raise RuntimeError("engine failure")
        return runtime.evaluator(facts, definition, policy)

    with engine.connect() as conn:
        bad_dx = conn.execute(
            text("SELECT max(relapse_date) FROM relapse WHERE patient_id = :p"), {"p": bad}
        ).scalar_one()
    rt = Runtime(**{**runtime.__dict__, "evaluator": evaluator})
    result = evaluate_all(rt, now=NOON)
    assert result["alerts"] == 1 and result["problems"] == 1
    with engine.connect() as conn:
        owners = conn.execute(
            text("SELECT patient_id, dedupe_key FROM care_task ORDER BY dedupe_key")
        ).all()
    assert [(p, k.split(":")[0]) for p, k in owners] == [(good, "alert"), (bad, "dq")]


def test_a_result_of_a_patient_who_could_not_be_evaluated_waits_until_the_data_are_fixed(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    """§10 rule 3: a result is never marked evaluated without having been looked at."""
    bad = cohort[0]
    (high,) = add_labs(engine, bad, ("alt", 90.0, 40.0))
    broken = {"yes": True}

    def evaluator(facts, definition, policy):  # type: ignore[no-untyped-def]
        if broken["yes"]:
            raise RuntimeError("engine failure")
        return runtime.evaluator(facts, definition, policy)

    rt = Runtime(**{**runtime.__dict__, "evaluator": evaluator})
    first = evaluate_all(rt, now=NOON)
    assert first["observations"] == 1 and first["problems"] == 1 and first["alerts"] == 0

    def evaluated() -> bool:
        with engine.connect() as conn:
            return conn.execute(
                text("SELECT evaluated_at IS NOT NULL FROM observation WHERE id = :id"),
                {"id": high},
            ).scalar_one()

    assert not evaluated()
    # While the data-problem task is open the result is not claimed again (no churn).
    again = evaluate_all(rt, now=NOON + timedelta(minutes=5))
    assert again["observations"] == 0 and not evaluated()
    # The facts are corrected; planning resolves the data-problem task.
    broken["yes"] = False
    with transaction(engine) as session:
        session.execute(
            text(
                "UPDATE care_task SET status = 'cancelled', status_reason = 'resolved' "
                "WHERE patient_id = :p AND dedupe_key LIKE 'dq:%'"
            ),
            {"p": bad},
        )
    fixed = evaluate_all(rt, now=NOON + timedelta(minutes=10))
    assert fixed["observations"] == 1 and fixed["alerts"] == 1 and evaluated()


def test_a_persisting_condition_updates_its_open_task_and_a_new_one_follows_its_review(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    pid = cohort[1]
    add_labs(engine, pid, ("total_bilirubin", 2.4, 1.2))
    evaluate_all(runtime, now=NOON)
    with transaction(engine) as session:
        add_observations(
            session,
            patient_id=pid,
            observations=[
                ObservationCreate(
                    code="total_bilirubin", value=2.9, unit="x", uln=1.2, observed_at=NOON
                )
            ],
            actor=NURSE,
        )
    second = evaluate_all(runtime, now=NOON + timedelta(hours=1))
    assert second["alerts"] == 1 and second["reminders"] == 0
    with engine.connect() as conn:
        tasks = conn.execute(
            text("SELECT id, detail FROM care_task WHERE dedupe_key LIKE 'alert:%'")
        ).all()
        links = set(conn.execute(text("SELECT task_id FROM clinical_alert")).scalars())
    assert len(tasks) == 1 and links == {tasks[0].id}
    assert tasks[0].detail["inputs"]["value"] == 2.4
    assert tasks[0].detail["latest"]["inputs"]["value"] == 2.9

    with transaction(engine) as session:
        session.execute(
            text("UPDATE care_task SET status = 'completed' WHERE id = :id"), {"id": tasks[0].id}
        )
        add_observations(
            session,
            patient_id=pid,
            observations=[
                ObservationCreate(
                    code="total_bilirubin",
                    value=3.1,
                    unit="x",
                    uln=1.2,
                    observed_at=NOON + timedelta(hours=2),
                )
            ],
            actor=NURSE,
        )
    third = evaluate_all(runtime, now=NOON + timedelta(hours=3))
    assert third["alerts"] == 1 and third["reminders"] == 1
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM care_task WHERE dedupe_key LIKE 'alert:%'")
            ).scalar_one()
            == 2
        )
