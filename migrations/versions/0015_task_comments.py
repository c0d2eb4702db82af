"""Task comments: kept, never edited or deleted.

The app's role may only insert into and read ``task_comment`` (like the audit
trail), so a comment stays as written; each one is also an audit event.

Revision ID: 0015_task_comments
Revises: 0014_task_lifecycle
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015_task_comments"
down_revision: str | None = "0014_task_lifecycle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = """
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'carepath_app') THEN
    REVOKE UPDATE, DELETE, TRUNCATE ON task_comment FROM carepath_app;
  END IF;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "task_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["care_task.id"],
            name=op.f("fk_task_comment_task_id_care_task"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_comment")),
    )
    op.create_index("ix_task_comment_task", "task_comment", ["task_id", "at"], unique=False)
    op.execute(APPEND_ONLY)


def downgrade() -> None:
    op.drop_index("ix_task_comment_task", table_name="task_comment")
    op.drop_table("task_comment")
