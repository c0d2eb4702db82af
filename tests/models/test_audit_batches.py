"""A batch access is one audit row naming every patient, and a lookup by patient finds it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from models.audit import AuditEvent
from models.repositories.audit import Actor, list_events, record, record_many

FLOW = Actor.system("plan_care")


def test_a_batch_is_one_row_that_names_every_patient(session: Session) -> None:
    recorded = record_many(
        session, actor=FLOW, action="plan", entity="care_task", patient_ids=[3, 1, 2, 2]
    )
    assert recorded == 3
    rows = session.execute(select(AuditEvent).where(AuditEvent.actor == FLOW.name)).scalars().all()
    assert len(rows) == 1
    assert rows[0].patient_id is None and rows[0].patient_ids == [1, 2, 3]


def test_one_patient_is_named_in_patient_id(session: Session) -> None:
    record_many(session, actor=FLOW, action="plan", entity="care_task", patient_ids=[7])
    row = session.execute(select(AuditEvent).where(AuditEvent.actor == FLOW.name)).scalar_one()
    assert (row.patient_id, row.patient_ids) == (7, None)


def test_who_accessed_a_patient_finds_single_and_batch_rows(session: Session) -> None:
    clinician = Actor("dr.ade", "clinician", "web")
    record(session, actor=clinician, action="read", entity="patient", patient_id=2)
    record_many(session, actor=FLOW, action="plan", entity="care_task", patient_ids=range(1, 2001))
    record_many(session, actor=FLOW, action="plan", entity="care_task", patient_ids=[5000, 5001])
    session.flush()
    found = list_events(session, patient_id=2)
    assert {(e.actor, e.action) for e in found} == {("dr.ade", "read"), ("flow:plan_care", "plan")}
    assert list_events(session, patient_id=4242) == []
    total = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    assert total == 3
