"""Load the synthetic cohort through the public intake path and the phase machine.

Nothing is written around the repositories: facts go through the case-file
parser, phases change only by signed transitions, so the demo exercises the
same guards and audit as a real clinic.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from carepath.demo.cohort import COHORT, DemoCourse, DemoPatient, materialise
from carepath.intake import intake_from_facts
from models.pathway import CourseCreate
from models.repositories.audit import Actor
from models.repositories.courses import start_course
from models.repositories.patients import create_patient
from models.repositories.transitions import apply_transition
from models.repositories.users import Signature
from pathways.clock import zone
from pathways.definition import Definition
from pathways.engine import PatientLimits, parse_case
from pathways.vocab import CoursePhase, ResponseCategory

COORDINATOR = Actor("demo.coordinator", "coordinator", "cli")
CLINICIAN = Actor("demo.clinician", "clinician", "cli", "demo")
# The invented history's signatures: "demo.clinician" is no account (the demo's users are
# created without dots), so this signature can stand for no real person.
DEMO_SIGNATURE = Signature(
    signer=CLINICIAN.name, role="clinician", credential="demo", method="demo"
)


def _at(day: date, timezone: str, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone(timezone))


def _course(session: Session, pid: int, course: DemoCourse, today: date, timezone: str) -> None:
    anchor = today - timedelta(days=course.days_ago)
    prephase = None
    if course.prephase_days_ago is not None:
        prephase = today - timedelta(days=course.prephase_days_ago)
    start_course(
        session,
        patient_id=pid,
        course=CourseCreate(
            regimen=course.regimen,
            phase=CoursePhase(course.phase),
            cycle_number=course.cycle,
            anchor_date=anchor,
            prephase_start=prephase,
        ),
        actor=CLINICIAN,
        at=_at(min(anchor, prephase or anchor, today), timezone, 9),
    )


def load_patient(
    session: Session, entry: DemoPatient, *, today: date, timezone: str, definition: Definition
) -> int:
    facts = parse_case(materialise(entry, today, timezone))
    first = max([step.days_ago for step in entry.story] + [0]) + 1
    patient = create_patient(
        session,
        intake=intake_from_facts(
            facts, mrn=entry.mrn, display_name=entry.name, limits=PatientLimits.of(definition)
        ),
        actor=COORDINATOR,
        definition=definition,
        at=_at(today - timedelta(days=first), timezone, 8),
    )
    pid = int(patient.id or 0)
    recorded = False
    for step in entry.story:
        day = today - timedelta(days=step.days_ago)
        if step.event == "start_induction":
            if entry.course is not None and entry.course.phase == "induction":
                _course(session, pid, entry.course, today, timezone)
                recorded = True
            elif entry.course is not None:
                _course(
                    session, pid, DemoCourse(entry.course.regimen, step.days_ago), today, timezone
                )
        apply_transition(
            session,
            patient_id=pid,
            event=step.event,
            actor=CLINICIAN,
            reason=step.reason,
            definition=definition,
            as_of=day,
            timezone=timezone,
            signed_response=None if step.response is None else ResponseCategory(step.response),
            signature=DEMO_SIGNATURE,
            at=_at(day, timezone),
        )
    if entry.course is not None and not recorded:
        _course(session, pid, entry.course, today, timezone)
    return pid


def load_cohort(
    session: Session, *, today: date, timezone: str, definition: Definition
) -> list[int]:
    return [
        load_patient(session, entry, today=today, timezone=timezone, definition=definition)
        for entry in COHORT
    ]
