"""Patients: intake, lookup, listing, and the facts that belong to them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from models.base import require_id, utcnow
from models.pathway import PathwayInstance, PhaseEvent
from models.patient import (
    DiseaseFacts,
    DiseaseFactsBase,
    DiseaseHistory,
    FitnessAssessment,
    FitnessAssessmentBase,
    HistoryBase,
    Medication,
    Patient,
    PatientCreate,
    PriorTherapy,
    Relapse,
)
from models.repositories.audit import Actor, record, record_many
from models.repositories.data_problems import DATA_PROBLEM_RULE
from models.sql import LIKE_ESCAPE, like_escaped
from models.task import ClinicalAlert
from pathways.definition import Definition
from pathways.engine import ADOLESCENT_ALERT
from pathways.vocab import Phase, Severity


class DuplicateMrn(ValueError):
    """The MRN is another patient's. ``problem`` names that patient, for the person at the door.

    The exception's own text carries the patient id only, so nothing that
    prints it (a log, a traceback) prints a name.
    """

    def __init__(self, existing_id: int, existing_name: str) -> None:
        super().__init__(f"mrn: already the MRN of patient {existing_id}")
        self.field = "mrn"
        self.existing_id = existing_id
        self.problems = {
            "mrn": (
                f"already belongs to {existing_name} (patient {existing_id}): "
                "open that record instead of adding the patient again"
            )
        }


class PatientNotFound(LookupError):
    def __init__(self, patient_id: int) -> None:
        super().__init__(f"patient {patient_id} not found")
        self.patient_id = patient_id


@dataclass
class PatientIntake:
    """Everything known at intake; validated models, written in one transaction."""

    patient: PatientCreate
    disease: DiseaseFactsBase
    history: HistoryBase
    relapse_dates: list[date] = field(default_factory=list)
    prior_therapies: list[str] | None = None
    fitness: FitnessAssessmentBase | None = None
    medications: list[str] = field(default_factory=list)
    # A patient under the adult age, enrolled with confirmation: the critical alert's
    # message (pathways.patient_limits), raised with the patient.
    adolescent_alert: str | None = None
    adolescent_inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PatientRecord:
    """One patient with the facts a person looks at on the patient page."""

    patient: Patient
    disease: DiseaseFacts | None
    history: DiseaseHistory | None
    relapses: list[Relapse]
    prior_therapies: list[PriorTherapy]
    fitness: FitnessAssessment | None
    medications: list[Medication]
    instance: PathwayInstance | None
    events: list[PhaseEvent]


def create_patient(
    session: Session,
    *,
    intake: PatientIntake,
    actor: Actor,
    definition: Definition,
    at: datetime | None = None,
) -> Patient:
    """Create a patient, their facts and their pathway instance (at SM-01), all or nothing.

    ``at`` is when the patient was enrolled (default: now); the fitness
    assessment in the intake is dated then too.
    """
    when = at or utcnow()
    patient = _insert_patient(session, intake.patient, actor=actor, when=when)
    pid = require_id(patient)
    _add_facts(session, pid, intake, actor=actor, when=when)
    _enrol(session, pid, definition, actor=actor, when=when)
    if intake.adolescent_alert is not None:
        session.add(
            ClinicalAlert(
                patient_id=pid,
                dedupe_key=f"p{pid}:{ADOLESCENT_ALERT}",
                code=ADOLESCENT_ALERT,
                # No rule of RULES.md covers it: cited as the tracker's own check, like data problems.
                rule_id=DATA_PROBLEM_RULE,
                severity=Severity.CRITICAL,
                message=intake.adolescent_alert,
                inputs=intake.adolescent_inputs,
                raised_at=when,
            )
        )
    record(session, actor=actor, action="create", entity="patient", patient_id=pid, entity_id=pid)
    session.flush()
    return patient


def _insert_patient(
    session: Session, create: PatientCreate, *, actor: Actor, when: datetime
) -> Patient:
    """The patient row, flushed; an MRN someone already has is refused, naming them."""
    patient = Patient.model_validate(create, update={"created_at": when, "updated_at": when})
    _refuse_a_known_mrn(session, patient.mrn, actor)
    try:
        with session.begin_nested():  # a concurrent intake of the same MRN: only this row undone
            session.add(patient)
            session.flush()
    except IntegrityError:
        _refuse_a_known_mrn(session, patient.mrn, actor)
        raise
    return patient


def _add_facts(
    session: Session, pid: int, intake: PatientIntake, *, actor: Actor, when: datetime
) -> None:
    """The disease facts, history, relapses, prior therapies, fitness and medications."""
    session.add(
        DiseaseFacts.model_validate(
            intake.disease, update={"patient_id": pid, "updated_by": actor.name}
        )
    )
    session.add(
        DiseaseHistory.model_validate(
            intake.history,
            update={
                "patient_id": pid,
                "prior_therapies_recorded": intake.prior_therapies is not None,
            },
        )
    )
    for relapse_date in sorted(set(intake.relapse_dates)):
        session.add(Relapse(patient_id=pid, relapse_date=relapse_date))
    for therapy in intake.prior_therapies or []:
        session.add(PriorTherapy(patient_id=pid, therapy=therapy))
    if intake.fitness is not None:
        session.add(
            FitnessAssessment.model_validate(
                intake.fitness,
                update={
                    "patient_id": pid,
                    "assessed_by": actor.name,
                    "assessed_at": when,
                },
            )
        )
    for name in intake.medications:
        session.add(Medication(patient_id=pid, name=name.strip().lower()))


def _enrol(
    session: Session, pid: int, definition: Definition, *, actor: Actor, when: datetime
) -> None:
    """The pathway instance at the main machine's initial state (SM-01), and its first event."""
    machine = definition.machines["main"]
    instance = PathwayInstance(
        patient_id=pid,
        pathway_name=definition.name,
        pathway_version=definition.version,
        phase=Phase(machine.initial),
        started_at=when,
        phase_since=when,
    )
    session.add(instance)
    session.flush()
    session.add(
        PhaseEvent(
            instance_id=require_id(instance),
            patient_id=pid,
            track="main",
            from_state=None,
            to_state=machine.initial,
            event="enrol",
            actor=actor.name,
            reason="patient added to the tracker",
            rule_ids=[str(machine.states[machine.initial].get("rule", "SM-01"))],
            at=when,
        )
    )


