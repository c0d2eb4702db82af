"""Courses of treatment: one row per cycle of a regimen, anchored on a calendar date."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from models.base import require_id, utcnow
from models.pathway import Course, CourseCreate
from models.repositories.audit import Actor, record
from models.repositories.patients import PatientNotFound, open_instance


def start_course(
    session: Session,
    *,
    patient_id: int,
    course: CourseCreate,
    actor: Actor,
    at: datetime | None = None,
) -> Course:
    """Record a new cycle; the patient's previous active course ends (one course in progress)."""
    instance = open_instance(session, patient_id=patient_id, lock=True)
    if instance is None:
        raise PatientNotFound(patient_id)
    instance_id = require_id(instance)
    session.execute(
        update(Course)
        .where(Course.patient_id == patient_id, Course.status == "active")  # type: ignore[arg-type]
        .values(status="completed", ended_at=at or utcnow())
    )
    row = Course.model_validate(
        course,
        update={
            "patient_id": patient_id,
            "instance_id": instance_id,
            "created_by": actor.name,
            "created_at": at or utcnow(),
        },
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="create",
        entity="course",
        patient_id=patient_id,
        entity_id=row.id,
        detail={"regimen": row.regimen, "cycle": row.cycle_number},
    )
    return row


def list_courses(session: Session, *, patient_id: int) -> list[Course]:
    return list(
        session.execute(
            select(Course)
            .where(Course.patient_id == patient_id)
            .order_by(Course.anchor_date, Course.id)  # type: ignore[arg-type]
        ).scalars()
    )
