"""The reminder outbox and its delivery log.

A reminder row is written in the same transaction that makes a task due,
overdue or escalated; ``idempotency_key`` is unique, so re-running that
transaction cannot queue it twice. The dispatcher claims rows with
``FOR UPDATE SKIP LOCKED``, sends, and appends a ``ReminderDelivery`` for
every attempt; a claim whose lease ran out is taken again after a crash, and
the channel's idempotency key lets the receiver drop a repeat. A reminder
whose task closed before it went out ends as ``skipped``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, json_field, ts_field


class Reminder(SQLModel, table=True):
    __table_args__ = (
        sa.Index(
            "ix_reminder_ready",
            "next_attempt_at",
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'skipped')", name="status_known"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = fk("care_task.id")
    # due | overdue | escalation
    reason: str = Field(max_length=20)
    channel: str = Field(max_length=20)
    recipient: str = Field(max_length=200)
    idempotency_key: str = Field(max_length=200, unique=True)
    # What the message says; carries the task id and title, never patient identifiers.
    payload: dict[str, Any] = json_field(nullable=False, default_factory=dict)
    status: str = Field(default="pending", max_length=12)
    attempts: int = Field(default=0, ge=0)
    next_attempt_at: datetime = ts_field(nullable=False, default_now=True)
    claimed_by: str | None = Field(default=None, max_length=120)
    # The advisory lock its dispatcher holds while alive (models.repositories.leases).
    claim_lock: int | None = None
    lease_expires_at: datetime | None = ts_field()
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = ts_field(nullable=False, default_now=True)
    sent_at: datetime | None = ts_field()


class ReminderDelivery(SQLModel, table=True):
    __tablename__ = "reminder_delivery"
    id: int | None = Field(default=None, primary_key=True)
    reminder_id: int = fk("reminder.id")
    attempt: int = Field(ge=1)
    channel: str = Field(max_length=20)
    outcome: str = Field(max_length=12)  # sent | error
    detail: str | None = Field(default=None, max_length=2000)
    at: datetime = ts_field(nullable=False, default_now=True)
