"""Identity: service accounts, forced password change, the credential of every audit event,
task hand-overs, and the per-client request counters of the rate limit.

Revision ID: 0007_identity
Revises: 0005_plan_speed
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007_identity"
down_revision: str | None = "0005_plan_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "app_user",
        sa.Column(
            "kind",
            sa.Enum(
                "person",
                "service",
                name="account_kind",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            server_default="person",
            nullable=False,
        ),
    )
    op.add_column(
        "app_user",
        sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.alter_column("app_user", "password_hash", existing_type=sa.String(200), nullable=True)
    # Every token expires now: one issued before this revision (possibly by an admin for a
    # person) lives the default 90 days from the upgrade, unless revoked sooner.
    op.execute(
        "UPDATE api_token SET expires_at = now() + interval '90 days' "
        "WHERE expires_at IS NULL AND revoked_at IS NULL"
    )
    op.add_column(
        "audit_event",
        sa.Column("credential", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    )
    op.create_table(
        "task_handover",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("from_owner", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("to_owner", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["care_task.id"],
            name=op.f("fk_task_handover_task_id_care_task"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_handover")),
    )
    op.create_index(op.f("ix_task_handover_task_id"), "task_handover", ["task_id"], unique=False)
    op.create_index(
        "ix_task_handover_unseen",
        "task_handover",
        ["from_owner"],
        unique=False,
        postgresql_where=sa.text("seen_at IS NULL"),
    )
    op.create_table(
        "rate_window",
        sa.Column("bucket", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name=op.f("pk_rate_window")),
    )
    op.create_index(
        op.f("ix_rate_window_window_start"), "rate_window", ["window_start"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_rate_window_window_start"), table_name="rate_window")
    op.drop_table("rate_window")
    op.drop_index("ix_task_handover_unseen", table_name="task_handover")
    op.drop_index(op.f("ix_task_handover_task_id"), table_name="task_handover")
    op.drop_table("task_handover")
    op.drop_column("audit_event", "credential")
    # A service account has no password; give it one nobody knows before the column is NOT NULL.
    op.execute("UPDATE app_user SET password_hash = '!' WHERE password_hash IS NULL")
    op.alter_column("app_user", "password_hash", existing_type=sa.String(200), nullable=False)
    op.drop_column("app_user", "must_change_password")
    op.drop_column("app_user", "kind")
