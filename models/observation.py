"""Lab results and other measured values.

``evaluated_at`` is NULL until the ``evaluate_results`` flow has run the
monitoring rules over the row; the flow claims unevaluated rows with
``FOR UPDATE SKIP LOCKED`` so two runs never evaluate one result twice.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, ts_field

LAB_CODES = frozenset(
    {
        "alt",
        "ast",
        "total_bilirubin",
        "alp",
        "ldh",
        "anc",
        "platelets",
        "wbc",
        "hemoglobin",
        "peripheral_blasts",
        "potassium",
        "magnesium",
        "creatinine",
        "uric_acid",
        "phosphorus",
        "calcium",
        "fibrinogen",
        "qtcf_ms",
        "igg",
        "bcr_abl1_is",
    }
)


class ObservationBase(SQLModel):
    code: str = Field(max_length=40)
    value: float
    unit: str = Field(max_length=20)
    uln: float | None = None
    lln: float | None = None
    observed_at: datetime = ts_field(nullable=False)
    source: str = Field(default="manual", max_length=40)


class ObservationCreate(ObservationBase):
    pass


class Observation(ObservationBase, table=True):
    __table_args__ = (
        sa.Index("ix_observation_patient_code_time", "patient_id", "code", "observed_at"),
        sa.Index(
            "ix_observation_unevaluated", "id", postgresql_where=sa.text("evaluated_at IS NULL")
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = fk("patient.id", index=False)
    recorded_by: str = Field(max_length=120)
    recorded_at: datetime = ts_field(nullable=False, default_now=True)
    evaluated_at: datetime | None = ts_field()


class ObservationPublic(ObservationBase):
    id: int
    patient_id: int
