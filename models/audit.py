"""The audit trail: who did what to whose data, and when.

Every read and write of patient data — web, API, CLI and flows — appends a
row here in the same transaction as the access. An access to one patient
names it in ``patient_id``; an access to a batch (a page of the patient list,
a flow's batch of thousands) is one row naming them all in ``patient_ids``,
so a planner touching 100,000 patients every few minutes writes tens of rows,
not hundreds of thousands, and "who accessed patient X" still finds it. The table is append-only for
the application (a trigger refuses UPDATE and DELETE). ``detail`` names fields
and ids, never clinical values. ``credential`` names what the actor proved who
they are with: ``session 12``, ``token 7 (lab bridge)``, ``cli``, ``flow``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from models.base import json_field, ts_field


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_patient_ids", "patient_ids", postgresql_using="gin"),
    )
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = ts_field(nullable=False, default_now=True, index=True)
    actor: str = Field(max_length=120, index=True)
    role: str = Field(max_length=20)
    channel: str = Field(max_length=12)  # web | api | cli | flow
    action: str = Field(max_length=40, index=True)  # read | create | update | transition | ...
    credential: str | None = Field(default=None, max_length=120)
    patient_id: int | None = Field(default=None, index=True)
    patient_ids: list[int] | None = Field(default=None, sa_type=ARRAY(sa.Integer))
    entity: str = Field(max_length=40)
    entity_id: str | None = Field(default=None, max_length=80)
    detail: dict[str, Any] | None = json_field()
