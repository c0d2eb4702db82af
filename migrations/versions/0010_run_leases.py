"""Run leases and least privilege: a dead run or dispatcher is noticed; the app cannot alter the schema.

The run ledger gets attempts, a heartbeat and a lease. A run holds a session
advisory lock (``lock_key``) for as long as its process lives and renews
``lease_expires_at`` from a heartbeat; a claimant of the same job marks a
``running`` row whose lock is gone or whose lease ran out as failed, and a
failed period may be claimed again (a new attempt), so the once-per-period
unique key now includes the attempt. A reminder's claim names the lock of its
dispatcher (``claim_lock``) for the same reason: a dead dispatcher's claims are
taken again at once instead of after the lease.

The grants split the roles: whoever runs the migrations owns the schema; the
role ``carepath_app`` (created beforehand by ``deploy/postgres-init.sh`` or by
the embedded server) may read and write the tables but only INSERT into and
SELECT from the append-only ``audit_event`` and ``phase_event``, and only read
``alembic_version``. Not owning the tables, it cannot drop or disable their
triggers. Default privileges give it the same on tables later migrations
create; a later append-only table must revoke UPDATE and DELETE itself. When
no such role exists (a single-role installation) the grants are skipped.

Revision ID: 0010_run_leases
Revises: 0005_plan_speed
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_run_leases"
down_revision: str | None = "0005_plan_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_TABLES = ("audit_event", "phase_event")

GRANTS = f"""
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'carepath_app') THEN
    GRANT USAGE ON SCHEMA public TO carepath_app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO carepath_app;
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO carepath_app;
    REVOKE UPDATE, DELETE, TRUNCATE ON {", ".join(APPEND_ONLY_TABLES)} FROM carepath_app;
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM carepath_app;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public
      GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO carepath_app;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO carepath_app;
  END IF;
END $$
"""

REVOKES = """
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'carepath_app') THEN
    ALTER DEFAULT PRIVILEGES IN SCHEMA public
      REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM carepath_app;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM carepath_app;
    REVOKE ALL ON ALL TABLES IN SCHEMA public FROM carepath_app;
    REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM carepath_app;
  END IF;
END $$
"""


def upgrade() -> None:
    op.add_column(
        "run_ledger", sa.Column("attempt", sa.Integer(), server_default="1", nullable=False)
    )
    op.add_column("run_ledger", sa.Column("lock_key", sa.Integer(), nullable=True))
    op.add_column(
        "run_ledger", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "run_ledger", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.drop_constraint("uq_run_ledger_job_period", "run_ledger", type_="unique")
    op.create_unique_constraint(
        "uq_run_ledger_job_period_attempt", "run_ledger", ["job", "period_key", "attempt"]
    )
    op.add_column("reminder", sa.Column("claim_lock", sa.Integer(), nullable=True))
    op.execute(GRANTS)


def downgrade() -> None:
    op.execute(REVOKES)
    op.drop_column("reminder", "claim_lock")
    op.execute("DELETE FROM run_ledger WHERE attempt > 1")
    op.drop_constraint("uq_run_ledger_job_period_attempt", "run_ledger", type_="unique")
    op.create_unique_constraint("uq_run_ledger_job_period", "run_ledger", ["job", "period_key"])
    op.drop_column("run_ledger", "lease_expires_at")
    op.drop_column("run_ledger", "heartbeat_at")
    op.drop_column("run_ledger", "lock_key")
    op.drop_column("run_ledger", "attempt")
