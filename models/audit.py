"""The audit trail: who did what to whose data, and when.

Every read and write of patient data — web, API, CLI and flows — appends one
row here in the same transaction as the access. The table is append-only for
the application (a trigger refuses UPDATE and DELETE). ``detail`` names fields
and ids, never clinical values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from models.base import json_field, ts_field


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = ts_field(nullable=False, default_now=True, index=True)
    actor: str = Field(max_length=120, index=True)
    role: str = Field(max_length=20)
    channel: str = Field(max_length=12)  # web | api | cli | flow
    action: str = Field(max_length=40, index=True)  # read | create | update | transition | ...
    patient_id: int | None = Field(default=None, index=True)
    entity: str = Field(max_length=40)
    entity_id: str | None = Field(default=None, max_length=80)
    detail: dict[str, Any] | None = json_field()
