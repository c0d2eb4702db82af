"""care_task's links to instance and course: no per-row key, yet never left dangling (0005_plan_speed)."""

from __future__ import annotations

import psycopg.errors
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from flows.plan_care import plan_all
from flows.runtime import Runtime
from models.repositories.data_problems import RESOLVE_PROBLEMS_SQL
from models.session import transaction
from tests.flows.conftest import NOON, TODAY


def _linked(engine: Engine, column: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(f"SELECT {column} FROM care_task WHERE {column} IS NOT NULL LIMIT 1")  # noqa: S608
            ).scalar_one()
        )


@pytest.mark.parametrize(
    ("table", "column"), [("course", "course_id"), ("pathway_instance", "instance_id")]
)
def test_a_row_a_planned_task_names_cannot_be_deleted(
    runtime: Runtime, engine: Engine, cohort: list[int], table: str, column: str
) -> None:
    plan_all(runtime, as_of=TODAY, now=NOON)
    linked = _linked(engine, column)
    with pytest.raises(DBAPIError) as refused, transaction(engine) as session:
        session.execute(text(f"DELETE FROM {table} WHERE id = :id"), {"id": linked})  # noqa: S608
    assert isinstance(refused.value.orig, psycopg.errors.ForeignKeyViolation)
    assert "care_task" in str(refused.value.orig)
    with engine.connect() as conn:
        assert (
            conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE id = :id"),  # noqa: S608
                {"id": linked},
            ).scalar_one()
            == 1
        )


def test_a_course_no_task_names_can_still_be_deleted(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    plan_all(runtime, as_of=TODAY, now=NOON)
    with transaction(engine) as session:
        unlinked = session.execute(
            text(
                "INSERT INTO course (patient_id, instance_id, regimen, phase, cycle_number, "
                "anchor_date, status, created_by, created_at) "
                "SELECT patient_id, instance_id, regimen, phase, cycle_number, anchor_date, "
                "'completed', 'test', created_at FROM course ORDER BY id LIMIT 1 RETURNING id"
            )
        ).scalar_one()
    with transaction(engine) as session:
        session.execute(text("DELETE FROM course WHERE id = :id"), {"id": unlinked})
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM course WHERE id = :id"), {"id": unlinked}
            ).scalar_one()
            == 0
        )


def test_resolving_data_problems_reads_only_open_problem_tasks(
    runtime: Runtime, engine: Engine, cohort: list[int]
) -> None:
    plan_all(runtime, as_of=TODAY, now=NOON)
    with engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))  # a table this small would be scanned
        plan = "\n".join(
            conn.execute(
                text("EXPLAIN " + RESOLVE_PROBLEMS_SQL),
                {"pids": cohort, "reason": "r", "closed_as": "resolved", "now": NOON},
            ).scalars()
        )
    assert "ix_care_task_open_problems" in plan
