"""Indexes of the coordinator's workplace (issue 5).

``ix_care_task_owner_open`` serves "my tasks" on the queue page and the task
list API: the open tasks a person holds, by due time (the role queue itself is
served by ``ix_care_task_queue`` of the baseline). ``ix_clinical_alert_open``
serves the clinician's list of alerts awaiting acknowledgement.
``ix_care_task_queue`` is rebuilt to cover the queue filters (kind, regimen,
patient, owner), so the queue's bucket counts are index-only scans.

Revision ID: 0002_web
Revises: 0001_baseline
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_web"
down_revision: str | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "('requested','accepted','in-progress','on-hold')"


def upgrade() -> None:
    # The role queue index of the baseline, now covering the queue's filters so
    # the bucket counts are index-only scans.
    op.drop_index("ix_care_task_queue", table_name="care_task")
    op.create_index(
        "ix_care_task_queue",
        "care_task",
        ["role_queue", "due"],
        unique=False,
        postgresql_include=["kind", "regimen", "patient_id", "owner"],
        postgresql_where=sa.text(f"status IN {OPEN}"),
    )
    op.create_index(
        "ix_care_task_owner_open",
        "care_task",
        ["owner", "due"],
        unique=False,
        postgresql_where=sa.text(f"owner IS NOT NULL AND status IN {OPEN}"),
    )
    op.create_index(
        "ix_clinical_alert_open",
        "clinical_alert",
        ["raised_at"],
        unique=False,
        postgresql_where=sa.text("acknowledged_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_care_task_queue", table_name="care_task")
    op.create_index(
        "ix_care_task_queue",
        "care_task",
        ["role_queue", "due"],
        unique=False,
        postgresql_where=sa.text(f"status IN {OPEN}"),
    )
    op.drop_index("ix_clinical_alert_open", table_name="clinical_alert")
    op.drop_index("ix_care_task_owner_open", table_name="care_task")
