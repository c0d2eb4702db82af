"""REST API v1: editing a patient's facts and recording a response assessment.

The same doors as the web forms, for an integration: every field is checked,
then the facts the engine would see are checked together
(``pathways.consistency``); facts that contradict each other are refused
with one 422 problem document naming every field involved, and nothing is
written (the request's transaction is rolled back).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import (
    BaseModel,
    Field,
    StrictBool,
    StrictFloat,
    ValidationError,
    field_validator,
)

from carepath.alerting import alerts_after_change
from carepath.pathway import definition_for
from carepath.web.api_body import Strict
from carepath.web.deps import CARE_TEAM, DB, actor_of, allow, clinic_date, now, settings
from carepath.web.params import RecordId
from carepath.web.problems import InvalidInput
from models.patient import PatientUpdate
from models.repositories.consistency import require_consistent_patient
from models.repositories.patient_edits import PatientEdit, update_patient
from models.repositories.patients import get_record
from models.repositories.responses import (
    AssessmentInput,
    assessment_facts,
    record_assessment,
)
from models.repositories.users import Principal
from pathways.core.field_errors import field_errors
from pathways.engine import PatientLimits, body_problems
from pathways.vocab import Antigen, CnsStatus, Goal, Sex

router = APIRouter(prefix="/api/v1", tags=["patients"])

Worker = Annotated[Principal, allow(*CARE_TEAM)]


class PatientFactsIn(Strict):
    sex_at_birth: Sex | None = None
    has_testes: StrictBool | None = None
    reproductive_potential: StrictBool | None = None
    weight_kg: StrictFloat | None = Field(default=None, ge=0.1, le=400, allow_inf_nan=False)
    height_cm: StrictFloat | None = Field(default=None, ge=0.1, le=260, allow_inf_nan=False)
    goal: Goal | None = None
    declines_therapy: StrictBool = False  # never unknown: the column holds yes or no


class DiseaseFactsIn(Strict):
    cd19: Antigen | None = None
    cd22: Antigen | None = None
    cd20: Antigen | None = None
    ph_positive: StrictBool | None = None
    abl1_kinase_mutations: list[Annotated[str, Field(min_length=1, max_length=40)]] | None = Field(
        default=None, max_length=20, description="null = not tested; [] = none found"
    )
    kmt2a_rearranged: StrictBool | None = None
    cns_status: CnsStatus | None = None
    testicular_involvement: StrictBool | None = None


class FactsPatch(Strict):
    """The facts to change (a field left out is kept; null sets it to unknown)."""

    patient: PatientFactsIn | None = None
    disease: DiseaseFactsIn | None = None


class FactsChanged(BaseModel):
    patient_id: int
    changed: list[str]


class AssessmentIn(Strict):
    assessed_on: date = Field(description="YYYY-MM-DD")
    marrow_blast_pct: StrictFloat = Field(ge=0, le=100, allow_inf_nan=False)
    trilineage_hematopoiesis: StrictBool | None = None
    circulating_blasts: StrictBool | None = None
    peripheral_blasts_per_ul: StrictFloat | None = Field(
        default=None, ge=0, le=1e7, allow_inf_nan=False
    )
    extramedullary_sites: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        default_factory=list, max_length=20
    )
    anc_per_ul: StrictFloat | None = Field(default=None, ge=0, le=1e6, allow_inf_nan=False)
    platelets_per_ul: StrictFloat | None = Field(default=None, ge=0, le=1e7, allow_inf_nan=False)
    end_of_induction: StrictBool | None = None
    mrd_method: str | None = Field(default=None, pattern="^(flow|pcr|ngs)$")
    mrd_value: StrictFloat | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)

    @field_validator("assessed_on", mode="before")
    @classmethod
    def _a_date_string(cls, value: object) -> object:
        # A number is no date (pydantic would read 0 as 1970-01-01).
        if not isinstance(value, str | date):
            raise ValueError("must be a date, YYYY-MM-DD")
        return value


class AssessmentOut(BaseModel):
    id: int
    patient_id: int
    assessed_on: date


def _edit(body: FactsPatch) -> PatientEdit:
    patient: dict[str, Any] = (
        {} if body.patient is None else body.patient.model_dump(exclude_unset=True)
    )
    disease: dict[str, Any] = (
        {} if body.disease is None else body.disease.model_dump(exclude_unset=True)
    )
    return PatientEdit(patient=PatientUpdate.model_validate(patient), disease=disease)


@router.patch("/patients/{patient_id}/facts", response_model=FactsChanged)
def api_edit_facts(
    request: Request, session: DB, principal: Worker, patient_id: RecordId, body: FactsPatch
) -> FactsChanged:
    """Change demographic or disease facts; contradicting facts are refused (422), nothing kept."""
    actor = actor_of(principal, request)
    get_record(session, patient_id=patient_id, actor=actor)
    if body.patient is not None:
        # The pathway's body limits, as at intake and in the web form (a [DEFAULT] each).
        limits = PatientLimits.of(definition_for(settings(request)))
        found = body_problems(
            limits, weight_kg=body.patient.weight_kg, height_cm=body.patient.height_cm
        )
        if found:
            raise InvalidInput({f"patient.{field}": problem for field, problem in found.items()})
    try:
        edit = _edit(body)
    except ValidationError as exc:
        raise InvalidInput(field_errors(exc, whole="patient")) from None
    changed = update_patient(
        session, patient_id=patient_id, edit=edit, actor=actor, now=now(request)
    )
    require_consistent_patient(
        session,
        patient_id=patient_id,
        as_of=clinic_date(request),
        timezone=settings(request).timezone,
    )
    # A weight across the revumenib band restates the dose basis today (REV-03).
    alerts_after_change(
        session, settings(request), patient_ids=[patient_id], now=now(request), actor=actor
    )
    return FactsChanged(patient_id=patient_id, changed=changed)


@router.post(
    "/patients/{patient_id}/response-assessments", response_model=AssessmentOut, status_code=201
)
def api_record_assessment(
    request: Request, session: DB, principal: Worker, patient_id: RecordId, body: AssessmentIn
) -> AssessmentOut:
    """Record a marrow/blood assessment (DEF-15 inputs); the engine suggests, a clinician signs."""
    if body.assessed_on > clinic_date(request):
        raise InvalidInput({"assessed_on": "is after today (the clinic's date)"})
    actor = actor_of(principal, request)
    get_record(session, patient_id=patient_id, actor=actor)
    values = AssessmentInput(**body.model_dump())
    require_consistent_patient(
        session,
        patient_id=patient_id,
        as_of=clinic_date(request),
        timezone=settings(request).timezone,
        assessment=assessment_facts(values, now=now(request)),
    )
    row = record_assessment(
        session, patient_id=patient_id, values=values, actor=actor, now=now(request)
    )
    return AssessmentOut(id=int(row.id or 0), patient_id=patient_id, assessed_on=row.assessed_on)
