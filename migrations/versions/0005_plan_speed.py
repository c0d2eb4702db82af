"""Plan speed: care_task's provenance links lose their per-row checks; open data problems get an index.

A cold plan of 100,000 patients writes about two million care_task rows. Each
foreign key costs a lookup and a row lock on the referenced row for every one
of them (measured: each key about a quarter of the bare COPY time). The links
to ``pathway_instance`` and ``course`` are provenance: only the planner writes
them, from the instance and course it has just read in the same transaction
while holding the instance's lock. What the keys still gave — an instance or
a course cannot be deleted while tasks name it — is kept by a trigger on the
referenced tables, which costs nothing when tasks are written. The key to
``patient`` stays.

``ix_care_task_open_problems`` holds only open data-problem tasks (``dq:``
keys), so resolving them for a planned batch no longer reads every task of the
batch's patients.

Revision ID: 0005_plan_speed
Revises: 0004_audit_batches
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_plan_speed"
down_revision: str | None = "0004_audit_batches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "('requested','accepted','in-progress','on-hold')"
# (referenced table, care_task column, the foreign key it replaces)
LINKS = (
    ("pathway_instance", "instance_id", "fk_care_task_instance_id_pathway_instance"),
    ("course", "course_id", "fk_care_task_course_id_course"),
)


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION carepath_restrict_task_link() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            linked boolean;
        BEGIN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM care_task WHERE %I = $1)', TG_ARGV[0])
                INTO linked USING OLD.id;
            IF linked THEN
                RAISE EXCEPTION '% % is still referenced from table "care_task"', TG_TABLE_NAME, OLD.id
                    USING ERRCODE = 'foreign_key_violation';
            END IF;
            RETURN OLD;
        END $$;
        """
    )
    for table, column, fk_name in LINKS:
        op.drop_constraint(fk_name, "care_task", type_="foreignkey")
        op.execute(
            f"CREATE TRIGGER {table}_restrict_task_link BEFORE DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION carepath_restrict_task_link('{column}')"
        )
    op.create_index(
        "ix_care_task_open_problems",
        "care_task",
        ["patient_id"],
        unique=False,
        postgresql_where=sa.text(f"dedupe_key LIKE 'dq:%' AND status IN {OPEN}"),
    )


def downgrade() -> None:
    op.drop_index("ix_care_task_open_problems", table_name="care_task")
    for table, column, fk_name in LINKS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_restrict_task_link ON {table}")
        op.create_foreign_key(fk_name, "care_task", table, [column], ["id"], ondelete="RESTRICT")
    op.execute("DROP FUNCTION IF EXISTS carepath_restrict_task_link()")
