"""Phase transitions persisted: events with actor and reason; refusals write nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from models.audit import AuditEvent
from models.pathway import PathwayInstance, PhaseEvent
from models.patient import DiseaseFactsBase, FitnessAssessmentBase, HistoryBase, PatientCreate
from models.repositories.audit import Actor
from models.repositories.patients import PatientIntake, create_patient
from models.repositories.transitions import ReasonRequired, apply_transition
from pathways.definition import load_definition
from pathways.errors import TransitionNotAllowed
from pathways.vocab import ResponseCategory

DEFINITION = load_definition()
CLINICIAN = Actor("dr.osei", "clinician", "cli")
TODAY = date(2026, 11, 24)


def add_patient(session: Session, mrn: str = "MRN1", **disease: object) -> int:
    intake = PatientIntake(
        patient=PatientCreate(
            mrn=mrn, display_name="Test Patient", birth_date=date(1970, 1, 1), goal="cure"
        ),
        disease=DiseaseFactsBase(
            **{
                "lineage": "B",
                "cd19": "positive",
                "cd22": "positive",
                "ph_positive": False,
                "kmt2a_rearranged": False,
            }
            | disease
        ),
        history=HistoryBase(status="relapsed"),
        relapse_dates=[date(2026, 11, 2)],
        prior_therapies=["hyper_cvad"],
        fitness=FitnessAssessmentBase(category="fit", hct_eligible="yes"),
    )
    patient = create_patient(session, intake=intake, actor=CLINICIAN, definition=DEFINITION)
    assert patient.id is not None
    return patient.id


def fire(session: Session, pid: int, event: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return apply_transition(
        session,
        patient_id=pid,
        event=event,
        actor=CLINICIAN,
        reason=kwargs.pop("reason", f"{event} confirmed"),  # type: ignore[arg-type]
        definition=DEFINITION,
        as_of=TODAY,
        timezone="America/New_York",
        **kwargs,  # type: ignore[arg-type]
    )


def counts(session: Session) -> tuple[int, int, str]:
    events = session.execute(select(func.count()).select_from(PhaseEvent)).scalar_one()
    audits = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    phase = session.execute(select(PathwayInstance.phase)).scalar_one()
    return events, audits, str(phase)


def test_intake_starts_at_sm_01_with_an_enrolment_event(session: Session) -> None:
    pid = add_patient(session)
    events = session.execute(select(PhaseEvent).where(PhaseEvent.patient_id == pid)).scalars().all()
    assert [(e.from_state, e.to_state, e.event) for e in events] == [
        (None, "suspected_rr", "enrol")
    ]
    instance = session.execute(select(PathwayInstance)).scalar_one()
    assert (instance.pathway_name, instance.pathway_version) == ("rr-all-adult", DEFINITION.version)


def test_each_transition_appends_an_event_with_actor_and_reason(session: Session) -> None:
    pid = add_patient(session)
    fire(session, pid, "document_rr_diagnosis", reason="marrow 2026-11-02 shows relapse")
    fire(session, pid, "complete_workup")
    events = session.execute(select(PhaseEvent).order_by(PhaseEvent.id)).scalars().all()  # type: ignore[arg-type]
    last = events[-1]
    assert (last.from_state, last.to_state, last.actor) == (
        "workup",
        "induction_selection",
        "dr.osei",
    )
    assert events[1].reason == "marrow 2026-11-02 shows relapse"
    assert "IND-00" in last.rule_ids
    assert counts(session)[2] == "induction_selection"


def test_an_illegal_transition_changes_nothing(session: Session) -> None:
    pid = add_patient(session)
    before = counts(session)
    with pytest.raises(TransitionNotAllowed) as excinfo:
        fire(session, pid, "complete_workup")
    assert excinfo.value.patient == pid and excinfo.value.phase == "suspected_rr"
    assert counts(session) == before


def test_a_guard_refusal_changes_nothing(session: Session) -> None:
    pid = add_patient(session, kmt2a_rearranged=None)
    fire(session, pid, "document_rr_diagnosis")
    before = counts(session)
    with pytest.raises(TransitionNotAllowed, match="KMT2A"):
        fire(session, pid, "complete_workup")
    assert counts(session) == before


def test_a_transition_needs_a_reason(session: Session) -> None:
    pid = add_patient(session)
    with pytest.raises(ReasonRequired):
        fire(session, pid, "document_rr_diagnosis", reason="  ")


def test_signing_a_response_records_it_and_lets_the_guard_pass(session: Session) -> None:
    # rule: RESP-04, RESP-07
    pid = add_patient(session)
    for event in ("document_rr_diagnosis", "complete_workup"):
        fire(session, pid, event)
    from models.pathway import CourseCreate
    from models.repositories.courses import start_course

    start_course(
        session,
        patient_id=pid,
        course=CourseCreate(
            regimen="blinatumomab", phase="induction", anchor_date=date(2026, 11, 3)
        ),
        actor=CLINICIAN,
    )
    fire(session, pid, "start_induction")
    fire(session, pid, "begin_response_assessment")
    with pytest.raises(TransitionNotAllowed):
        fire(session, pid, "remission_to_hct")
    result = fire(session, pid, "remission_to_hct", signed_response=ResponseCategory.CRH)
    assert result.to_state == "post_remission_hct"
    signed = session.execute(
        text("SELECT signed_category, signed_by FROM response_assessment")
    ).one()
    assert tuple(signed) == ("CRh", "dr.osei")


def test_phase_and_audit_events_are_append_only(session: Session) -> None:
    pid = add_patient(session)
    session.flush()
    for statement in (
        "UPDATE phase_event SET reason = 'rewritten'",
        "DELETE FROM phase_event",
        "UPDATE audit_event SET actor = 'someone else'",
        "DELETE FROM audit_event",
    ):
        # The app's role may not (tests/models/test_least_privilege.py); the triggers
        # refuse even the owner.
        with pytest.raises(DBAPIError, match="permission denied"), session.begin_nested():
            session.execute(text(statement))
    assert (
        session.execute(
            select(func.count()).select_from(PhaseEvent).where(PhaseEvent.patient_id == pid)
        ).scalar_one()
        == 1
    )


def test_every_write_is_audited_in_the_same_transaction(session: Session) -> None:
    pid = add_patient(session)
    fire(session, pid, "document_rr_diagnosis")
    actions = session.execute(
        select(AuditEvent.action, AuditEvent.actor)
        .where(AuditEvent.patient_id == pid)
        .order_by(AuditEvent.id)  # type: ignore[arg-type]
    ).all()
    assert [tuple(a) for a in actions] == [("create", "dr.osei"), ("transition", "dr.osei")]
