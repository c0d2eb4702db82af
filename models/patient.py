"""Patients and their clinical facts (RULES.md §0.4).

``PatientBase`` → ``PatientCreate`` / ``PatientUpdate`` → ``Patient`` (table)
→ ``PatientPublic``: table classes are not API schemas. Facts that change
over time and matter for audit (fitness, relapses, prior therapies,
medications) are rows, not columns, so their history stays.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import sqlalchemy as sa
from pydantic import field_validator
from sqlmodel import Field, SQLModel

from models.base import enum_field, fk, json_field, ts_field
from pathways.core.text import name_problem
from pathways.vocab import (
    Antigen,
    CnsStatus,
    FitnessCategory,
    Goal,
    HctEligible,
    Lineage,
    RRStatus,
    Sex,
)

# Stored normalised (trimmed, upper case), unique whatever the case it was typed in
# (migration 0013_patient_mrn: ux_patient_mrn on upper(btrim(mrn))).
MRN_PATTERN = r"^[A-Z0-9][A-Z0-9._-]{0,31}$"
MRN_NORMALISED = "upper(btrim(mrn))"


def normalise_mrn(value: str) -> str:
    text = value.strip().upper()
    if not re.fullmatch(MRN_PATTERN, text):
        raise ValueError(
            "must be 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return text


def person_name(value: str) -> str:
    problem = name_problem(value)
    if problem is None and not value.strip():
        problem = "must not be blank"
    if problem is not None:
        raise ValueError(problem)
    return value.strip()


class PatientIdentity(SQLModel):
    """Who the patient is to the clinic: checked on its own, so intake reports it with the facts."""

    mrn: str = Field(max_length=40)
    display_name: str = Field(min_length=1, max_length=120)

    @field_validator("mrn")
    @classmethod
    def _mrn(cls, value: str) -> str:
        return normalise_mrn(value)

    @field_validator("display_name")
    @classmethod
    def _a_name(cls, value: str) -> str:
        return person_name(value)


class PatientBase(SQLModel):
    mrn: str = Field(max_length=32)
    display_name: str = Field(min_length=1, max_length=120)
    birth_date: date
    sex_at_birth: Sex | None = enum_field(Sex, "sex", default=None, nullable=True)
    has_testes: bool | None = None
    reproductive_potential: bool | None = None
    weight_kg: float | None = Field(default=None, gt=0)  # plausibility: patient_limits
    height_cm: float | None = Field(default=None, gt=0)
    goal: Goal | None = enum_field(Goal, "goal", default=None, nullable=True)
    declines_therapy: bool = False


class PatientCreate(PatientBase):
    @field_validator("mrn")
    @classmethod
    def _mrn(cls, value: str) -> str:
        return normalise_mrn(value)

    @field_validator("birth_date")
    @classmethod
    def _plausible_birth_date(cls, value: date) -> date:
        if value.year < 1900:
            raise ValueError("must be after 1900")
        return value

    @field_validator("display_name")
    @classmethod
    def _a_name(cls, value: str) -> str:
        return person_name(value)


class PatientUpdate(SQLModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=120)
    sex_at_birth: Sex | None = None
    has_testes: bool | None = None
    reproductive_potential: bool | None = None
    weight_kg: float | None = Field(default=None, gt=0)  # plausibility: patient_limits
    height_cm: float | None = Field(default=None, gt=0)
    goal: Goal | None = None
    declines_therapy: bool | None = None

    @field_validator("display_name")
    @classmethod
    def _a_name(cls, value: str | None) -> str | None:
        return None if value is None else person_name(value)


class Patient(PatientBase, table=True):
    __table_args__ = (sa.Index("ux_patient_mrn", sa.text(MRN_NORMALISED), unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    active: bool = Field(default=True, index=True)
    created_at: datetime = ts_field(nullable=False, default_now=True)
    updated_at: datetime = ts_field(nullable=False, default_now=True)


class PatientPublic(PatientBase):
    id: int
    active: bool


class DiseaseFactsBase(SQLModel):
    lineage: Lineage = enum_field(Lineage, "lineage")
    cd19: Antigen | None = enum_field(Antigen, "cd19", default=None, nullable=True)
    cd22: Antigen | None = enum_field(Antigen, "cd22", default=None, nullable=True)
    cd20: Antigen | None = enum_field(Antigen, "cd20", default=None, nullable=True)
    ph_positive: bool | None = None
    # NULL = not tested; [] = tested, none found (WU-07).
    abl1_kinase_mutations: list[str] | None = json_field()
    kmt2a_rearranged: bool | None = None
    cns_status: CnsStatus | None = enum_field(CnsStatus, "cns_status", default=None, nullable=True)
    testicular_involvement: bool | None = None
    marrow_blast_pct: float | None = Field(default=None, ge=0, le=100)
    peripheral_blasts_per_ul: float | None = Field(default=None, ge=0)


class DiseaseFacts(DiseaseFactsBase, table=True):
    __tablename__ = "disease_facts"
    patient_id: int = Field(foreign_key="patient.id", primary_key=True, ondelete="RESTRICT")
    updated_at: datetime = ts_field(nullable=False, default_now=True)
    updated_by: str = Field(max_length=120)


class DiseaseFactsPublic(DiseaseFactsBase):
    patient_id: int


class HistoryBase(SQLModel):
    status: RRStatus = enum_field(RRStatus, "rr_status")
    initial_diagnosis_date: date | None = None
    initial_treatment_start_date: date | None = None
    rr_diagnosis_date: date | None = None
    # False until someone records the full prior-therapy list (MULTI-06 blocks while unknown).
    prior_therapies_recorded: bool = False
    prior_allogeneic_hct_date: date | None = None
    induction_rounds_initial: int | None = Field(default=None, ge=0)


class DiseaseHistory(HistoryBase, table=True):
    __tablename__ = "disease_history"
    patient_id: int = Field(foreign_key="patient.id", primary_key=True, ondelete="RESTRICT")
    updated_at: datetime = ts_field(nullable=False, default_now=True)


class Relapse(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("patient_id", "relapse_date"),)
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = fk("patient.id")
    relapse_date: date
    recorded_at: datetime = ts_field(nullable=False, default_now=True)


class PriorTherapy(SQLModel, table=True):
    __tablename__ = "prior_therapy"
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = fk("patient.id")
    # An option id of CASE-FORMAT.md or a regimen name (e.g. "hyper_cvad").
    therapy: str = Field(max_length=80)
    started_on: date | None = None
    ended_on: date | None = None
    recorded_at: datetime = ts_field(nullable=False, default_now=True)


class FitnessAssessmentBase(SQLModel):
    category: FitnessCategory = enum_field(FitnessCategory, "fitness_category")
    ecog: int | None = Field(default=None, ge=0, le=5)
    hct_ci: int | None = Field(default=None, ge=0)
    cci: int | None = Field(default=None, ge=0)
    sppb: int | None = Field(default=None, ge=0, le=12)
    hct_eligible: HctEligible = enum_field(HctEligible, "hct_eligible", default=HctEligible.PENDING)
    note: str | None = Field(default=None, max_length=2000)


class FitnessAssessment(FitnessAssessmentBase, table=True):
    __tablename__ = "fitness_assessment"
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = fk("patient.id")
    assessed_by: str = Field(max_length=120)
    assessed_at: datetime = ts_field(nullable=False, index=True)


class Medication(SQLModel, table=True):
    """The current medication list (REV-04: every change triggers a CYP3A4 re-check)."""

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = fk("patient.id")
    name: str = Field(max_length=120)
    started_on: date | None = None
    stopped_on: date | None = None
    recorded_at: datetime = ts_field(nullable=False, default_now=True)
