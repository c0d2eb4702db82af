"""Audit events name a batch of patients in one row (patient_ids, GIN-indexed).

A flow that plans 100,000 patients every few minutes used to append one audit
row per patient per run (about 29 million rows a day). A batch access is now
one row listing the patients; lookups by patient search both columns.

Revision ID: 0004_audit_batches
Revises: 0003_flows
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_audit_batches"
down_revision: str | None = "0003_flows"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "audit_event", sa.Column("patient_ids", postgresql.ARRAY(sa.Integer()), nullable=True)
    )
    op.create_index(
        "ix_audit_event_patient_ids", "audit_event", ["patient_ids"], postgresql_using="gin"
    )


def downgrade() -> None:
    op.drop_index("ix_audit_event_patient_ids", table_name="audit_event")
    op.drop_column("audit_event", "patient_ids")
