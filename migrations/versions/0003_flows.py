"""Flows: reminders can be 'skipped'; each patient's last plan digest (plan_state).

The dispatcher never sends a reminder for a task that is no longer open
(completed, cancelled or failed since the reminder was queued); it records the
reminder as skipped rather than pretending it was sent or that sending failed.

plan_state keeps, per patient, a digest of what the engine was last given
(facts, clinic day, definition, engine code), so plan_care re-plans only the
patients whose inputs changed.

Revision ID: 0003_flows
Revises: 0002_web
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003_flows"
down_revision: str | None = "0002_web"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_state",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_plan_state_patient_id_patient"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_plan_state")),
    )
    op.drop_constraint(op.f("ck_reminder_status_known"), "reminder", type_="check")
    op.create_check_constraint(
        op.f("ck_reminder_status_known"),
        "reminder",
        "status IN ('pending', 'sending', 'sent', 'failed', 'skipped')",
    )


def downgrade() -> None:
    op.drop_table("plan_state")
    op.execute("UPDATE reminder SET status = 'failed' WHERE status = 'skipped'")
    op.drop_constraint(op.f("ck_reminder_status_known"), "reminder", type_="check")
    op.create_check_constraint(
        op.f("ck_reminder_status_known"),
        "reminder",
        "status IN ('pending', 'sending', 'sent', 'failed')",
    )
