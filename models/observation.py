"""Lab results and other measured values.

``code`` is a test of the pathway's lab catalogue (``pathways.core.labs``) and
``value`` is in the test's canonical unit (``unit``); ``entered_value`` and
``entered_unit`` keep what the person or the feed gave, before conversion.
``uln``/``lln`` are the laboratory's own limits when it gave them (canonical
unit), else NULL: the rules then use the local reference range and say so.

``evaluated_at`` is NULL until the ``evaluate_results`` flow has run the
monitoring rules over the row; the flow claims unevaluated rows with
``FOR UPDATE SKIP LOCKED`` so two runs never evaluate one result twice.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, ts_field
from pathways.core.labs import Measurement

# NaN sorts above every number in PostgreSQL, so this excludes NaN and both infinities.
FINITE = "{0} IS NULL OR ({0} > '-Infinity'::float8 AND {0} < 'Infinity'::float8)"
FINITE_COLUMNS = ("value", "entered_value", "uln", "lln")


class ObservationBase(SQLModel):
    code: str = Field(max_length=40)
    value: float
    unit: str = Field(max_length=20)
    uln: float | None = None
    lln: float | None = None
    observed_at: datetime = ts_field(nullable=False)
    source: str = Field(default="manual", max_length=40)
    entered_value: float | None = None
    entered_unit: str | None = Field(default=None, max_length=20)


class ObservationCreate(ObservationBase):
    @classmethod
    def measured(cls, m: Measurement, *, at: datetime, source: str) -> ObservationCreate:
        """A result the lab catalogue has read (``LabCatalogue.measure``): canonical value
        and unit, what was entered, and the laboratory's own limits."""
        return cls(
            code=m.test,
            value=m.value,
            unit=m.unit,
            entered_value=m.entered_value,
            entered_unit=m.entered_unit,
            uln=m.uln,
            lln=m.lln,
            observed_at=at,
            source=source,
        )


class Observation(ObservationBase, table=True):
    __table_args__ = (
        sa.Index("ix_observation_patient_code_time", "patient_id", "code", "observed_at"),
        sa.Index(
            "ix_observation_unevaluated", "id", postgresql_where=sa.text("evaluated_at IS NULL")
        ),
        # No NaN or infinity reaches a rule, whichever door it came through (0011_lab_units).
        *(
            sa.CheckConstraint(FINITE.format(column), name=f"{column}_finite")
            for column in FINITE_COLUMNS
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
