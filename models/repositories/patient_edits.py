"""Editing a patient's facts after intake.

Demographics and disease facts are updated in place (the audit event names
the fields changed); a fitness assessment is a new row, so the history of
FIT-03/FIT-08 decisions stays. Everything is validated before anything is
written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from models.patient import (
    DiseaseFacts,
    DiseaseFactsBase,
    FitnessAssessment,
    FitnessAssessmentBase,
    Patient,
    PatientUpdate,
)
from models.repositories.audit import Actor, record
from models.repositories.patients import PatientNotFound


@dataclass(frozen=True)
class PatientEdit:
    patient: PatientUpdate
    # Disease fields to set (validated as a whole against DiseaseFactsBase).
    disease: dict[str, Any]
    fitness: FitnessAssessmentBase | None = None


def update_patient(
    session: Session, *, patient_id: int, edit: PatientEdit, actor: Actor, now: datetime
) -> list[str]:
    """Apply the edit; returns the names of the fields that changed."""
    patient = session.get(Patient, patient_id, with_for_update=True)
    if patient is None:
        raise PatientNotFound(patient_id)
    changed: list[str] = []
    for name, value in edit.patient.model_dump(exclude_unset=True).items():
        if getattr(patient, name) != value:
            setattr(patient, name, value)
            changed.append(name)
    disease = session.get(DiseaseFacts, patient_id, with_for_update=True)
    if edit.disease:
        current = (
            DiseaseFactsBase.model_validate(disease, from_attributes=True).model_dump()
            if disease is not None
            else {}
        )
        merged = DiseaseFactsBase.model_validate(current | edit.disease)
        if disease is None:
            disease = DiseaseFacts.model_validate(
                merged, update={"patient_id": patient_id, "updated_by": actor.name}
            )
            changed.extend(f"disease.{n}" for n in edit.disease)
        else:
            for name in edit.disease:
                value = getattr(merged, name)
                if getattr(disease, name) != value:
                    setattr(disease, name, value)
                    changed.append(f"disease.{name}")
            disease.updated_by = actor.name
            disease.updated_at = now
        session.add(disease)
    if edit.fitness is not None:
        latest = session.execute(
            select(FitnessAssessment)
            .where(col(FitnessAssessment.patient_id) == patient_id)
            .order_by(col(FitnessAssessment.assessed_at).desc(), col(FitnessAssessment.id).desc())
            .limit(1)
        ).scalar_one_or_none()
        fields = ("category", "ecog", "hct_ci", "cci", "sppb", "hct_eligible")
        before = None if latest is None else tuple(getattr(latest, n) for n in fields)
        after = tuple(getattr(edit.fitness, n) for n in fields)
        if before != after:
            session.add(
                FitnessAssessment.model_validate(
                    edit.fitness,
                    update={
                        "patient_id": patient_id,
                        "assessed_by": actor.name,
                        "assessed_at": now,
                    },
                )
            )
            changed.append("fitness")
    if changed:
        patient.updated_at = now
        session.add(patient)
        record(
            session,
            actor=actor,
            action="update",
            entity="patient",
            patient_id=patient_id,
            entity_id=patient_id,
            detail={"fields": changed},
        )
    session.flush()
    return changed
