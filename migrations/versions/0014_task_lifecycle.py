"""Why a cancelled task was closed, and by whom, become columns instead of JSON keys.

``care_task.closed_as`` (pathways.core.window.Closure): ``skipped`` or
``cancelled`` by a person (was ``detail.closed_as``), ``unplanned`` by a
re-plan that no longer plans the task (was ``detail.cancelled_by_plan``),
``resolved`` for a data problem closed once the patient could be planned (was
``detail.resolved_by_plan``). ``care_task.closed_by`` is the person who
skipped or cancelled it (was ``detail.closed_by``). Existing rows are filled
from the keys, which are then removed from ``detail``; the downgrade writes
them back (the date a plan closed a task is the day of ``updated_at`` there;
its ``status_reason`` names it too).

Revision ID: 0014_task_lifecycle
Revises: 0013_patient_mrn
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_task_lifecycle"
down_revision: str | None = "0013_patient_mrn"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLOSURES = ("skipped", "cancelled", "unplanned", "resolved")
KEYS = "ARRAY['closed_as', 'closed_by', 'cancelled_by_plan', 'resolved_by_plan']"


def upgrade() -> None:
    op.add_column("care_task", sa.Column("closed_as", sa.String(length=20), nullable=True))
    op.add_column("care_task", sa.Column("closed_by", sa.String(length=120), nullable=True))
    op.execute(
        "UPDATE care_task SET "  # noqa: S608 (constants)
        "closed_as = CASE WHEN detail ? 'cancelled_by_plan' THEN 'unplanned' "
        "WHEN detail ? 'resolved_by_plan' THEN 'resolved' "
        "WHEN detail->>'closed_as' IN ('skipped', 'cancelled') THEN detail->>'closed_as' END, "
        "closed_by = left(detail->>'closed_by', 120), "
        f"detail = nullif(detail - {KEYS}, '{{}}'::jsonb) "
        "WHERE status = 'cancelled' AND detail ?| " + KEYS
    )
    # Keys left on tasks that are no longer cancelled (reopened by hand) mean nothing.
    op.execute(
        f"UPDATE care_task SET detail = nullif(detail - {KEYS}, '{{}}'::jsonb) "  # noqa: S608
        f"WHERE status <> 'cancelled' AND detail ?| {KEYS}"
    )
    allowed = ", ".join(f"'{c}'" for c in CLOSURES)
    op.create_check_constraint(
        "closed_as_known",
        "care_task",
        f"closed_as IS NULL OR (status = 'cancelled' AND closed_as IN ({allowed}))",
    )


def downgrade() -> None:
    op.drop_constraint("closed_as_known", "care_task", type_="check")
    op.execute(
        "UPDATE care_task SET detail = coalesce(detail, '{}'::jsonb) || CASE closed_as "
        "WHEN 'unplanned' THEN jsonb_build_object('cancelled_by_plan', "
        "(updated_at AT TIME ZONE 'UTC')::date::text) "
        "WHEN 'resolved' THEN jsonb_build_object('resolved_by_plan', "
        "(updated_at AT TIME ZONE 'UTC')::date::text) "
        "ELSE jsonb_strip_nulls(jsonb_build_object('closed_as', closed_as, 'closed_by', closed_by)) "
        "END WHERE closed_as IS NOT NULL"
    )
    op.drop_column("care_task", "closed_by")
    op.drop_column("care_task", "closed_as")
