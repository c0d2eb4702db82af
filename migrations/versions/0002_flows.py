"""Flows: a reminder can end as 'skipped' (its task closed before it was sent).

The dispatcher never sends a reminder for a task that is no longer open
(completed, cancelled or failed since the reminder was queued); it records the
reminder as skipped rather than pretending it was sent or that sending failed.

Revision ID: 0002_flows
Revises: 0001_baseline
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_flows"
down_revision: str | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_reminder_status_known"), "reminder", type_="check")
    op.create_check_constraint(
        op.f("ck_reminder_status_known"),
        "reminder",
        "status IN ('pending', 'sending', 'sent', 'failed', 'skipped')",
    )


def downgrade() -> None:
    op.execute("UPDATE reminder SET status = 'failed' WHERE status = 'skipped'")
    op.drop_constraint(op.f("ck_reminder_status_known"), "reminder", type_="check")
    op.create_check_constraint(
        op.f("ck_reminder_status_known"),
        "reminder",
        "status IN ('pending', 'sending', 'sent', 'failed')",
    )
