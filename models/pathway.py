"""A patient's place in the pathway: instance, phase events, courses, responses.

A pathway instance is pinned to the definition version it started on. Its
phase changes only through ``models.repositories.transitions``, which appends
a ``PhaseEvent`` in the same transaction; phase events are append-only (a
trigger refuses UPDATE and DELETE, see the baseline migration).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from models.base import enum_field, fk, json_field, ts_field
from pathways.vocab import CnsTrack, CoursePhase, Phase, ResponseCategory, TestisTrack


class PathwayInstance(SQLModel, table=True):
    __tablename__ = "pathway_instance"
    __table_args__ = (
        # One open instance per patient; closed ones stay for history.
        sa.Index(
            "uq_pathway_instance_open_patient",
            "patient_id",
            unique=True,
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = fk("patient.id")
    pathway_name: str = Field(max_length=60)
    pathway_version: str = Field(max_length=20)
    phase: Phase = enum_field(Phase, "phase", index=True)
    cns_track: CnsTrack = enum_field(CnsTrack, "cns_track", default=CnsTrack.NOT_STARTED)
    testis_track: TestisTrack = enum_field(
        TestisTrack, "testis_track", default=TestisTrack.NOT_APPLICABLE
    )
    episode: int = Field(default=1, ge=1)
    started_at: datetime = ts_field(nullable=False, default_now=True)
    phase_since: datetime = ts_field(nullable=False, default_now=True)
    ended_at: datetime | None = ts_field()


class PhaseEvent(SQLModel, table=True):
    __tablename__ = "phase_event"
    id: int | None = Field(default=None, primary_key=True)
    instance_id: int = fk("pathway_instance.id")
    patient_id: int = fk("patient.id")
    track: str = Field(max_length=12, default="main")
    from_state: str | None = Field(default=None, max_length=40)
    to_state: str = Field(max_length=40)
    event: str = Field(max_length=60)
    actor: str = Field(max_length=120)
    reason: str = Field(max_length=2000)
    rule_ids: list[str] = Field(sa_type=ARRAY(sa.String(16)), default_factory=list)
    at: datetime = ts_field(nullable=False, default_now=True, index=True)


class CourseBase(SQLModel):
    regimen: str = Field(max_length=60)
    phase: CoursePhase = enum_field(CoursePhase, "course_phase")
    cycle_number: int = Field(default=1, ge=1, le=60)
    # Day 1 of the cycle (CAR-T: infusion day 0), a calendar date in the clinic's zone.
    anchor_date: date
    prephase_start: date | None = None
    cycle_length_days: int | None = Field(default=None, ge=1, le=120)
    last_dose_date: date | None = None


class CourseCreate(CourseBase):
    pass


class Course(CourseBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = fk("patient.id")
    instance_id: int = fk("pathway_instance.id")
    status: str = Field(default="active", max_length=12, index=True)
    created_by: str = Field(max_length=120)
    created_at: datetime = ts_field(nullable=False, default_now=True)
    ended_at: datetime | None = ts_field()


class CoursePublic(CourseBase):
    id: int
    patient_id: int
    status: str


class ResponseAssessmentRecord(SQLModel, table=True):
    """A marrow/blood assessment (DEF-15 inputs), its suggestion, and the clinician's signature."""

    __tablename__ = "response_assessment"
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = fk("patient.id")
    course_id: int | None = fk("course.id", nullable=True)
    assessed_on: date
    marrow_blast_pct: float | None = Field(default=None, ge=0, le=100)
    trilineage_hematopoiesis: bool | None = None
    circulating_blasts: bool | None = None
    peripheral_blasts_per_ul: float | None = Field(default=None, ge=0)
    extramedullary_sites: list[str] = Field(sa_type=ARRAY(sa.String(40)), default_factory=list)
    anc_per_ul: float | None = Field(default=None, ge=0)
    platelets_per_ul: float | None = Field(default=None, ge=0)
    in_remission_before: bool | None = None
    end_of_induction: bool | None = None
    mrd_method: str | None = Field(default=None, max_length=20)
    mrd_value: float | None = Field(default=None, ge=0)
    mrd_sensitivity: float | None = Field(default=None, ge=0)
    suggested_category: ResponseCategory | None = enum_field(
        ResponseCategory, "suggested_category", default=None, nullable=True
    )
    suggestion: dict[str, object] | None = json_field()
    signed_category: ResponseCategory | None = enum_field(
        ResponseCategory, "signed_category", default=None, nullable=True
    )
    signed_by: str | None = Field(default=None, max_length=120)
    signed_at: datetime | None = ts_field()
    sign_reason: str | None = Field(default=None, max_length=2000)
    # An amendment is a new row pointing at the one it replaces; nothing is overwritten.
    amends_id: int | None = fk("response_assessment.id", nullable=True, index=False)
    evaluated_at: datetime | None = ts_field(index=True)
    recorded_by: str = Field(max_length=120)
    recorded_at: datetime = ts_field(nullable=False, default_now=True)
