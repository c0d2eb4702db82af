"""Care tasks and clinical alerts.

A task row is identified by its ``dedupe_key`` (patient, pathway version,
engine key), so planning is an upsert, never a read-modify-write race. Status
follows FHIR Task; a task that no longer applies is cancelled with a reason,
never deleted. ``plan_hash`` is a digest of the planned fields: a re-plan that
produces the same hash touches nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import enum_field, fk, json_field, ts_field
from models.task_sql import OPEN_SQL as OPEN_STATUSES_SQL
from pathways.core.window import Closure
from pathways.vocab import Role, Severity, TaskKind, TaskStatus

_CLOSURES = ", ".join(f"'{c.value}'" for c in Closure)


class CareTask(SQLModel, table=True):
    __tablename__ = "care_task"
    __table_args__ = (
        # The queue: open tasks per role ordered by due time.
        sa.Index(
            "ix_care_task_queue",
            "role_queue",
            "due",
            # Covering the queue filters, the window's end, the last change and the id lets
            # the page count its views and stamp its version from the index alone
            # (migrations 0002_web, 0016_worklist_speed).
            postgresql_include=[
                "kind",
                "regimen",
                "patient_id",
                "owner",
                "expires",
                "updated_at",
                "id",
            ],
            postgresql_where=sa.text(f"status IN {OPEN_STATUSES_SQL}"),
        ),
        sa.Index("ix_care_task_patient_due", "patient_id", "due"),
        # "My tasks": open tasks a person holds, by due time (migration 0002_web).
        sa.Index(
            "ix_care_task_owner_open",
            "owner",
            "due",
            postgresql_where=sa.text(f"owner IS NOT NULL AND status IN {OPEN_STATUSES_SQL}"),
        ),
        # Escalation and reminder scans look only at open tasks past their edges.
        sa.Index(
            "ix_care_task_open_due",
            "due",
            postgresql_where=sa.text(f"status IN {OPEN_STATUSES_SQL}"),
        ),
        # "Escalated from me": the few open tasks the escalation has moved
        # (migration 0016_worklist_speed).
        sa.Index(
            "ix_care_task_escalated",
            "due",
            postgresql_where=sa.text(f"escalation_level > 0 AND status IN {OPEN_STATUSES_SQL}"),
        ),
        # Open data-problem tasks only: resolving them for a planned batch reads
        # nothing else (migration 0005_plan_speed).
        sa.Index(
            "ix_care_task_open_problems",
            "patient_id",
            postgresql_where=sa.text(f"dedupe_key LIKE 'dq:%' AND status IN {OPEN_STATUSES_SQL}"),
        ),
        sa.CheckConstraint("not_before <= due AND due <= expires", name="window_ordered"),
        sa.CheckConstraint(
            "status <> 'cancelled' OR status_reason IS NOT NULL", name="cancel_has_reason"
        ),
        # Migration 0014_task_lifecycle.
        sa.CheckConstraint(
            f"closed_as IS NULL OR (status = 'cancelled' AND closed_as IN ({_CLOSURES}))",
            name="closed_as_known",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = fk("patient.id", index=False)
    # Provenance links written only by the planner, from rows it read under the
    # instance's lock. No foreign key (a per-row check on millions of planned
    # rows); a trigger on pathway_instance and course refuses to delete a row
    # a task still names (migration 0005_plan_speed).
    instance_id: int | None = None
    course_id: int | None = None
    dedupe_key: str = Field(max_length=200, unique=True)
    pathway_version: str = Field(max_length=20)
    kind: TaskKind = enum_field(TaskKind, "task_kind")
    rule_id: str = Field(max_length=16, index=True)
    title: str = Field(max_length=240)
    section: str = Field(default="", max_length=240)
    regimen: str | None = Field(default=None, max_length=60)
    cycle: int | None = None
    day: int | None = None
    window_start: date
    due_date: date
    window_end: date
    not_before: datetime = ts_field(nullable=False)
    due: datetime = ts_field(nullable=False)
    expires: datetime = ts_field(nullable=False)
    safety: bool = False
    status: TaskStatus = enum_field(TaskStatus, "task_status", default=TaskStatus.REQUESTED)
    # Why the status is what it is: the cancel reason, the hold reason, the skip reason.
    status_reason: str | None = Field(default=None, max_length=2000)
    # Why a cancelled task was closed (a pathways.core.window.Closure value), and by
    # whom (a person's skip or cancel).
    closed_as: str | None = Field(default=None, max_length=20)
    closed_by: str | None = Field(default=None, max_length=120)
    role_queue: Role = enum_field(Role, "role_queue")
    owner: str | None = Field(default=None, max_length=120)
    lease_expires_at: datetime | None = ts_field()
    result: dict[str, Any] | None = json_field()
    result_fields: list[str] | None = json_field()
    completed_at: datetime | None = ts_field()
    completed_by: str | None = Field(default=None, max_length=120)
    escalation_level: int = Field(default=0, ge=0)
    escalated_at: datetime | None = ts_field()
    escalations: list[dict[str, Any]] | None = json_field()
    detail: dict[str, Any] | None = json_field()
    plan_hash: str = Field(max_length=32)
    planned_at: datetime = ts_field(nullable=False, default_now=True)
    created_at: datetime = ts_field(nullable=False, default_now=True)
    updated_at: datetime = ts_field(nullable=False, default_now=True)


class CareTaskPublic(SQLModel):
    id: int
    patient_id: int
    kind: TaskKind
    rule_id: str
    title: str
    section: str
    regimen: str | None
    cycle: int | None
    day: int | None
    window_start: date
    due_date: date
    window_end: date
    not_before: datetime
    due: datetime
    expires: datetime
    safety: bool
    status: TaskStatus
    status_reason: str | None
    closed_as: str | None
    closed_by: str | None
    role_queue: Role
    owner: str | None
    result: dict[str, Any] | None
    result_fields: list[str] | None
    completed_at: datetime | None
    completed_by: str | None
    escalation_level: int


class ClinicalAlert(SQLModel, table=True):
    """An alert raised by the monitoring rules; a clinician acknowledges it."""

    __tablename__ = "clinical_alert"
    __table_args__ = (
        # Alerts awaiting a clinician (migration 0002_web).
        sa.Index(
            "ix_clinical_alert_open",
            "raised_at",
            postgresql_where=sa.text("acknowledged_at IS NULL"),
        ),
        # The last alert of each id per patient, read before raising one (migration 0009).
        sa.Index("ix_clinical_alert_identity", "patient_id", "code", "raised_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = fk("patient.id")
    dedupe_key: str = Field(max_length=200, unique=True)
    code: str = Field(max_length=60)
    rule_id: str = Field(max_length=16)
    severity: Severity = enum_field(Severity, "severity")
    message: str = Field(max_length=2000)
    inputs: dict[str, Any] | None = json_field()
    # pathways.alert_identity: the alert id and its inputs, hashed; an alert is
    # raised again only when this changes (or its repeat interval passes).
    fingerprint: str | None = Field(default=None, max_length=32)
    observation_id: int | None = fk("observation.id", nullable=True, index=False)
    task_id: int | None = fk("care_task.id", nullable=True, index=False)
    raised_at: datetime = ts_field(nullable=False, default_now=True)
    acknowledged_by: str | None = Field(default=None, max_length=120)
    acknowledged_at: datetime | None = ts_field()
    acknowledge_reason: str | None = Field(default=None, max_length=2000)


class TaskHandover(SQLModel, table=True):
    """A task taken from the person who held it: who took it, why, and whether they have seen it.

    Written by the explicit take-over (and by an admin's reassignment of a held
    task); the former holder's queue shows it until they dismiss it.
    """

    __tablename__ = "task_handover"
    __table_args__ = (
        sa.Index(
            "ix_task_handover_unseen", "from_owner", postgresql_where=sa.text("seen_at IS NULL")
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = fk("care_task.id")
    patient_id: int
    from_owner: str = Field(max_length=60)
    to_owner: str = Field(max_length=60)
    by: str = Field(max_length=60)
    reason: str = Field(max_length=2000)
    at: datetime = ts_field(nullable=False)
    seen_at: datetime | None = ts_field()
