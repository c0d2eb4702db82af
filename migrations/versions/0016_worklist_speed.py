"""Indexes of the worklist's views (issue 14's queue answered in 114 ms at 3,000 patients).

``ix_care_task_queue`` now also covers ``expires``, ``updated_at`` and ``id``:
the overdue and missed views test the window's end, and the page's version
stamps the last change and the newest task, so counting the views and the
stamp read the index alone instead of the table. ``ix_care_task_escalated`` holds only the open tasks an
escalation has moved (``escalation_level > 0``), so "escalated from me" tests
its jsonb trail on those few rows and not on every open task.

Revision ID: 0016_worklist_speed
Revises: 0015_task_comments
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_worklist_speed"
down_revision: str | None = "0015_task_comments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "('requested','accepted','in-progress','on-hold')"


def _queue_index(include: list[str]) -> None:
    op.drop_index("ix_care_task_queue", table_name="care_task")
    op.create_index(
        "ix_care_task_queue",
        "care_task",
        ["role_queue", "due"],
        unique=False,
        postgresql_include=include,
        postgresql_where=sa.text(f"status IN {OPEN}"),
    )


def upgrade() -> None:
    _queue_index(["kind", "regimen", "patient_id", "owner", "expires", "updated_at", "id"])
    op.create_index(
        "ix_care_task_escalated",
        "care_task",
        ["due"],
        unique=False,
        postgresql_where=sa.text(f"escalation_level > 0 AND status IN {OPEN}"),
    )


def downgrade() -> None:
    op.drop_index("ix_care_task_escalated", table_name="care_task")
    _queue_index(["kind", "regimen", "patient_id", "owner"])
