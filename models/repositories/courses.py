"""Courses of treatment: one row per cycle of a regimen, anchored on a calendar date."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session, col

from models.base import require_id, utcnow
from models.pathway import Course, CourseCreate
from models.repositories.audit import Actor, record
from models.repositories.patients import PatientNotFound, open_instance
from pathways.definition import Definition
from pathways.engine import course_runs_in

# The setting that says in which phases a course is in progress ([DEFAULT], SM-04..SM-08).
COURSE_PHASES = "course_runs_in_phases"


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
        .where(col(Course.patient_id) == patient_id, col(Course.status) == "active")
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
            .where(col(Course.patient_id) == patient_id)
            .order_by(col(Course.anchor_date), col(Course.id))
        ).scalars()
    )


def end_finished_courses(
    session: Session,
    *,
    patient_id: int,
    phase: str,
    definition: Definition,
    actor: Actor,
    at: datetime,
) -> list[Course]:
    """End the active courses that do not run in the patient's new main-line ``phase``.

    Called by the phase transition, so a course ends when its phase ends: no
    "cycle day 503, active" in surveillance ([DEFAULT] course_runs_in_phases).
    """
    runs_in = definition.default(COURSE_PHASES)
    active = select(Course).where(
        col(Course.patient_id) == patient_id, col(Course.status) == "active"
    )
    ended = [
        c
        for c in session.execute(active).scalars()
        if not course_runs_in(str(c.phase), phase, runs_in)
    ]
    for course in ended:
        course.status = "completed"
        course.ended_at = at
        session.add(course)
        record(
            session,
            actor=actor,
            action="end",
            entity="course",
            patient_id=patient_id,
            entity_id=course.id,
            detail={"regimen": course.regimen, "phase": phase, "rule": COURSE_PHASES},
        )
    return ended


def current_course(courses: list[Course]) -> Course | None:
    """The course the engine treats as in progress: the newest active one (as ``load_snapshots``)."""
    active = [c for c in courses if c.status == "active"]
    return max(active, key=lambda c: (c.anchor_date, c.id or 0), default=None)