def _refuse_a_known_mrn(session: Session, mrn: str, actor: Actor) -> None:
    """Raise ``DuplicateMrn`` naming the patient who has ``mrn`` (a read, audited) if anyone has."""
    found = session.execute(
        select(col(Patient.id), col(Patient.display_name)).where(
            func.upper(func.btrim(col(Patient.mrn))) == mrn.strip().upper()
        )
    ).first()
    if found is None:
        return
    record(
        session,
        actor=actor,
        action="read",
        entity="patient",
        patient_id=found[0],
        entity_id=found[0],
        detail={"why": "duplicate MRN at intake"},
    )
    raise DuplicateMrn(found[0], found[1])


def get_record(session: Session, *, patient_id: int, actor: Actor) -> PatientRecord:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise PatientNotFound(patient_id)
    instance = open_instance(session, patient_id=patient_id)
    events: list[PhaseEvent] = []
    if instance is not None:
        events = list(
            session.execute(
                select(PhaseEvent)
                .where(col(PhaseEvent.patient_id) == patient_id)
                .order_by(col(PhaseEvent.at), col(PhaseEvent.id))
            ).scalars()
        )
    fitness = session.execute(
        select(FitnessAssessment)
        .where(col(FitnessAssessment.patient_id) == patient_id)
        .order_by(col(FitnessAssessment.assessed_at).desc(), col(FitnessAssessment.id).desc())
        .limit(1)
    ).scalar_one_or_none()
    result = PatientRecord(
        patient=patient,
        disease=session.get(DiseaseFacts, patient_id),
        history=session.get(DiseaseHistory, patient_id),
        relapses=list(
            session.execute(
                select(Relapse)
                .where(col(Relapse.patient_id) == patient_id)
                .order_by(col(Relapse.relapse_date))
            ).scalars()
        ),
        prior_therapies=list(
            session.execute(
                select(PriorTherapy)
                .where(col(PriorTherapy.patient_id) == patient_id)
                .order_by(col(PriorTherapy.id))
            ).scalars()
        ),
        fitness=fitness,
        medications=list(
            session.execute(
                select(Medication)
                .where(
                    col(Medication.patient_id) == patient_id, col(Medication.stopped_on).is_(None)
                )
                .order_by(col(Medication.name))
            ).scalars()
        ),
        instance=instance,
        events=events,
    )
    record(
        session,
        actor=actor,
        action="read",
        entity="patient",
        patient_id=patient_id,
        entity_id=patient_id,
    )
    return result


