"""Operational state: the run ledger of periodic jobs, adherence snapshots.

The run ledger keeps once-per-period uniqueness in PostgreSQL: a job run
claims ``(job, period_key)`` with an INSERT that a unique constraint lets only
one process win, so two clocks on one database still run each period once.
A run proves it is alive by a session advisory lock (``lock_key``) and a
heartbeat that renews its lease; a run that lost both is marked failed by the
next claimant, and its period may be claimed again as the next ``attempt``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import json_field, ts_field


class RunLedger(SQLModel, table=True):
    __tablename__ = "run_ledger"
    __table_args__ = (
        sa.UniqueConstraint(
            "job", "period_key", "attempt", name="uq_run_ledger_job_period_attempt"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=40)
    period_key: str = Field(max_length=40)
    attempt: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    owner: str = Field(max_length=120)
    status: str = Field(default="running", max_length=12)  # running | done | failed
    started_at: datetime = ts_field(nullable=False, default_now=True)
    finished_at: datetime | None = ts_field()
    stats: dict[str, Any] | None = json_field()
    error: str | None = Field(default=None, max_length=2000)
    lock_key: int | None = None
    heartbeat_at: datetime | None = ts_field()
    lease_expires_at: datetime | None = ts_field()


class AdherenceSnapshot(SQLModel, table=True):
    """One indicator over one period, frozen when computed so trends do not drift."""

    __tablename__ = "adherence_snapshot"
    __table_args__ = (
        sa.UniqueConstraint(
            "period_start", "period_end", "indicator_id", name="uq_adherence_snapshot_period"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    period_start: date
    period_end: date
    indicator_id: str = Field(max_length=16)
    title: str = Field(max_length=240)
    numerator: int = Field(ge=0)
    denominator: int = Field(ge=0)
    excused: int = Field(default=0, ge=0)
    late: int = Field(default=0, ge=0)
    missed: int = Field(default=0, ge=0)
    rate: float | None = None
    rule_ids: list[str] | None = json_field()
    breakdown: dict[str, Any] | None = json_field()
    pathway_version: str = Field(max_length=20)
    computed_at: datetime = ts_field(nullable=False, default_now=True)


class PlanState(SQLModel, table=True):
    """Each patient's last plan: a digest of everything the engine was given for it.

    plan_care re-plans a patient only when the digest of the patient's facts,
    the clinic day, the pathway definition and the engine's own code differs
    from the one stored here, so a re-plan of unchanged patients costs a read.
    """

    __tablename__ = "plan_state"
    patient_id: int = Field(foreign_key="patient.id", primary_key=True, ondelete="RESTRICT")
    fingerprint: str = Field(max_length=32)
    as_of: date
    planned_at: datetime = ts_field(nullable=False, default_now=True)