def open_instance(
    session: Session, *, patient_id: int, lock: bool = False
) -> PathwayInstance | None:
    query = select(PathwayInstance).where(
        col(PathwayInstance.patient_id) == patient_id,
        col(PathwayInstance.ended_at).is_(None),
    )
    if lock:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


@dataclass(frozen=True)
class PatientRow:
    id: int
    mrn: str
    display_name: str
    birth_date: date
    lineage: str | None
    phase: str | None
    pathway_version: str | None
    active: bool


def list_patients(
    session: Session,
    *,
    actor: Actor,
    phase: str | None = None,
    active_only: bool = True,
    search: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[PatientRow], int]:
    """One page of patients with lineage and phase, and the total matching count."""
    query = (
        select(
            col(Patient.id),
            col(Patient.mrn),
            col(Patient.display_name),
            col(Patient.birth_date),
            col(DiseaseFacts.lineage),
            col(PathwayInstance.phase),
            col(PathwayInstance.pathway_version),
            col(Patient.active),
        )
        .outerjoin(DiseaseFacts, col(DiseaseFacts.patient_id) == col(Patient.id))
        .outerjoin(
            PathwayInstance,
            (col(PathwayInstance.patient_id) == col(Patient.id))
            & col(PathwayInstance.ended_at).is_(None),
        )
    )
    if active_only:
        query = query.where(col(Patient.active).is_(True))
    if phase:
        query = query.where(col(PathwayInstance.phase) == phase)
    if search:
        like = f"%{like_escaped(search.lower())}%"
        query = query.where(
            func.lower(col(Patient.display_name)).like(like, escape=LIKE_ESCAPE)
            | func.lower(col(Patient.mrn)).like(like, escape=LIKE_ESCAPE)
        )
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(col(Patient.id)).limit(limit).offset(offset)).all()
    result = [
        PatientRow(
            id=r[0],
            mrn=r[1],
            display_name=r[2],
            birth_date=r[3],
            lineage=None if r[4] is None else str(r[4]),
            phase=None if r[5] is None else str(r[5]),
            pathway_version=r[6],
            active=r[7],
        )
        for r in rows
    ]
    record_many(
        session, actor=actor, action="list", entity="patient", patient_ids=[r.id for r in result]
    )
    return result, int(total)


def patient_ids_page(session: Session, *, after_id: int, limit: int) -> Sequence[int]:
    """Active patient ids in id order after ``after_id`` (keyset pagination for flows)."""
    return (
        session.execute(
            select(col(Patient.id))
            .where(col(Patient.active).is_(True), col(Patient.id) > after_id)
            .order_by(col(Patient.id))
            .limit(limit)
        )
        .scalars()
        .all()
    )


def identities(
    session: Session, *, patient_ids: Iterable[int], actor: Actor
) -> dict[int, tuple[str, str]]:
    """Each patient's name and MRN, by id (one audited read of them all: a list of names)."""
    ids = sorted(set(patient_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(col(Patient.id), col(Patient.display_name), col(Patient.mrn)).where(
            col(Patient.id).in_(ids)
        )
    ).all()
    record_many(
        session,
        actor=actor,
        action="list",
        entity="patient",
        patient_ids=[r[0] for r in rows],
        detail={"fields": "name, MRN"},
    )
    return {r[0]: (r[1], r[2]) for r in rows}


def patient_id_of_mrn(session: Session, mrn: str) -> int | None:
    """The patient whose MRN is ``mrn`` (compared as stored: trimmed, upper case)."""
    return session.execute(
        select(col(Patient.id)).where(
            func.upper(func.btrim(col(Patient.mrn))) == mrn.strip().upper()
        )
    ).scalar_one_or_none()
